/* plan.c — greedy best-fit arena planning by liveness (see plan.h).
 *
 * Buffers are placed largest first (ties: earlier first, then lower index,
 * so the plan is deterministic). For each, the placed buffers whose lives
 * overlap its own are sorted by offset and the smallest gap between them
 * that holds it is taken, else the space after the last of them. Quadratic
 * in the number of buffers, which is fine for the thousands of a model.
 * Entries with an empty life (first > last) or no bytes are not placed.
 */
#include "runtime/plan.h"

#include <stdlib.h>

typedef struct span {
    uint64_t lo, hi;
} span;

typedef struct key {
    uint64_t bytes;
    uint32_t first, index;
} key;

static int by_size(const void *a, const void *b) {
    const key *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

static int by_lo(const void *a, const void *b) {
    const span *x = a, *y = b;
    return (x->lo > y->lo) - (x->lo < y->lo);
}

static uint64_t round_up(uint64_t v) { return (v + RT_PLAN_ALIGN - 1) / RT_PLAN_ALIGN * RT_PLAN_ALIGN; }

int rt_plan_arena(const rt_plan_buffer *bufs, uint32_t n, uint64_t *offsets, uint64_t *total) {
    key *order = malloc(((size_t)n + 1) * sizeof *order);
    uint32_t *placed = malloc(((size_t)n + 1) * sizeof *placed);
    span *live = malloc(((size_t)n + 1) * sizeof *live);
    int rc = order && placed && live ? 0 : -1;
    uint32_t n_placed = 0;
    uint64_t top = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (order) order[i] = (key){bufs[i].first > bufs[i].last ? 0 : bufs[i].bytes, bufs[i].first, i};
        offsets[i] = 0;
        if (bufs[i].bytes > UINT64_MAX - RT_PLAN_ALIGN) rc = -1;
    }
    if (!rc) qsort(order, n, sizeof *order, by_size);
    for (uint32_t k = 0; k < n && !rc && order[k].bytes; k++) {
        const rt_plan_buffer *b = &bufs[order[k].index];
        uint64_t size = round_up(b->bytes);
        uint32_t n_live = 0;
        for (uint32_t p = 0; p < n_placed; p++) {
            const rt_plan_buffer *o = &bufs[placed[p]];
            if (o->first <= b->last && b->first <= o->last)
                live[n_live++] = (span){offsets[placed[p]], offsets[placed[p]] + round_up(o->bytes)};
        }
        qsort(live, n_live, sizeof *live, by_lo);
        uint64_t cur = 0, best = UINT64_MAX, best_gap = UINT64_MAX;
        for (uint32_t s = 0; s < n_live; s++) {
            if (live[s].lo > cur && live[s].lo - cur >= size && live[s].lo - cur < best_gap) {
                best_gap = live[s].lo - cur;
                best = cur;
            }
            if (live[s].hi > cur) cur = live[s].hi;
        }
        if (best == UINT64_MAX) {
            if (cur > UINT64_MAX - size) rc = -1;
            best = cur;
        }
        offsets[order[k].index] = best;
        if (best + size > top) top = best + size;
        placed[n_placed++] = order[k].index;
    }
    free(order);
    free(placed);
    free(live);
    *total = rc ? 0 : top;
    return rc;
}

void rt_plan_lives_begin(rt_plan_buffer *plan, uint32_t n) {
    for (uint32_t b = 0; b < n; b++) plan[b] = (rt_plan_buffer){0, UINT32_MAX, 0};
}

void rt_plan_lives_step(rt_plan_buffer *plan, uint32_t t, const int32_t *in, uint32_t n_in, const int32_t *out,
                        uint32_t n_out) {
    for (uint32_t k = 0; k < n_out; k++) {
        if (out[k] < 0) continue;
        rt_plan_buffer *p = &plan[out[k]];
        if (p->first == UINT32_MAX) p->first = t;
        if (t > p->last) p->last = t;
    }
    for (uint32_t k = 0; k < n_in; k++)
        if (in[k] >= 0) {
            rt_plan_buffer *p = &plan[in[k]];
            if (t > p->last) p->last = t;
            if (p->first == UINT32_MAX || t < p->first) p->first = t; /* read before written: a bad manifest */
        }
}

void rt_plan_lives_end(rt_plan_buffer *plan, uint32_t n_bufs, const uint32_t *outputs, uint32_t n_outputs,
                       uint32_t n_steps) {
    for (uint32_t o = 0; o < n_outputs; o++) {
        rt_plan_buffer *p = &plan[outputs[o]];
        if (p->first == UINT32_MAX) p->first = n_steps;
        p->last = n_steps;
        plan[n_bufs + o] = (rt_plan_buffer){0, n_steps, n_steps};
    }
}
