/* exec.c — run the steps of a sized session (rt_session.h), in order.
 *
 * A loop step asks its kernel for the extent and runs [0, extent) on the
 * thread pool (one contiguous range per thread; serially when the extent
 * is 1 or there is one thread). A library step gets its inputs as
 * rt_tensors and creates its outputs through rt_session_lib_output, which
 * also binds data-dependent sizes. Every buffer a step touches must have
 * storage by then; a step that would touch one still waiting on a
 * data-dependent size is reported, not run.
 */
#include <stdio.h>
#include <string.h>

#include "runtime/rt_session.h"

typedef struct loop_ctx {
    const smelt_kernel *k;
    const smelt_kargs *a;
} loop_ctx;

static void run_range(void *ctx, int64_t begin, int64_t end) {
    const loop_ctx *l = ctx;
    l->k->run(l->a, begin, end);
}

static int unbound(const smelt_session *s, const rt_step *st, char *err, size_t err_size) {
    for (uint32_t k = 0; k < st->n_in + st->n_out; k++) {
        int32_t b = k < st->n_in ? st->in[k] : st->out[k - st->n_in];
        if (b >= 0 && !s->bs[b].bound && (k < st->n_in || st->kernel >= 0)) {
            snprintf(err, err_size, "%s: node %s: buffer '%s' has no size yet (a data-dependent size not bound)",
                     s->m->name, st->node, s->man->bufs[b].name);
            return -1;
        }
    }
    return 0;
}

static int run_lib(smelt_session *s, const rt_step *st, char *err, size_t err_size) {
    for (uint32_t k = 0; k < st->n_in; k++) {
        rt_tensor *t = &s->lib_in[k];
        int32_t b = st->in[k];
        memset(t, 0, sizeof *t);
        if (b < 0) continue;
        const rt_buffer *buf = &s->man->bufs[b];
        t->present = true;
        t->dtype = buf->dtype;
        t->rank = buf->rank;
        memcpy(t->shape, s->bs[b].shape, sizeof t->shape);
        t->numel = s->bs[b].numel;
        t->data = s->addr[b];
    }
    s->step = st;
    s->lib_err[0] = 0;
    rt_lib_call c = {st->node, s->lib_in, st->n_in, st->n_out, st->attrs, rt_session_lib_output,
                     s->lib_err, sizeof s->lib_err, s, s->pool};
    if (st->fn(&c)) {
        snprintf(err, err_size, "%s: node %s (%s): %s", s->m->name, st->node, st->lib,
                 s->lib_err[0] ? s->lib_err : "failed");
        return -1;
    }
    for (uint32_t o = 0; o < st->n_out; o++)
        if (!s->bs[st->out[o]].bound) {
            snprintf(err, err_size, "%s: node %s (%s): output %u was not created", s->m->name, st->node, st->lib, o);
            return -1;
        }
    return 0;
}

int rt_exec_step(smelt_session *s, uint32_t t, char *err, size_t err_size) {
    const rt_step *st = &s->man->steps[t];
    if (unbound(s, st, err, err_size)) return -1;
    if (st->kernel < 0) return run_lib(s, st, err, err_size);
    smelt_kargs a = {s->addr, s->syms, &s->api};
    const smelt_kernel *k = &s->m->desc->kernels[st->kernel];
    int64_t extent = k->extent(&a);
    if (extent < 0) {
        snprintf(err, err_size, "%s: node %s: kernel %d has a negative extent", s->m->name, st->node, st->kernel);
        return -1;
    }
    loop_ctx l = {k, &a};
    rt_parallel_for(s->pool, extent, run_range, &l);
    return 0;
}

int rt_exec(smelt_session *s, char *err, size_t err_size) {
    for (uint32_t t = 0; t < s->man->n_steps; t++)
        if (rt_exec_step(s, t, err, err_size)) return -1;
    return 0;
}
