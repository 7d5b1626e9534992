/* pool.h — a small fork-join thread pool for the runtime's loop steps.
 *
 * rt_parallel_for splits [0, n_items) into one contiguous range per thread
 * (the calling thread takes the first) and returns when all are done. A
 * model runs hundreds of small kernels per inference, so idle workers spin
 * briefly on an atomic generation counter before sleeping on a condition
 * variable, and the caller spins on a completion counter the same way.
 * One pool serves one caller at a time (a session).
 */
#ifndef SMELT_POOL_H
#define SMELT_POOL_H

#include <stdint.h>

typedef struct rt_pool rt_pool;
typedef void (*rt_range_fn)(void *ctx, int64_t begin, int64_t end);

/* threads: the total including the caller; 0 = the online cores. NULL when
 * out of memory or a thread cannot be started. */
rt_pool *rt_pool_new(int threads);
void rt_pool_free(rt_pool *p);
int rt_pool_threads(const rt_pool *p);
void rt_parallel_for(rt_pool *p, int64_t n_items, rt_range_fn fn, void *ctx);

#endif
