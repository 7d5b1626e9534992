/* kir.h — the kernel IR: what every graph op is lowered into, once.
 *
 * A kir_program is a list of buffers (one per graph value that needs
 * storage, plus temporaries) and an ordered list of kernels. A loop kernel
 * writes one output buffer over an iteration domain equal to that buffer's
 * shape: for every domain point it evaluates a scalar expression DAG made of
 * loads (with one index expression per buffer axis: affine, div/mod, or data
 * dependent as in Gather), arithmetic and math functions, comparisons and
 * selects, casts. A kernel may also reduce: then the body is evaluated over
 * an extra reduction domain and combined with SUM/PROD/MAX/MIN/ARGMAX/ARGMIN;
 * an optional post expression turns the accumulated value (KX_ACC) into the
 * stored one (e.g. a mean divides by the count).
 *
 * Ops that are not loop nests (sorting, TopK, NonZero, ...) are library
 * kernels: a named routine with buffer operands, implemented by each runtime.
 *
 * Expressions are hash-consed per program: equal sub-expressions share one
 * node. Dimensions (domain sizes, DIM leaves, buffer shapes) are ir_dims of
 * the source graph, so symbolic sizes are bound at run time.
 *
 * Three consumers read this IR: ir/interp.c (reference results and constant
 * folding), codegen/llvm and codegen/spirv.
 */
#ifndef SMELT_KIR_H
#define SMELT_KIR_H

#include <stdio.h>

#include "ir.h"

typedef enum kx_op {
#define KX(NAME, arity, cls) KX_##NAME,
#include "kir_ops.def"
#undef KX
    KX_COUNT
} kx_op;

typedef enum kx_class { KXC_LEAF, KXC_ARITH, KXC_MATH, KXC_CMP, KXC_LOGIC, KXC_BIT, KXC_SPECIAL } kx_class;

typedef struct kx_info {
    const char *name;
    uint8_t arity;
    kx_class cls;
} kx_info;
const kx_info *kx_get(kx_op op);

#define KIR_NONE UINT32_MAX

typedef struct kir_expr {
    kx_op op;
    ir_dtype dtype;       /* result type; index math is i64 */
    uint32_t n_args;
    uint32_t *args;       /* operand expressions (LOAD: one per buffer axis) */
    uint32_t buffer;      /* LOAD */
    int32_t axis;         /* IDX, RIDX */
    ir_dim dim;           /* DIM */
    int64_t ival;         /* CONST of integer/bool dtype; CAST: KIR_CAST_* flags */
    double fval;          /* CONST of float dtype */
} kir_expr;

/* CAST flags: saturate out-of-range values (float8 targets, see
 * minifloat.h); the rounding of float8e8m0 targets (mf_round) above the shift. */
#define KIR_CAST_SATURATE 1
#define KIR_CAST_ROUND_SHIFT 1

typedef enum kir_buffer_kind {
    KB_INPUT,   /* a graph input */
    KB_CONST,   /* a constant: data is known */
    KB_VALUE,   /* an intermediate graph value */
    KB_TEMP,    /* made by lowering (softmax max, layernorm mean, ...) */
} kir_buffer_kind;

typedef struct kir_buffer {
    const char *name;
    kir_buffer_kind kind;
    ir_dtype dtype;
    int rank;
    ir_dim *dims;
    ir_id value;          /* the graph value it holds, IR_NONE for temps */
    const void *data;     /* KB_CONST */
} kir_buffer;

typedef enum kir_reduce {
    KR_NONE, KR_SUM, KR_PROD, KR_MAX, KR_MIN, KR_ARGMAX, KR_ARGMIN
} kir_reduce;

typedef enum kir_kernel_kind { KK_LOOP, KK_LIB } kir_kernel_kind;

typedef struct kir_kernel {
    kir_kernel_kind kind;
    const char *name;     /* origin: the graph node's name */
    ir_id node;           /* the graph node it came from */
    uint32_t out;         /* output buffer; the domain is its shape */
    /* KK_LOOP */
    kir_reduce reduce;
    bool select_last;     /* ARGMAX/ARGMIN: last index among equal values */
    int rrank;            /* reduction axes */
    ir_dim red[IR_MAX_RANK];
    ir_dtype acc_dtype;   /* accumulator type of a reduction */
    uint32_t body;        /* per point (and reduction point) */
    uint32_t post;        /* KIR_NONE, or an expression of ACC (and IDX) */
    /* KK_LIB */
    const char *lib;      /* routine name */
    uint32_t *lib_in, *lib_out;
    uint32_t n_lib_in, n_lib_out;
} kir_kernel;

typedef struct kir_program {
    ir_graph *g;          /* symbols, constants, attributes of library kernels */
    arena arena;
    kir_buffer *bufs;
    uint32_t n_bufs, cap_bufs;
    kir_kernel *kernels;
    uint32_t n_kernels, cap_kernels;
    kir_expr *exprs;
    uint32_t n_exprs, cap_exprs;
    uint32_t *hash;       /* expression hash-consing table */
    uint32_t hash_cap;
    uint32_t *value_buf;  /* graph value id -> buffer, KIR_NONE if none yet */
    uint32_t *inputs, *outputs; /* buffers of the graph inputs / outputs */
    uint32_t n_inputs, n_outputs;
} kir_program;

/* Lower every live node of g (shapes inferred) into a new program. */
kir_program *kir_lower(ir_graph *g, diag *d);
/* A program computing one node; its outputs are the node's outputs and it
 * has no inputs (for constant folding: every input must be a constant). */
kir_program *kir_lower_node(ir_graph *g, ir_id node, diag *d);
void kir_free(kir_program *p);
/* Inline elementwise kernels into the kernels that read their results
 * (kir_fuse.c). */
int kir_fuse(kir_program *p, diag *d);
/* Merge a loop kernel whose only reader is a later elementwise kernel over
 * the same domain, reading it at the domain point, into one kernel (the
 * reader becomes the producer's post expression or body), repeatedly
 * (kir_fuse_epilogue.c). smelt run calls it before kir_fuse (so that a
 * ReLU after a Conv goes to the Conv's epilogue rather than into the next
 * Conv's loads) and again after it (chains that kir_fuse merged). */
int kir_fuse_epilogue(kir_program *p, diag *d);
/* Remove kernels whose results no later kernel and no output reads
 * (kir_prune.c). */
int kir_prune(kir_program *p, diag *d);
/* The buffers loop kernel k reads (every LOAD of its body and post, each
 * once, in first-use order) into reads (room for p->n_bufs); returns the
 * count. mark: scratch of p->n_exprs + p->n_bufs entries, zero before the
 * first call; calls for different k reuse it without clearing. */
uint32_t kir_kernel_reads(const kir_program *p, uint32_t k, uint32_t *mark, uint32_t *reads);
/* kir_analysis.c, for the backends. The domain axes expression e reads (bit
 * ax for IDX ax; memoized in mask/seen, n_exprs entries each, seen zeroed
 * before the first call). */
uint32_t kir_idx_mask(const kir_program *p, uint32_t e, uint32_t *mask, unsigned char *seen);
/* 1 when e depends on a reduction index (memoized in dep: n_exprs entries,
 * -1 before the first call). */
int kir_uses_ridx(const kir_program *p, signed char *dep, uint32_t e);
/* Is loop kernel k a contraction: a SUM with an f32 accumulator of
 * MUL(a, b) (f32) over an output of rank 1..31, where b reads the output's
 * innermost axis (n) and a does not (the product's operands swapped if
 * needed)? Then *a, *b, and *m_axis: the innermost other axis that only a
 * reads (-1 if none). mask/seen as for kir_idx_mask. */
bool kir_contraction_operands(const kir_program *p, const kir_kernel *k, uint32_t *mask, unsigned char *seen,
                              uint32_t *a, uint32_t *b, int *m_axis);
/* Write the program as text, for --print-kernels and tests. */
void kir_print(const kir_program *p, FILE *out);

#endif
