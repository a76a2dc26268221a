/* Opens the library argv[1] twice and runs the two handles at the same time from two
 * threads, 50 runs each on different generated inputs; checks every output against a run
 * of the same inputs made before, alone. Prints "same" or what differed. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xtvm_runtime.h"

#define RUNS 50

#define MAX_INPUTS 8

typedef struct Job {
    XtvmModel *m;
    float *inputs[MAX_INPUTS]; /* float32 inputs only */
    void *expected;
    size_t out_bytes;
    int failures;
} Job;

/* Bind every input of job->m; 0 on success. */
static int bind(Job *job) {
    int k;
    for (k = 0; k < xtvm_model_num_inputs(job->m); k++)
        if (xtvm_model_set_input(job->m, k, job->inputs[k], xtvm_model_input_info(job->m, k)->nbytes))
            return -1;
    return 0;
}

static void *work(void *arg) {
    Job *job = (Job *)arg;
    int k;
    for (k = 0; k < RUNS; k++) {
        if (bind(job) || xtvm_model_run(job->m) ||
            memcmp(xtvm_model_output_data(job->m, 0), job->expected, job->out_bytes) != 0)
            job->failures++;
    }
    return NULL;
}

int main(int argc, char **argv) {
    Job jobs[2];
    pthread_t threads[2];
    char err[256];
    int j, k;
    size_t i;
    if (argc != 2) return 2;
    for (j = 0; j < 2; j++) {
        Job *job = &jobs[j];
        memset(job, 0, sizeof *job);
        if (xtvm_model_open(argv[1], &job->m, err, sizeof err)) {
            printf("error: %s\n", err);
            return 1;
        }
        if (xtvm_model_num_inputs(job->m) > MAX_INPUTS) return 1;
        for (k = 0; k < xtvm_model_num_inputs(job->m); k++) {
            size_t n = xtvm_model_input_info(job->m, k)->nbytes / sizeof(float);
            job->inputs[k] = (float *)malloc((n ? n : 1) * sizeof(float));
            for (i = 0; i < n; i++) job->inputs[k][i] = (float)((i * (j + 3)) % 17) / 8.0f - 1.0f;
        }
        job->out_bytes = xtvm_model_output_info(job->m, 0)->nbytes;
        job->expected = malloc(job->out_bytes);
        if (bind(job) || xtvm_model_run(job->m)) {
            printf("error: %s\n", xtvm_model_error(job->m));
            return 1;
        }
        memcpy(job->expected, xtvm_model_output_data(job->m, 0), job->out_bytes);
    }
    if (memcmp(jobs[0].expected, jobs[1].expected, jobs[0].out_bytes) == 0) {
        printf("inputs too alike\n");
        return 1;
    }
    for (j = 0; j < 2; j++) pthread_create(&threads[j], NULL, work, &jobs[j]);
    for (j = 0; j < 2; j++) pthread_join(threads[j], NULL);
    if (jobs[0].failures || jobs[1].failures)
        printf("differed: %d and %d runs\n", jobs[0].failures, jobs[1].failures);
    else
        printf("same\n");
    for (j = 0; j < 2; j++) {
        xtvm_model_free(jobs[j].m);
        for (k = 0; k < MAX_INPUTS; k++) free(jobs[j].inputs[k]);
        free(jobs[j].expected);
    }
    return 0;
}
