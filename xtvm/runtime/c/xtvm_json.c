/* A bounded, strict JSON parser for model metadata; see xtvm_json.h for why. */
#include "xtvm_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XTVM_JSON_MAX_MEMBERS 4096 /* members per object: bounds the duplicate-key check */

typedef struct Parser {
    const unsigned char *p;
    const unsigned char *start;
    const unsigned char *end;
    XtvmJson *doc;
    int32_t capacity;
    size_t str_used;
    char *err;
    size_t err_size;
} Parser;

static int fail(Parser *ps, const char *fmt, ...) {
    if (ps->err && ps->err_size) {
        char msg[192];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        snprintf(ps->err, ps->err_size, "%s at byte %lu", msg,
                 (unsigned long)(ps->p - ps->start));
    }
    return -1;
}

static void skip_space(Parser *ps) {
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int32_t new_node(Parser *ps, XtvmJsonType type) {
    XtvmJson *doc = ps->doc;
    if (doc->num_nodes == ps->capacity) {
        int32_t cap = ps->capacity ? ps->capacity * 2 : 64;
        XtvmJsonNode *grown;
        if (ps->capacity > INT32_MAX / 2 ||
            (size_t)cap > SIZE_MAX / sizeof(XtvmJsonNode))
            return fail(ps, "too many values");
        grown = (XtvmJsonNode *)realloc(doc->nodes, (size_t)cap * sizeof(XtvmJsonNode));
        if (!grown) return fail(ps, "out of memory");
        doc->nodes = grown;
        ps->capacity = cap;
    }
    memset(&doc->nodes[doc->num_nodes], 0, sizeof(XtvmJsonNode));
    doc->nodes[doc->num_nodes].type = type;
    doc->nodes[doc->num_nodes].next = -1;
    doc->nodes[doc->num_nodes].child = -1;
    return doc->num_nodes++;
}

static int literal(Parser *ps, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail(ps, "unexpected character");
    ps->p += n;
    return 0;
}

static int hex4(Parser *ps, unsigned *out) {
    unsigned v = 0;
    int i;
    if (ps->end - ps->p < 4) return fail(ps, "truncated \\u escape");
    for (i = 0; i < 4; i++) {
        unsigned char c = ps->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return fail(ps, "bad \\u escape");
    }
    ps->p += 4;
    *out = v;
    return 0;
}

static void put_utf8(char *dst, size_t *n, unsigned cp) {
    if (cp < 0x80) {
        dst[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        dst[(*n)++] = (char)(0xC0 | (cp >> 6));
        dst[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        dst[(*n)++] = (char)(0xE0 | (cp >> 12));
        dst[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        dst[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        dst[(*n)++] = (char)(0xF0 | (cp >> 18));
        dst[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        dst[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        dst[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* Bytes of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0 if invalid. */
static size_t utf8_length(const unsigned char *p, const unsigned char *end) {
    unsigned cp;
    size_t n, i;
    if (*p >= 0xC2 && *p <= 0xDF) n = 2, cp = *p & 0x1Fu;
    else if (*p >= 0xE0 && *p <= 0xEF) n = 3, cp = *p & 0x0Fu;
    else if (*p >= 0xF0 && *p <= 0xF4) n = 4, cp = *p & 0x07u;
    else return 0;
    if ((size_t)(end - p) < n) return 0;
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

/* Decode the string at ps->p (just after its opening quote) into the string buffer. */
static int parse_string(Parser *ps, size_t *offset, size_t *length) {
    char *dst = ps->doc->strings + ps->str_used;
    size_t n = 0;
    for (;;) {
        unsigned char c;
        if (ps->p >= ps->end) return fail(ps, "unterminated string");
        c = *ps->p;
        if (c == '"') {
            ps->p++;
            break;
        }
        if (c < 0x20) return fail(ps, "control character in string");
        if (c == '\\') {
            unsigned cp;
            if (ps->end - ps->p < 2) return fail(ps, "unterminated string");
            c = ps->p[1];
            ps->p += 2;
            switch (c) {
            case '"': dst[n++] = '"'; continue;
            case '\\': dst[n++] = '\\'; continue;
            case '/': dst[n++] = '/'; continue;
            case 'b': dst[n++] = '\b'; continue;
            case 'f': dst[n++] = '\f'; continue;
            case 'n': dst[n++] = '\n'; continue;
            case 'r': dst[n++] = '\r'; continue;
            case 't': dst[n++] = '\t'; continue;
            case 'u': break;
            default: return fail(ps, "bad escape");
            }
            if (hex4(ps, &cp)) return -1;
            if (cp == 0) return fail(ps, "\\u0000 in string");
            if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(ps, "lone low surrogate");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
                    return fail(ps, "lone high surrogate");
                ps->p += 2;
                if (hex4(ps, &lo)) return -1;
                if (lo < 0xDC00 || lo > 0xDFFF) return fail(ps, "bad surrogate pair");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            /* a 6- or 12-byte escape never decodes to more bytes than it spans */
            put_utf8(dst, &n, cp);
            continue;
        }
        if (c < 0x80) {
            dst[n++] = (char)c;
            ps->p++;
        } else {
            size_t k = utf8_length(ps->p, ps->end);
            if (!k) return fail(ps, "invalid UTF-8");
            memcpy(dst + n, ps->p, k);
            n += k;
            ps->p += k;
        }
    }
    dst[n] = '\0';
    *offset = ps->str_used;
    *length = n;
    ps->str_used += n + 1;
    return 0;
}

static int parse_number(Parser *ps, int32_t node) {
    int negative = 0, is_int = 1, overflow = 0;
    uint64_t mag = 0;
    if (ps->p < ps->end && *ps->p == '-') negative = 1, ps->p++;
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') return fail(ps, "bad number");
    if (*ps->p == '0') {
        ps->p++;
    } else {
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
            unsigned d = (unsigned)(*ps->p++ - '0');
            if (mag > (UINT64_MAX - d) / 10) overflow = 1;
            else mag = mag * 10 + d;
        }
    }
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++, is_int = 0;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') return fail(ps, "bad number");
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++, is_int = 0;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') return fail(ps, "bad number");
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    }
    if (is_int && !overflow && mag <= (uint64_t)INT64_MAX + (uint64_t)negative) {
        ps->doc->nodes[node].is_int = 1;
        ps->doc->nodes[node].ival =
            negative ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag)
                     : (int64_t)mag;
    }
    return 0;
}

static int parse_value(Parser *ps, int depth, int32_t *out);

static int parse_container(Parser *ps, int depth, int32_t node, int is_object) {
    char close = is_object ? '}' : ']';
    int32_t last = -1;
    ps->p++; /* the opening bracket */
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 0;
    }
    for (;;) {
        size_t key = 0, key_len = 0;
        int32_t child;
        if (is_object) {
            int32_t k;
            if (ps->p >= ps->end || *ps->p != '"') return fail(ps, "expected a string key");
            ps->p++;
            if (parse_string(ps, &key, &key_len)) return -1;
            if (ps->doc->nodes[node].count >= XTVM_JSON_MAX_MEMBERS)
                return fail(ps, "object has too many members");
            for (k = ps->doc->nodes[node].child; k >= 0; k = ps->doc->nodes[k].next)
                if (strcmp(ps->doc->strings + ps->doc->nodes[k].key, ps->doc->strings + key) == 0)
                    return fail(ps, "duplicate key \"%.40s\"", ps->doc->strings + key);
            skip_space(ps);
            if (ps->p >= ps->end || *ps->p != ':') return fail(ps, "expected ':'");
            ps->p++;
        }
        if (parse_value(ps, depth + 1, &child)) return -1;
        ps->doc->nodes[child].key = key;
        if (last < 0) ps->doc->nodes[node].child = child;
        else ps->doc->nodes[last].next = child;
        last = child;
        ps->doc->nodes[node].count++;
        skip_space(ps);
        if (ps->p >= ps->end) return fail(ps, "unterminated %s", is_object ? "object" : "array");
        if (*ps->p == ',') {
            ps->p++;
            skip_space(ps);
            continue;
        }
        if (*ps->p == close) {
            ps->p++;
            return 0;
        }
        return fail(ps, "expected ',' or '%c'", close);
    }
}

static int parse_value(Parser *ps, int depth, int32_t *out) {
    int32_t node;
    unsigned char c;
    if (depth > XTVM_JSON_MAX_DEPTH) return fail(ps, "nested too deeply");
    skip_space(ps);
    if (ps->p >= ps->end) return fail(ps, "unexpected end");
    c = *ps->p;
    switch (c) {
    case '{':
    case '[':
        node = new_node(ps, c == '{' ? XTVM_JSON_OBJECT : XTVM_JSON_ARRAY);
        if (node < 0 || parse_container(ps, depth, node, c == '{')) return -1;
        break;
    case '"':
        node = new_node(ps, XTVM_JSON_STRING);
        if (node < 0) return -1;
        ps->p++;
        if (parse_string(ps, &ps->doc->nodes[node].str, &ps->doc->nodes[node].len)) return -1;
        break;
    case 't':
    case 'f':
        node = new_node(ps, XTVM_JSON_BOOL);
        if (node < 0 || literal(ps, c == 't' ? "true" : "false")) return -1;
        ps->doc->nodes[node].ival = c == 't';
        break;
    case 'n':
        node = new_node(ps, XTVM_JSON_NULL);
        if (node < 0 || literal(ps, "null")) return -1;
        break;
    default:
        if (c != '-' && (c < '0' || c > '9')) return fail(ps, "unexpected character");
        node = new_node(ps, XTVM_JSON_NUMBER);
        if (node < 0 || parse_number(ps, node)) return -1;
    }
    *out = node;
    return 0;
}

int xtvm_json_parse(const char *text, size_t len, XtvmJson *doc, char *err, size_t err_size) {
    Parser ps;
    int32_t root;
    memset(doc, 0, sizeof *doc);
    memset(&ps, 0, sizeof ps);
    ps.p = ps.start = (const unsigned char *)text;
    ps.end = ps.p + len;
    ps.doc = doc;
    ps.err = err;
    ps.err_size = err_size;
    if (!text || len >= SIZE_MAX) return fail(&ps, "no text");
    /* decoded strings are never longer than their source, plus one NUL each */
    doc->strings = (char *)malloc(len + 1);
    if (!doc->strings) return fail(&ps, "out of memory");
    doc->strings[0] = '\0';
    ps.str_used = 1; /* offset 0 is the empty key of non-members */
    if (parse_value(&ps, 0, &root) == 0) {
        skip_space(&ps);
        if (ps.p == ps.end) return 0;
        fail(&ps, "trailing characters");
    }
    xtvm_json_free(doc);
    return -1;
}

void xtvm_json_free(XtvmJson *doc) {
    free(doc->nodes);
    free(doc->strings);
    memset(doc, 0, sizeof *doc);
}

int32_t xtvm_json_get(const XtvmJson *doc, int32_t obj, const char *key) {
    int32_t k;
    if (obj < 0 || obj >= doc->num_nodes || doc->nodes[obj].type != XTVM_JSON_OBJECT) return -1;
    for (k = doc->nodes[obj].child; k >= 0; k = doc->nodes[k].next)
        if (strcmp(doc->strings + doc->nodes[k].key, key) == 0) return k;
    return -1;
}

const char *xtvm_json_string(const XtvmJson *doc, int32_t node) {
    return doc->strings + doc->nodes[node].str;
}
