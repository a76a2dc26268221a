/* Opens the library argv[1], runs it once (it takes no inputs) and frees it, then says
 * whether libgomp is still loaded: "pinned" or "unloaded" (or the runtime's error). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

#include "xtvm_runtime.h"

int main(int argc, char **argv) {
    XtvmModel *m;
    char err[256];
    if (argc != 2) return 2;
    if (xtvm_model_open(argv[1], &m, err, sizeof err)) {
        printf("error: %s\n", err);
        return 0;
    }
    if (xtvm_model_run(m)) {
        printf("error: %s\n", xtvm_model_error(m));
        return 0;
    }
    xtvm_model_free(m);
    printf("%s\n", dlopen("libgomp.so.1", RTLD_NOW | RTLD_NOLOAD) ? "pinned" : "unloaded");
    return 0;
}
