/* run_util.c — helpers of the model-running commands (see run_util.h). */
#include "run_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void rt_output_path(char *buf, size_t size, const char *dir, const char *name) {
    char clean[512];
    size_t k = 0;
    for (const char *c = name; *c && k + 1 < sizeof clean; c++)
        clean[k++] = (*c == '/' || *c == '\\' || *c == ':' || (unsigned char)*c < 32) ? '_' : *c;
    clean[k] = 0;
    snprintf(buf, size, "%s/%s.npy", dir, clean);
}

double rt_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double rt_median_ms(double *ms, int n) {
    if (n <= 0) return 0;
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    return n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
}
