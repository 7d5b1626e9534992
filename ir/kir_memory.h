/* kir_memory.h — the activation arena of a kernel program, planned at
 * compile time exactly as the runtime plans it for a session.
 *
 * The code generator writes the plan's total into the manifest
 * (docs/artifact.md, "arena") when every size is known, and `smelt inspect
 * --memory` reports it. The steps are the program's kernels in order (a
 * loop kernel writes `out` and reads the buffers its body and post load; a
 * library kernel reads lib_in and writes lib_out), the plan entries are the
 * runtime's (runtime/session.c): one per buffer, then one per output for
 * the copy of an output that is an input or a constant; lives come from
 * runtime/plan.c (rt_plan_lives_*), offsets from rt_plan_arena. Buffers
 * whose size waits on a data-dependent symbol (a named symbol that no input
 * binds, as NonZero's count) live on the heap, outside the arena, as in the
 * runtime. Outputs are planned as session-owned (no caller storage).
 */
#ifndef SMELT_KIR_MEMORY_H
#define SMELT_KIR_MEMORY_H

#include "ir/kir.h"
#include "runtime/plan.h"

typedef struct kir_memory {
    uint32_t n_bufs, n_steps;
    uint32_t n_entries;       /* n_bufs + the program's n_outputs */
    rt_plan_buffer *plan;     /* lives and bytes per entry (bytes 0: not in the arena) */
    uint64_t *offsets;        /* per entry, in the arena (valid when known) */
    uint64_t arena_bytes;     /* the arena's total (valid when known) */
    bool known;               /* every size in the arena is known */
    int32_t unbound;          /* !known: a named symbol that some size waits on */
    uint32_t n_deferred;      /* buffers of data-dependent size (on the heap) */
} kir_memory;

/* Plan the arena of p for symbol values syms (one per graph symbol, -1 when
 * unknown, or NULL for all unknown; derived symbols are computed from the
 * named ones; not modified).
 * Returns 0 (m->known tells whether the sizes were all known), or -1 with d
 * filled when out of memory or a size overflows. Free with kir_memory_free. */
int kir_memory_plan(const kir_program *p, const int64_t *syms, kir_memory *m, diag *d);
void kir_memory_free(kir_memory *m);

/* The bytes (each rounded up to RT_PLAN_ALIGN) of the arena entries alive
 * at step t (0..n_steps; n_steps: after the last, where outputs live). */
uint64_t kir_memory_live_at(const kir_memory *m, uint32_t t);
/* The step with the largest live set (the earliest of equals); its bytes. */
uint32_t kir_memory_peak_step(const kir_memory *m, uint64_t *bytes);
/* The bytes of every arena entry (each rounded up), without reuse. */
uint64_t kir_memory_sum(const kir_memory *m);

#endif
