/* run_util.h — small helpers shared by the programs that run compiled
 * models from the command line (runtime/exe_main.c of `--emit exe`, and
 * `smelt run`): output file names, wall-clock time, the median of timings. */
#ifndef SMELT_RUN_UTIL_H
#define SMELT_RUN_UTIL_H

#include <stddef.h>

/* DIR/NAME.npy, with '/', '\\', ':' and control bytes of NAME replaced by '_'. */
void rt_output_path(char *buf, size_t size, const char *dir, const char *name);
/* Monotonic wall-clock time in milliseconds. */
double rt_now_ms(void);
/* Median of ms[0..n) (sorts ms); 0 when n is 0. */
double rt_median_ms(double *ms, int n);

#endif
