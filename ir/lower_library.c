/* lower_library.c — lowering of the ops that are library kernels rather than
 * loop nests (TopK, NonZero, Unique, CumSum, CumProd, Det, MaxUnpool,
 * BitCast; see runtime/lib.h): one
 * kernel named after the op, whose operands are the node's inputs (KIR_NONE
 * for an omitted optional one) and outputs. Attributes stay on the graph
 * node. Dropout is one too when whether it trains is known only at run time;
 * otherwise it is the identity it is in inference. */
#include "infer.h"
#include "lower.h"

#define MAX_OPERANDS 16

int lower_library(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = &p->g->nodes[node];
    uint32_t in[MAX_OPERANDS], out[MAX_OPERANDS];
    if (n->n_in > MAX_OPERANDS || n->n_out > MAX_OPERANDS)
        return ir_node_error(p->g, n, d, "more than %d inputs or outputs", MAX_OPERANDS);
    for (uint32_t i = 0; i < n->n_in; i++) in[i] = n->in[i] == IR_NONE ? KIR_NONE : kb_value(p, n->in[i]);
    for (uint32_t o = 0; o < n->n_out; o++) out[o] = kb_value(p, n->out[o]);
    return kb_library(p, node, ir_op_get(n->op)->name, in, n->n_in, out, n->n_out) < 0 ? -1 : 0;
}

// output (x's shape) = x; mask (x's shape) = true
int lower_dropout(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = &p->g->nodes[node];
    int mode = dropout_is_identity(p->g, n);
    if (mode < 0) return lower_library(p, node, d); /* the routine checks the mode when it runs */
    if (mode == 0) return ir_node_error(p->g, n, d, "training-mode Dropout is random: not supported");
    if (kb_kernel(p, node, kb_value(p, n->out[0]), kb_load_same(p, kb_value(p, n->in[0]))) < 0) return -1;
    if (n->n_out > 1 && kb_kernel(p, node, kb_value(p, n->out[1]), kb_const_i(p, IR_BOOL, 1)) < 0) return -1;
    return 0;
}
