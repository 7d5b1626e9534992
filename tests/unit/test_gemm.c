/* test_gemm.c — the emitted GEMM engine (codegen/llvm/gemm.h) against a
 * naive triple loop, built for the host through LLVM and dlopen.
 *
 * For three blockings (the host's, an AVX2-like 6x16 and a NEON-like 8x12,
 * all with a small KC/MC/NC so that K blocks, edge tiles and several work
 * items appear at small sizes) and many odd shapes (M, N, K in 1..67,
 * primes, K = 1, K = 0): pack A and B with the emitted pack kernels (row-
 * and column-major sources), check them against the compile-time packer,
 * run the driver split in two item ranges, with beta 0 and 1, batches with
 * a broadcast operand, a vector epilogue (bias + ReLU, masked at edges), an
 * element epilogue, and a pack loader hook.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/llvm/gemm.h"
#include "tests/unit/support/check.h"
#include "tests/unit/support/llvm_dl.h"

typedef void (*pack_fn)(const float *, int64_t, int64_t, int64_t, float *, int64_t, int64_t, void *,
                        int64_t, int64_t);
typedef void (*driver_fn)(const float *, int64_t, const float *, int64_t, float *, int64_t, int64_t,
                          int64_t, int64_t, int64_t, int32_t, void *, int64_t, int64_t);

#define LD_COLS 67 /* the loader hook reads a row-major [*][67] matrix from ctx */

/* epilogue: relu(x + bias[col]); ctx is the float *bias */
static LLVMValueRef epi_bias_relu(void *user, LLVMBuilderRef b, LLVMValueRef v, LLVMValueRef batch,
                                  LLVMValueRef row, LLVMValueRef col, LLVMValueRef mask, LLVMValueRef ctx) {
    LLVMModuleRef m = LLVMGetGlobalParent(LLVMGetBasicBlockParent(LLVMGetInsertBlock(b)));
    LLVMContextRef cx = LLVMGetModuleContext(m);
    LLVMTypeRef vt = LLVMTypeOf(v), f32 = LLVMFloatTypeInContext(cx), ptr = LLVMPointerTypeInContext(cx, 0);
    LLVMValueRef p = LLVMBuildGEP2(b, f32, ctx, &col, 1, "");
    LLVMValueRef bias;
    if (mask) {
        LLVMTypeRef tys[2] = {vt, ptr};
        unsigned id = LLVMLookupIntrinsicID("llvm.masked.load", 16);
        LLVMValueRef f = LLVMGetIntrinsicDeclaration(m, id, tys, 2);
        LLVMValueRef a[4] = {p, LLVMConstInt(LLVMInt32TypeInContext(cx), 4, 0), mask, LLVMConstNull(vt)};
        bias = LLVMBuildCall2(b, LLVMIntrinsicGetType(cx, id, tys, 2), f, a, 4, "");
    } else {
        bias = LLVMBuildLoad2(b, vt, p, "");
        LLVMSetAlignment(bias, 4);
    }
    LLVMValueRef x = LLVMBuildFAdd(b, v, bias, "");
    return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, x, LLVMConstNull(vt), ""), x, LLVMConstNull(vt), "");
}

/* epilogue: x * 2 + row - 3 * col (+ 100 * batch); reads nothing */
static LLVMValueRef epi_elem(void *user, LLVMBuilderRef b, LLVMValueRef x, LLVMValueRef batch, LLVMValueRef row,
                             LLVMValueRef col, LLVMValueRef ctx) {
    LLVMTypeRef f32 = LLVMTypeOf(x), i64 = LLVMTypeOf(row);
    LLVMValueRef s = LLVMBuildSub(b, row, LLVMBuildMul(b, col, LLVMConstInt(i64, 3, 0), ""), "");
    s = LLVMBuildAdd(b, s, LLVMBuildMul(b, batch, LLVMConstInt(i64, 100, 0), ""), "");
    return LLVMBuildFAdd(b, LLVMBuildFMul(b, x, LLVMConstReal(f32, 2.0), ""), LLVMBuildSIToFP(b, s, f32, ""), "");
}

/* loader: ((float *)ctx)[batch * 67 * 67 + r * 67 + c] */
static LLVMValueRef load_ctx(void *user, LLVMBuilderRef b, LLVMValueRef batch, LLVMValueRef r, LLVMValueRef c,
                             LLVMValueRef ctx) {
    LLVMTypeRef i64 = LLVMTypeOf(r);
    LLVMContextRef cx = LLVMGetTypeContext(i64);
    LLVMTypeRef f32 = LLVMFloatTypeInContext(cx);
    LLVMValueRef i = LLVMBuildAdd(b, LLVMBuildMul(b, r, LLVMConstInt(i64, LD_COLS, 0), ""), c, "");
    i = LLVMBuildAdd(b, i, LLVMBuildMul(b, batch, LLVMConstInt(i64, LD_COLS * LD_COLS, 0), ""), "");
    return LLVMBuildLoad2(b, f32, LLVMBuildGEP2(b, f32, ctx, &i, 1, ""), "");
}

typedef int64_t (*items_fn)(int64_t, int64_t, int64_t);

/* i64 NAME(i64 batch, i64 M, i64 N): the driver's item count (op < 0) or a
 * pack kernel's (op = operand, of M), as the IR helpers emit them */
static void emit_items_fn(LLVMModuleRef m, const cg_gemm_config *c, int op, const char *name) {
    LLVMContextRef cx = LLVMGetModuleContext(m);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(cx), ps[3] = {i64, i64, i64};
    LLVMValueRef fn = LLVMAddFunction(m, name, LLVMFunctionType(i64, ps, 3, 0));
    LLVMBuilderRef b = LLVMCreateBuilderInContext(cx);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(cx, fn, "entry"));
    LLVMValueRef n = op < 0 ? cg_gemm_build_items(b, c, LLVMGetParam(fn, 0), LLVMGetParam(fn, 1), LLVMGetParam(fn, 2))
                            : cg_gemm_build_pack_items(b, c, (cg_gemm_operand)op, LLVMGetParam(fn, 0),
                                                       LLVMGetParam(fn, 1));
    LLVMBuildRet(b, n);
    LLVMDisposeBuilder(b);
}

typedef struct engine {
    cg_gemm_config c;
    llvm_dl dl;
    LLVMContextRef cx;
    LLVMModuleRef m;
    pack_fn pack_a, pack_b, pack_b_ld;
    driver_fn plain, bias_relu, elem;
    items_fn items, items_a, items_b;
} engine;

static int engine_build(engine *e, int vec, int nregs, int kc) {
    cg_gemm_config_init(&e->c, vec, nregs);
    e->c.kc = kc;
    e->c.mc = 2 * e->c.mr;
    e->c.nc = 2 * e->c.nr;
    char err[512];
    if (cg_gemm_config_check(&e->c, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    e->cx = LLVMContextCreate();
    e->m = LLVMModuleCreateWithNameInContext("gemm_test", e->cx);
    cg_gemm_epilogue ev = {epi_bias_relu, NULL, NULL}, ee = {NULL, epi_elem, NULL};
    cg_gemm_loader ld = {load_ctx, NULL};
    cg_gemm_emit_driver(e->m, &e->c, cg_gemm_emit_micro(e->m, &e->c, NULL, "t_micro"), "t_plain");
    cg_gemm_emit_driver(e->m, &e->c, cg_gemm_emit_micro(e->m, &e->c, &ev, "t_micro_br"), "t_bias_relu");
    cg_gemm_emit_driver(e->m, &e->c, cg_gemm_emit_micro(e->m, &e->c, &ee, "t_micro_el"), "t_elem");
    cg_gemm_emit_pack(e->m, &e->c, CG_GEMM_A, NULL, "t_pack_a");
    cg_gemm_emit_pack(e->m, &e->c, CG_GEMM_B, NULL, "t_pack_b");
    cg_gemm_emit_pack(e->m, &e->c, CG_GEMM_B, &ld, "t_pack_b_ld");
    emit_items_fn(e->m, &e->c, -1, "t_items");
    emit_items_fn(e->m, &e->c, CG_GEMM_A, "t_items_a");
    emit_items_fn(e->m, &e->c, CG_GEMM_B, "t_items_b");
    if (llvm_dl_open(e->m, NULL, &e->dl, err, sizeof err)) {
        fprintf(stderr, "FAIL build: %s\n", err);
        return -1;
    }
    e->pack_a = (pack_fn)llvm_dl_sym(&e->dl, "t_pack_a");
    e->pack_b = (pack_fn)llvm_dl_sym(&e->dl, "t_pack_b");
    e->pack_b_ld = (pack_fn)llvm_dl_sym(&e->dl, "t_pack_b_ld");
    e->plain = (driver_fn)llvm_dl_sym(&e->dl, "t_plain");
    e->bias_relu = (driver_fn)llvm_dl_sym(&e->dl, "t_bias_relu");
    e->elem = (driver_fn)llvm_dl_sym(&e->dl, "t_elem");
    e->items = (items_fn)llvm_dl_sym(&e->dl, "t_items");
    e->items_a = (items_fn)llvm_dl_sym(&e->dl, "t_items_a");
    e->items_b = (items_fn)llvm_dl_sym(&e->dl, "t_items_b");
    return e->pack_a && e->pack_b && e->pack_b_ld && e->plain && e->bias_relu && e->elem && e->items &&
                   e->items_a && e->items_b
               ? 0
               : -1;
}

static void engine_free(engine *e) {
    llvm_dl_close(&e->dl);
    LLVMDisposeModule(e->m);
    LLVMContextDispose(e->cx);
}

static float frand(void) { return (float)rand() / (float)RAND_MAX * 2.0f - 1.0f; }

enum { EPI_NONE, EPI_BIAS_RELU, EPI_ELEM };

/* One case: batch x (M x K) @ (K x N); a_cm/b_cm: column-major sources;
 * b_shared: one B for every batch; beta: accumulate into C; via_loader:
 * B packed through the loader hook. Returns the number of bad elements. */
static int run_case(engine *e, int batch, int M, int N, int K, int a_cm, int b_cm, int b_shared, int beta, int epi,
                    int via_loader) {
    const cg_gemm_config *c = &e->c;
    size_t sa = (size_t)M * K, sb = via_loader ? LD_COLS * LD_COLS : (size_t)K * N, sc = (size_t)M * N;
    float *a = malloc(sizeof(float) * (sa * batch + 1)), *b = malloc(sizeof(float) * (sb * batch + 1));
    float *cc = malloc(sizeof(float) * (sc * batch + 1)), *c0 = malloc(sizeof(float) * (sc * batch + 1));
    float *bias = malloc(sizeof(float) * (N + 1));
    int64_t pa = cg_gemm_packed_floats(c, CG_GEMM_A, M, K), pb = cg_gemm_packed_floats(c, CG_GEMM_B, N, K);
    float *ap = malloc(sizeof(float) * (pa * batch + 1)), *bp = malloc(sizeof(float) * (pb * batch + 1));
    float *ref = malloc(sizeof(float) * ((pa > pb ? pa : pb) + 1));
    for (size_t i = 0; i < sa * batch; i++) a[i] = frand();
    for (size_t i = 0; i < sb * batch; i++) b[i] = frand();
    for (size_t i = 0; i < sc * batch; i++) cc[i] = c0[i] = frand();
    for (int i = 0; i < N; i++) bias[i] = frand();
    int bad = 0;
    /* element strides of the sources */
    int64_t a_rs = a_cm ? 1 : K, a_cs = a_cm ? M : 1, b_rs = b_cm ? 1 : N, b_cs = b_cm ? K : 1;
    if (via_loader) b_rs = LD_COLS, b_cs = 1;
    int64_t na = cg_gemm_pack_items(c, CG_GEMM_A, batch, M), nb = cg_gemm_pack_items(c, CG_GEMM_B, batch, N);
    e->pack_a(a, a_rs, a_cs, (int64_t)sa, ap, M, K, NULL, 0, na / 2);
    e->pack_a(a, a_rs, a_cs, (int64_t)sa, ap, M, K, NULL, na / 2, na);
    int bb = b_shared ? 1 : batch;
    nb = cg_gemm_pack_items(c, CG_GEMM_B, bb, N);
    if (via_loader) e->pack_b_ld(NULL, 0, 0, 0, bp, N, K, b, 0, nb);
    else e->pack_b(b, b_rs, b_cs, (int64_t)sb, bp, N, K, NULL, 0, nb);
    /* the run-time packers lay out exactly what the compile-time one does */
    for (int t = 0; t < batch; t++) {
        cg_gemm_pack_const(c, CG_GEMM_A, a + sa * t, a_rs, a_cs, M, K, ref);
        if (memcmp(ref, ap + pa * t, sizeof(float) * pa)) bad++;
    }
    for (int t = 0; t < bb; t++) {
        cg_gemm_pack_const(c, CG_GEMM_B, b + sb * t, b_rs, b_cs, N, K, ref);
        if (memcmp(ref, bp + pb * t, sizeof(float) * pb)) bad++;
    }
    driver_fn f = epi == EPI_BIAS_RELU ? e->bias_relu : epi == EPI_ELEM ? e->elem : e->plain;
    int64_t items = cg_gemm_items(c, batch, M, N), half = items / 3;
    void *ctx = epi == EPI_BIAS_RELU ? bias : NULL;
    f(ap, pa, bp, b_shared ? 0 : pb, cc, N, (int64_t)sc, M, N, K, beta, ctx, 0, half);
    f(ap, pa, bp, b_shared ? 0 : pb, cc, N, (int64_t)sc, M, N, K, beta, ctx, half, items);
    for (int t = 0; t < batch; t++)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                const float *at = a + sa * t, *bt = b + sb * (b_shared ? 0 : t);
                double s = 0, mag = 0;
                for (int k = 0; k < K; k++) {
                    double x = at[i * a_rs + k * a_cs], y = bt[k * b_rs + j * b_cs];
                    s += x * y;
                    mag += fabs(x * y);
                }
                size_t o = sc * t + (size_t)i * N + j;
                if (beta) s += c0[o], mag += fabs(c0[o]);
                if (epi == EPI_BIAS_RELU) s = s + bias[j] > 0 ? s + bias[j] : 0, mag += fabs(bias[j]);
                if (epi == EPI_ELEM) s = 2 * s + i - 3 * j + 100 * t, mag = 2 * mag + fabs(i - 3.0 * j + 100 * t);
                if (fabs(cc[o] - s) > 1e-5 * (mag + 1)) {
                    if (bad < 3)
                        fprintf(stderr, "  b%d M%d N%d K%d at (%d,%d,%d): %g, expected %g\n", batch, M, N, K, t, i,
                                j, cc[o], s);
                    bad++;
                }
            }
    free(a), free(b), free(cc), free(c0), free(bias), free(ap), free(bp), free(ref);
    return bad;
}

static void check_engine(int vec, int nregs, int kc) {
    engine e;
    if (engine_build(&e, vec, nregs, kc)) {
        CHECK(!"engine built");
        return;
    }
    static const int dims[] = {1, 2, 3, 5, 7, 13, 16, 17, 31, 32, 33, 47, 64, 67};
    int nd = (int)(sizeof dims / sizeof dims[0]);
    int n = 0, bad_cases = 0;
    for (int mi = 0; mi < nd; mi++)
        for (int ni = 0; ni < nd; ni++)
            for (int ki = 0; ki < nd; ki += 3) {
                int M = dims[mi], N = dims[ni], K = dims[ki];
                /* vary the other switches with the shape */
                int v = mi + 2 * ni + ki;
                int bad = run_case(&e, 1, M, N, K, v & 1, (v >> 1) & 1, 0, (v >> 2) & 1, v % 3, 0);
                if (bad) {
                    fprintf(stderr, "FAIL vec %d nregs %d: M %d N %d K %d: %d bad\n", vec, nregs, M, N, K, bad);
                    bad_cases++;
                }
                n++;
            }
    CHECK(bad_cases == 0);
    /* the item counts emitted as IR agree with the C ones (and are not trivial) */
    int items_ok = 1;
    for (int i = 0; i < nd; i++)
        for (int j = 0; j < nd; j++) {
            int64_t M = dims[i] * 37, N = dims[j] * 41;
            items_ok &= e.items(3, M, N) == cg_gemm_items(&e.c, 3, M, N);
            items_ok &= e.items_a(2, M, 0) == cg_gemm_pack_items(&e.c, CG_GEMM_A, 2, M);
            items_ok &= e.items_b(2, N, 0) == cg_gemm_pack_items(&e.c, CG_GEMM_B, 2, N);
        }
    CHECK(items_ok);
    CHECK(cg_gemm_items(&e.c, 2, 2 * e.c.mc + 1, e.c.nc) == 6);
    /* K = 1 and K = 0 (C = beta*C then the epilogue), batches, a shared B, the loader */
    CHECK(run_case(&e, 1, 19, 37, 1, 0, 0, 0, 1, EPI_BIAS_RELU, 0) == 0);
    CHECK(run_case(&e, 1, 19, 37, 0, 0, 0, 0, 1, EPI_NONE, 0) == 0);
    CHECK(run_case(&e, 1, 19, 37, 0, 0, 0, 0, 0, EPI_ELEM, 0) == 0);
    CHECK(run_case(&e, 3, 29, 41, 53, 0, 1, 0, 0, EPI_ELEM, 0) == 0);
    CHECK(run_case(&e, 3, 29, 41, 53, 1, 0, 1, 1, EPI_NONE, 0) == 0);
    CHECK(run_case(&e, 2, 23, 61, 67, 0, 0, 0, 0, EPI_NONE, 1) == 0);
    CHECK(run_case(&e, 1, 67, 67, 67, 0, 0, 1, 1, EPI_BIAS_RELU, 1) == 0);
    CHECK(run_case(&e, 1, 100, 150, 600, 0, 0, 0, 1, EPI_BIAS_RELU, 0) == 0);
    engine_free(&e);
}

int main(void) {
    int vec, nregs;
    llvm_dl_host_vector(&vec, &nregs);
    check_engine(vec, nregs, 24);
    check_engine(8, 16, 16);
    check_engine(4, 32, 32);
    /* a bad configuration is refused with a message */
    cg_gemm_config c;
    char err[256] = "";
    cg_gemm_config_init(&c, 16, 32);
    c.nr = 20;
    CHECK(cg_gemm_config_check(&c, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "multiple of the vector width");
    return check_summary("gemm");
}
