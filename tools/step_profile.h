/* step_profile.h — `smelt run --target cpu --profile`: the wall time of
 * each step of a compiled model on the CPU, measured by running the steps
 * one by one through the session's executor hook (rt_exec_hooks) and
 * summed over every run but the first (the warm-up; `skip` runs), then printed as the
 * steps that take most of the time (`smelt run` prints 25, or every step
 * when SMELT_PROFILE_ALL is set). */
#ifndef SMELT_TOOLS_STEP_PROFILE_H
#define SMELT_TOOLS_STEP_PROFILE_H

#include <stdio.h>

#include "runtime/smelt.h"

typedef struct cli_step_profile {
    smelt_session *s;
    double *ms;   /* per step, summed over the counted runs */
    int runs;     /* runs seen, the warm-up included */
    int skip;     /* runs not counted (the warm-up): 1 after attach */
} cli_step_profile;

/* Time every step of s from now on. 0, or -1 when out of memory. */
int cli_step_profile_attach(cli_step_profile *p, smelt_session *s);
/* The steps by time, most first (at most `top`, then the rest summed). */
void cli_step_profile_print(const cli_step_profile *p, int top, FILE *f);
void cli_step_profile_free(cli_step_profile *p);

#endif
