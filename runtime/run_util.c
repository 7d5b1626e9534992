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

int rt_run_timed(smelt_session *s, int n, double *median_ms, double *min_ms, char *err, size_t err_size) {
    double one, *ms = n > 1 ? malloc((size_t)n * sizeof *ms) : &one;
    if (!ms) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    for (int r = 0; r < n; r++) {
        double t0 = rt_now_ms();
        if (smelt_run(s, err, err_size)) {
            if (ms != &one) free(ms);
            return -1;
        }
        ms[r] = rt_now_ms() - t0;
    }
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    *median_ms = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
    *min_ms = ms[0];
    if (ms != &one) free(ms);
    return 0;
}
