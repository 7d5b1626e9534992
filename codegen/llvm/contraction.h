/* contraction.h — contractions (MatMul, Gemm, Conv, batched MatMul, ...)
 * recognized in loop kernels and emitted as register-blocked GEMMs.
 *
 * contraction.c decides whether a kernel is a contraction the GEMM emitter
 * handles (cg_contraction_match) and picks the register tile for the
 * target; gemm_emit.c emits its `extent` + `run` pair. kernel.c calls the
 * match first and falls back to the generic loop nest when it fails.
 */
#ifndef SMELT_CG_CONTRACTION_H
#define SMELT_CG_CONTRACTION_H

#include "codegen/llvm/cg_internal.h"

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
