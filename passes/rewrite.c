/* rewrite.c — see rewrite.h: the in-place rewriting helpers of the graph
 * passes (use counts, replacing a value's uses, new constants). */
#include "passes/rewrite.h"

#include <stdlib.h>
#include <string.h>

/* Marks in `mark` the values of g that subgraph `sub` (and its own
 * subgraphs) names: a subgraph reads outer values by name. */
static void mark_captures(const ir_graph *g, const ir_graph *sub, uint32_t *count) {
    for (uint32_t v = 0; v < sub->n_values; v++) {
        ir_id outer = ir_find_value(g, sub->values[v].name);
        if (outer != IR_NONE) count[outer]++;
    }
    for (uint32_t i = 0; i < sub->n_nodes; i++) {
        const ir_node *n = &sub->nodes[i];
        const ir_op_info *info = ir_op_get(n->op);
        for (uint16_t a = 0; a < info->n_attrs; a++)
            if (info->attrs[a].kind == IR_AK_GRAPH && n->attrs[a].set && n->attrs[a].v.graph)
                mark_captures(g, n->attrs[a].v.graph, count);
    }
}

/* Adds to count[v] one per naming of v by a subgraph of a live node. */
static void count_captures(const ir_graph *g, uint32_t *count) {
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        const ir_op_info *info = ir_op_get(n->op);
        for (uint16_t a = 0; a < info->n_attrs; a++)
            if (info->attrs[a].kind == IR_AK_GRAPH && n->attrs[a].set && n->attrs[a].v.graph)
                mark_captures(g, n->attrs[a].v.graph, count);
    }
}

uint32_t *rw_use_counts(ir_graph *g, diag *d) {
    uint32_t *count = calloc(g->n_values ? g->n_values : 1, sizeof *count);
    if (!count) {
        diag_error(d, "%s: out of memory", g->source);
        return NULL;
    }
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (uint32_t k = 0; k < n->n_in; k++)
            if (n->in[k] != IR_NONE) count[n->in[k]]++;
    }
    for (uint32_t o = 0; o < g->n_outputs; o++) count[g->outputs[o]]++;
    count_captures(g, count);
    return count;
}

bool rw_is_output(const ir_graph *g, ir_id v) {
    for (uint32_t o = 0; o < g->n_outputs; o++)
        if (g->outputs[o] == v) return true;
    return false;
}

uint32_t *rw_capture_counts(const ir_graph *g, diag *d) {
    uint32_t *count = calloc(g->n_values ? g->n_values : 1, sizeof *count);
    if (!count) diag_error(d, "%s: out of memory", g->source);
    else count_captures(g, count);
    return count;
}

bool rw_is_captured(const ir_graph *g, ir_id v) {
    uint32_t *count = rw_capture_counts(g, NULL);
    bool r = !count || count[v] != 0; /* out of memory: the safe answer */
    free(count);
    return r;
}

/* Readers of `from` (live node inputs) read `to`. */
static void redirect(ir_graph *g, ir_id from, ir_id to) {
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (uint32_t k = 0; k < n->n_in; k++)
            if (n->in[k] == from) n->in[k] = to;
    }
}

int rw_replace(ir_graph *g, ir_id from, ir_id to) {
    if (from == to || rw_is_captured(g, from)) return 0;
    if (!rw_is_output(g, from)) {
        redirect(g, from, to);
        return 1;
    }
    /* from is a graph output: its name stays; to's producer writes it */
    ir_value *tv = &g->values[to];
    if (tv->kind != IR_VALUE_NODE || rw_is_output(g, to) || rw_is_captured(g, to)) return 0;
    ir_node *p = &g->nodes[tv->producer];
    uint32_t slot = UINT32_MAX;
    for (uint32_t o = 0; o < p->n_out; o++)
        if (p->out[o] == to) slot = o;
    if (slot == UINT32_MAX) return 0;
    redirect(g, to, from);
    p->out[slot] = from;
    g->values[from].producer = tv->producer;
    return 1;
}

bool rw_same_type(const ir_graph *g, ir_id a, ir_id b) {
    const ir_value *x = &g->values[a], *y = &g->values[b];
    if (x->dtype != y->dtype || x->rank != y->rank || x->rank < 0) return false;
    for (int i = 0; i < x->rank; i++)
        if (!ir_dim_eq(x->dims[i], y->dims[i])) return false;
    return true;
}

bool rw_float_const(const ir_graph *g, ir_id c) {
    if (c == IR_NONE) return false;
    const ir_value *v = &g->values[c];
    return v->kind == IR_VALUE_CONST && (v->dtype == IR_F32 || v->dtype == IR_F64) && ir_value_numel(g, c) >= 0 &&
           (v->data || v->nbytes == 0);
}

double rw_const_at(const ir_graph *g, ir_id c, int64_t i) {
    const ir_value *v = &g->values[c];
    if (!v->data) return 0;
    if (v->dtype == IR_F64) {
        double x;
        memcpy(&x, (const uint8_t *)v->data + i * 8, 8);
        return x;
    }
    float x;
    memcpy(&x, (const uint8_t *)v->data + i * 4, 4);
    return x;
}

ir_id rw_new_const(ir_graph *g, const char *base, ir_dtype t, int rank, const ir_dim *dims, const double *vals,
                   int64_t n, diag *d) {
    size_t esize = t == IR_F64 ? 8 : 4;
    uint8_t *data = arena_array(&g->arena, n ? (size_t)n : 1, esize);
    if (!data) {
        diag_error(d, "%s: out of memory making constant '%s'", g->source, base);
        return IR_NONE;
    }
    for (int64_t i = 0; i < n; i++) {
        if (t == IR_F64) memcpy(data + i * 8, &vals[i], 8);
        else {
            float f = (float)vals[i];
            memcpy(data + i * 4, &f, 4);
        }
    }
    return ir_add_const(g, ir_fresh_name(g, base), t, rank, dims, data, (uint64_t)n * esize, -1, d);
}

int rw_morph(ir_graph *g, ir_id node, ir_op op, const ir_id *in, uint32_t n_in, diag *d) {
    const ir_op_info *info = ir_op_get(op);
    ir_id *ins = arena_memdup(&g->arena, in, n_in, sizeof(ir_id));
    ir_attr *attrs = info->n_attrs ? arena_array(&g->arena, info->n_attrs, sizeof(ir_attr)) : NULL;
    if ((n_in && !ins) || (info->n_attrs && !attrs)) return diag_error(d, "%s: out of memory", g->source);
    ir_node *n = &g->nodes[node];
    n->op = op;
    n->in = ins;
    n->n_in = n_in;
    n->attrs = attrs;
    return 0;
}

void rw_copy_attrs(ir_graph *g, ir_id to, const ir_node *from) {
    const ir_op_info *fi = ir_op_get(from->op), *ti = ir_op_get(g->nodes[to].op);
    for (uint16_t a = 0; a < fi->n_attrs; a++) {
        if (!from->attrs[a].set) continue;
        int k = ir_attr_index(g->nodes[to].op, fi->attrs[a].name);
        if (k >= 0 && ti->attrs[k].kind == fi->attrs[a].kind) g->nodes[to].attrs[k] = from->attrs[a];
    }
}

/* The node producing value v, or IR_NONE for inputs and constants. */
static ir_id producer_of(const ir_graph *g, ir_id v) {
    return v == IR_NONE || g->values[v].kind != IR_VALUE_NODE ? IR_NONE : g->values[v].producer;
}

int rw_sort_nodes(ir_graph *g, diag *d) {
    uint32_t n = g->n_nodes;
    uint8_t *state = calloc(n ? n : 1, 1);              /* 0 new, 1 on the stack, 2 placed */
    uint32_t *order = malloc((n ? n : 1) * sizeof *order); /* new position -> old index */
    uint32_t *stack = malloc((n ? n : 1) * sizeof *stack), *next = calloc(n ? n : 1, sizeof *next);
    uint32_t *where = malloc((n ? n : 1) * sizeof *where);
    ir_node *nodes = malloc((n ? n : 1) * sizeof *nodes);
    int rc = -1;
    if (!state || !order || !stack || !next || !where || !nodes) {
        diag_error(d, "%s: out of memory", g->source);
        goto done;
    }
    uint32_t placed = 0;
    for (uint32_t root = 0; root < n; root++) { /* depth first, inputs' producers before a node */
        if (state[root]) continue;
        uint32_t sp = 0;
        stack[sp++] = root;
        state[root] = 1;
        while (sp) {
            uint32_t i = stack[sp - 1];
            const ir_node *nd = &g->nodes[i];
            if (next[i] < nd->n_in) {
                ir_id p = producer_of(g, nd->in[next[i]++]);
                if (p == IR_NONE || state[p] == 2) continue;
                if (state[p] == 1) {
                    diag_error(d, "%s: node '%s' depends on itself", g->source, nd->name);
                    goto done;
                }
                state[p] = 1;
                stack[sp++] = p;
                continue;
            }
            state[i] = 2;
            order[placed++] = i;
            sp--;
        }
    }
    for (uint32_t k = 0; k < n; k++) {
        nodes[k] = g->nodes[order[k]];
        where[order[k]] = k;
    }
    memcpy(g->nodes, nodes, n * sizeof *nodes);
    for (uint32_t v = 0; v < g->n_values; v++)
        if (g->values[v].kind == IR_VALUE_NODE && g->values[v].producer != IR_NONE && g->values[v].producer < n)
            g->values[v].producer = where[g->values[v].producer];
    rc = 0;
done:
    free(state);
    free(order);
    free(stack);
    free(next);
    free(where);
    free(nodes);
    return rc;
}
