/* lower_norm.c — lowering of the normalizations: BatchNormalization,
 * InstanceNormalization, LayerNormalization, GroupNormalization,
 * RMSNormalization, LpNormalization, MeanVarianceNormalization and LRN.
 *
 * Each is a few statistics kernels over the normalized axes into small
 * keepdims-shaped temporaries (mean, then the inverse standard deviation
 * from the squared deviations: two passes, so no cancellation), then one
 * elementwise kernel over the input's shape that normalizes and applies the
 * scale and bias. Statistics are computed in the op's stash type where it
 * has one, else in lr_float_type of the input (f16/bf16 widen to f32); the
 * normalized value is converted to the input's type before the scale and
 * bias apply, as the ONNX function bodies do.
 */
#include "infer.h"
#include "lower_reduce.h"

#define NODE (&p->g->nodes[node])

/* ---- helpers ---------------------------------------------------------------------- */

/* Input i (a graph value) loaded at the point of the output's domain with
 * numpy broadcasting, cast to t. */
static uint32_t in_bcast(kir_program *p, ir_id node, uint32_t i, ir_dtype t) {
    const ir_value *o = &p->g->values[NODE->out[0]];
    return lr_load_as(p, kb_value(p, NODE->in[i]), o->rank, o->dims, t);
}

/* Input i, a vector of one value per channel, at the channel (axis 1) of
 * the domain point, cast to t. */
static uint32_t in_channel(kir_program *p, ir_id node, uint32_t i, ir_dtype t) {
    uint32_t c = kb_idx(p, 1);
    return kb_cast(p, t, kb_load(p, kb_value(p, NODE->in[i]), &c), false);
}

static bool has_input(const kir_program *p, ir_id node, uint32_t i) {
    return i < NODE->n_in && NODE->in[i] != IR_NONE;
}

static bool has_output(const kir_program *p, ir_id node, uint32_t o) {
    return o < NODE->n_out && NODE->out[o] != IR_NONE;
}

/* y * scale + bias, where scale and bias (absent: none) are the values of
 * inputs is and ib at the domain point, per channel or broadcast. */
static uint32_t scale_bias(kir_program *p, ir_id node, uint32_t y, int is, int ib, bool per_channel) {
    ir_dtype t = kb_type(p, y);
    uint32_t (*at)(kir_program *, ir_id, uint32_t, ir_dtype) = per_channel ? in_channel : in_bcast;
    if (is >= 0 && has_input(p, node, (uint32_t)is)) y = kb_bin(p, KX_MUL, y, at(p, node, (uint32_t)is, t));
    if (ib >= 0 && has_input(p, node, (uint32_t)ib)) y = kb_bin(p, KX_ADD, y, at(p, node, (uint32_t)ib, t));
    return y;
}

/* Output o when the node has it, else a keepdims-shaped temporary. */
static uint32_t output_or_temp(kir_program *p, ir_id node, uint32_t o, const char *what, ir_dtype t, uint32_t x,
                               const lr_axes *ax) {
    return has_output(p, node, o) ? kb_value(p, NODE->out[o]) : lr_keep_temp(p, node, what, t, x, ax);
}

/* Mean and spread (see lr_moments) of x over the axes of ax, into buffers
 * of ax's keepdims shape and float type. */
static int moments_over(kir_program *p, ir_id node, uint32_t x, const lr_axes *ax, uint32_t mean, uint32_t spread,
                        lr_spread kind, double eps) {
    ir_dim red[IR_MAX_RANK];
    int rrank = lr_red_dims(p, x, ax, red);
    uint32_t xr = kb_cast(p, kb_buf(p, mean)->dtype, lr_load(p, x, ax), false);
    return lr_moments(p, node, xr, rrank, red, mean, spread, kind, eps);
}

/* out (X shape) = cast<X>((x - mean) * spread) * scale + bias, where mean and
 * spread are keepdims-shaped buffers broadcast over X; without a mean
 * (KIR_NONE) x itself is scaled, without inputs is / ib (-1) no scale / bias. */
static int normalize(kir_program *p, ir_id node, uint32_t x, uint32_t mean, uint32_t spread, int is, int ib,
                     bool per_channel) {
    const kir_buffer *xb = kb_buf(p, x);
    ir_dtype t = kb_buf(p, spread)->dtype;
    uint32_t xv = kb_cast(p, t, kb_load_same(p, x), false);
    if (mean != KIR_NONE) xv = kb_bin(p, KX_SUB, xv, lr_load_as(p, mean, xb->rank, xb->dims, t));
    uint32_t y = kb_bin(p, KX_MUL, xv, lr_load_as(p, spread, xb->rank, xb->dims, t));
    y = scale_bias(p, node, kb_cast(p, xb->dtype, y, false), is, ib, per_channel);
    return kb_kernel(p, node, kb_value(p, NODE->out[0]), y) < 0 ? -1 : 0;
}

/* ---- BatchNormalization ------------------------------------------------------------- */

/* running_stat (C) = stat * momentum + batch_stat * (1 - momentum), where
 * batch_stat is shaped (1, C, 1, ...). */
static int running_stat(kir_program *p, ir_id node, uint32_t o, uint32_t stat_in, uint32_t batch, double momentum) {
    uint32_t out = kb_value(p, NODE->out[o]);
    ir_dtype t = kb_buf(p, batch)->dtype;
    uint32_t idx[IR_MAX_RANK];
    for (int i = 0; i < kb_buf(p, batch)->rank; i++) idx[i] = i == 1 ? kb_idx(p, 0) : kb_const_i(p, IR_I64, 0);
    uint32_t cur = kb_cast(p, t, kb_load_same(p, kb_value(p, NODE->in[stat_in])), false);
    uint32_t v = kb_bin(p, KX_ADD, kb_bin(p, KX_MUL, cur, kb_const_f(p, t, momentum)),
                        kb_bin(p, KX_MUL, kb_load(p, batch, idx), kb_const_f(p, t, 1.0 - momentum)));
    return kb_kernel(p, node, out, kb_cast(p, kb_buf(p, out)->dtype, v, false)) < 0 ? -1 : 0;
}

int lower_batch_norm(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    uint32_t x = kb_value(p, n->in[0]);
    const kir_buffer *xb = kb_buf(p, x);
    ir_dtype t = lr_float_type(xb->dtype);
    double eps = ir_attr_float(n, "epsilon");
    uint32_t mean, var; /* at the point of X's domain */
    if (ir_attr_int(n, "training_mode")) {
        /* statistics of the batch: over every axis but the channels */
        lr_axes ax = lr_axes_from(xb->rank, 0);
        ax.mark[1] = false;
        uint32_t mean_b = lr_keep_temp(p, node, "mean", t, x, &ax), var_b = lr_keep_temp(p, node, "var", t, x, &ax);
        if (moments_over(p, node, x, &ax, mean_b, var_b, LR_VAR, 0)) return -1;
        double momentum = ir_attr_float(n, "momentum");
        if ((has_output(p, node, 1) && running_stat(p, node, 1, 3, mean_b, momentum)) ||
            (has_output(p, node, 2) && running_stat(p, node, 2, 4, var_b, momentum)))
            return -1;
        mean = lr_load_as(p, mean_b, xb->rank, xb->dims, t);
        var = lr_load_as(p, var_b, xb->rank, xb->dims, t);
    } else {
        mean = in_channel(p, node, 3, t);
        var = in_channel(p, node, 4, t);
    }
    // Y (X shape) = (x - mean[c]) / sqrt(var[c] + eps) * scale[c] + B[c]
    uint32_t xv = kb_cast(p, t, kb_load_same(p, x), false);
    uint32_t y = kb_bin(p, KX_DIV, kb_bin(p, KX_SUB, xv, mean),
                        kb_un(p, KX_SQRT, kb_bin(p, KX_ADD, var, kb_const_f(p, t, eps))));
    y = kb_cast(p, xb->dtype, scale_bias(p, node, y, 1, 2, true), false);
    return kb_kernel(p, node, kb_value(p, n->out[0]), y) < 0 ? -1 : 0;
}

/* ---- InstanceNormalization, LayerNormalization, MeanVarianceNormalization ---------------- */

int lower_instance_norm(kir_program *p, ir_id node, diag *d) {
    uint32_t x = kb_value(p, NODE->in[0]);
    ir_dtype t = lr_float_type(kb_buf(p, x)->dtype);
    lr_axes ax = lr_axes_from(kb_buf(p, x)->rank, 2); /* per sample and channel */
    uint32_t mean = lr_keep_temp(p, node, "mean", t, x, &ax), inv = lr_keep_temp(p, node, "invstd", t, x, &ax);
    if (moments_over(p, node, x, &ax, mean, inv, LR_INV_STD, ir_attr_float(NODE, "epsilon"))) return -1;
    return normalize(p, node, x, mean, inv, 1, 2, true);
}

/* LayerNormalization and RMSNormalization: the input, the axes from `axis`
 * to the last, and the stash type statistics are computed in. */
static int trailing_axes_norm(kir_program *p, ir_id node, uint32_t *x, lr_axes *ax, ir_dtype *t, diag *d) {
    const ir_node *n = NODE;
    *x = kb_value(p, n->in[0]);
    int axis;
    if (infer_axis(p->g, n, ir_attr_int(n, "axis"), kb_buf(p, *x)->rank, &axis, d) ||
        infer_norm_stash_type(p->g, n, t, d))
        return -1;
    *ax = lr_axes_from(kb_buf(p, *x)->rank, axis);
    return 0;
}

int lower_layer_norm(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    uint32_t x;
    lr_axes ax;
    ir_dtype t;
    if (trailing_axes_norm(p, node, &x, &ax, &t, d)) return -1;
    uint32_t mean = output_or_temp(p, node, 1, "mean", t, x, &ax);
    uint32_t inv = output_or_temp(p, node, 2, "invstd", t, x, &ax);
    if (moments_over(p, node, x, &ax, mean, inv, LR_INV_STD, ir_attr_float(n, "epsilon"))) return -1;
    return normalize(p, node, x, mean, inv, 1, 2, false);
}

int lower_mvn(kir_program *p, ir_id node, diag *d) {
    uint32_t x = kb_value(p, NODE->in[0]);
    ir_dtype t = lr_float_type(kb_buf(p, x)->dtype);
    lr_axes ax = {.rank = kb_buf(p, x)->rank, .keep = true};
    if (infer_mvn_axes(p->g, NODE, ax.mark, d)) return -1;
    uint32_t mean = lr_keep_temp(p, node, "mean", t, x, &ax), inv = lr_keep_temp(p, node, "invstd", t, x, &ax);
    /* (x - mean) / (std + 1e-9), the epsilon of the ONNX function body */
    if (moments_over(p, node, x, &ax, mean, inv, LR_INV_STD_OUTER, 1e-9)) return -1;
    return normalize(p, node, x, mean, inv, -1, -1, false);
}

/* ---- GroupNormalization --------------------------------------------------------------- */

int lower_group_norm(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    uint32_t x = kb_value(p, n->in[0]);
    const kir_buffer *xb = kb_buf(p, x);
    int rank = xb->rank;
    ir_dtype t;
    if (infer_norm_stash_type(p->g, n, &t, d)) return -1;
    int64_t groups = ir_attr_int(n, "num_groups");
    /* X (N, C, D...) viewed as (N, G, C/G, D...): statistics per (N, G) */
    ir_dim per_group = ir_dim_div(p->g, xb->dims[1], ir_dim_const(groups));
    uint32_t cg = kb_dim(p, per_group);
    ir_dim stat_dims[2] = {xb->dims[0], ir_dim_const(groups)}, red[IR_MAX_RANK];
    uint32_t mean = lr_temp(p, node, "mean", t, 2, stat_dims), inv = lr_temp(p, node, "invstd", t, 2, stat_dims);
    uint32_t idx[IR_MAX_RANK];
    red[0] = per_group;
    idx[0] = kb_idx(p, 0);
    idx[1] = kb_bin(p, KX_ADD, kb_bin(p, KX_MUL, kb_idx(p, 1), cg), kb_ridx(p, 0));
    for (int i = 2; i < rank; i++) red[i - 1] = xb->dims[i], idx[i] = kb_ridx(p, i - 1);
    uint32_t xr = kb_cast(p, t, kb_load(p, x, idx), false);
    if (lr_moments(p, node, xr, rank - 1, red, mean, inv, LR_INV_STD, ir_attr_float(n, "epsilon"))) return -1;
    // Y (X shape) = cast<X>((x - mean[n, c / (C/G)]) * invstd[n, c / (C/G)]) * scale[c] + bias[c]
    uint32_t gi[2] = {kb_idx(p, 0), kb_bin(p, KX_FLOORDIV, kb_idx(p, 1), cg)};
    uint32_t xv = kb_cast(p, t, kb_load_same(p, x), false);
    uint32_t y = kb_bin(p, KX_MUL, kb_bin(p, KX_SUB, xv, kb_load(p, mean, gi)), kb_load(p, inv, gi));
    y = scale_bias(p, node, kb_cast(p, xb->dtype, y, false), 1, 2, true);
    return kb_kernel(p, node, kb_value(p, n->out[0]), y) < 0 ? -1 : 0;
}

/* ---- RMSNormalization, LpNormalization ---------------------------------------------------- */

/* A norm of x over the axes of ax into a keepdims temporary of type t:
 * post(sum of pre(x), count, arg), pre |x| or x*x. Returns the temporary,
 * KIR_NONE on error. */
static uint32_t norm_over(kir_program *p, ir_id node, uint32_t x, const lr_axes *ax, ir_dtype t, bool square,
                          uint32_t (*post)(kir_program *, uint32_t acc, uint32_t count, double arg), double arg) {
    ir_dim red[IR_MAX_RANK];
    int rrank = lr_red_dims(p, x, ax, red);
    uint32_t out = lr_keep_temp(p, node, "norm", t, x, ax);
    uint32_t xv = kb_cast(p, t, lr_load(p, x, ax), false);
    uint32_t body = square ? kb_bin(p, KX_MUL, xv, xv) : kb_un(p, KX_ABS, xv);
    uint32_t pe = post(p, kb_acc(p, t), lr_count(p, rrank, red, t), arg);
    // norm (keepdims shape) = post(sum of |x| or x^2 over the axes)
    if (pe == kb_acc(p, t)) pe = KIR_NONE;
    return kb_reduce(p, node, out, KR_SUM, rrank, red, t, body, pe) < 0 ? KIR_NONE : out;
}

static uint32_t inv_rms(kir_program *p, uint32_t acc, uint32_t count, double eps) {
    /* 1 / sqrt(sum / n + eps) */
    uint32_t ms = kb_bin(p, KX_DIV, acc, count);
    return kb_un(p, KX_RECIP, kb_un(p, KX_SQRT, kb_bin(p, KX_ADD, ms, kb_const_f(p, kb_type(p, acc), eps))));
}

static uint32_t lp_norm(kir_program *p, uint32_t acc, uint32_t count, double order) {
    return order == 2 ? kb_un(p, KX_SQRT, acc) : acc;
}

int lower_rms_norm(kir_program *p, ir_id node, diag *d) {
    uint32_t x;
    lr_axes ax;
    ir_dtype t;
    if (trailing_axes_norm(p, node, &x, &ax, &t, d)) return -1;
    uint32_t inv = norm_over(p, node, x, &ax, t, true, inv_rms, ir_attr_float(NODE, "epsilon"));
    return inv == KIR_NONE ? -1 : normalize(p, node, x, KIR_NONE, inv, 1, -1, false);
}

int lower_lp_norm(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    uint32_t x = kb_value(p, n->in[0]);
    int axis;
    int64_t order = ir_attr_int(n, "p");
    if (infer_axis(p->g, n, ir_attr_int(n, "axis"), kb_buf(p, x)->rank, &axis, d)) return -1;
    if (order != 1 && order != 2) return ir_node_error(p->g, n, d, "p must be 1 or 2, got %lld", (long long)order);
    lr_axes ax = lr_axes_one(kb_buf(p, x)->rank, axis);
    const kir_buffer *xb = kb_buf(p, x);
    ir_dtype t = lr_float_type(xb->dtype);
    uint32_t norm = norm_over(p, node, x, &ax, t, order == 2, lp_norm, (double)order);
    if (norm == KIR_NONE) return -1;
    // Y (X shape) = norm == 0 ? 0 : x / norm
    uint32_t nv = lr_load_as(p, norm, xb->rank, xb->dims, t), zero = kb_const_f(p, t, 0);
    uint32_t y = kb_bin(p, KX_DIV, kb_cast(p, t, kb_load_same(p, x), false), nv);
    y = kb_select(p, kb_bin(p, KX_EQ, nv, zero), zero, y);
    return kb_kernel(p, node, kb_value(p, n->out[0]), kb_cast(p, xb->dtype, y, false)) < 0 ? -1 : 0;
}

/* ---- LRN -------------------------------------------------------------------------------- */

int lower_lrn(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    uint32_t x = kb_value(p, n->in[0]);
    const kir_buffer *xb = kb_buf(p, x);
    ir_dtype t = lr_float_type(xb->dtype);
    int64_t size = ir_attr_int(n, "size");
    double alpha = ir_attr_float(n, "alpha"), beta = ir_attr_float(n, "beta"), bias = ir_attr_float(n, "bias");
    /* the window of channels c - floor((size-1)/2) .. c + ceil((size-1)/2), clipped to
     * [0, C): channels start + r for r < min(size, C), start = max(0, c - floor((size-1)/2)) */
    uint32_t cn = kb_idx(p, 1), nc = kb_dim(p, xb->dims[1]);
    uint32_t start = kb_bin(p, KX_MAX, kb_iadd(p, cn, -((size - 1) / 2)), kb_const_i(p, IR_I64, 0));
    uint32_t c = kb_bin(p, KX_ADD, start, kb_ridx(p, 0));
    uint32_t idx[IR_MAX_RANK];
    for (int i = 0; i < xb->rank; i++) idx[i] = i == 1 ? c : kb_idx(p, i);
    uint32_t inside = kb_bin(p, KX_AND, kb_bin(p, KX_LE, c, kb_iadd(p, cn, size / 2)), kb_bin(p, KX_LT, c, nc));
    uint32_t xc = kb_cast(p, t, kb_load(p, x, idx), false);
    uint32_t sq = kb_select(p, inside, kb_bin(p, KX_MUL, xc, xc), kb_const_f(p, t, 0));
    uint32_t acc = kb_acc(p, t);
    uint32_t den = kb_bin(p, KX_POW,
                          kb_bin(p, KX_ADD, kb_const_f(p, t, bias), kb_bin(p, KX_MUL, kb_const_f(p, t, alpha / (double)size), acc)),
                          kb_const_f(p, t, beta));
    ir_dim window = ir_dim_expr(p->g, IR_SYM_MIN, ir_dim_const(size), xb->dims[1]);
    uint32_t dent = lr_temp(p, node, "den", t, xb->rank, xb->dims);
    // den (X shape) = (bias + alpha/size * sum of x[n, c', ...]^2 over the window) ^ beta
    if (kb_reduce(p, node, dent, KR_SUM, 1, &window, t, sq, den) < 0) return -1;
    // Y (X shape) = x / den
    uint32_t y = kb_bin(p, KX_DIV, kb_cast(p, t, kb_load_same(p, x), false), kb_load_same(p, dent));
    return kb_kernel(p, node, kb_value(p, n->out[0]), kb_cast(p, xb->dtype, y, false)) < 0 ? -1 : 0;
}
