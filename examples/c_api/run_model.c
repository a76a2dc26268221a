/*
 * run_model: load an xtvm-compiled model from C, run it once, write its outputs.
 *
 * Usage: run_model MODEL.so [-i IN.bin]... [-o OUTDIR] [-t THREADS]
 *        run_model [-i IN.bin]... [-o OUTDIR] [-t THREADS]      (built with -DXTVM_BUNDLE=...)
 *
 * Inputs are raw little-endian files, one per input in the model's order, each exactly the
 * input's size. Inputs without a file get deterministic values (see fill_input). Each
 * output is printed as one line (name, dtype, real shape, first values) and, with -o,
 * written raw to OUTDIR/output<k>.bin in its real (data-dependent) shape.
 * The load and first-run times go to stderr.
 *
 * Build against a shared library (R = the folder of xtvm's C runtime, printed by
 * `python -c "import xtvm.runtime as r; print(r.c_runtime_dir())"`):
 *   cc -O2 -I$R examples/c_api/run_model.c $R/xtvm_runtime.c $R/xtvm_metadata.c \
 *      $R/xtvm_json.c $R/xtvm_cpu.c -o run_model -ldl
 * or against a static bundle made by `xtvm compile model.onnx --bundle DIR` (named `model`):
 *   cc -O2 -DXTVM_BUNDLE=xtvm_bundle_model -IDIR examples/c_api/run_model.c DIR/libmodel.a
 *      -lm -lgomp -o run_model
 */
#if !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xtvm_runtime.h"

#define MAX_FILES 64

#ifdef XTVM_BUNDLE
extern const XtvmBundle XTVM_BUNDLE;
#endif

static double now_ms(void) {
#if defined(CLOCK_MONOTONIC)
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
#else
    return (double)clock() * 1e3 / CLOCKS_PER_SEC;
#endif
}

/* Deterministic input values: a 64-bit LCG seeded by the input's index; floats uniform in
 * [-1, 1), integers in [0, 10), bools 0/1. Easy to reproduce elsewhere for comparisons. */
static void fill_input(const XtvmTensorInfo *info, void *data, int index) {
    uint64_t x = (uint64_t)index + 1;
    size_t n = info->nbytes / (size_t)info->dtype_bytes, k;
    for (k = 0; k < n; k++) {
        uint32_t r;
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        r = (uint32_t)(x >> 40); /* 24 random bits */
        if (!strcmp(info->dtype, "float32")) {
            ((float *)data)[k] = (float)r / 8388608.0f - 1.0f;
        } else if (!strcmp(info->dtype, "float64")) {
            ((double *)data)[k] = (double)r / 8388608.0 - 1.0;
        } else if (!strcmp(info->dtype, "int64")) {
            ((int64_t *)data)[k] = (int64_t)(r % 10);
        } else if (!strcmp(info->dtype, "int32")) {
            ((int32_t *)data)[k] = (int32_t)(r % 10);
        } else {
            ((unsigned char *)data)[k * (size_t)info->dtype_bytes] = (unsigned char)(r % 2);
        }
    }
}

static int read_file(const char *path, void *data, size_t nbytes) {
    FILE *f = fopen(path, "rb");
    size_t got;
    int extra;
    if (!f) {
        fprintf(stderr, "error: cannot open '%s'\n", path);
        return -1;
    }
    got = fread(data, 1, nbytes, f);
    extra = fgetc(f);
    fclose(f);
    if (got != nbytes || extra != EOF) {
        fprintf(stderr, "error: '%s' is not %lu bytes\n", path, (unsigned long)nbytes);
        return -1;
    }
    return 0;
}

static void print_output(const XtvmModel *m, int k, const char *outdir) {
    const XtvmTensorInfo *info = xtvm_model_output_info(m, k);
    const void *data = xtvm_model_output_data(m, k);
    size_t nbytes = xtvm_model_output_nbytes(m, k), i;
    int64_t shape[XTVM_MAX_RANK];
    int ndim = xtvm_model_output_shape(m, k, shape, XTVM_MAX_RANK), d;
    printf("output %d '%s' %s [", k, info->name, info->dtype);
    for (d = 0; d < ndim; d++) printf(d ? ",%lld" : "%lld", (long long)shape[d]);
    printf("]");
    for (i = 0; i < 4 && i * 4 < nbytes && !strcmp(info->dtype, "float32"); i++)
        printf(" %.6g", (double)((const float *)data)[i]);
    printf("\n");
    if (outdir) {
        char path[4096];
        FILE *f;
        snprintf(path, sizeof path, "%s/output%d.bin", outdir, k);
        f = fopen(path, "wb");
        if (!f || fwrite(data, 1, nbytes, f) != nbytes) fprintf(stderr, "error: cannot write '%s'\n", path);
        if (f) fclose(f);
    }
}

int main(int argc, char **argv) {
    const char *files[MAX_FILES], *outdir = NULL, *path = NULL;
    int num_files = 0, threads = -1, a, k, rc;
    void *buffers[MAX_FILES] = {0};
    char err[256];
    XtvmModel *m = NULL;
    double t0, t1, t2, t3;
    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "-i") && a + 1 < argc && num_files < MAX_FILES) files[num_files++] = argv[++a];
        else if (!strcmp(argv[a], "-o") && a + 1 < argc) outdir = argv[++a];
        else if (!strcmp(argv[a], "-t") && a + 1 < argc) threads = atoi(argv[++a]);
        else if (argv[a][0] != '-' && !path) path = argv[a];
        else {
            fprintf(stderr, "usage: %s MODEL.so [-i IN.bin]... [-o OUTDIR] [-t THREADS]\n", argv[0]);
            return 2;
        }
    }
    t0 = now_ms();
#ifdef XTVM_BUNDLE
    (void)path;
    rc = xtvm_model_attach(&XTVM_BUNDLE, &m, err, sizeof err);
#else
    if (!path) {
        fprintf(stderr, "usage: %s MODEL.so [-i IN.bin]... [-o OUTDIR] [-t THREADS]\n", argv[0]);
        return 2;
    }
    rc = xtvm_model_open(path, &m, err, sizeof err);
#endif
    t1 = now_ms();
    if (rc) {
        fprintf(stderr, "error: %s\n", err);
        return 1;
    }
    if (threads >= 0 && xtvm_model_set_num_threads(m, threads)) goto fail;
    if (num_files > xtvm_model_num_inputs(m)) {
        fprintf(stderr, "error: %d input files for %d inputs\n", num_files, xtvm_model_num_inputs(m));
        xtvm_model_free(m);
        return 1;
    }
    for (k = 0; k < xtvm_model_num_inputs(m) && k < MAX_FILES; k++) {
        const XtvmTensorInfo *info = xtvm_model_input_info(m, k);
        buffers[k] = calloc(info->nbytes ? info->nbytes : 1, 1);
        if (!buffers[k]) {
            fprintf(stderr, "error: out of memory\n");
            return 1;
        }
        if (k < num_files) {
            if (read_file(files[k], buffers[k], info->nbytes)) return 1;
        } else {
            fill_input(info, buffers[k], k);
        }
        if (xtvm_model_set_input(m, k, buffers[k], info->nbytes)) goto fail;
    }
    t2 = now_ms();
    if (xtvm_model_run(m)) goto fail;
    t3 = now_ms();
    fprintf(stderr, "open %.2f ms, first run %.2f ms\n", t1 - t0, t3 - t2);
    for (k = 0; k < xtvm_model_num_outputs(m); k++) print_output(m, k, outdir);
    xtvm_model_free(m);
    for (k = 0; k < MAX_FILES; k++) free(buffers[k]);
    return 0;
fail:
    fprintf(stderr, "error: %s\n", xtvm_model_error(m));
    xtvm_model_free(m);
    return 1;
}
