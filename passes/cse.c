/* cse.c — common-subexpression elimination: two live nodes with the same
 * op, the same inputs (by value) and the same attributes compute the same
 * outputs, so readers of the later one's outputs read the earlier one's and
 * the later node dies. Nodes are visited in order and rewritten at once, so
 * chains of duplicates collapse in one pass. Ops with a `seed` attribute
 * are random (each node draws its own numbers) and nodes with subgraphs are
 * left alone.
 */
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"
#include "passes/rewrite.h"

static uint64_t mix(uint64_t h, uint64_t x) { return (h ^ x) * 1099511628211ull; }

/* Whether nodes of op may be merged. */
static bool mergeable_op(ir_op op) {
    const ir_op_info *info = ir_op_get(op);
    for (uint16_t a = 0; a < info->n_attrs; a++)
        if (info->attrs[a].kind == IR_AK_GRAPH || !strcmp(info->attrs[a].name, "seed")) return false;
    return info->max_out > 0;
}

static uint64_t node_hash(const ir_node *n) {
    uint64_t h = mix(14695981039346656037ull, (uint64_t)n->op);
    h = mix(h, n->n_in);
    h = mix(h, n->n_out);
    for (uint32_t k = 0; k < n->n_in; k++) h = mix(h, n->in[k]);
    return h;
}

static bool same_attr(ir_attr_kind kind, const ir_attr *a, const ir_attr *b) {
    if (a->set != b->set) return false;
    if (!a->set) return true;
    switch (kind) {
    case IR_AK_INT:
    case IR_AK_DTYPE: return a->v.i == b->v.i;
    case IR_AK_FLOAT: return memcmp(&a->v.f, &b->v.f, sizeof(float)) == 0;
    case IR_AK_STR: return strcmp(a->v.s, b->v.s) == 0;
    case IR_AK_INTS: return a->count == b->count && (!a->count || !memcmp(a->v.ints, b->v.ints, a->count * sizeof(int64_t)));
    case IR_AK_FLOATS: return a->count == b->count && (!a->count || !memcmp(a->v.floats, b->v.floats, a->count * sizeof(float)));
    case IR_AK_STRS:
        if (a->count != b->count) return false;
        for (uint32_t i = 0; i < a->count; i++)
            if (strcmp(a->v.strs[i], b->v.strs[i])) return false;
        return true;
    case IR_AK_GRAPH: return false;
    }
    return false;
}

static bool same_node(const ir_node *a, const ir_node *b) {
    if (a->op != b->op || a->n_in != b->n_in || a->n_out != b->n_out) return false;
    if (a->n_in && memcmp(a->in, b->in, a->n_in * sizeof(ir_id))) return false;
    const ir_op_info *info = ir_op_get(a->op);
    for (uint16_t k = 0; k < info->n_attrs; k++)
        if (!same_attr(info->attrs[k].kind, &a->attrs[k], &b->attrs[k])) return false;
    return true;
}

/* Every output of dup can be replaced by the matching output of orig. */
static bool replaceable(const ir_graph *g, const ir_node *dup, const ir_node *orig) {
    for (uint32_t o = 0; o < dup->n_out; o++) {
        if (rw_is_captured(g, dup->out[o])) return false;
        if (rw_is_output(g, dup->out[o]) && (rw_is_output(g, orig->out[o]) || rw_is_captured(g, orig->out[o])))
            return false;
    }
    return true;
}

int pass_cse(ir_graph *g, diag *d) {
    uint32_t cap = 64;
    while (cap < g->n_nodes * 2u) cap *= 2;
    ir_id *table = malloc(cap * sizeof *table);
    if (!table) return diag_error(d, "%s: out of memory", g->source);
    memset(table, 0xff, cap * sizeof *table);
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead || !mergeable_op(g->nodes[i].op)) continue;
        uint32_t h = (uint32_t)node_hash(&g->nodes[i]) & (cap - 1);
        for (; table[h] != IR_NONE; h = (h + 1) & (cap - 1)) {
            ir_node *orig = &g->nodes[table[h]], *dup = &g->nodes[i];
            if (!same_node(orig, dup) || !replaceable(g, dup, orig)) continue;
            for (uint32_t o = 0; o < dup->n_out; o++) rw_replace(g, dup->out[o], orig->out[o]);
            dup->dead = true;
            break;
        }
        if (table[h] == IR_NONE) table[h] = i;
    }
    free(table);
    return 0;
}
