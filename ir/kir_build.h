/* kir_build.h — building kernel IR, for the lowering functions (lower_*.c).
 *
 * Expressions are hash-consed: building the same expression twice returns
 * the same id. Result dtypes follow the scalar op's class (kir_ops.def):
 * arithmetic keeps its operands' dtype, comparisons give bool, and so on;
 * mixing dtypes where the class forbids it is a programming error (asserted),
 * because the graph verifier has already checked the node.
 */
#ifndef SMELT_KIR_BUILD_H
#define SMELT_KIR_BUILD_H

#include "kir.h"

/* The lowering function named by an ops.def row. */
typedef int (*kir_lower_fn)(kir_program *p, ir_id node, diag *d);

/* Buffers */
uint32_t kb_value(kir_program *p, ir_id value);   /* buffer holding a graph value */
uint32_t kb_temp(kir_program *p, const char *name, ir_dtype t, int rank, const ir_dim *dims);
static inline const kir_buffer *kb_buf(const kir_program *p, uint32_t b) { return &p->bufs[b]; }

/* Leaves */
uint32_t kb_const_f(kir_program *p, ir_dtype t, double v);
uint32_t kb_const_i(kir_program *p, ir_dtype t, int64_t v);
uint32_t kb_idx(kir_program *p, int axis);
uint32_t kb_ridx(kir_program *p, int axis);
uint32_t kb_dim(kir_program *p, ir_dim dim);
uint32_t kb_acc(kir_program *p, ir_dtype t);
/* Load buffer b at one index expression per axis. */
uint32_t kb_load(kir_program *p, uint32_t b, const uint32_t *idx);

/* Operations */
uint32_t kb_un(kir_program *p, kx_op op, uint32_t a);
uint32_t kb_bin(kir_program *p, kx_op op, uint32_t a, uint32_t b);
uint32_t kb_select(kir_program *p, uint32_t cond, uint32_t a, uint32_t b);
uint32_t kb_cast(kir_program *p, ir_dtype t, uint32_t a, bool saturate);
/* A cast to float8e8m0 with its rounding (an mf_round of minifloat.h); other
 * targets round to nearest even. */
uint32_t kb_cast_round(kir_program *p, ir_dtype t, uint32_t a, bool saturate, int round);
static inline ir_dtype kb_type(const kir_program *p, uint32_t e) { return p->exprs[e].dtype; }

/* An expression like *proto but with the given operands (hash-consed). */
uint32_t kb_remake(kir_program *p, const kir_expr *proto, const uint32_t *args);

/* Index helpers: i64 arithmetic on index expressions */
uint32_t kb_iadd(kir_program *p, uint32_t a, int64_t c);
uint32_t kb_imul(kir_program *p, uint32_t a, int64_t c);

/* Load of buffer b broadcast (numpy rules) to a domain of rank out_rank
 * whose axes are indexed by IDX 0..out_rank-1: axis i of b reads IDX of
 * axis i + (out_rank - rank), or 0 where b has size 1 and the domain does not. */
uint32_t kb_load_bcast(kir_program *p, uint32_t b, int out_rank, const ir_dim *out_dims);
/* Load of b at the domain point itself (same shape as the output). */
uint32_t kb_load_same(kir_program *p, uint32_t b);

/* Kernels: return the kernel index, or -1 with an error in d. */
int kb_kernel(kir_program *p, ir_id node, uint32_t out, uint32_t body);
int kb_reduce(kir_program *p, ir_id node, uint32_t out, kir_reduce r, int rrank, const ir_dim *red,
              ir_dtype acc, uint32_t body, uint32_t post);
int kb_library(kir_program *p, ir_id node, const char *lib, const uint32_t *in, uint32_t n_in,
               const uint32_t *out, uint32_t n_out);

/* Reduction init value for a reduce op and accumulator dtype (as a double
 * for floats; integers use kb_reduce_init_i). */
double kb_reduce_init_f(kir_reduce r);
int64_t kb_reduce_init_i(kir_reduce r, ir_dtype t);

#endif
