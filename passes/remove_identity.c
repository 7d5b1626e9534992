/* remove_identity.c — removes nodes whose output is their input: Identity,
 * Dropout in inference (when its mask is unused), Reshape to the same
 * shape, Transpose by the identity permutation, Cast and CastLike to the
 * dtype the input already has. A Transpose of a Transpose reads the inner
 * one's input with the composed permutation (the inner one dies when
 * nothing else reads it, by dce), and vanishes when that is the identity.
 * Readers of a removed node read its input; a removed node whose output is a
 * graph output hands the output's name to its input's producer
 * (rw_replace), or stays when that is impossible.
 */
#include <stdlib.h>

#include "ir/infer.h"
#include "passes/passes.h"
#include "passes/rewrite.h"

/* The permutation of a Transpose node (the default reverses the axes). */
static void transpose_perm(const ir_node *n, int rank, int64_t *perm) {
    uint32_t cnt;
    const int64_t *p = ir_attr_ints(n, "perm", &cnt);
    for (int i = 0; i < rank; i++) perm[i] = p && (int)cnt == rank ? p[i] : rank - 1 - i;
}

static bool is_identity_perm(const int64_t *perm, int rank) {
    for (int i = 0; i < rank; i++)
        if (perm[i] != i) return false;
    return true;
}

/* Transpose(Transpose(x, p1), p2) = Transpose(x, p1[p2[i]]): node reads x. */
static int compose_transposes(ir_graph *g, ir_id node, diag *d) {
    ir_node *n = &g->nodes[node];
    ir_id mid = n->in[0];
    const ir_value *m = &g->values[mid];
    if (m->kind != IR_VALUE_NODE || m->producer == IR_NONE) return 0;
    const ir_node *inner = &g->nodes[m->producer];
    if (inner->dead || inner->op != IR_OP_Transpose) return 0;
    int rank = m->rank;
    if (rank < 0 || rank > IR_MAX_RANK) return 0;
    int64_t p1[IR_MAX_RANK], p2[IR_MAX_RANK], p[IR_MAX_RANK];
    transpose_perm(inner, rank, p1);
    transpose_perm(n, rank, p2);
    for (int i = 0; i < rank; i++) p[i] = p1[p2[i]];
    ir_id x = inner->in[0];
    if (ir_set_attr_ints(g, node, "perm", p, (uint32_t)rank, d)) return -1;
    g->nodes[node].in[0] = x;
    return 1;
}

/* Whether node's first output equals its first input. */
static bool is_identity(ir_graph *g, const ir_node *n, const uint32_t *uses) {
    if (n->n_in < 1 || n->n_out < 1 || n->in[0] == IR_NONE || !rw_same_type(g, n->in[0], n->out[0])) return false;
    for (uint32_t o = 1; o < n->n_out; o++) /* a second output (Dropout's mask) must be unused */
        if (uses[n->out[o]]) return false;
    switch (n->op) {
    case IR_OP_Identity:
    case IR_OP_Reshape:
    case IR_OP_Cast:
    case IR_OP_CastLike: return true; /* same type in and out */
    case IR_OP_Dropout: return dropout_is_identity(g, n) == 1;
    case IR_OP_Transpose: {
        int64_t perm[IR_MAX_RANK];
        int rank = g->values[n->in[0]].rank;
        if (rank > IR_MAX_RANK) return false;
        transpose_perm(n, rank, perm);
        return is_identity_perm(perm, rank);
    }
    default: return false;
    }
}

int pass_remove_identity(ir_graph *g, diag *d) {
    /* only the uses of second outputs are read: no rewrite here adds any */
    uint32_t *uses = rw_use_counts(g, d);
    if (!uses) return -1;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead) continue;
        if (g->nodes[i].op == IR_OP_Transpose && compose_transposes(g, i, d) < 0) {
            free(uses);
            return -1;
        }
        ir_node *n = &g->nodes[i];
        if (is_identity(g, n, uses) && rw_replace(g, n->out[0], n->in[0])) n->dead = true;
    }
    free(uses);
    return 0;
}
