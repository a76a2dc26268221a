/* Mutates valid metadata 200,000 times (byte flips, truncations) and attaches each copy,
 * held in a buffer of exactly its size: built with AddressSanitizer and UBSan, any read out
 * of bounds or undefined behaviour in the parser aborts. Prints how many were accepted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xtvm_runtime.h"
static int32_t entry(void **a, void *w) { (void)a; (void)w; return 0; }
int main(int argc, char **argv) {
    const char *base = "{\"inputs\": [{\"name\": \"x\", \"dtype\": \"float32\", \"shape\": [2, 3]}], \"outputs\": [{\"name\": \"y\", \"dtype\": \"float32\", \"shape\": [2, 4]}, {\"name\": \"xtvm.count:1:y\", \"dtype\": \"int64\", \"shape\": []}], \"workspace_bytes\": 128, \"target\": {\"triple\": \"x86_64-unknown-linux-gnu\", \"cpu\": \"znver3\", \"features\": \"+avx2,+fma,-avx512f\"}, \"s\": \"\\u00e9\\ud83d\\ude00\"}";
    size_t n = strlen(base), k; int ok = 0, bad = 0; unsigned seed = 1;
    for (k = 0; k < (argc > 1 ? atol(argv[1]) : 200000); k++) {
        size_t len = n, j, flips;
        char *buf;
        seed = seed * 1103515245u + 12345u;
        if (k % 2) len = 1 + (seed >> 8) % n;
        buf = malloc(len); memcpy(buf, base, len);   /* exact-size buffer: ASan sees any overread */
        flips = 1 + (seed >> 4) % 3;
        for (j = 0; j < flips; j++) { seed = seed * 1103515245u + 12345u; buf[(seed >> 8) % len] = (char)(seed >> 20); }
        {
            XtvmBundle b = {XTVM_BUNDLE_ABI_VERSION, "f", entry, buf, len, NULL};
            XtvmModel *m; char err[256];
            if (xtvm_model_attach(&b, &m, err, sizeof err) == 0) { ok++; xtvm_model_free(m); } else bad++;
        }
        free(buf);
    }
    printf("ok %d bad %d\n", ok, bad);
    return 0;
}
