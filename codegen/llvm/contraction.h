/* contraction.h — contractions (MatMul, Gemm, Conv, batched MatMul, ...)
 * recognized in loop kernels and emitted as GEMMs.
 *
 * contraction.c decides whether a kernel is a contraction and how: first
 * cg_gemm_plan_match (the packed engine of gemm.h, driven by
 * gemm_kernel.c: flattened M/N/K axis sets, constant operands packed at
 * compile time), else cg_contraction_match (gemm_emit.c: a register tile
 * per output tile, for outputs the engine cannot store). kernel.c tries
 * them in that order and falls back to the generic loop nest.
 */
#ifndef SMELT_CG_CONTRACTION_H
#define SMELT_CG_CONTRACTION_H

#include "codegen/llvm/cg_internal.h"
#include "codegen/llvm/gemm.h"

/* An affine index form: c0 + sum idx[ax] * IDX(ax) + sum ridx[r] * RIDX(r). */
typedef struct cg_affine {
    int64_t c0, idx[IR_MAX_RANK], ridx[IR_MAX_RANK];
} cg_affine;

/* e as an affine form of the domain and reduction indices; 0 if it is not. */
int cg_affine_of(const kir_program *p, uint32_t e, cg_affine *f);

/* How the packed engine computes kernel k: out[batch..., M..., N...] =
 * sum over K of a(M, K) * b(K, N), where M = output axes [m_lo, n_lo)
 * (flattened, rows c_rs apart), N = [n_lo, rank) (flattened, contiguous),
 * K = every reduction axis (flattened), and the other axes (mask `batch`)
 * are batch points. a never reads an N axis and b never an M axis. */
typedef struct cg_gemm_plan {
    uint32_t a, b;        /* operand expressions (f32; i32 that fit i16 when
                             cfg.dot: the integer engine, C and acc i32) */
    int m_lo, n_lo;
    uint32_t batch;
    bool post_flat;       /* the post expression reads the N axes only as
                             row-major load indices, so they may be set as one
                             flat index (all but the last 0) */
    int a_const, b_const; /* the constant buffer a / b loads, packed at compile
                             time (offset form in a_off / b_off; integer
                             engine: the operand evaluated, cg_int_operand_eval),
                             or -1 */
    cg_affine a_off, b_off;
    bool rows;            /* M is 1: one output row per item, accumulated along
                             the last axis (depthwise convolutions) */
    cg_gemm_config cfg;   /* the target's blocking */
} cg_gemm_plan;

/* Integer operands (int_operand.c). An i32 operand whose values provably
 * fit i16 (|v| <= 32767: int8 minus a zero point); its range; its value at
 * domain indices idx and reduction indices ridx when it reads only
 * constants (false if it does not); and the weight buffer of a constant
 * operand that reads only the axes in `side` (mask: kir_idx_mask of each
 * expression), or -1. */
bool cg_int_operand_i16(const kir_program *p, uint32_t e);
bool cg_int_operand_range(const kir_program *p, uint32_t e, int64_t *lo, int64_t *hi);
bool cg_int_operand_eval(const kir_program *p, uint32_t e, const int64_t *idx, const int64_t *ridx, int64_t *v);
int cg_int_operand_const(const kir_program *p, const kir_kernel *k, uint32_t e, uint32_t side, const uint32_t *mask);

/* 1 when the packed engine computes kernel k (fills *pl), 0 if not. */
int cg_gemm_plan_match(cg_ctx *c, const kir_kernel *k, cg_gemm_plan *pl);
/* Emit kernel ki through the engine (gemm_kernel.c). */
int cg_emit_gemm_engine(cg_ctx *c, uint32_t ki, const cg_gemm_plan *pl, LLVMValueRef *extent, LLVMValueRef *run);

typedef struct cg_contraction {
    uint32_t a, b;     /* operand expressions (f32): a is broadcast along N, b along M */
    int m_axis;        /* domain axis only a depends on (-1: none) */
    int n_axis;        /* the output's innermost axis; only b depends on it */
    bool b_vec;        /* b is a plain f32 load with unit stride along n_axis */
    int vl, mr, nr;    /* vector lanes; register tile MR rows x NR columns (NR = k * vl) */
} cg_contraction;

/* 1 when kernel k is a contraction the GEMM emitter handles (fills *ct), 0 if not. */
int cg_contraction_match(cg_ctx *c, const kir_kernel *k, cg_contraction *ct);
/* Emit the extent and run functions of kernel ki as a blocked GEMM (gemm_emit.c). */
int cg_emit_gemm(cg_ctx *c, uint32_t ki, const cg_contraction *ct, LLVMValueRef *extent, LLVMValueRef *run);

#endif
