/* Internals shared by the xtvm C runtime's files (not part of the public API). */
#ifndef XTVM_INTERNAL_H
#define XTVM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "xtvm_runtime.h"

#define XTVM_ERROR_BYTES 256

typedef int32_t (*XtvmEntry)(void **args, void *workspace);

/* One input or output of the signature (visible or a hidden count output). */
typedef struct XtvmTensor {
    XtvmTensorInfo info;
    int64_t dims[XTVM_MAX_RANK];
    int64_t real_dims[XTVM_MAX_RANK]; /* shape after the last run */
    int32_t count_of;                 /* count output: the signature output it sizes, else -1 */
    int32_t count_slot;               /* bounded output: the count output sizing it, else -1 */
    void *bound;                      /* caller's buffer, or NULL */
    void *owned;                      /* the handle's buffer (aligned), allocated on demand */
    void *owned_raw;                  /* what malloc returned for `owned` */
} XtvmTensor;

struct XtvmModel {
    char error[XTVM_ERROR_BYTES];
    void *library; /* dlopen handle, NULL for a bundle */
    XtvmEntry entry;
    const char *metadata;
    int32_t *num_threads;  /* the library's thread count, or NULL */
    int32_t threads_unused; /* kept when the model has no parallel loops */
    char *strings;         /* names and dtypes of every tensor */
    XtvmTensor *tensors;   /* inputs, then every output in signature order */
    int32_t num_inputs;
    int32_t num_signature_outputs; /* visible and count outputs */
    int32_t num_visible;
    int32_t *visible;      /* visible output index -> signature output index */
    size_t workspace_bytes;
    void *workspace;
    void *workspace_raw;
    void **args;           /* inputs then signature outputs, as xtvm_main takes them */
    int ran;               /* a run has succeeded since the last binding change */
};

/* snprintf into `err` (when not NULL) and return `status`. */
int xtvm_set_error(char *err, size_t err_size, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Parse and check `m->metadata` (`size` bytes, 0 = NUL-terminated up to the limit) and fill
 * the tensors of `m`. */
int xtvm_load_metadata(XtvmModel *m, size_t size, char *err, size_t err_size);

/* Refuse (XTVM_ERR_UNSUPPORTED_CPU) a target triple or CPU features this machine lacks. */
int xtvm_check_target(const char *triple, const char *cpu, const char *features, char *err,
                      size_t err_size);

#endif /* XTVM_INTERNAL_H */
