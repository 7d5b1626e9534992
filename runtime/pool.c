/* pool.c — the fork-join thread pool of pool.h (pthreads, C11 atomics).
 *
 * A job is published by storing its function and size, setting `pending`
 * to the number of workers, and bumping `gen`. A worker that sees a new
 * generation runs its range [n*i/T, n*(i+1)/T) and decrements `pending`.
 * Sleeping is race-free: a worker registers in `sleepers` and re-reads
 * `gen` under the mutex; the caller bumps `gen` before reading `sleepers`
 * (both sequentially consistent), so either the worker sees the job or the
 * caller sees the sleeper and broadcasts under the mutex.
 */
#include "runtime/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#define RT_SPIN 20000 /* polls before sleeping: some tens of microseconds */

typedef struct worker {
    rt_pool *pool;
    int index;
    pthread_t thread;
} worker;

struct rt_pool {
    int n;                 /* threads including the caller */
    worker *workers;       /* n - 1 */
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    atomic_uint_fast64_t gen;
    atomic_int pending, sleepers, waiting;
    atomic_bool stop;
    rt_range_fn fn;
    void *ctx;
    int64_t n_items;
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void run_share(rt_pool *p, int i) {
    int64_t lo = p->n_items * i / p->n, hi = p->n_items * (i + 1) / p->n;
    if (lo < hi) p->fn(p->ctx, lo, hi);
}

static void *worker_main(void *arg) {
    worker *w = arg;
    rt_pool *p = w->pool;
    uint_fast64_t seen = 0;
    for (;;) {
        int spins = 0;
        while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop) && spins < RT_SPIN) {
            cpu_relax();
            spins++;
        }
        if (atomic_load(&p->gen) == seen && !atomic_load(&p->stop)) {
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->wake, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) return NULL;
        seen = atomic_load(&p->gen);
        run_share(p, w->index);
        if (atomic_fetch_sub(&p->pending, 1) == 1 && atomic_load(&p->waiting)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

rt_pool *rt_pool_new(int threads) {
    if (threads <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        threads = c > 0 ? (int)c : 1;
    }
    if (threads > 1024) threads = 1024;
    rt_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = threads;
    p->workers = calloc((size_t)threads, sizeof *p->workers);
    if (!p->workers) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int i = 1; i < threads; i++) {
        worker *w = &p->workers[i - 1];
        w->pool = p;
        w->index = i;
        if (pthread_create(&w->thread, NULL, worker_main, w)) {
            p->n = i; /* the started ones are joined by rt_pool_free */
            rt_pool_free(p);
            return NULL;
        }
    }
    return p;
}

void rt_pool_free(rt_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->workers[i - 1].thread, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->workers);
    free(p);
}

int rt_pool_threads(const rt_pool *p) { return p->n; }

void rt_parallel_for(rt_pool *p, int64_t n_items, rt_range_fn fn, void *ctx) {
    if (n_items <= 0) return;
    if (p->n == 1 || n_items == 1) {
        fn(ctx, 0, n_items);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->n_items = n_items;
    atomic_store(&p->pending, p->n - 1);
    atomic_fetch_add(&p->gen, 1);
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
    run_share(p, 0);
    for (int spins = 0; atomic_load(&p->pending) > 0 && spins < RT_SPIN; spins++) cpu_relax();
    if (atomic_load(&p->pending) > 0) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->waiting, 1);
        while (atomic_load(&p->pending) > 0) pthread_cond_wait(&p->done, &p->mu);
        atomic_store(&p->waiting, 0);
        pthread_mutex_unlock(&p->mu);
    }
}
