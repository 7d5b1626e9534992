/* sgemm.c — benchmark of the emitted GEMM engine (codegen/llvm/gemm.h)
 * against OpenBLAS cblas_sgemm, in the same run.
 *
 * Square row-major fp32 C = A @ B at 256..4096 with 1 and 2 threads. Ours
 * is the full path the compiler emits: pack A and pack B kernels, then the
 * driver, all split over their item ranges by a small pthread pool (the
 * runtime's way); OpenBLAS gets openblas_set_num_threads. Prints the median
 * and best GFLOP/s of each and their ratios, the share of our time spent
 * packing (1 thread), and the max relative error of ours against OpenBLAS
 * (relative to the largest |C|). Usage: sgemm [size...] (default 256 512
 * 1024 2048 4096); SGEMM_MR/NR/KC/MC/NC override the blocking, SGEMM_T0/T1
 * the thread counts, SGEMM_PACK_SPLIT=1 prints each pack kernel's time,
 * SGEMM_ASM=path writes the assembly.
 */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codegen/llvm/gemm.h"
#include "tests/unit/support/llvm_dl.h"

void openblas_set_num_threads(int n);
char *openblas_get_corename(void);

typedef void (*pack_fn)(const float *, int64_t, int64_t, int64_t, float *, int64_t, int64_t, void *,
                        int64_t, int64_t);
typedef void (*driver_fn)(const float *, int64_t, const float *, int64_t, float *, int64_t, int64_t,
                          int64_t, int64_t, int64_t, int32_t, void *, int64_t, int64_t);

static pack_fn pack_a, pack_b;
static driver_fn gemm;
static cg_gemm_config cfg;

/* one multiplication, shared by the pool */
typedef struct job {
    const float *a, *b;
    float *c, *ap, *bp;
    int64_t n;
} job;

#define MAX_THREADS 8
static pthread_barrier_t bar_start, bar_mid, bar_end;
static job cur;
static int nthreads, quit;

static void split(int64_t items, int t, int nt, int64_t *lo, int64_t *hi) {
    *lo = items * t / nt;
    *hi = items * (t + 1) / nt;
}

static void run_part(int t) {
    int64_t n = cur.n, lo, hi;
    split(cg_gemm_pack_items(&cfg, CG_GEMM_A, 1, n), t, nthreads, &lo, &hi);
    pack_a(cur.a, n, 1, 0, cur.ap, n, n, NULL, lo, hi);
    split(cg_gemm_pack_items(&cfg, CG_GEMM_B, 1, n), t, nthreads, &lo, &hi);
    pack_b(cur.b, n, 1, 0, cur.bp, n, n, NULL, lo, hi);
    pthread_barrier_wait(&bar_mid);
    split(cg_gemm_items(&cfg, 1, n, n), t, nthreads, &lo, &hi);
    gemm(cur.ap, 0, cur.bp, 0, cur.c, n, 0, n, n, n, 0, NULL, lo, hi);
}

static void *worker(void *arg) {
    int t = (int)(intptr_t)arg;
    for (;;) {
        pthread_barrier_wait(&bar_start);
        if (quit) return NULL;
        run_part(t);
        pthread_barrier_wait(&bar_end);
    }
}

static pthread_t tids[MAX_THREADS];

static void pool_start(int nt) {
    nthreads = nt;
    quit = 0;
    pthread_barrier_init(&bar_start, NULL, (unsigned)nt);
    pthread_barrier_init(&bar_mid, NULL, (unsigned)nt);
    pthread_barrier_init(&bar_end, NULL, (unsigned)nt);
    for (int t = 1; t < nt; t++) pthread_create(&tids[t], NULL, worker, (void *)(intptr_t)t);
}

static void pool_stop(void) {
    quit = 1;
    pthread_barrier_wait(&bar_start);
    for (int t = 1; t < nthreads; t++) pthread_join(tids[t], NULL);
    pthread_barrier_destroy(&bar_start);
    pthread_barrier_destroy(&bar_mid);
    pthread_barrier_destroy(&bar_end);
}

static void ours(const job *j) {
    cur = *j;
    pthread_barrier_wait(&bar_start);
    run_part(0);
    pthread_barrier_wait(&bar_end);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int env_int(const char *name, int dflt) {
    const char *s = getenv(name);
    return s && *s ? atoi(s) : dflt;
}

static void *xalloc(size_t bytes) {
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) {
        fprintf(stderr, "sgemm: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

int main(int argc, char **argv) {
    int sizes[16], ns = 0;
    for (int i = 1; i < argc && ns < 16; i++) sizes[ns++] = atoi(argv[i]);
    if (!ns) {
        int d[5] = {256, 512, 1024, 2048, 4096};
        memcpy(sizes, d, sizeof d);
        ns = 5;
    }
    int vec, nregs;
    llvm_dl_host_vector(&vec, &nregs);
    cg_gemm_config_init(&cfg, vec, nregs);
    cfg.mr = env_int("SGEMM_MR", cfg.mr);
    cfg.nr = env_int("SGEMM_NR", cfg.nr);
    cfg.kc = env_int("SGEMM_KC", cfg.kc);
    cfg.mc = env_int("SGEMM_MC", cfg.mr * 12);
    cfg.nc = env_int("SGEMM_NC", cfg.nr * 16);
    char err[512];
    if (cg_gemm_config_check(&cfg, err, sizeof err)) {
        fprintf(stderr, "sgemm: %s\n", err);
        return 1;
    }
    LLVMContextRef cx = LLVMContextCreate();
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext("sgemm", cx);
    LLVMValueRef mk = cg_gemm_emit_micro(m, &cfg, NULL, "sg_micro");
    cg_gemm_emit_pack(m, &cfg, CG_GEMM_A, NULL, "sg_pack_a");
    cg_gemm_emit_pack(m, &cfg, CG_GEMM_B, NULL, "sg_pack_b");
    cg_gemm_emit_driver(m, &cfg, mk, "sg_gemm");
    llvm_dl dl;
    if (llvm_dl_open(m, getenv("SGEMM_ASM"), &dl, err, sizeof err)) {
        fprintf(stderr, "sgemm: %s\n", err);
        return 1;
    }
    pack_a = (pack_fn)llvm_dl_sym(&dl, "sg_pack_a");
    pack_b = (pack_fn)llvm_dl_sym(&dl, "sg_pack_b");
    gemm = (driver_fn)llvm_dl_sym(&dl, "sg_gemm");
    printf("sgemm: vec %d, %d registers, MR %d NR %d KC %d MC %d NC %d; OpenBLAS core %s\n", vec, nregs, cfg.mr,
           cfg.nr, cfg.kc, cfg.mc, cfg.nc, openblas_get_corename());
    printf("%6s %3s %10s %10s %7s | %8s %8s %7s | %6s %9s\n", "n", "thr", "ours", "openblas", "ratio", "best",
           "best", "ratio", "pack", "relerr");
    printf("%6s %3s %29s | %25s |\n", "", "", "median GFLOP/s", "best GFLOP/s");
    int worst = 0;
    for (int si = 0; si < ns; si++) {
        int64_t n = sizes[si];
        size_t nn = (size_t)(n * n);
        float *a = xalloc(nn * 4), *b = xalloc(nn * 4), *c = xalloc(nn * 4), *r = xalloc(nn * 4);
        float *ap = xalloc((size_t)cg_gemm_packed_floats(&cfg, CG_GEMM_A, n, n) * 4);
        float *bp = xalloc((size_t)cg_gemm_packed_floats(&cfg, CG_GEMM_B, n, n) * 4);
        srand(42);
        for (size_t i = 0; i < nn; i++) {
            a[i] = (float)rand() / (float)RAND_MAX - 0.5f;
            b[i] = (float)rand() / (float)RAND_MAX - 0.5f;
        }
        double flops = 2.0 * (double)n * (double)n * (double)n;
        int reps = n <= 512 ? 30 : n <= 1024 ? 10 : n <= 2048 ? 5 : 3;
        for (int nt = env_int("SGEMM_T0", 1); nt <= env_int("SGEMM_T1", 2); nt++) {
            openblas_set_num_threads(nt);
            pool_start(nt);
            job j = {a, b, c, ap, bp, n};
            double to[64], tb[64], tp[64];
            ours(&j);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0f, a, (int)n, b,
                        (int)n, 0.0f, r, (int)n);
            for (int k = 0; k < reps; k++) { /* interleaved, so both see the same machine state */
                double t0 = now();
                ours(&j);
                double t1 = now();
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0f, a, (int)n, b,
                            (int)n, 0.0f, r, (int)n);
                double t2 = now();
                to[k] = t1 - t0;
                tb[k] = t2 - t1;
                if (nt == 1) { /* the packing alone, for the breakdown */
                    int64_t na = cg_gemm_pack_items(&cfg, CG_GEMM_A, 1, n), nb = cg_gemm_pack_items(&cfg, CG_GEMM_B, 1, n);
                    double t3 = now();
                    pack_a(a, n, 1, 0, ap, n, n, NULL, 0, na);
                    double t4 = now();
                    pack_b(b, n, 1, 0, bp, n, n, NULL, 0, nb);
                    tp[k] = now() - t3;
                    if (getenv("SGEMM_PACK_SPLIT")) printf("  pack a %.3f ms, b %.3f ms\n", (t4 - t3) * 1e3, (now() - t4) * 1e3);
                }
            }
            pool_stop();
            double err_max = 0, ref_max = 0;
            for (size_t i = 0; i < nn; i++) {
                double d = fabs((double)c[i] - (double)r[i]);
                if (d > err_max) err_max = d;
                if (fabs((double)r[i]) > ref_max) ref_max = fabs((double)r[i]);
            }
            double rel = err_max / (ref_max > 0 ? ref_max : 1);
            double mo = median(to, reps), mb = median(tb, reps);
            double go = flops / mo * 1e-9, gb = flops / mb * 1e-9;
            /* best of the runs: what each reaches when the machine leaves it alone */
            double bo = flops / to[0] * 1e-9, bb = flops / tb[0] * 1e-9;
            char pk[16] = "-";
            if (nt == 1) snprintf(pk, sizeof pk, "%.1f%%", 100 * median(tp, reps) / mo);
            printf("%6lld %3d %10.1f %10.1f %6.1f%% | %8.1f %8.1f %6.1f%% | %6s %9.2e\n", (long long)n, nt, go, gb,
                   100 * go / gb, bo, bb, 100 * bo / bb, pk, rel);
            fflush(stdout);
            if (rel > 1e-4) worst = 1;
        }
        free(a), free(b), free(c), free(r), free(ap), free(bp);
    }
    llvm_dl_close(&dl);
    LLVMDisposeModule(m);
    LLVMContextDispose(cx);
    if (worst) fprintf(stderr, "sgemm: results differ from OpenBLAS\n");
    return worst;
}
