/* Refuse code built for another CPU before calling it (xtvm C runtime).
 *
 * A library compiled with -mcpu=skylake-avx512 dies of SIGILL on a machine without AVX-512;
 * the metadata's "target" says what the code needs, so the runtime compares it with this
 * machine first: the architecture of the triple everywhere, and on x86 the LLVM "+feature"
 * flags and what the -mcpu name implies (read with cpuid, with the OS's register-state
 * support from xgetbv). Features it does not know are not refused: a wrong refusal would
 * block a library that runs.
 */
#include <stdio.h>
#include <string.h>

#include "xtvm_internal.h"

/* This program's architecture as a triple spells it, or NULL when unknown. */
static const char *host_arch(void) {
#if defined(__x86_64__) || defined(_M_X64)
    return "x86_64";
#elif defined(__i386__) || defined(_M_IX86)
    return "i386";
#elif defined(__aarch64__)
    return "aarch64";
#elif defined(__riscv) && defined(__riscv_xlen) && __riscv_xlen == 64
    return "riscv64";
#elif defined(__arm__)
    return "arm";
#else
    return NULL;
#endif
}

/* The architecture of `triple` in host_arch's spelling, or NULL when unknown. */
static const char *triple_arch(const char *triple, char *buf, size_t size) {
    size_t n = strcspn(triple, "-");
    if (n == 0 || n >= size) return NULL;
    memcpy(buf, triple, n);
    buf[n] = '\0';
    if (!strcmp(buf, "x86_64") || !strcmp(buf, "amd64")) return "x86_64";
    if (n == 4 && buf[0] == 'i' && buf[2] == '8' && buf[3] == '6') return "i386";
    if (!strcmp(buf, "aarch64") || !strcmp(buf, "arm64")) return "aarch64";
    if (!strcmp(buf, "riscv64")) return "riscv64";
    if (!strncmp(buf, "arm", 3) || !strncmp(buf, "thumb", 5)) return "arm";
    return NULL;
}

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <cpuid.h>

enum { EAX, EBX, ECX, EDX };
enum { STATE_NONE, STATE_AVX, STATE_AVX512 };

static const struct {
    const char *name; /* LLVM's feature name */
    unsigned leaf, sub;
    unsigned char reg, bit, state;
} FEATURES[] = {
    {"sse3", 1, 0, ECX, 0, 0},           {"pclmul", 1, 0, ECX, 1, 0},
    {"ssse3", 1, 0, ECX, 9, 0},          {"fma", 1, 0, ECX, 12, STATE_AVX},
    {"sse4.1", 1, 0, ECX, 19, 0},        {"sse4.2", 1, 0, ECX, 20, 0},
    {"movbe", 1, 0, ECX, 22, 0},         {"popcnt", 1, 0, ECX, 23, 0},
    {"aes", 1, 0, ECX, 25, 0},           {"avx", 1, 0, ECX, 28, STATE_AVX},
    {"f16c", 1, 0, ECX, 29, STATE_AVX},  {"bmi", 7, 0, EBX, 3, 0},
    {"avx2", 7, 0, EBX, 5, STATE_AVX},   {"bmi2", 7, 0, EBX, 8, 0},
    {"avx512f", 7, 0, EBX, 16, STATE_AVX512},  {"avx512dq", 7, 0, EBX, 17, STATE_AVX512},
    {"adx", 7, 0, EBX, 19, 0},           {"avx512ifma", 7, 0, EBX, 21, STATE_AVX512},
    {"avx512cd", 7, 0, EBX, 28, STATE_AVX512}, {"sha", 7, 0, EBX, 29, 0},
    {"avx512bw", 7, 0, EBX, 30, STATE_AVX512}, {"avx512vl", 7, 0, EBX, 31, STATE_AVX512},
    {"avx512vbmi", 7, 0, ECX, 1, STATE_AVX512}, {"avx512vbmi2", 7, 0, ECX, 6, STATE_AVX512},
    {"gfni", 7, 0, ECX, 8, 0},           {"vaes", 7, 0, ECX, 9, STATE_AVX},
    {"vpclmulqdq", 7, 0, ECX, 10, STATE_AVX}, {"avx512vnni", 7, 0, ECX, 11, STATE_AVX512},
    {"avx512bitalg", 7, 0, ECX, 12, STATE_AVX512},
    {"avx512vpopcntdq", 7, 0, ECX, 14, STATE_AVX512},
    {"avx5124vnniw", 7, 0, EDX, 2, STATE_AVX512}, {"avx5124fmaps", 7, 0, EDX, 3, STATE_AVX512},
    {"avx512vp2intersect", 7, 0, EDX, 8, STATE_AVX512},
    {"avx512fp16", 7, 0, EDX, 23, STATE_AVX512}, {"avxvnni", 7, 1, EAX, 4, STATE_AVX},
    {"avx512bf16", 7, 1, EAX, 5, STATE_AVX512},
};

/* The register state the OS saves (XCR0), or 0 when xgetbv is unavailable. */
static unsigned long long os_state(void) {
    unsigned a, b, c, d, lo, hi;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0; /* no OSXSAVE */
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

/* 1: this CPU has feature `name`; 0: it lacks it; -1: a feature this table does not know. */
static int has_feature(const char *name, size_t n) {
    size_t i;
    for (i = 0; i < sizeof FEATURES / sizeof FEATURES[0]; i++) {
        unsigned regs[4] = {0, 0, 0, 0};
        unsigned long long xcr0;
        if (strlen(FEATURES[i].name) != n || strncmp(FEATURES[i].name, name, n) != 0) continue;
        if (__get_cpuid_max(0, NULL) < FEATURES[i].leaf) return 0;
        __cpuid_count(FEATURES[i].leaf, FEATURES[i].sub, regs[EAX], regs[EBX], regs[ECX],
                      regs[EDX]);
        if (!(regs[FEATURES[i].reg] & (1u << FEATURES[i].bit))) return 0;
        xcr0 = os_state();
        if (FEATURES[i].state == STATE_AVX && (xcr0 & 0x6) != 0x6) return 0;
        if (FEATURES[i].state == STATE_AVX512 && (xcr0 & 0xE6) != 0xE6) return 0;
        return 1;
    }
    return -1;
}

/* What a -mcpu name implies when the feature list leaves it out (x86-64 psABI levels; only
 * CPUs whose baseline is certain, as the Python runtime's table). */
static const char *const LEVEL_FEATURES[] = {
    "sse3", "ssse3", "sse4.1", "sse4.2", "popcnt",                  /* v2: 5 entries */
    "avx", "avx2", "bmi", "bmi2", "f16c", "fma", "movbe",            /* v3: 12 */
    "avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"};      /* v4: 17 */
static const char *const V2_CPUS[] = {"x86-64-v2", "nehalem", "westmere", "sandybridge",
                                      "ivybridge", NULL};
static const char *const V3_CPUS[] = {"x86-64-v3", "haswell", "broadwell", "skylake",
                                      "alderlake", "raptorlake", "meteorlake", "arrowlake",
                                      "lunarlake", "znver1", "znver2", "znver3", NULL};
static const char *const V4_CPUS[] = {"x86-64-v4", "skylake-avx512", "cascadelake",
                                      "cooperlake", "cannonlake", "icelake-client",
                                      "icelake-server", "tigerlake", "rocketlake",
                                      "sapphirerapids", "emeraldrapids", "graniterapids",
                                      "znver4", "znver5", NULL};
/* A feature needs the one it extends: "-avx2" also turns off an implied "avx512f". */
static const char *const EXTENDS[][2] = {
    {"ssse3", "sse3"}, {"sse4.1", "ssse3"}, {"sse4.2", "sse4.1"}, {"avx", "sse4.2"},
    {"avx2", "avx"},   {"fma", "avx"},      {"f16c", "avx"},      {"avx512f", "avx2"},
    {"avx512bw", "avx512f"}, {"avx512cd", "avx512f"}, {"avx512dq", "avx512f"},
    {"avx512vl", "avx512f"}};

static int listed(const char *const *names, const char *name) {
    for (; *names; names++)
        if (!strcmp(*names, name)) return 1;
    return 0;
}

/* Whether `features` mentions `sign``name` as a whole entry. */
static int mentions(const char *features, char sign, const char *name) {
    size_t len = strlen(name);
    const char *p = features;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == len + 1 && p[0] == sign && !strncmp(p + 1, name, len)) return 1;
        p += n;
        if (*p == ',') p++;
    }
    return 0;
}

static int turned_off(const char *features, const char *name) {
    size_t i;
    if (mentions(features, '-', name)) return 1;
    for (i = 0; i < sizeof EXTENDS / sizeof EXTENDS[0]; i++)
        if (!strcmp(EXTENDS[i][0], name)) return turned_off(features, EXTENDS[i][1]);
    return 0;
}

static void note_missing(char *missing, size_t size, const char *name, size_t n) {
    size_t used = strlen(missing);
    snprintf(missing + used, size - used, "%s%.*s", used ? " " : "", (int)n, name);
}

/* Append to `missing` each feature this CPU lacks: every "+feature" of `features` (LLVM's
 * "+a,-b" list) and what `cpu` implies unless `features` turns it off. */
static void missing_features(const char *cpu, const char *features, char *missing, size_t size) {
    const char *p = features;
    size_t i, implied = listed(V4_CPUS, cpu) ? 17 : listed(V3_CPUS, cpu) ? 12
                        : listed(V2_CPUS, cpu) ? 5 : 0;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n > 1 && p[0] == '+' && has_feature(p + 1, n - 1) == 0)
            note_missing(missing, size, p + 1, n - 1);
        p += n;
        if (*p == ',') p++;
    }
    for (i = 0; i < implied; i++) {
        const char *f = LEVEL_FEATURES[i];
        if (!mentions(features, '+', f) && !turned_off(features, f) &&
            has_feature(f, strlen(f)) == 0)
            note_missing(missing, size, f, strlen(f));
    }
}
#else
static void missing_features(const char *cpu, const char *features, char *missing, size_t size) {
    (void)cpu, (void)features, (void)missing, (void)size; /* no probe for this architecture */
}
#endif

int xtvm_check_target(const char *triple, const char *cpu, const char *features, char *err,
                      size_t err_size) {
    char buf[32], missing[160] = "";
    const char *host = host_arch();
    const char *arch = triple_arch(triple, buf, sizeof buf);
    if (host && arch && strcmp(host, arch) != 0)
        return xtvm_set_error(err, err_size, XTVM_ERR_UNSUPPORTED_CPU,
                              "the library was built for %s ('%.60s'), this machine is %s", arch,
                              triple, host);
    if (host && arch)
        missing_features(cpu, features, missing, sizeof missing);
    if (missing[0])
        return xtvm_set_error(err, err_size, XTVM_ERR_UNSUPPORTED_CPU,
                              "this CPU lacks features the library was built for (-mcpu=%.30s): "
                              "%s; rebuild it for this machine",
                              cpu[0] ? cpu : "?", missing);
    return XTVM_OK;
}
