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
    uint32_t first, last;    /* steps, inclusive; first > last: an empty life
                                (a buffer no step touches), not placed */
} rt_plan_buffer;

/* Offsets of n buffers and the arena's total bytes (a multiple of
 * RT_PLAN_ALIGN). Returns 0, or -1 when out of memory or a size overflows. */
int rt_plan_arena(const rt_plan_buffer *bufs, uint32_t n, uint64_t *offsets, uint64_t *total);

/* The lives of buffers over the steps, built the same way by the runtime
 * (from the manifest) and the compiler (from the kernel IR), step by step:
 * begin clears n entries (bytes 0); step t writes buffers out and reads
 * buffers in (-1: an omitted operand); end leaves a buffer that no step
 * touches an empty life (a buffer fused away: it takes no space), makes
 * outputs live to the end (step n_steps; [n_steps, n_steps] for an output
 * no step touches) and
 * gives the n_outputs entries after the n_bufs ones (the copies of outputs
 * that are inputs or constants) the life [n_steps, n_steps]. */
void rt_plan_lives_begin(rt_plan_buffer *plan, uint32_t n);
void rt_plan_lives_step(rt_plan_buffer *plan, uint32_t t, const int32_t *in, uint32_t n_in, const int32_t *out,
                        uint32_t n_out);
void rt_plan_lives_end(rt_plan_buffer *plan, uint32_t n_bufs, const uint32_t *outputs, uint32_t n_outputs,
                       uint32_t n_steps);

#endif
