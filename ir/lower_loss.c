/* lower_loss.c — lowering of NegativeLogLikelihoodLoss and
 * SoftmaxCrossEntropyLoss (see loss.h).
 *
 * Both come down to one expression per target element (n, d...):
 *   w = t == ignore_index ? 0 : weight[t] (1 without weights),
 *   loss = -logp[n, t, d...] * w,       t = target[n, d...]
 * where logp is the input of NegativeLogLikelihoodLoss and the log-softmax
 * over the classes (axis 1) of SoftmaxCrossEntropyLoss, computed into its
 * log_prob output or a temporary (lr_softmax). The expression is the body
 * of one elementwise kernel (reduction "none") or of a SUM reduction over
 * the target's axes; "mean" also sums w and divides. A target outside
 * [0, C) reads the nearest class (the reference's "clip"); ONNX leaves it
 * undefined. Arithmetic is in lr_float_type of the scores.
 */
#include "infer.h"
#include "loss.h"
#include "lower_reduce.h"

#define NODE (&p->g->nodes[node])

/* The element's weight and loss (type t) at target position pos[] (one
 * index per target axis: IDX or RIDX). */
typedef struct loss_terms {
    uint32_t weight, loss;
} loss_terms;

static loss_terms element_terms(kir_program *p, ir_id node, uint32_t logp, const uint32_t *pos, ir_dtype t) {
    const ir_node *n = NODE;
    uint32_t tb = kb_value(p, n->in[1]);
    int trank = kb_buf(p, tb)->rank;
    ir_dim classes = kb_buf(p, logp)->dims[1];
    uint32_t target = kb_cast(p, IR_I64, kb_load(p, tb, pos), false);
    uint32_t cls = kb_bin(p, KX_MAX, kb_bin(p, KX_MIN, target, kb_iadd(p, kb_dim(p, classes), -1)), kb_const_i(p, IR_I64, 0));
    uint32_t w = kb_const_f(p, t, 1);
    if (n->n_in > 2 && n->in[2] != IR_NONE) w = kb_cast(p, t, kb_load(p, kb_value(p, n->in[2]), &cls), false);
    int64_t ignored;
    if (loss_ignore_index(n, &ignored))
        w = kb_select(p, kb_bin(p, KX_EQ, target, kb_const_i(p, IR_I64, ignored)), kb_const_f(p, t, 0), w);
    uint32_t idx[IR_MAX_RANK]; /* logp[n, cls, d...] */
    idx[0] = pos[0];
    idx[1] = cls;
    for (int i = 1; i < trank; i++) idx[i + 1] = pos[i];
    uint32_t lp = kb_cast(p, t, kb_load(p, logp, idx), false);
    loss_terms e = {w, kb_bin(p, KX_MUL, kb_un(p, KX_NEG, lp), w)};
    return e;
}

/* A rank-0 temporary holding the sum of `body` over the target's axes. */
static uint32_t sum_over_target(kir_program *p, ir_id node, const char *what, uint32_t body, ir_dtype t) {
    const kir_buffer *tb = kb_buf(p, kb_value(p, NODE->in[1]));
    int rank = tb->rank;
    ir_dim red[IR_MAX_RANK];
    for (int i = 0; i < rank; i++) red[i] = tb->dims[i];
    uint32_t s = lr_temp(p, node, what, t, 0, NULL);
    // what (scalar) = sum of body over (N, d...)
    return kb_reduce(p, node, s, KR_SUM, rank, red, t, body, KIR_NONE) < 0 ? KIR_NONE : s;
}

/* The loss output of either op from logp (N, C, d...). */
static int lower_loss_from(kir_program *p, ir_id node, uint32_t logp, diag *d) {
    const ir_node *n = NODE;
    loss_reduction r;
    if (loss_read_reduction(p->g, n, &r, d)) return -1;
    uint32_t out = kb_value(p, n->out[0]), tb = kb_value(p, n->in[1]);
    ir_dtype ot = kb_buf(p, out)->dtype, t = lr_float_type(ot);
    int trank = kb_buf(p, tb)->rank;
    uint32_t pos[IR_MAX_RANK];
    for (int i = 0; i < trank; i++) pos[i] = r == LOSS_NONE ? kb_idx(p, i) : kb_ridx(p, i);
    loss_terms e = element_terms(p, node, logp, pos, t);
    // loss (N, d...) = -logp[n, target, d...] * weight
    if (r == LOSS_NONE) return kb_kernel(p, node, out, kb_cast(p, ot, e.loss, false)) < 0 ? -1 : 0;
    uint32_t lsum = sum_over_target(p, node, "loss_sum", e.loss, t);
    if (lsum == KIR_NONE) return -1;
    uint32_t v = kb_load(p, lsum, NULL);
    if (r == LOSS_MEAN) {
        uint32_t wsum = sum_over_target(p, node, "weight_sum", e.weight, t);
        if (wsum == KIR_NONE) return -1;
        v = kb_bin(p, KX_DIV, v, kb_load(p, wsum, NULL));
    }
    // loss (scalar) = loss_sum, or loss_sum / weight_sum
    return kb_kernel(p, node, out, kb_cast(p, ot, v, false)) < 0 ? -1 : 0;
}

int lower_nll_loss(kir_program *p, ir_id node, diag *d) {
    return lower_loss_from(p, node, kb_value(p, NODE->in[0]), d);
}

// log_prob (N, C, d...) = log_softmax(scores) over C; then the NLL loss of it
int lower_sce_loss(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    uint32_t x = kb_value(p, n->in[0]), logp;
    if (n->n_out > 1 && n->out[1] != IR_NONE) {
        logp = kb_value(p, n->out[1]);
    } else {
        const kir_buffer *xb = kb_buf(p, x);
        logp = lr_temp(p, node, "log_prob", lr_float_type(xb->dtype), xb->rank, xb->dims);
    }
    if (lr_softmax(p, node, x, logp, 1, true)) return -1;
    return lower_loss_from(p, node, logp, d);
}
