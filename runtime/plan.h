/* plan.h — arena planning by liveness, shared by the runtime (sizes bound
 * at load) and the compiler (sizes known at compile time: the manifest's
 * arena.bytes).
 *
 * Each buffer lives over the steps [first, last]: from the step that writes
 * it first to the last step that reads it (outputs: to the end). Buffers
 * whose lives overlap get disjoint byte ranges; the others may share. The
 * planner is greedy: largest buffers first, each placed in the best-fitting
 * (smallest sufficient) gap among the placed buffers it overlaps in time,
 * every offset a multiple of RT_PLAN_ALIGN.
 */
#ifndef SMELT_PLAN_H
#define SMELT_PLAN_H

#include <stdint.h>

#define RT_PLAN_ALIGN 64

typedef struct rt_plan_buffer {
    uint64_t bytes;          /* 0: not placed (offset 0) */
    uint32_t first, last;    /* steps, inclusive; first <= last */
} rt_plan_buffer;

/* Offsets of n buffers and the arena's total bytes (a multiple of
 * RT_PLAN_ALIGN). Returns 0, or -1 when out of memory or a size overflows. */
int rt_plan_arena(const rt_plan_buffer *bufs, uint32_t n, uint64_t *offsets, uint64_t *total);

#endif
