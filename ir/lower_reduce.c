/* lower_reduce.c — lowering of reductions (Reduce*, ArgMax, ArgMin) and of
 * the softmax family (Softmax, LogSoftmax, Hardmax), plus the reduction
 * helpers that the normalizations share (lower_reduce.h).
 *
 * A Reduce* op is one reduction kernel: an optional function of each element
 * (|x|, x*x, exp(x - max)), a SUM/PROD/MAX/MIN accumulator, and an optional
 * post expression (divide by the count, sqrt, log). Float inputs accumulate
 * in their float type (f16/bf16 in f32); the ops that need a float result of
 * integers (L2, LogSum, LogSumExp) compute in f64 and convert back. An empty
 * reduction leaves the accumulator's identity (0, 1, -inf, +inf), which is
 * what ONNX specifies. Softmax-like ops reduce along one axis into
 * keepdims-shaped temporaries (the max, then the sum of exp(x - max)) and
 * finish with an elementwise kernel over the input's shape.
 */
#include <stdio.h>
#include <string.h>

#include "infer.h"
#include "lower_reduce.h"

#define NODE (&p->g->nodes[node])

/* ---- shared helpers ---------------------------------------------------------------- */

lr_axes lr_axes_from(int rank, int from) {
    lr_axes ax = {.rank = rank, .keep = true};
    for (int i = from; i < rank; i++) ax.mark[i] = true;
    return ax;
}

lr_axes lr_axes_one(int rank, int axis) {
    lr_axes ax = {.rank = rank, .keep = true};
    ax.mark[axis] = true;
    return ax;
}

ir_dtype lr_float_type(ir_dtype t) {
    if (t == IR_F16 || t == IR_BF16) return IR_F32;
    return ir_dtype_is_float(t) ? t : IR_F64;
}

uint32_t lr_load(kir_program *p, uint32_t b, const lr_axes *ax) {
    uint32_t idx[IR_MAX_RANK];
    int out = 0, red = 0;
    for (int i = 0; i < ax->rank; i++) {
        if (!ax->mark[i]) {
            idx[i] = kb_idx(p, out++);
            continue;
        }
        idx[i] = kb_ridx(p, red++);
        if (ax->keep) out++;
    }
    return kb_load(p, b, idx);
}

int lr_red_dims(const kir_program *p, uint32_t b, const lr_axes *ax, ir_dim *red) {
    int n = 0;
    for (int i = 0; i < ax->rank; i++)
        if (ax->mark[i]) red[n++] = kb_buf(p, b)->dims[i];
    return n;
}

uint32_t lr_count(kir_program *p, int n, const ir_dim *dims, ir_dtype t) {
    uint32_t c = kb_const_i(p, IR_I64, 1);
    for (int i = 0; i < n; i++) c = kb_bin(p, KX_MUL, c, kb_dim(p, dims[i]));
    if (p->exprs[c].op == KX_CONST) return kb_const_i(p, t, p->exprs[c].ival); /* all sizes known */
    return kb_cast(p, t, c, false);
}

uint32_t lr_temp(kir_program *p, ir_id node, const char *what, ir_dtype t, int rank, const ir_dim *dims) {
    char name[256];
    snprintf(name, sizeof name, "%s.%s", NODE->name ? NODE->name : "", what);
    return kb_temp(p, name, t, rank, dims);
}

uint32_t lr_keep_temp(kir_program *p, ir_id node, const char *what, ir_dtype t, uint32_t b, const lr_axes *ax) {
    ir_dim dims[IR_MAX_RANK];
    for (int i = 0; i < ax->rank; i++) dims[i] = ax->mark[i] ? ir_dim_const(1) : kb_buf(p, b)->dims[i];
    return lr_temp(p, node, what, t, ax->rank, dims);
}

uint32_t lr_load_as(kir_program *p, uint32_t b, int rank, const ir_dim *dims, ir_dtype t) {
    return kb_cast(p, t, kb_load_bcast(p, b, rank, dims), false);
}

int lr_moments(kir_program *p, ir_id node, uint32_t x, int rrank, const ir_dim *red, uint32_t mean,
               uint32_t spread, lr_spread kind, double eps) {
    ir_dtype t = kb_buf(p, mean)->dtype;
    uint32_t n = lr_count(p, rrank, red, t), acc = kb_acc(p, t);
    // mean (S) = sum over the reduction domain of x / n
    if (kb_reduce(p, node, mean, KR_SUM, rrank, red, t, x, kb_bin(p, KX_DIV, acc, n)) < 0) return -1;
    uint32_t dev = kb_bin(p, KX_SUB, x, kb_load_same(p, mean));
    uint32_t var = kb_bin(p, KX_DIV, acc, n), post = var;
    uint32_t e = kb_const_f(p, t, eps);
    if (kind == LR_INV_STD) post = kb_un(p, KX_RECIP, kb_un(p, KX_SQRT, kb_bin(p, KX_ADD, var, e)));
    if (kind == LR_INV_STD_OUTER) post = kb_un(p, KX_RECIP, kb_bin(p, KX_ADD, kb_un(p, KX_SQRT, var), e));
    // spread (S) = f(sum of (x - mean)^2 / n)
    return kb_reduce(p, node, spread, KR_SUM, rrank, red, t, kb_bin(p, KX_MUL, dev, dev), post) < 0 ? -1 : 0;
}

/* ---- Reduce* ---------------------------------------------------------------------- */

/* Each Reduce op: its accumulator, what it accumulates of an element x, and
 * what it makes of the accumulated value. */
typedef enum { PRE_X, PRE_ABS, PRE_SQUARE, PRE_EXP } reduce_pre;
typedef enum { POST_NONE, POST_MEAN, POST_SQRT, POST_LOG } reduce_post;

static const struct reduce_rule {
    ir_op op;
    kir_reduce r;
    reduce_pre pre;
    reduce_post post;
} reduce_rules[] = {
    {IR_OP_ReduceSum, KR_SUM, PRE_X, POST_NONE},
    {IR_OP_ReduceMean, KR_SUM, PRE_X, POST_MEAN},
    {IR_OP_ReduceMax, KR_MAX, PRE_X, POST_NONE},
    {IR_OP_ReduceMin, KR_MIN, PRE_X, POST_NONE},
    {IR_OP_ReduceProd, KR_PROD, PRE_X, POST_NONE},
    {IR_OP_ReduceL1, KR_SUM, PRE_ABS, POST_NONE},
    {IR_OP_ReduceL2, KR_SUM, PRE_SQUARE, POST_SQRT},
    {IR_OP_ReduceLogSum, KR_SUM, PRE_X, POST_LOG},
    {IR_OP_ReduceLogSumExp, KR_SUM, PRE_EXP, POST_LOG},
    {IR_OP_ReduceSumSquare, KR_SUM, PRE_SQUARE, POST_NONE},
};

static const struct reduce_rule *reduce_rule_of(ir_op op) {
    for (size_t i = 0; i < sizeof reduce_rules / sizeof reduce_rules[0]; i++)
        if (reduce_rules[i].op == op) return &reduce_rules[i];
    return NULL;
}

/* The type a Reduce op computes in: floats in lr_float_type, integers in
 * their own type unless the op needs a float function (sqrt, log, exp). */
static ir_dtype reduce_compute_type(const struct reduce_rule *rule, ir_dtype xt) {
    bool needs_float = rule->pre == PRE_EXP || rule->post == POST_SQRT || rule->post == POST_LOG;
    return ir_dtype_is_float(xt) || needs_float ? lr_float_type(xt) : xt;
}

/* max over the reduced axes, with infinities replaced by 0 so that
 * exp(x - max) stays finite where every x is -inf; shaped like the result. */
static int reduce_max_shift(kir_program *p, ir_id node, uint32_t xv, int rrank, const ir_dim *red,
                            uint32_t *shift) {
    uint32_t out = kb_value(p, NODE->out[0]);
    ir_dtype t = kb_type(p, xv);
    const kir_buffer *o = kb_buf(p, out);
    uint32_t m = lr_temp(p, node, "max", t, o->rank, o->dims);
    // max (result shape) = max of x over the reduced axes
    if (kb_reduce(p, node, m, KR_MAX, rrank, red, t, xv, KIR_NONE) < 0) return -1;
    uint32_t mv = kb_load_same(p, m);
    *shift = kb_select(p, kb_un(p, KX_ISINF, mv), kb_const_f(p, t, 0), mv);
    return 0;
}

int lower_reduce(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    const struct reduce_rule *rule = reduce_rule_of(n->op);
    if (!rule) return ir_node_error(p->g, n, d, "not a Reduce op");
    uint32_t x = kb_value(p, n->in[0]), out = kb_value(p, n->out[0]);
    ir_dtype xt = kb_buf(p, x)->dtype;
    lr_axes ax = {.rank = kb_buf(p, x)->rank, .keep = ir_attr_int(n, "keepdims") != 0};
    bool noop;
    if (infer_reduce_axes(p->g, n, ax.mark, &noop, d)) return -1;
    /* noop_with_empty_axes: each element is a reduction of itself alone (so
     * ReduceSumSquare still squares it): no axis is reduced */
    for (int i = 0; noop && i < ax.rank; i++) ax.mark[i] = false;

    ir_dtype t = reduce_compute_type(rule, xt);
    ir_dim red[IR_MAX_RANK];
    int rrank = lr_red_dims(p, x, &ax, red);
    uint32_t xv = kb_cast(p, t, lr_load(p, x, &ax), false), body = xv, shift = 0;
    switch (rule->pre) {
    case PRE_X: break;
    case PRE_ABS: body = kb_un(p, KX_ABS, xv); break;
    case PRE_SQUARE: body = kb_bin(p, KX_MUL, xv, xv); break;
    case PRE_EXP:
        if (reduce_max_shift(p, node, xv, rrank, red, &shift)) return -1;
        body = kb_un(p, KX_EXP, kb_bin(p, KX_SUB, xv, shift));
        break;
    }
    uint32_t acc = kb_acc(p, t), post = acc;
    switch (rule->post) {
    case POST_NONE: break;
    case POST_MEAN: post = kb_bin(p, KX_DIV, acc, lr_count(p, rrank, red, t)); break;
    case POST_SQRT: post = kb_un(p, KX_SQRT, acc); break;
    case POST_LOG: post = kb_un(p, KX_LOG, acc); break;
    }
    if (rule->pre == PRE_EXP) post = kb_bin(p, KX_ADD, post, shift);
    post = kb_cast(p, xt, post, false);
    // out (reduced shape) = post(reduce over the marked axes of pre(x))
    return kb_reduce(p, node, out, rule->r, rrank, red, t, body, post == acc ? KIR_NONE : post) < 0 ? -1 : 0;
}

/* ---- ArgMax, ArgMin -------------------------------------------------------------------- */

/* Index along one axis of the largest / smallest element into out, an i64
 * buffer shaped by ax (keepdims or not); ties pick the first index unless
 * last. Returns the kernel or -1. */
static int arg_reduce(kir_program *p, ir_id node, uint32_t out, uint32_t x, const lr_axes *ax, kir_reduce r,
                      bool last) {
    ir_dim red[IR_MAX_RANK];
    int rrank = lr_red_dims(p, x, ax, red);
    // out (reduced shape, i64) = arg{max,min} of x along the axis
    int k = kb_reduce(p, node, out, r, rrank, red, IR_I64, lr_load(p, x, ax), KIR_NONE);
    if (k >= 0) p->kernels[k].select_last = last;
    return k;
}

int lower_arg_reduce(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    uint32_t x = kb_value(p, n->in[0]);
    int rank = kb_buf(p, x)->rank, axis;
    if (infer_axis(p->g, n, ir_attr_int(n, "axis"), rank, &axis, d)) return -1;
    lr_axes ax = lr_axes_one(rank, axis);
    ax.keep = ir_attr_int(n, "keepdims") != 0;
    kir_reduce r = n->op == IR_OP_ArgMax ? KR_ARGMAX : KR_ARGMIN;
    return arg_reduce(p, node, kb_value(p, n->out[0]), x, &ax, r, ir_attr_int(n, "select_last_index") != 0) < 0
               ? -1
               : 0;
}

/* ---- Softmax, LogSoftmax, Hardmax ------------------------------------------------------- */

/* Hardmax: 1 where the element is the first maximum along the axis, else 0. */
static int lower_hardmax(kir_program *p, ir_id node, uint32_t x, uint32_t out, int axis) {
    const kir_buffer *xb = kb_buf(p, x);
    lr_axes ax = lr_axes_one(xb->rank, axis);
    uint32_t am = lr_keep_temp(p, node, "argmax", IR_I64, x, &ax);
    if (arg_reduce(p, node, am, x, &ax, KR_ARGMAX, false) < 0) return -1;
    uint32_t hit = kb_bin(p, KX_EQ, kb_idx(p, axis), kb_load_bcast(p, am, xb->rank, xb->dims));
    // out (X shape) = (index along axis == argmax) ? 1 : 0
    return kb_kernel(p, node, out, kb_cast(p, xb->dtype, hit, false)) < 0 ? -1 : 0;
}

int lower_softmax(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    uint32_t x = kb_value(p, n->in[0]), out = kb_value(p, n->out[0]);
    int axis;
    if (infer_axis(p->g, n, ir_attr_int(n, "axis"), kb_buf(p, x)->rank, &axis, d)) return -1;
    if (n->op == IR_OP_Hardmax) return lower_hardmax(p, node, x, out, axis);
    return lr_softmax(p, node, x, out, axis, n->op == IR_OP_LogSoftmax);
}

/* max (keepdims, type t) of x along the axis of ax: the first kernel of a
 * softmax. */
static uint32_t softmax_max(kir_program *p, ir_id node, uint32_t x, const lr_axes *ax, ir_dtype t) {
    ir_dim red[IR_MAX_RANK];
    int rrank = lr_red_dims(p, x, ax, red);
    uint32_t m = lr_keep_temp(p, node, "max", t, x, ax);
    // max (X shape, axis kept as 1) = max of x along the axis
    if (kb_reduce(p, node, m, KR_MAX, rrank, red, t, kb_cast(p, t, lr_load(p, x, ax), false), KIR_NONE) < 0)
        return KIR_NONE;
    return m;
}

int lr_softmax(kir_program *p, ir_id node, uint32_t x, uint32_t out, int axis, bool log) {
    /* the shape copied: making temporaries may move the buffers */
    int rank = kb_buf(p, x)->rank;
    ir_dim dims[IR_MAX_RANK], red[IR_MAX_RANK];
    memcpy(dims, kb_buf(p, x)->dims, rank * sizeof *dims);
    ir_dtype t = lr_float_type(kb_buf(p, x)->dtype);
    lr_axes ax = lr_axes_one(rank, axis);
    int rrank = lr_red_dims(p, x, &ax, red);
    uint32_t m = softmax_max(p, node, x, &ax, t);
    if (m == KIR_NONE) return -1;
    uint32_t s = lr_keep_temp(p, node, "sum", t, x, &ax);
    uint32_t xr = kb_cast(p, t, lr_load(p, x, &ax), false);
    // sum (same shape) = sum of exp(x - max) along the axis
    uint32_t e = kb_un(p, KX_EXP, kb_bin(p, KX_SUB, xr, kb_load_same(p, m)));
    if (kb_reduce(p, node, s, KR_SUM, rrank, red, t, e, KIR_NONE) < 0) return -1;
    uint32_t xs = kb_bin(p, KX_SUB, kb_cast(p, t, kb_load_same(p, x), false), lr_load_as(p, m, rank, dims, t));
    uint32_t sv = lr_load_as(p, s, rank, dims, t), y;
    if (log) y = kb_bin(p, KX_SUB, xs, kb_un(p, KX_LOG, sv));
    else y = kb_bin(p, KX_DIV, kb_un(p, KX_EXP, xs), sv);
    // out (X shape) = exp(x - max) / sum, or (x - max) - log(sum)
    return kb_kernel(p, node, out, kb_cast(p, kb_buf(p, out)->dtype, y, false)) < 0 ? -1 : 0;
}

int lr_softmax_weights(kir_program *p, ir_id node, uint32_t x, int axis, ir_dtype t, uint32_t *weights,
                       uint32_t *sum) {
    int rank = kb_buf(p, x)->rank;
    ir_dim dims[IR_MAX_RANK], red[IR_MAX_RANK];
    memcpy(dims, kb_buf(p, x)->dims, rank * sizeof *dims);
    lr_axes ax = lr_axes_one(rank, axis);
    int rrank = lr_red_dims(p, x, &ax, red);
    uint32_t m = softmax_max(p, node, x, &ax, t);
    if (m == KIR_NONE) return -1;
    uint32_t w = lr_temp(p, node, "weights", t, rank, dims), s = lr_keep_temp(p, node, "sum", t, x, &ax);
    uint32_t xs = kb_bin(p, KX_SUB, kb_cast(p, t, kb_load_same(p, x), false), lr_load_as(p, m, rank, dims, t));
    // weights (X shape) = exp(x - max)
    if (kb_kernel(p, node, w, kb_un(p, KX_EXP, xs)) < 0) return -1;
    // sum (X shape, axis kept as 1) = sum of the weights along the axis
    if (kb_reduce(p, node, s, KR_SUM, rrank, red, t, lr_load(p, w, &ax), KIR_NONE) < 0) return -1;
    *weights = w;
    *sum = s;
    return 0;
}
