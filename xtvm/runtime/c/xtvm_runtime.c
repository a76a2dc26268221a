/* The xtvm C runtime: open or attach a compiled model, bind buffers, run (see the header).
 *
 * The ABI it drives: int32_t xtvm_main(void **args, void *workspace) with args = input data
 * pointers then every output's (in signature order, hidden count outputs included), the
 * workspace a 64-byte aligned scratch area of workspace_bytes; 0 means success.
 */
#if !defined(XTVM_RUNTIME_NO_DLOPEN) && !defined(_WIN32)
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr1, to bound the metadata string by its symbol's size */
#endif
#include <dlfcn.h>
#define XTVM_HAVE_DLOPEN 1
#ifdef __GLIBC__
#include <link.h>
#endif
#endif

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xtvm_internal.h"

int xtvm_set_error(char *err, size_t err_size, int status, const char *fmt, ...) {
    if (err && err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
    }
    return status;
}

#define FAIL(m, status, ...) xtvm_set_error((m)->error, XTVM_ERROR_BYTES, (status), __VA_ARGS__)

const char *xtvm_status_string(int status) {
    static const char *const names[] = {
        "ok",           "invalid argument", "not found",   "not an xtvm model", "bad metadata",
        "unsupported CPU", "out of memory", "run failed", "unsupported"};
    if (status < 0 || status >= (int)(sizeof names / sizeof names[0])) return "unknown status";
    return names[status];
}

/* `size` bytes aligned to XTVM_ALIGNMENT; *raw receives what to free. */
static void *aligned_alloc_raw(size_t size, void **raw) {
    uintptr_t p;
    if (size > SIZE_MAX - XTVM_ALIGNMENT) return NULL;
    *raw = malloc(size + XTVM_ALIGNMENT);
    if (!*raw) return NULL;
    p = ((uintptr_t)*raw + XTVM_ALIGNMENT - 1) & ~(uintptr_t)(XTVM_ALIGNMENT - 1);
    return (void *)p;
}

/* Read XTVM_NUM_THREADS into the library's count when the build left it at 0. */
static int apply_env_threads(XtvmModel *m, char *err, size_t err_size) {
    const char *text = getenv("XTVM_NUM_THREADS");
    long value = 0;
    const char *p;
    if (!text || !*text || !m->num_threads || *m->num_threads != 0) return XTVM_OK;
    for (p = text; *p; p++) {
        if (*p < '0' || *p > '9' || value > 100000)
            return xtvm_set_error(err, err_size, XTVM_ERR_INVALID_ARGUMENT,
                                  "XTVM_NUM_THREADS must be a positive int, got '%.20s'", text);
        value = value * 10 + (*p - '0');
    }
    if (value < 1)
        return xtvm_set_error(err, err_size, XTVM_ERR_INVALID_ARGUMENT,
                              "XTVM_NUM_THREADS must be a positive int, got '%.20s'", text);
    *m->num_threads = (int32_t)value;
    return XTVM_OK;
}

/* Parse the metadata, allocate the workspace and argument array: a ready handle. */
static int finish_model(XtvmModel *m, size_t metadata_size, char *err, size_t err_size) {
    int32_t n;
    int rc = xtvm_load_metadata(m, metadata_size, err, err_size);
    if (rc) return rc;
    n = m->num_inputs + m->num_signature_outputs;
    m->args = (void **)calloc((size_t)n + 1, sizeof(void *));
    m->workspace = aligned_alloc_raw(m->workspace_bytes ? m->workspace_bytes : 1,
                                     &m->workspace_raw);
    if (!m->args || !m->workspace)
        return xtvm_set_error(err, err_size, XTVM_ERR_NO_MEMORY, "out of memory (workspace of "
                              "%lu bytes)", (unsigned long)m->workspace_bytes);
    return apply_env_threads(m, err, err_size);
}

static int give(XtvmModel *m, int rc, XtvmModel **out) {
    if (rc) {
        xtvm_model_free(m);
        *out = NULL;
    } else {
        m->error[0] = '\0';
        *out = m;
    }
    return rc;
}

int xtvm_model_attach(const XtvmBundle *bundle, XtvmModel **out, char *err, size_t err_size) {
    XtvmModel *m;
    if (!out) return xtvm_set_error(err, err_size, XTVM_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    if (!bundle) return xtvm_set_error(err, err_size, XTVM_ERR_INVALID_ARGUMENT, "bundle is NULL");
    if (bundle->abi_version != XTVM_BUNDLE_ABI_VERSION)
        return xtvm_set_error(err, err_size, XTVM_ERR_NOT_XTVM,
                              "bundle ABI version %u, this runtime reads %u: rebuild the bundle",
                              (unsigned)bundle->abi_version, (unsigned)XTVM_BUNDLE_ABI_VERSION);
    if (!bundle->entry || !bundle->metadata)
        return xtvm_set_error(err, err_size, XTVM_ERR_NOT_XTVM,
                              "not an xtvm bundle (no entry or metadata)");
    m = (XtvmModel *)calloc(1, sizeof *m);
    if (!m) return xtvm_set_error(err, err_size, XTVM_ERR_NO_MEMORY, "out of memory");
    m->entry = bundle->entry;
    m->metadata = bundle->metadata;
    m->num_threads = bundle->num_threads;
    return give(m, finish_model(m, bundle->metadata_size, err, err_size), out);
}

#ifdef XTVM_HAVE_DLOPEN
/* Bytes of the metadata string before its NUL when the symbol table gives the symbol's
 * size (glibc); 0 when unknown (then bounded by XTVM_MAX_METADATA_BYTES); -1 when the
 * symbol holds no NUL at all. */
static long symbol_string_size(void *addr) {
#if defined(__GLIBC__)
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (dladdr1(addr, &info, (void **)&sym, RTLD_DL_SYMENT) && sym && sym->st_size > 0) {
        const char *end = (const char *)memchr(addr, '\0', sym->st_size);
        return end ? (long)(end - (const char *)addr) : -1;
    }
#else
    (void)addr;
#endif
    return 0;
}

int xtvm_model_open(const char *path, XtvmModel **out, char *err, size_t err_size) {
    XtvmModel *m;
    FILE *probe;
    void *entry, *metadata;
    const char *why;
    long size;
    if (!out) return xtvm_set_error(err, err_size, XTVM_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    if (!path) return xtvm_set_error(err, err_size, XTVM_ERR_INVALID_ARGUMENT, "path is NULL");
    probe = fopen(path, "rb");
    if (!probe)
        return xtvm_set_error(err, err_size, XTVM_ERR_NOT_FOUND, "cannot open '%.150s': no such "
                              "file or not readable", path);
    {
        char head[262];
        size_t got = fread(head, 1, sizeof head, probe);
        fclose(probe);
        if (got == sizeof head && memcmp(head + 257, "ustar", 5) == 0)
            return xtvm_set_error(err, err_size, XTVM_ERR_NOT_XTVM,
                                  "'%.150s' is a package (tar): open the mod.so inside it", path);
    }
    m = (XtvmModel *)calloc(1, sizeof *m);
    if (!m) return xtvm_set_error(err, err_size, XTVM_ERR_NO_MEMORY, "out of memory");
    /* a path without '/' would be searched for in the library path: make it relative */
    if (!strchr(path, '/')) {
        char local[4096];
        snprintf(local, sizeof local, "./%s", path);
        m->library = dlopen(local, RTLD_NOW | RTLD_LOCAL);
    } else {
        m->library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    }
    if (!m->library) {
        why = dlerror();
        xtvm_set_error(err, err_size, XTVM_ERR_NOT_XTVM, "cannot load '%.100s': %.120s", path,
                       why ? why : "dlopen failed");
        return give(m, XTVM_ERR_NOT_XTVM, out);
    }
#if defined(RTLD_NOLOAD) && defined(RTLD_NODELETE)
    /* Parallel models load libgomp, whose worker threads outlive a run: unloading it with
     * the model (xtvm_model_free) would crash them. Pin it if the model brought it in. */
    (void)dlopen("libgomp.so.1", RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
#endif
    entry = dlsym(m->library, "xtvm_main");
    metadata = dlsym(m->library, "xtvm_metadata");
    if (!entry || !metadata) {
        xtvm_set_error(err, err_size, XTVM_ERR_NOT_XTVM,
                       "cannot load '%.150s': not an xtvm library (no xtvm_metadata/xtvm_main)",
                       path);
        return give(m, XTVM_ERR_NOT_XTVM, out);
    }
    memcpy(&m->entry, &entry, sizeof entry); /* POSIX: data and function pointers convert */
    m->metadata = (const char *)metadata;
    m->num_threads = (int32_t *)dlsym(m->library, "xtvm_num_threads");
    size = symbol_string_size(metadata);
    if (size < 0) {
        xtvm_set_error(err, err_size, XTVM_ERR_BAD_METADATA,
                       "corrupt xtvm_metadata in '%.150s': not NUL-terminated", path);
        return give(m, XTVM_ERR_BAD_METADATA, out);
    }
    return give(m, finish_model(m, (size_t)size, err, err_size), out);
}
#else
int xtvm_model_open(const char *path, XtvmModel **out, char *err, size_t err_size) {
    (void)path;
    if (out) *out = NULL;
    return xtvm_set_error(err, err_size, XTVM_ERR_UNSUPPORTED,
                          "this runtime was built without dynamic loading "
                          "(XTVM_RUNTIME_NO_DLOPEN): attach a bundle instead");
}
#endif

void xtvm_model_free(XtvmModel *m) {
    int32_t i;
    if (!m) return;
    if (m->tensors)
        for (i = 0; i < m->num_inputs + m->num_signature_outputs; i++) free(m->tensors[i].owned_raw);
#ifdef XTVM_HAVE_DLOPEN
    if (m->library) dlclose(m->library);
#endif
    free(m->tensors);
    free(m->visible);
    free(m->strings);
    free(m->args);
    free(m->workspace_raw);
    free(m);
}

const char *xtvm_model_error(const XtvmModel *m) { return m ? m->error : "model is NULL"; }

int xtvm_model_num_inputs(const XtvmModel *m) { return m ? m->num_inputs : 0; }

int xtvm_model_num_outputs(const XtvmModel *m) { return m ? m->num_visible : 0; }

/* The signature tensor of visible output `index`, or NULL. */
static XtvmTensor *output_tensor(const XtvmModel *m, int index) {
    if (!m || index < 0 || index >= m->num_visible) return NULL;
    return &m->tensors[m->num_inputs + m->visible[index]];
}

const XtvmTensorInfo *xtvm_model_input_info(const XtvmModel *m, int index) {
    if (!m || index < 0 || index >= m->num_inputs) return NULL;
    return &m->tensors[index].info;
}

const XtvmTensorInfo *xtvm_model_output_info(const XtvmModel *m, int index) {
    XtvmTensor *t = output_tensor(m, index);
    return t ? &t->info : NULL;
}

int xtvm_model_find_input(const XtvmModel *m, const char *name) {
    int i;
    for (i = 0; m && name && i < m->num_inputs; i++)
        if (strcmp(m->tensors[i].info.name, name) == 0) return i;
    return -1;
}

int xtvm_model_find_output(const XtvmModel *m, const char *name) {
    int i;
    for (i = 0; m && name && i < m->num_visible; i++)
        if (strcmp(output_tensor(m, i)->info.name, name) == 0) return i;
    return -1;
}

size_t xtvm_model_workspace_bytes(const XtvmModel *m) { return m ? m->workspace_bytes : 0; }

const char *xtvm_model_metadata(const XtvmModel *m) { return m ? m->metadata : NULL; }

int xtvm_model_set_num_threads(XtvmModel *m, int num_threads) {
    if (!m) return XTVM_ERR_INVALID_ARGUMENT;
    if (num_threads < 0)
        return FAIL(m, XTVM_ERR_INVALID_ARGUMENT, "num_threads must be >= 0, got %d", num_threads);
    if (m->num_threads) *m->num_threads = num_threads;
    else m->threads_unused = num_threads; /* no parallel loops: nothing reads it */
    return XTVM_OK;
}

int xtvm_model_num_threads(const XtvmModel *m) {
    if (!m) return 0;
    return m->num_threads ? (int)*m->num_threads : (int)m->threads_unused;
}

int xtvm_model_set_input(XtvmModel *m, int index, const void *data, size_t nbytes) {
    XtvmTensor *t;
    if (!m) return XTVM_ERR_INVALID_ARGUMENT;
    if (index < 0 || index >= m->num_inputs)
        return FAIL(m, XTVM_ERR_INVALID_ARGUMENT, "input index %d out of range (the model has %d)",
                    index, (int)m->num_inputs);
    t = &m->tensors[index];
    if (!data && t->info.nbytes)
        return FAIL(m, XTVM_ERR_INVALID_ARGUMENT, "input '%.60s': data is NULL", t->info.name);
    if (nbytes != t->info.nbytes)
        return FAIL(m, XTVM_ERR_INVALID_ARGUMENT, "input '%.60s': expected %lu bytes, got %lu",
                    t->info.name, (unsigned long)t->info.nbytes, (unsigned long)nbytes);
    t->bound = (void *)data; /* read, never written, by the model */
    m->ran = 0;
    return XTVM_OK;
}

int xtvm_model_set_output(XtvmModel *m, int index, void *data, size_t nbytes) {
    XtvmTensor *t = output_tensor(m, index);
    if (!m) return XTVM_ERR_INVALID_ARGUMENT;
    if (!t)
        return FAIL(m, XTVM_ERR_INVALID_ARGUMENT,
                    "output index %d out of range (the model has %d)", index, (int)m->num_visible);
    if (data && nbytes < t->info.nbytes)
        return FAIL(m, XTVM_ERR_INVALID_ARGUMENT,
                    "output '%.60s': needs %lu bytes, got a buffer of %lu", t->info.name,
                    (unsigned long)t->info.nbytes, (unsigned long)nbytes);
    t->bound = data;
    m->ran = 0;
    return XTVM_OK;
}

/* The buffer output tensor `t` is written to: the caller's, else the handle's own. */
static void *output_buffer(XtvmTensor *t) {
    if (t->bound) return t->bound;
    if (!t->owned) t->owned = aligned_alloc_raw(t->info.nbytes ? t->info.nbytes : 1, &t->owned_raw);
    return t->owned;
}

/* Record the real length of a bounded output and compact its data to that shape. */
static int apply_count(XtvmModel *m, XtvmTensor *t, char *data, int64_t n) {
    int32_t axis = t->info.dynamic_axis, d;
    int64_t bound = t->dims[axis], outer = 1, o;
    size_t inner = (size_t)t->info.dtype_bytes;
    if (n < 0 || n > bound)
        return FAIL(m, XTVM_ERR_RUN_FAILED, "output '%.60s': real length %lld outside [0, %lld]",
                    t->info.name, (long long)n, (long long)bound);
    for (d = 0; d < axis; d++) outer *= t->dims[d];
    for (d = axis + 1; d < t->info.ndim; d++) inner *= (size_t)t->dims[d];
    if (axis > 0 && n < bound) /* each block moves to a lower address: memmove in order */
        for (o = 1; o < outer; o++)
            memmove(data + (size_t)o * (size_t)n * inner, data + (size_t)o * (size_t)bound * inner,
                    (size_t)n * inner);
    t->real_dims[axis] = n;
    return XTVM_OK;
}

int xtvm_model_run(XtvmModel *m) {
    int32_t i, rc;
    XtvmTensor *outs;
    if (!m) return XTVM_ERR_INVALID_ARGUMENT;
    m->ran = 0;
    for (i = 0; i < m->num_inputs; i++) {
        if (!m->tensors[i].bound && m->tensors[i].info.nbytes)
            return FAIL(m, XTVM_ERR_INVALID_ARGUMENT, "input '%.60s' is not set",
                        m->tensors[i].info.name);
        m->args[i] = m->tensors[i].bound;
    }
    outs = m->tensors + m->num_inputs;
    for (i = 0; i < m->num_signature_outputs; i++) {
        void *buf = output_buffer(&outs[i]);
        if (!buf) return FAIL(m, XTVM_ERR_NO_MEMORY, "out of memory (output '%.60s')",
                              outs[i].info.name);
        m->args[m->num_inputs + i] = buf;
    }
    rc = m->entry(m->args, m->workspace);
    if (rc == 2)
        return FAIL(m, XTVM_ERR_RUN_FAILED, "the run took an If branch that could not be "
                    "compiled at the bound input shapes; compile with the shapes it needs");
    if (rc != 0) return FAIL(m, XTVM_ERR_RUN_FAILED, "xtvm_main failed with status %d", (int)rc);
    for (i = 0; i < m->num_signature_outputs; i++) {
        if (outs[i].count_slot >= 0) {
            int64_t n;
            memcpy(&n, m->args[m->num_inputs + outs[i].count_slot], sizeof n);
            rc = apply_count(m, &outs[i], (char *)m->args[m->num_inputs + i], n);
            if (rc) return rc;
        }
    }
    m->ran = 1;
    m->error[0] = '\0';
    return XTVM_OK;
}

const void *xtvm_model_output_data(const XtvmModel *m, int index) {
    XtvmTensor *t = output_tensor(m, index);
    if (!t || !m->ran) return NULL;
    return t->bound ? t->bound : t->owned;
}

int xtvm_model_output_shape(const XtvmModel *m, int index, int64_t *shape, int capacity) {
    XtvmTensor *t = output_tensor(m, index);
    if (!t || !m->ran || (!shape && t->info.ndim) || capacity < t->info.ndim) return -1;
    if (t->info.ndim) memcpy(shape, t->real_dims, (size_t)t->info.ndim * sizeof(int64_t));
    return t->info.ndim;
}

size_t xtvm_model_output_nbytes(const XtvmModel *m, int index) {
    XtvmTensor *t = output_tensor(m, index);
    size_t n;
    int32_t d;
    if (!t || !m->ran) return 0;
    n = (size_t)t->info.dtype_bytes;
    for (d = 0; d < t->info.ndim; d++) n *= (size_t)t->real_dims[d];
    return n;
}
