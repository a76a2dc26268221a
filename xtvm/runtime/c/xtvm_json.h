/*
 * A small, bounded JSON parser for model metadata (internal to the xtvm C runtime).
 *
 * Why not a library: the runtime must depend on libc alone, and metadata comes from a file
 * the runtime did not write, so the parser must never read past its input, never recurse
 * without bound and reject anything that is not strict JSON (RFC 8259) with a message.
 * It builds a tree of nodes in one growable array; strings are decoded into one buffer.
 * Integers are kept exactly (int64); other numbers are validated but not converted (the
 * metadata needs none, and strtod would depend on the C locale).
 */
#ifndef XTVM_JSON_H
#define XTVM_JSON_H

#include <stddef.h>
#include <stdint.h>

#define XTVM_JSON_MAX_DEPTH 32

typedef enum XtvmJsonType {
    XTVM_JSON_NULL,
    XTVM_JSON_BOOL,
    XTVM_JSON_NUMBER,
    XTVM_JSON_STRING,
    XTVM_JSON_ARRAY,
    XTVM_JSON_OBJECT
} XtvmJsonType;

typedef struct XtvmJsonNode {
    XtvmJsonType type;
    int32_t next;      /* next element or member of the parent, -1 at the end */
    int32_t child;     /* first element or member of an array/object, -1 if empty */
    int32_t count;     /* elements or members of an array/object */
    int32_t is_int;    /* NUMBER: an integer that fits int64 (in ival) */
    int64_t ival;      /* NUMBER (if is_int) or BOOL (0/1) */
    size_t key;        /* member of an object: offset of its key in the string buffer */
    size_t str;        /* STRING: offset of its text in the string buffer */
    size_t len;        /* STRING: bytes of its text (\u0000 is rejected) */
} XtvmJsonNode;

typedef struct XtvmJson {
    XtvmJsonNode *nodes; /* nodes[0] is the root */
    int32_t num_nodes;
    char *strings;       /* decoded, NUL-terminated strings and keys */
} XtvmJson;

/* Parse text[0..len). Returns 0 and fills *doc, or -1 with a message in err. */
int xtvm_json_parse(const char *text, size_t len, XtvmJson *doc, char *err, size_t err_size);
void xtvm_json_free(XtvmJson *doc);

/* The member of object `obj` called `key`, or -1. */
int32_t xtvm_json_get(const XtvmJson *doc, int32_t obj, const char *key);
/* The text of a STRING node (NUL-terminated). */
const char *xtvm_json_string(const XtvmJson *doc, int32_t node);

#endif /* XTVM_JSON_H */
