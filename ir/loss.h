/* loss.h — what inference (infer_loss.c) and lowering (lower_loss.c) of the
 * classification losses share: NegativeLogLikelihoodLoss and
 * SoftmaxCrossEntropyLoss read their `reduction` and `ignore_index`
 * attributes through here, so that both agree on them.
 */
#ifndef SMELT_LOSS_H
#define SMELT_LOSS_H

#include "ir.h"

/* How the per-element losses become the output: kept (the target's shape),
 * summed, or divided by the sum of the weights of the elements not ignored
 * (scalars). */
typedef enum loss_reduction { LOSS_NONE, LOSS_SUM, LOSS_MEAN } loss_reduction;

/* The node's `reduction` attribute: none, sum or mean. */
int loss_read_reduction(const ir_graph *g, const ir_node *n, loss_reduction *r, diag *d);

/* Whether the node ignores a target value, and which (*ignored). */
bool loss_ignore_index(const ir_node *n, int64_t *ignored);

#endif
