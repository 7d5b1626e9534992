/* infer_loss.c — inference for the classification losses
 * NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (see loss.h).
 *
 * Both take scores of shape (N, C, d1, ..., dk), integer targets (N, d1,
 * ..., dk) naming one class per element, and an optional weight per class
 * (C). The loss is one value per target element (reduction "none") or their
 * sum or weighted mean (a scalar), in the scores' type;
 * SoftmaxCrossEntropyLoss can also give the log-probabilities it computed
 * (the scores' shape and type).
 */
#include <string.h>

#include "infer.h"
#include "loss.h"

#define NODE (&g->nodes[node])

int loss_read_reduction(const ir_graph *g, const ir_node *n, loss_reduction *r, diag *d) {
    static const char *names[] = {"none", "sum", "mean"};
    const char *s = ir_attr_str(n, "reduction");
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, names[i])) {
            *r = (loss_reduction)i;
            return 0;
        }
    return ir_node_error(g, n, d, "reduction must be none, sum or mean, got '%s'", s);
}

bool loss_ignore_index(const ir_node *n, int64_t *ignored) {
    *ignored = ir_attr_int(n, "ignore_index");
    return ir_attr_is_set(n, "ignore_index");
}

/* Sizes a and b must agree where both are known. */
static int same_size(ir_graph *g, const ir_node *n, ir_dim a, ir_dim b, const char *what, diag *d) {
    if (ir_dim_is_const(a) && ir_dim_is_const(b) && a.c != b.c)
        return ir_node_error(g, n, d, "%s: size %lld where %lld is expected", what, (long long)b.c, (long long)a.c);
    return 0;
}

/* scores (N, C, d...), target (N, d...) i32/i64, weight? (C) of the scores' type. */
static int check_operands(ir_graph *g, const ir_node *n, diag *d) {
    const ir_value *x = infer_input(g, n, 0), *t = infer_input(g, n, 1), *w = infer_input(g, n, 2);
    if (!ir_dtype_is_float(x->dtype)) return ir_node_error(g, n, d, "scores must be floats, got %s", ir_dtype_name(x->dtype));
    if (x->rank < 2) return ir_node_error(g, n, d, "scores have rank %d, expected at least 2 (N, C, ...)", x->rank);
    if (t->dtype != IR_I32 && t->dtype != IR_I64)
        return ir_node_error(g, n, d, "target must be i32 or i64, got %s", ir_dtype_name(t->dtype));
    if (t->rank != x->rank - 1)
        return ir_node_error(g, n, d, "target has rank %d, expected %d (the scores' shape without C)", t->rank,
                             x->rank - 1);
    for (int i = 0; i < t->rank; i++)
        if (same_size(g, n, x->dims[i ? i + 1 : 0], t->dims[i], "target", d)) return -1;
    if (!w) return 0;
    if (w->dtype != x->dtype)
        return ir_node_error(g, n, d, "weight is %s, the scores %s", ir_dtype_name(w->dtype), ir_dtype_name(x->dtype));
    if (w->rank != 1) return ir_node_error(g, n, d, "weight must have rank 1 (one per class), got %d", w->rank);
    return same_size(g, n, x->dims[1], w->dims[0], "weight", d);
}

/* NegativeLogLikelihoodLoss(input, target, weight?) -> loss;
 * SoftmaxCrossEntropyLoss(scores, labels, weights?) -> output, log_prob? */
int infer_loss(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    loss_reduction r;
    if (check_operands(g, n, d) || loss_read_reduction(g, n, &r, d)) return -1;
    const ir_value *x = infer_input(g, n, 0), *t = infer_input(g, n, 1);
    if (infer_set(g, n, 0, x->dtype, r == LOSS_NONE ? t->rank : 0, t->dims, d)) return -1;
    return infer_set(g, n, 1, x->dtype, x->rank, x->dims, d);
}
