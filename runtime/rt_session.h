/* rt_session.h — the runtime's private view of a session, shared by
 * session.c (binding, sizing, arena, outputs) and exec.c (running steps).
 *
 * Buffers whose size does not depend on a data-dependent symbol (one that a
 * library step binds during the run: NonZero's count) are sized before the
 * run from the input shapes and placed in the arena; the others ("deferred",
 * dep != 0) get heap storage when the library step that fixes their size
 * binds the symbols they wait on. Storage is kept between runs and only
 * grows, so runs with unchanged shapes allocate nothing.
 */
#ifndef SMELT_RT_SESSION_H
#define SMELT_RT_SESSION_H

#include "runtime/plan.h"
#include "runtime/pool.h"
#include "runtime/rt_model.h"

#define RT_MAX_DD_SYMS 64
#define RT_LIB_ERR 512

typedef struct rt_bufstate {
    int64_t shape[RT_MAX_RANK];
    int64_t numel;
    uint64_t bytes;
    uint64_t dep;           /* data-dependent symbols (bits) its size waits on */
    bool bound;             /* sized and addressed for this run */
    void *heap;             /* storage of a deferred buffer, kept across runs */
    uint64_t heap_cap;
} rt_bufstate;

typedef struct rt_output {
    void *user;             /* caller-owned storage, or NULL */
    size_t user_bytes;
    void *addr;             /* where the output's data is after a run */
} rt_output;

/* Another executor of a session's steps (runtime/vulkan): storage for the
 * arena that its device can reach, and the run of every step (which may
 * call rt_exec_step for the steps it leaves to the CPU). */
typedef struct rt_exec_hooks {
    void *ctx;
    void *(*arena_alloc)(void *ctx, uint64_t bytes); /* RT_PLAN_ALIGN-aligned; NULL: out of memory */
    void (*arena_free)(void *ctx, void *arena);
    int (*exec)(void *ctx, smelt_session *s, char *err, size_t err_size);
} rt_exec_hooks;

struct smelt_session {
    smelt_model *m;
    const rt_manifest *man;
    rt_pool *pool;
    smelt_rt_api api;

    int64_t *syms, *prev_syms;
    uint64_t *sym_dep;      /* per symbol: the data-dependent symbols it depends on */
    int *dd_bit;            /* per symbol: its bit when data-dependent, else -1 */
    uint64_t dd_bound;      /* bits bound so far in this run */
    bool sized;             /* prev_syms holds the shapes of the current plan */

    rt_bufstate *bs;
    void **addr;            /* per buffer, what kernels see */

    const void **in_data;
    int64_t (*in_shape)[RT_MAX_RANK];
    int *in_rank;
    uint64_t *in_gen, gen;  /* inputs set since the last run have in_gen == gen */
    rt_output *out;
    bool ran;

    rt_plan_buffer *plan;   /* n_bufs + n_outputs (copies of input/const outputs) */
    uint64_t *offsets;
    unsigned char *arena;
    uint64_t arena_cap, arena_bytes;

    rt_exec_hooks hooks;    /* hooks.exec NULL: rt_exec on the thread pool */

    rt_tensor *lib_in, *lib_out;
    const rt_step *step;    /* the library step running */
    char lib_err[RT_LIB_ERR];
};

/* Fill s->api (rt_api.c). */
void rt_api_init(smelt_rt_api *api);
/* Run every step of the manifest (exec.c); shapes are sized. */
int rt_exec(smelt_session *s, char *err, size_t err_size);
/* Run step t on the CPU (exec.c). */
int rt_exec_step(smelt_session *s, uint32_t t, char *err, size_t err_size);
/* Give the session another executor (session.c): the arena is planned
 * again, in its storage, at the next run. */
void rt_session_set_hooks(smelt_session *s, const rt_exec_hooks *h);
/* The output() of rt_lib_call (session.c): size output o of the running
 * library step for `shape`, binding its data-dependent symbols. */
rt_tensor *rt_session_lib_output(rt_lib_call *c, uint32_t o, const int64_t *shape);

#endif
