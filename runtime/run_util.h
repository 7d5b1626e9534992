/* run_util.h — small helpers shared by the programs that run compiled
 * models from the command line (runtime/exe_main.c of `--emit exe`, and
 * `smelt run`): output file names, wall-clock time, timed runs. */
#ifndef SMELT_RUN_UTIL_H
#define SMELT_RUN_UTIL_H

#include <stddef.h>

#include "smelt.h"

/* DIR/NAME.npy, with '/', '\\', ':' and control bytes of NAME replaced by '_'. */
void rt_output_path(char *buf, size_t size, const char *dir, const char *name);
/* Monotonic wall-clock time in milliseconds. */
double rt_now_ms(void);
/* smelt_run n times (n >= 1); the median and the fastest wall-clock time
 * in milliseconds. Returns smelt_run's status (err filled) on a failure. */
int rt_run_timed(smelt_session *s, int n, double *median_ms, double *min_ms, char *err, size_t err_size);

#endif
