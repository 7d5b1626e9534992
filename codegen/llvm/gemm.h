/* gemm.h — the fp32 contraction engine of the CPU backend, as LLVM IR.
 *
 * C[b] (M x N) = A[b] (M x K) @ B[b] (K x N)  (+ C[b] when accumulating),
 * then an optional epilogue. Goto/BLIS structure: both operands are first
 * laid out as packed panels (A: MR-row panels [k][MR], B: NR-column panels
 * [k][NR], K split in blocks of KC), either at compile time for constant
 * weights (cg_gemm_pack_const, plain C) or at run time by an emitted pack
 * kernel; the driver then walks C tiles of MC x NC and calls a register-
 * blocked MR x NR microkernel that keeps its accumulators in vector
 * registers (LLVM vector types and llvm.fma: target-independent; the
 * vector width and register count pick MR/NR).
 *
 * Packed layout (floats), for an operand with R = MR (A) or NR (B) and
 * P = the panel dimension (M for A, N for B) rounded up to R:
 *   element (p, k)  of the operand (p < P, k < K), with k0 = k - k % KC,
 *   kc = min(KC, K - k0):  dst[k0 * P + (p - p % R) * kc + (k - k0) * R + p % R]
 *   (zero where p >= M or N). One batch is cg_gemm_packed_floats() long.
 *
 * Every emitted function has external linkage (the caller may make it
 * internal) and nounwind, splits its work by an item range [begin, end) of [0, items) exactly like
 * smelt_kernel.run, and never allocates. `ctx` is an opaque pointer passed
 * through to the hooks (e.g. the kernel's smelt_kargs *).
 */
#ifndef SMELT_CG_GEMM_H
#define SMELT_CG_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include <llvm-c/Core.h>

/* Blocking. cg_gemm_config_init fills the defaults for a target from its
 * vector width (floats) and vector register count; fields may then be
 * changed (mr >= 1, nr a multiple of vec, kc >= 1, mc a multiple of mr,
 * nc a multiple of nr). */
typedef struct cg_gemm_config {
    int vec;     /* floats per vector: 4 (SSE, NEON), 8 (AVX2), 16 (AVX-512) */
    int nregs;   /* vector registers: 16 (AVX2), 32 (AVX-512, NEON) */
    int mr, nr;  /* microkernel tile */
    int kc;      /* K block */
    int mc, nc;  /* C tile of one work item of the driver */
    int dot;     /* CG_DOT_F32 (floats), else the integer engine's dot
                    instruction (cg_gemm_config_int) */
} cg_gemm_config;

/* The integer engine: operands are i16 values (|v| <= 32767: int8 values
 * minus their zero points, so that no correction terms are needed), packed
 * two consecutive k per 32-bit lane, accumulated exactly in i32 (wrapping
 * like the loop nest's i32 sum). Every layout formula above then holds
 * with 32-bit elements and K counted in pairs, K2 = ceil(K / 2) (an odd
 * K's last pair is padded with 0); kc counts pairs; C holds i32. The dot
 * instruction adds a0*b0 + a1*b1 of each lane's two i16 pairs into the
 * i32 accumulator:
 *   CG_DOT_I16:     LLVM vector IR (sext, mul, add of even and odd lanes);
 *                   any target;
 *   CG_DOT_PMADDWD: SSE2/AVX2/AVX-512BW pmaddwd + add (x86, exact: no
 *                   saturation for |v| <= 32767);
 *   CG_DOT_VPDPWSSD: AVX-512 VNNI / AVX-VNNI vpdpwssd (one instruction). */
enum { CG_DOT_F32 = 0, CG_DOT_I16, CG_DOT_PMADDWD, CG_DOT_VPDPWSSD };

/* The integer dot for an LLVM target feature string and vector width
 * (x86 only; other targets: CG_DOT_I16). */
int cg_gemm_dot_for(const char *triple, const char *features, int vec);
/* cg_gemm_config_init, then the integer engine with instruction dot. */
void cg_gemm_config_int(cg_gemm_config *c, int vec, int nregs, int dot);

void cg_gemm_config_init(cg_gemm_config *c, int vec, int nregs);
/* 0, or -1 with a message in err when a field is out of range. */
int cg_gemm_config_check(const cg_gemm_config *c, char *err, size_t errlen);

/* Epilogue hook, called while the microkernel's store code is emitted, on
 * the last K block only. Indices are i64 values: the batch, the C row and
 * the C column of the (first) element. `ctx` is the driver's ctx argument.
 * Set at most one of vec / elem:
 *  vec:  v is a <vec x float> of C row `row`, columns col .. col+vec-1;
 *        mask is NULL when every lane is inside C, else a <vec x i1> of the
 *        lanes inside (loads for other lanes must be masked); return the
 *        vector to store.
 *  elem: x is one float of C (row, col); return the float to store. */
typedef struct cg_gemm_epilogue {
    LLVMValueRef (*vec)(void *user, LLVMBuilderRef b, LLVMValueRef v, LLVMValueRef batch,
                        LLVMValueRef row, LLVMValueRef col, LLVMValueRef mask, LLVMValueRef ctx);
    LLVMValueRef (*elem)(void *user, LLVMBuilderRef b, LLVMValueRef x, LLVMValueRef batch,
                         LLVMValueRef row, LLVMValueRef col, LLVMValueRef ctx);
    void *user;
} cg_gemm_epilogue;

/* Source hook of a pack kernel: emit the load of one operand element,
 * in range (A: row m < M, column k < K; B: row k < K, column n < N), and
 * return a float. This is how an implicit GEMM packs im2col straight into
 * panels. NULL hook: a strided matrix (see cg_gemm_emit_pack). */
typedef struct cg_gemm_loader {
    LLVMValueRef (*load)(void *user, LLVMBuilderRef b, LLVMValueRef batch, LLVMValueRef row,
                         LLVMValueRef col, LLVMValueRef ctx);
    void *user;
} cg_gemm_loader;

typedef enum cg_gemm_operand { CG_GEMM_A, CG_GEMM_B } cg_gemm_operand;

/* Microkernel flags (its i32 `flags` argument). */
enum { CG_GEMM_ACCUMULATE = 1, /* C += acc instead of C = acc */
       CG_GEMM_LAST = 2 };     /* last K block: apply the epilogue */

/* The microkernel, `name`:
 *   void (i64 kc, ptr a_panel, ptr b_panel, ptr c, i64 c_rs, i64 mr, i64 nr,
 *         i32 flags, i64 batch, i64 row, i64 col, ptr ctx, ptr prefetch)
 * a_panel [kc][MR], b_panel [kc][NR]; c points at C(row, col), rows c_rs
 * floats apart; only the mr x nr corner (1 <= mr <= MR, 1 <= nr <= NR) is
 * written. prefetch: the B panel to be read next (prefetched into L2 while
 * this one is used; any address, never dereferenced). epi may be NULL. Returns the function (NULL on bad config). */
LLVMValueRef cg_gemm_emit_micro(LLVMModuleRef m, const cg_gemm_config *c,
                                const cg_gemm_epilogue *epi, const char *name);

/* A pack kernel, `name`:
 *   void (ptr src, i64 s_rs, i64 s_cs, i64 s_bs, ptr dst,
 *         i64 M_or_N, i64 K, ptr ctx, i64 begin, i64 end)
 * items: batch x groups of 8 panels (cg_gemm_pack_items). The source
 * is A (M x K) or B (K x N), element (r, c) at src[b*s_bs + r*s_rs + c*s_cs]
 * unless `ld` is given (then src/strides are passed to nothing but it).
 * dst batches are cg_gemm_packed_floats() apart. */
LLVMValueRef cg_gemm_emit_pack(LLVMModuleRef m, const cg_gemm_config *c, cg_gemm_operand op,
                               const cg_gemm_loader *ld, const char *name);

/* The driver, `name`:
 *   void (ptr a_packed, i64 a_bs, ptr b_packed, i64 b_bs, ptr c, i64 c_rs,
 *         i64 c_bs, i64 M, i64 N, i64 K, i32 accumulate, ptr ctx,
 *         i64 begin, i64 end)
 * items: batch x ceil(M/MC) x ceil(N/NC) C tiles (cg_gemm_items), N fastest;
 * the tiles of one axis are made even (their size is rounded up to MR/NR).
 * a_bs / b_bs: packed floats between batches (0 to broadcast one operand,
 * e.g. weights). accumulate != 0: C += A@B (beta 1), else C = A@B (beta 0).
 * `micro` comes from cg_gemm_emit_micro with the same config. */
LLVMValueRef cg_gemm_emit_driver(LLVMModuleRef m, const cg_gemm_config *c, LLVMValueRef micro,
                                 const char *name);

/* Item counts and packed sizes, as C (compile time) and as IR (emitted at
 * the builder's position: for a kernel's extent function). */
int64_t cg_gemm_items(const cg_gemm_config *c, int64_t batch, int64_t M, int64_t N);
int64_t cg_gemm_pack_items(const cg_gemm_config *c, cg_gemm_operand op, int64_t batch,
                           int64_t M_or_N);
int64_t cg_gemm_packed_floats(const cg_gemm_config *c, cg_gemm_operand op, int64_t M_or_N,
                              int64_t K);
LLVMValueRef cg_gemm_build_items(LLVMBuilderRef b, const cg_gemm_config *c, LLVMValueRef batch,
                                 LLVMValueRef M, LLVMValueRef N);
LLVMValueRef cg_gemm_build_pack_items(LLVMBuilderRef b, const cg_gemm_config *c,
                                      cg_gemm_operand op, LLVMValueRef batch, LLVMValueRef M_or_N);

/* Compile-time packing of a constant operand (one batch) into dst, which
 * holds cg_gemm_packed_floats() floats: the same bytes as the emitted pack
 * kernel writes. Source element (r, c) at src[r*s_rs + c*s_cs]. */
void cg_gemm_pack_const(const cg_gemm_config *c, cg_gemm_operand op, const float *src,
                        int64_t s_rs, int64_t s_cs, int64_t M_or_N, int64_t K, float *dst);

/* Compile-time packing of a constant i16 operand (see above): dst holds
 * 2 * cg_gemm_packed_floats(c, op, M_or_N, (K + 1) / 2) int16_t. */
void cg_gemm_pack_const_i16(const cg_gemm_config *c, cg_gemm_operand op, const int16_t *src,
                            int64_t s_rs, int64_t s_cs, int64_t M_or_N, int64_t K, int16_t *dst);

#endif
