/* Turn a model's metadata JSON into checked tensor descriptions (xtvm C runtime).
 *
 * Everything a run relies on is validated here, once: names are strings, dtypes known,
 * shapes non-negative integers whose byte sizes do not overflow, count outputs name a real
 * output and axis. A library that fails any check is refused before its code is called.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xtvm_internal.h"
#include "xtvm_json.h"

#define COUNT_PREFIX "xtvm.count:"

static const struct {
    const char *name;
    int32_t bytes;
} DTYPES[] = {
    {"bool", 1},    {"int8", 1},    {"uint8", 1},      {"int16", 2},     {"uint16", 2},
    {"float16", 2}, {"bfloat16", 2}, {"int32", 4},     {"uint32", 4},    {"float32", 4},
    {"int64", 8},   {"uint64", 8},  {"float64", 8},    {"complex64", 8}, {"complex128", 16},
};

static int32_t dtype_bytes(const char *name) {
    size_t i;
    for (i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
        if (strcmp(DTYPES[i].name, name) == 0) return DTYPES[i].bytes;
    return 0;
}

typedef struct Reader {
    XtvmModel *m;
    XtvmJson doc;
    char *strings_end; /* where the next name/dtype is copied in m->strings */
    char *err;
    size_t err_size;
} Reader;

static int bad(Reader *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static int bad(Reader *r, const char *fmt, ...) {
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return xtvm_set_error(r->err, r->err_size, XTVM_ERR_BAD_METADATA,
                          "corrupt xtvm_metadata: %s", msg);
}

static const char *copy_string(Reader *r, int32_t node) {
    const char *text = xtvm_json_string(&r->doc, node);
    size_t n = r->doc.nodes[node].len;
    char *out = r->strings_end;
    memcpy(out, text, n + 1);
    r->strings_end += n + 1;
    return out;
}

static int read_tensor(Reader *r, int32_t node, XtvmTensor *t, const char *what, long index) {
    const XtvmJson *doc = &r->doc;
    int32_t name = xtvm_json_get(doc, node, "name");
    int32_t dtype = xtvm_json_get(doc, node, "dtype");
    int32_t shape = xtvm_json_get(doc, node, "shape");
    int32_t d, k = 0;
    size_t nbytes;
    if (doc->nodes[node].type != XTVM_JSON_OBJECT) return bad(r, "%s %ld is not an object", what, index);
    if (name < 0 || doc->nodes[name].type != XTVM_JSON_STRING)
        return bad(r, "%s %ld has no string \"name\"", what, index);
    if (dtype < 0 || doc->nodes[dtype].type != XTVM_JSON_STRING)
        return bad(r, "%s %ld has no string \"dtype\"", what, index);
    if (shape < 0 || doc->nodes[shape].type != XTVM_JSON_ARRAY)
        return bad(r, "%s %ld has no \"shape\" list", what, index);
    if (doc->nodes[shape].count > XTVM_MAX_RANK)
        return bad(r, "%s %ld has too many dimensions", what, index);
    t->info.name = copy_string(r, name);
    t->info.dtype = copy_string(r, dtype);
    t->info.dtype_bytes = dtype_bytes(t->info.dtype);
    if (!t->info.dtype_bytes) return bad(r, "%s %ld has an unknown dtype", what, index);
    nbytes = (size_t)t->info.dtype_bytes;
    for (d = doc->nodes[shape].child; d >= 0; d = doc->nodes[d].next, k++) {
        const XtvmJsonNode *dim = &doc->nodes[d];
        if (dim->type != XTVM_JSON_NUMBER || !dim->is_int || dim->ival < 0)
            return bad(r, "%s %ld has a dimension that is not an integer >= 0", what, index);
        if (dim->ival > 0 && nbytes > (SIZE_MAX / 2) / (uint64_t)dim->ival)
            return bad(r, "%s %ld is too large", what, index);
        nbytes *= (size_t)dim->ival;
        t->dims[k] = t->real_dims[k] = dim->ival;
    }
    t->info.ndim = k;
    t->info.shape = t->dims;
    t->info.nbytes = nbytes;
    t->info.dynamic_axis = -1;
    t->count_of = t->count_slot = -1;
    return XTVM_OK;
}

static int read_list(Reader *r, const char *key, XtvmTensor *tensors, int32_t *count) {
    int32_t list = xtvm_json_get(&r->doc, 0, key), item;
    long k = 0;
    if (list < 0 || r->doc.nodes[list].type != XTVM_JSON_ARRAY)
        return bad(r, "no \"%s\" list", key);
    for (item = r->doc.nodes[list].child; item >= 0; item = r->doc.nodes[item].next, k++) {
        int rc = read_tensor(r, item, &tensors[k], key, k);
        if (rc) return rc;
    }
    *count = (int32_t)k;
    return XTVM_OK;
}

/* Link each "xtvm.count:<axis>:<name>" output to the output it sizes. */
static int link_counts(Reader *r) {
    XtvmModel *m = r->m;
    XtvmTensor *outs = m->tensors + m->num_inputs;
    int32_t i, j;
    for (i = 0; i < m->num_signature_outputs; i++) {
        const char *name = outs[i].info.name, *p;
        long axis = 0;
        if (strncmp(name, COUNT_PREFIX, strlen(COUNT_PREFIX)) != 0) continue;
        p = name + strlen(COUNT_PREFIX);
        if (*p < '0' || *p > '9') return bad(r, "count output %ld has no axis", (long)i);
        while (*p >= '0' && *p <= '9' && axis <= XTVM_MAX_RANK) axis = axis * 10 + (*p++ - '0');
        if (*p++ != ':') return bad(r, "count output %ld is malformed", (long)i);
        if (strcmp(outs[i].info.dtype, "int64") != 0 || outs[i].info.nbytes != 8)
            return bad(r, "count output %ld is not one int64", (long)i);
        for (j = 0; j < m->num_signature_outputs; j++)
            if (j != i && strcmp(outs[j].info.name, p) == 0) break;
        if (j == m->num_signature_outputs || axis >= outs[j].info.ndim ||
            strncmp(outs[j].info.name, COUNT_PREFIX, strlen(COUNT_PREFIX)) == 0 ||
            outs[j].count_slot >= 0)
            return bad(r, "count output %ld names no output axis", (long)i);
        outs[i].count_of = j;
        outs[j].count_slot = i;
        outs[j].info.dynamic_axis = (int32_t)axis;
    }
    for (i = 0; i < m->num_signature_outputs; i++)
        if (outs[i].count_of < 0) m->visible[m->num_visible++] = i;
    return XTVM_OK;
}

static int read_target(Reader *r) {
    const XtvmJson *doc = &r->doc;
    int32_t target = xtvm_json_get(doc, 0, "target");
    const char *fields[3] = {"triple", "cpu", "features"};
    const char *values[3] = {"", "", ""};
    int i;
    if (target < 0) return XTVM_OK; /* libraries from before the field existed */
    if (doc->nodes[target].type != XTVM_JSON_OBJECT) return bad(r, "\"target\" is not an object");
    for (i = 0; i < 3; i++) {
        int32_t v = xtvm_json_get(doc, target, fields[i]);
        if (v < 0) continue;
        if (doc->nodes[v].type != XTVM_JSON_STRING)
            return bad(r, "target \"%s\" is not a string", fields[i]);
        values[i] = xtvm_json_string(doc, v);
    }
    return xtvm_check_target(values[0], values[1], values[2], r->err, r->err_size);
}

static int read_workspace(Reader *r) {
    int32_t ws = xtvm_json_get(&r->doc, 0, "workspace_bytes");
    const XtvmJsonNode *n;
    if (ws < 0) return XTVM_OK;
    n = &r->doc.nodes[ws];
    if (n->type != XTVM_JSON_NUMBER || !n->is_int || n->ival < 0 ||
        (uint64_t)n->ival > (uint64_t)(SIZE_MAX / 2))
        return bad(r, "\"workspace_bytes\" is not a size");
    r->m->workspace_bytes = (size_t)n->ival;
    return XTVM_OK;
}

static size_t metadata_length(const char *text, size_t size) {
    size_t n = 0;
    if (size) return size;
    while (n <= XTVM_MAX_METADATA_BYTES && text[n]) n++;
    return n;
}

int xtvm_load_metadata(XtvmModel *m, size_t size, char *err, size_t err_size) {
    Reader r;
    char perr[160];
    int32_t ins, outs, total;
    size_t len = metadata_length(m->metadata, size);
    int rc;
    memset(&r, 0, sizeof r);
    r.m = m, r.err = err, r.err_size = err_size;
    if (len > XTVM_MAX_METADATA_BYTES)
        return xtvm_set_error(err, err_size, XTVM_ERR_BAD_METADATA,
                              "corrupt xtvm_metadata: longer than %u bytes",
                              (unsigned)XTVM_MAX_METADATA_BYTES);
    if (xtvm_json_parse(m->metadata, len, &r.doc, perr, sizeof perr))
        return xtvm_set_error(err, err_size, XTVM_ERR_BAD_METADATA, "corrupt xtvm_metadata: %s",
                              perr);
    ins = xtvm_json_get(&r.doc, 0, "inputs");
    outs = xtvm_json_get(&r.doc, 0, "outputs");
    if (r.doc.nodes[0].type != XTVM_JSON_OBJECT) {
        rc = bad(&r, "not a JSON object");
        goto done;
    }
    total = (ins >= 0 ? r.doc.nodes[ins].count : 0) + (outs >= 0 ? r.doc.nodes[outs].count : 0);
    m->tensors = (XtvmTensor *)calloc((size_t)total + 1, sizeof(XtvmTensor));
    m->visible = (int32_t *)calloc((size_t)total + 1, sizeof(int32_t));
    m->strings = (char *)malloc(len + 1); /* names and dtypes are shorter than their JSON */
    if (!m->tensors || !m->visible || !m->strings) {
        rc = xtvm_set_error(err, err_size, XTVM_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    r.strings_end = m->strings;
    if ((rc = read_list(&r, "inputs", m->tensors, &m->num_inputs)) ||
        (rc = read_list(&r, "outputs", m->tensors + m->num_inputs, &m->num_signature_outputs)) ||
        (rc = link_counts(&r)) || (rc = read_workspace(&r)) || (rc = read_target(&r)))
        goto done;
    rc = XTVM_OK;
done:
    xtvm_json_free(&r.doc);
    return rc;
}
