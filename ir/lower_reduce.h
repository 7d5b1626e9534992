/* lower_reduce.h — helpers shared by the lowerings of reductions, softmax
 * (lower_reduce.c) and normalizations (lower_norm.c).
 *
 * Most of these ops reduce a tensor over some of its axes and then combine
 * the reduced value with the tensor again (softmax divides by a sum, layer
 * norm subtracts a mean). A reduction kernel has as domain the reduced shape
 * with the reduced axes kept as size 1 ("keepdims shape") or dropped, and
 * one RIDX per reduced axis; a later elementwise kernel over the input's
 * shape reads such a keepdims-shaped result by broadcasting. lr_axes names
 * the reduced axes; the functions below build the loads, domains, counts and
 * statistics kernels from it.
 */
#ifndef SMELT_LOWER_REDUCE_H
#define SMELT_LOWER_REDUCE_H

#include "lower.h"

/* The axes of a rank-`rank` tensor that one kernel reduces. keep: the
 * kernel's domain keeps them as size-1 axes (else they are dropped). */
typedef struct lr_axes {
    int rank;
    bool mark[IR_MAX_RANK];
    bool keep;
} lr_axes;

/* Axes [from, rank) reduced, kept as size 1. */
lr_axes lr_axes_from(int rank, int from);
/* One axis reduced, kept as size 1. */
lr_axes lr_axes_one(int rank, int axis);

/* The float type to compute in for values of type t: f16 and bf16 widen to
 * f32, other floats stay, integers (and bools) compute in f64. */
ir_dtype lr_float_type(ir_dtype t);

/* Buffer b (a tensor of the reduced rank) loaded at the current point of a
 * kernel reducing over ax: a reduced axis reads its RIDX, another axis the
 * domain index of its place in the result. */
uint32_t lr_load(kir_program *p, uint32_t b, const lr_axes *ax);
/* The sizes of b's reduced axes, in order (the kernel's reduction domain);
 * returns their number. */
int lr_red_dims(const kir_program *p, uint32_t b, const lr_axes *ax, ir_dim *red);
/* The product of n sizes (run time where symbolic), as a value of type t. */
uint32_t lr_count(kir_program *p, int n, const ir_dim *dims, ir_dtype t);
/* A temporary shaped like b with the reduced axes of ax set to 1. */
uint32_t lr_keep_temp(kir_program *p, ir_id node, const char *what, ir_dtype t, uint32_t b, const lr_axes *ax);
/* A temporary of rank/dims, named after the node and `what`. */
uint32_t lr_temp(kir_program *p, ir_id node, const char *what, ir_dtype t, int rank, const ir_dim *dims);

/* Buffer b loaded at the point of a kernel whose domain has rank `rank` and
 * sizes `dims`, broadcasting b's size-1 axes (numpy rules), cast to t. */
uint32_t lr_load_as(kir_program *p, uint32_t b, int rank, const ir_dim *dims, ir_dtype t);

/* What lr_moments stores in its second buffer, from the variance var
 * (biased: sum of squared deviations / n) and eps. */
typedef enum lr_spread {
    LR_VAR,            /* var */
    LR_INV_STD,        /* 1 / sqrt(var + eps) */
    LR_INV_STD_OUTER,  /* 1 / (sqrt(var) + eps) */
} lr_spread;

/* The statistics of a normalization, two kernels: mean = sum(x) / n, then
 * spread(sum((x - mean)^2) / n). x is the value in the float type of `mean`
 * at a point of a reduction kernel over the n-element reduction domain red
 * (rrank axes) whose output domain is the shape of mean and spread. */
int lr_moments(kir_program *p, ir_id node, uint32_t x, int rrank, const ir_dim *red, uint32_t mean,
               uint32_t spread, lr_spread kind, double eps);

/* Softmax (or, with log, LogSoftmax) of buffer x along axis into out, a
 * buffer of x's shape: max and sum of exp(x - max) into keepdims temporaries,
 * computed in lr_float_type of x's dtype, then one kernel over x's shape
 * (exp evaluated twice, so that no x-shaped temporary is kept). Returns 0
 * or -1. (SoftmaxCrossEntropyLoss shares it.) */
int lr_softmax(kir_program *p, ir_id node, uint32_t x, uint32_t out, int axis, bool log);
/* The softmax of x along axis left for its consumer to finish: weights =
 * exp(x - max), an x-shaped temporary computed once (a transcendental
 * kernel, so kir_fuse keeps it materialized), and sum, their keepdims sum;
 * in type t. softmax = weights / sum (Attention divides after its value
 * contraction). Returns 0 or -1. */
int lr_softmax_weights(kir_program *p, ir_id node, uint32_t x, int axis, ir_dtype t, uint32_t *weights,
                       uint32_t *sum);

#endif
