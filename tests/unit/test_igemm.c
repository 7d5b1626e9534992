/* test_igemm.c — the integer GEMM engine (gemm.h, cg_gemm_config.dot)
 * against a scalar reference, built for the host through LLVM and dlopen.
 *
 * For every dot instruction the engine emits (vpdpwssd at 16 and 8 lanes,
 * pmaddwd at 16, 8 and 4 lanes, the plain-IR form at 16 and 4 lanes;
 * those this CPU lacks are skipped, saying so), with a small KC so that K
 * blocks appear: operands made like an int8 contraction's, (x - x_zp)
 * with u8 or s8 activations and s8 weights, zero points 0 and non-zero,
 * plus i16 extremes (+-32767), are packed by cg_gemm_pack_const_i16 and
 * multiplied tile by tile with the microkernel (edge tiles, K odd, K
 * blocks accumulated) into i32 C, compared element for element with the
 * i32 (wrapping) sum of products. Also: which dot instruction a target's
 * feature string gets.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/llvm/gemm.h"
#include "tests/unit/support/check.h"
#include "tests/unit/support/llvm_dl.h"

typedef void (*micro_fn)(int64_t, const int16_t *, const int16_t *, int32_t *, int64_t, int64_t, int64_t, int32_t,
                         int64_t, int64_t, int64_t, void *, const void *);

typedef struct ieng {
    cg_gemm_config c;
    llvm_dl dl;
    LLVMContextRef cx;
    LLVMModuleRef m;
    micro_fn micro;
} ieng;

static int ieng_build(ieng *e, int vec, int nregs, int dot, int kc) {
    cg_gemm_config_int(&e->c, vec, nregs, dot);
    e->c.kc = kc;
    char err[512];
    if (cg_gemm_config_check(&e->c, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    e->cx = LLVMContextCreate();
    e->m = LLVMModuleCreateWithNameInContext("igemm_test", e->cx);
    if (!cg_gemm_emit_micro(e->m, &e->c, NULL, "t_imicro")) return -1;
    if (llvm_dl_open(e->m, NULL, &e->dl, err, sizeof err)) {
        fprintf(stderr, "FAIL build: %s\n", err);
        return -1;
    }
    e->micro = (micro_fn)llvm_dl_sym(&e->dl, "t_imicro");
    return e->micro ? 0 : -1;
}

static void ieng_free(ieng *e) {
    llvm_dl_close(&e->dl);
    LLVMDisposeModule(e->m);
    LLVMContextDispose(e->cx);
}

/* an int8 operand minus its zero point: u8 (act_u8) or s8 values */
static int16_t operand(int u8, int zp) { return (int16_t)((u8 ? rand() % 256 : rand() % 256 - 128) - zp); }

/* (M x K) @ (K x N) with a's zero point za (u8 or s8 activations) and b's
 * zb (s8 weights); extremes: some elements +-32767. Returns bad elements. */
static int run_case(ieng *e, int M, int N, int K, int a_u8, int za, int zb, int extremes) {
    const cg_gemm_config *c = &e->c;
    int16_t *a = malloc(sizeof *a * (size_t)(M * K + 1)), *b = malloc(sizeof *b * (size_t)(K * N + 1));
    for (int i = 0; i < M * K; i++) a[i] = operand(a_u8, za);
    for (int i = 0; i < K * N; i++) b[i] = operand(0, zb);
    if (extremes)
        for (int i = 0; i < M * K; i += 7) a[i] = i % 2 ? 32767 : -32767;
    if (extremes)
        for (int i = 0; i < K * N; i += 5) b[i] = i % 3 ? -32767 : 32767;
    int64_t K2 = (K + 1) / 2;
    int64_t na = 2 * cg_gemm_packed_floats(c, CG_GEMM_A, M, K2), nb = 2 * cg_gemm_packed_floats(c, CG_GEMM_B, N, K2);
    int16_t *pa = malloc(sizeof *pa * (size_t)(na + 1)), *pb = malloc(sizeof *pb * (size_t)(nb + 1));
    cg_gemm_pack_const_i16(c, CG_GEMM_A, a, K, 1, M, K, pa);
    cg_gemm_pack_const_i16(c, CG_GEMM_B, b, N, 1, N, K, pb);
    int32_t *out = malloc(sizeof *out * (size_t)(M * N + 1));
    for (int i = 0; i < M * N; i++) out[i] = 12345; /* overwritten by the first K block */
    int64_t Mp = (M + c->mr - 1) / c->mr * c->mr, Np = (N + c->nr - 1) / c->nr * c->nr;
    for (int64_t k0 = 0; k0 < K2 || (K2 == 0 && k0 == 0); k0 += c->kc) {
        int64_t kc = K2 - k0 < c->kc ? K2 - k0 : c->kc;
        for (int64_t n = 0; n < N; n += c->nr)
            for (int64_t m = 0; m < M; m += c->mr) {
                const int16_t *ap = pa + 2 * (k0 * Mp + m * kc), *bp = pb + 2 * (k0 * Np + n * kc);
                int64_t mr = M - m < c->mr ? M - m : c->mr, nr = N - n < c->nr ? N - n : c->nr;
                e->micro(kc, ap, bp, out + m * N + n, N, mr, nr, k0 > 0 ? CG_GEMM_ACCUMULATE : 0, 0, m, n, NULL, bp);
            }
    }
    int bad = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            uint32_t s = 0; /* i32 with wrapping, as the loop nest's sum */
            for (int k = 0; k < K; k++) s += (uint32_t)((int32_t)a[i * K + k] * (int32_t)b[k * N + j]);
            if ((int32_t)s != out[i * N + j] && bad++ < 3)
                fprintf(stderr, "  dot %d vec %d: %dx%dx%d C[%d][%d] = %d, want %d\n", c->dot, c->vec, M, N, K, i, j,
                        out[i * N + j], (int32_t)s);
        }
    free(a), free(b), free(pa), free(pb), free(out);
    return bad;
}

/* have: the CPU has `need` (the feature the instruction needs) */
static void check_dot(int vec, int nregs, int dot, int have, const char *need) {
    if (!have) {
        printf("skip dot %d at %d lanes: this CPU lacks %s\n", dot, vec, need);
        return;
    }
    ieng e;
    memset(&e, 0, sizeof e);
    if (ieng_build(&e, vec, nregs, dot, 5)) {
        CHECK(0);
        return;
    }
    static const int shapes[][3] = {{1, 1, 1}, {3, 5, 2}, {7, 19, 13}, {29, 41, 53}, {15, 33, 10}, {2, 17, 11}, {31, 64, 67}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int v = 0; v < 4; v++) { /* u8 / s8 activations, zero points 0 / non-zero */
            int u8 = v & 1, zps = v >> 1;
            int za = zps ? (u8 ? 131 : -7) : 0, zb = zps ? 3 : 0;
            CHECK(run_case(&e, shapes[s][0], shapes[s][1], shapes[s][2], u8, za, zb, 0) == 0);
        }
    CHECK(run_case(&e, 23, 37, 61, 1, 0, 0, 1) == 0);
    ieng_free(&e);
}

int main(void) {
    srand(7);
#if defined(__x86_64__) || defined(__i386__)
    check_dot(16, 32, CG_DOT_VPDPWSSD, __builtin_cpu_supports("avx512vnni"), "avx512vnni");
    check_dot(8, 16, CG_DOT_VPDPWSSD, __builtin_cpu_supports("avxvnni"), "avxvnni");
    check_dot(16, 32, CG_DOT_PMADDWD, __builtin_cpu_supports("avx512bw"), "avx512bw");
    check_dot(8, 16, CG_DOT_PMADDWD, __builtin_cpu_supports("avx2"), "avx2");
    check_dot(4, 16, CG_DOT_PMADDWD, __builtin_cpu_supports("sse2"), "sse2");
    check_dot(16, 32, CG_DOT_I16, __builtin_cpu_supports("avx512f"), "avx512f");
#endif
    check_dot(4, 32, CG_DOT_I16, 1, "");
    /* the instruction a target's features give */
    CHECK(cg_gemm_dot_for("x86_64-linux-gnu", "+avx2,+avx512f,+avx512bw,+avx512vnni,+avx512vl", 16) == CG_DOT_VPDPWSSD);
    CHECK(cg_gemm_dot_for("x86_64-linux-gnu", "+avx2,+avx512f,+avx512bw,-avx512vnni", 16) == CG_DOT_PMADDWD);
    CHECK(cg_gemm_dot_for("x86_64-linux-gnu", "+avx2,+avxvnni", 8) == CG_DOT_VPDPWSSD);
    CHECK(cg_gemm_dot_for("x86_64-linux-gnu", "+avx2,-avxvnni", 8) == CG_DOT_PMADDWD);
    CHECK(cg_gemm_dot_for("x86_64-linux-gnu", "+sse2", 4) == CG_DOT_PMADDWD);
    CHECK(cg_gemm_dot_for("aarch64-linux-gnu", "+neon,+dotprod", 4) == CG_DOT_I16);
    cg_gemm_config c;
    char err[256] = "";
    cg_gemm_config_int(&c, 4, 16, CG_DOT_VPDPWSSD);
    CHECK(cg_gemm_config_check(&c, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "vpdpwssd");
    return check_summary("igemm");
}
