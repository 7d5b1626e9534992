/* step_profile.c — per-step wall times of a CPU run (step_profile.h). */
#include "step_profile.h"

#include <stdlib.h>

#include "runtime/rt_session.h"
#include "runtime/run_util.h"

static int exec_timed(void *ctx, smelt_session *s, char *err, size_t err_size) {
    cli_step_profile *p = ctx;
    bool count = p->runs++ >= p->skip; /* the warm-up runs are not counted */
    for (uint32_t t = 0; t < s->man->n_steps; t++) {
        double t0 = rt_now_ms();
        if (rt_exec_step(s, t, err, err_size)) return -1;
        if (count) p->ms[t] += rt_now_ms() - t0;
    }
    return 0;
}

int cli_step_profile_attach(cli_step_profile *p, smelt_session *s) {
    *p = (cli_step_profile){.s = s, .skip = 1, .ms = calloc(s->man->n_steps ? s->man->n_steps : 1, sizeof *p->ms)};
    if (!p->ms) return -1;
    rt_session_set_hooks(s, &(rt_exec_hooks){.ctx = p, .exec = exec_timed});
    return 0;
}

static const double *sort_ms;
static int by_time(const void *a, const void *b) {
    double x = sort_ms[*(const uint32_t *)a], y = sort_ms[*(const uint32_t *)b];
    return (x < y) - (x > y);
}

void cli_step_profile_print(const cli_step_profile *p, int top, FILE *f) {
    const rt_manifest *man = p->s->man;
    int runs = p->runs - p->skip;
    if (runs < 1 || !man->n_steps) return;
    uint32_t *order = malloc(man->n_steps * sizeof *order);
    if (!order) return;
    double total = 0;
    for (uint32_t t = 0; t < man->n_steps; t++) order[t] = t, total += p->ms[t];
    sort_ms = p->ms;
    qsort(order, man->n_steps, sizeof *order, by_time);
    fprintf(f, "profile (wall time of each step, mean over %d runs%s):\n", runs, p->skip ? " after the warm-up" : "");
    double rest = 0;
    for (uint32_t i = 0; i < man->n_steps; i++) {
        const rt_step *st = &man->steps[order[i]];
        double ms = p->ms[order[i]] / runs;
        if ((int)i >= top) {
            rest += ms;
            continue;
        }
        fprintf(f, "  %9.3f ms %5.1f%%  step %u  %s", ms, total > 0 ? 100 * p->ms[order[i]] / total : 0, order[i], st->node);
        if (st->kernel < 0) fprintf(f, " (%s)", st->lib);
        fputc('\n', f);
    }
    if (rest > 0) fprintf(f, "  %9.3f ms %5.1f%%  the other %u steps\n", rest, total > 0 ? 100 * rest * runs / total : 0, man->n_steps - top);
    fprintf(f, "  %9.3f ms         total, %u steps\n", total / runs, man->n_steps);
    free(order);
}

void cli_step_profile_free(cli_step_profile *p) { free(p->ms); }
