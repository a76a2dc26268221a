/*
 * xtvm C runtime: load and run models compiled by xtvm from C or C++.
 *
 * A compiled model is either a shared library (`xtvm compile -o model.so`), opened with
 * xtvm_model_open(), or a static bundle (`xtvm compile --bundle DIR`), attached with
 * xtvm_model_attach() to the descriptor its generated header declares. Either way the
 * model is described by its metadata (input/output names, dtypes, shapes, the scratch
 * size, the target CPU), which the runtime parses and checks before anything runs.
 *
 * Build: C99 and libc (+ libdl for xtvm_model_open on glibc < 2.34); the model needs libm
 * and, with parallel loops, libgomp:
 *   cc -std=c99 -O2 -c xtvm_runtime.c xtvm_metadata.c xtvm_json.c xtvm_cpu.c
 * Define XTVM_RUNTIME_NO_DLOPEN to leave out dynamic loading (static bundles do).
 *
 * Conventions: functions returning int return XTVM_OK (0) or an XtvmStatus code and leave
 * a one-line message in xtvm_model_error(m). Indices are 0-based; an output index counts
 * the outputs a caller sees (the runtime's hidden "xtvm.count:..." outputs are not counted).
 *
 * Threads: a model handle is not thread-safe (it owns one scratch area and one set of
 * bindings); use one handle per thread. Distinct handles may run at the same time, but the
 * thread count (xtvm_model_set_num_threads) belongs to the library, so it is shared by every
 * handle opened on the same library file or bundle.
 *
 * Safety: metadata is parsed by a bounded parser and checked (shapes, sizes, dtypes) before
 * use; a malformed library is refused with an error, never run. Opening a shared library
 * runs its initialisers, like any dlopen: open only libraries you trust.
 */
#ifndef XTVM_RUNTIME_H
#define XTVM_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XTVM_RUNTIME_VERSION "0.1"
/* Layout version of XtvmBundle; a bundle made for another layout is refused. */
#define XTVM_BUNDLE_ABI_VERSION 1u
/* Bytes an output or input buffer should be aligned to (not required, but faster). */
#define XTVM_ALIGNMENT 64
/* Longest metadata string accepted (bytes). */
#define XTVM_MAX_METADATA_BYTES (16u << 20)
/* Most dimensions a tensor may have. */
#define XTVM_MAX_RANK 32

typedef enum XtvmStatus {
    XTVM_OK = 0,
    XTVM_ERR_INVALID_ARGUMENT = 1, /* NULL handle, index out of range, wrong buffer size */
    XTVM_ERR_NOT_FOUND = 2,        /* no such library file */
    XTVM_ERR_NOT_XTVM = 3,         /* a file or bundle that is not an xtvm model */
    XTVM_ERR_BAD_METADATA = 4,     /* the model's metadata is malformed or inconsistent */
    XTVM_ERR_UNSUPPORTED_CPU = 5,  /* built for another architecture or missing CPU features */
    XTVM_ERR_NO_MEMORY = 6,
    XTVM_ERR_RUN_FAILED = 7,       /* the model returned a non-zero status */
    XTVM_ERR_UNSUPPORTED = 8       /* e.g. xtvm_model_open in a runtime built without dlopen */
} XtvmStatus;

/* What a static bundle exports (one per model, named xtvm_bundle_<name>). */
typedef struct XtvmBundle {
    uint32_t abi_version;      /* XTVM_BUNDLE_ABI_VERSION */
    const char *name;          /* the bundle's name */
    int32_t (*entry)(void **args, void *workspace); /* the model's xtvm_main */
    const char *metadata;      /* NUL-terminated JSON */
    size_t metadata_size;      /* bytes before the NUL, or 0 when unknown */
    int32_t *num_threads;      /* the model's thread count, NULL without parallel loops */
} XtvmBundle;

/* One input or output, as the metadata declares it. */
typedef struct XtvmTensorInfo {
    const char *name;
    const char *dtype;       /* numpy's name: "float32", "int64", "bool", "bfloat16", ... */
    int32_t dtype_bytes;     /* bytes per element */
    int32_t ndim;
    const int64_t *shape;    /* ndim dims; for a data-dependent output, its upper bound */
    int32_t dynamic_axis;    /* the axis whose length depends on the data, or -1 */
    size_t nbytes;           /* bytes of a buffer for the (bounded) shape */
} XtvmTensorInfo;

typedef struct XtvmModel XtvmModel;

/* Open the shared library at `path`. On success stores a handle in *out and returns
 * XTVM_OK; on failure stores NULL and writes a one-line message into err (when err is not
 * NULL; it is truncated to err_size bytes, NUL included). */
int xtvm_model_open(const char *path, XtvmModel **out, char *err, size_t err_size);

/* Make a handle for a statically linked bundle; same contract as xtvm_model_open. */
int xtvm_model_attach(const XtvmBundle *bundle, XtvmModel **out, char *err, size_t err_size);

/* Release the handle (and close its library). NULL is allowed. */
void xtvm_model_free(XtvmModel *m);

/* The message of the last failed call on `m` ("" if none). Valid until the next call. */
const char *xtvm_model_error(const XtvmModel *m);

/* A short name for a status code ("ok", "invalid argument", ...). */
const char *xtvm_status_string(int status);

int xtvm_model_num_inputs(const XtvmModel *m);
int xtvm_model_num_outputs(const XtvmModel *m);
/* Info of input/output `index`, or NULL if out of range. Owned by `m`. */
const XtvmTensorInfo *xtvm_model_input_info(const XtvmModel *m, int index);
const XtvmTensorInfo *xtvm_model_output_info(const XtvmModel *m, int index);
/* Index of the input/output called `name`, or -1. */
int xtvm_model_find_input(const XtvmModel *m, const char *name);
int xtvm_model_find_output(const XtvmModel *m, const char *name);
/* Bytes of scratch memory the model uses (allocated once per handle). */
size_t xtvm_model_workspace_bytes(const XtvmModel *m);
/* The model's metadata JSON, as stored in the library. */
const char *xtvm_model_metadata(const XtvmModel *m);

/* Threads each parallel loop uses; 0 = the OpenMP default (all cores). The value lives in
 * the library (shared by its handles). Opening a library whose value is 0 applies the
 * XTVM_NUM_THREADS environment variable when set. */
int xtvm_model_set_num_threads(XtvmModel *m, int num_threads);
int xtvm_model_num_threads(const XtvmModel *m);

/* Bind the buffer of input `index`: `nbytes` must equal its info's nbytes. The buffer is
 * read by every following run until it is bound again; it is not copied. */
int xtvm_model_set_input(XtvmModel *m, int index, const void *data, size_t nbytes);

/* Bind the buffer of output `index`: at least its info's nbytes. Outputs left unbound are
 * written into buffers the handle allocates (see xtvm_model_output_data). data == NULL
 * unbinds. */
int xtvm_model_set_output(XtvmModel *m, int index, void *data, size_t nbytes);

/* Run once on the bound inputs. Every input must be bound. */
int xtvm_model_run(XtvmModel *m);

/* After a successful run: the buffer holding output `index` (the bound one, or the
 * handle's own), or NULL before the first run. A data-dependent output has been compacted
 * to a C-contiguous array of its real shape at the start of its buffer. */
const void *xtvm_model_output_data(const XtvmModel *m, int index);

/* After a successful run: the real shape of output `index` written into shape[0..ndim),
 * (capacity >= ndim entries). Returns ndim, or -1 on a bad argument or before a run.
 * Differs from the info's shape only along a data-dependent output's dynamic_axis. */
int xtvm_model_output_shape(const XtvmModel *m, int index, int64_t *shape, int capacity);

/* After a successful run: bytes of output `index` for its real shape. */
size_t xtvm_model_output_nbytes(const XtvmModel *m, int index);

#ifdef __cplusplus
}
#endif

#endif /* XTVM_RUNTIME_H */
