/* lower_einsum.c — lowering of Einsum: one kernel over the output's axes
 * that sums, over the labels the output lacks, the product of one load per
 * operand; each operand axis reads the index of its label (an output axis
 * or a summed one, the same index for a label repeated in one operand,
 * which takes a diagonal). The equation is parsed by einsum.c. */
#include "lower_nn.h"

#define NODE (&p->g->nodes[node])

/* Index of label l: IDX of its output axis or RIDX of its summed position. */
static uint32_t label_index(kir_program *p, const ir_einsum *e, int l) {
    for (int j = 0; j < e->out_rank; j++)
        if (e->out[j] == l) return kb_idx(p, j);
    for (int s = 0; s < e->n_sum; s++)
        if (e->sum[s] == l) return kb_ridx(p, s);
    return nn_ix(p, 0);
}

/* Out (labels of the output) = sum over the other labels of the product of
 * the operands at their labels' indices. */
int lower_einsum(kir_program *p, ir_id node, diag *d) {
    nn_bind_node(p, node);
    const ir_node *n = NODE;
    ir_einsum e;
    if (ir_einsum_parse(p->g, n, &e, d)) return -1;
    nn_contraction c = {.n = e.n_in, .rrank = e.n_sum};
    for (int i = 0; i < e.n_in; i++) {
        c.op[i] = nn_operand_of(p, n->in[i]);
        const kir_buffer *b = kb_buf(p, c.op[i].buf);
        for (int a = 0; a < e.rank[i]; a++) {
            int l = e.label[i][a];
            /* a size-1 axis broadcast against a larger one reads element 0 */
            bool bcast = ir_dim_is_const(b->dims[a]) && b->dims[a].c == 1 &&
                         !(ir_dim_is_const(e.size[l]) && e.size[l].c == 1);
            c.op[i].idx[a] = bcast ? nn_ix(p, 0) : label_index(p, &e, l);
        }
    }
    for (int s = 0; s < e.n_sum; s++) c.red[s] = e.size[e.sum[s]];
    uint32_t out = kb_value(p, n->out[0]);
    return nn_contraction_emit(p, node, out, &c, nn_compute_type(kb_buf(p, out)->dtype), KIR_NONE);
}
