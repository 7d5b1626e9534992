/* einsum.h — the equation of an Einsum node, parsed once into labels.
 *
 * Every axis of every operand and of the output gets a label: letters are
 * labels 0..51 ('a'-'z', then 'A'-'Z'); the axes an ellipsis stands for get
 * labels EINSUM_ELL + j, right-aligned over all operands (numpy broadcasting
 * of the ellipsis dims). Labels of the inputs that the output lacks are
 * summed. Inference (infer_nn.c) and lowering (lower_einsum.c) both read
 * the equation through ir_einsum_parse, so they agree on every size.
 */
#ifndef SMELT_EINSUM_H
#define SMELT_EINSUM_H

#include "ir.h"

#define EINSUM_MAX_IN 16
#define EINSUM_ELL 52
#define EINSUM_LABELS (EINSUM_ELL + IR_MAX_RANK)

typedef struct ir_einsum {
    int n_in;
    int rank[EINSUM_MAX_IN];                     /* axes of each operand */
    uint8_t label[EINSUM_MAX_IN][IR_MAX_RANK];   /* label of each operand axis */
    int out_rank;
    uint8_t out[IR_MAX_RANK];                    /* label of each output axis */
    int n_sum;
    uint8_t sum[EINSUM_LABELS];                  /* summed labels, in first-use order */
    ir_dim size[EINSUM_LABELS];                  /* size of each used label */
    bool used[EINSUM_LABELS];
} ir_einsum;

/* Parse the equation of node n against its inputs' ranks and dims (numpy
 * einsum rules: implicit output = labels used once, in alphabetical order,
 * after the ellipsis dims). */
int ir_einsum_parse(ir_graph *g, const ir_node *n, ir_einsum *e, diag *d);

#endif
