/* attr.c — reading and writing node attributes through the op schema, so
 * that every access is checked against the one description of the op. */
#include <assert.h>
#include <string.h>

#include "ir.h"

int ir_attr_index(ir_op op, const char *name) {
    const ir_op_info *info = ir_op_get(op);
    for (int i = 0; i < info->n_attrs; i++)
        if (strcmp(info->attrs[i].name, name) == 0) return i;
    return -1;
}

static const ir_attr *get(const ir_node *n, const char *name, ir_attr_kind kind, const ir_attr_schema **s) {
    int i = ir_attr_index(n->op, name);
    assert(i >= 0 && "attribute not in the op's schema");
    *s = &ir_op_get(n->op)->attrs[i];
    assert((*s)->kind == kind && "attribute read with the wrong kind");
    (void)kind;
    return &n->attrs[i];
}

int64_t ir_attr_int(const ir_node *n, const char *name) {
    const ir_attr_schema *s;
    int i = ir_attr_index(n->op, name);
    assert(i >= 0);
    ir_attr_kind k = ir_op_get(n->op)->attrs[i].kind;
    const ir_attr *a = get(n, name, k == IR_AK_DTYPE ? IR_AK_DTYPE : IR_AK_INT, &s);
    return a->set ? a->v.i : s->def_i;
}

float ir_attr_float(const ir_node *n, const char *name) {
    const ir_attr_schema *s;
    const ir_attr *a = get(n, name, IR_AK_FLOAT, &s);
    return a->set ? a->v.f : s->def_f;
}

const char *ir_attr_str(const ir_node *n, const char *name) {
    const ir_attr_schema *s;
    const ir_attr *a = get(n, name, IR_AK_STR, &s);
    return a->set ? a->v.s : (s->def_s ? s->def_s : "");
}

const int64_t *ir_attr_ints(const ir_node *n, const char *name, uint32_t *count) {
    const ir_attr_schema *s;
    const ir_attr *a = get(n, name, IR_AK_INTS, &s);
    *count = a->set ? a->count : 0;
    return a->set ? a->v.ints : NULL;
}

const float *ir_attr_floats(const ir_node *n, const char *name, uint32_t *count) {
    const ir_attr_schema *s;
    const ir_attr *a = get(n, name, IR_AK_FLOATS, &s);
    *count = a->set ? a->count : 0;
    return a->set ? a->v.floats : NULL;
}

const char *const *ir_attr_strs(const ir_node *n, const char *name, uint32_t *count) {
    const ir_attr_schema *s;
    const ir_attr *a = get(n, name, IR_AK_STRS, &s);
    *count = a->set ? a->count : 0;
    return a->set ? a->v.strs : NULL;
}

ir_graph *ir_attr_graph(const ir_node *n, const char *name) {
    const ir_attr_schema *s;
    const ir_attr *a = get(n, name, IR_AK_GRAPH, &s);
    return a->set ? a->v.graph : NULL;
}

bool ir_attr_is_set(const ir_node *n, const char *name) {
    int i = ir_attr_index(n->op, name);
    assert(i >= 0);
    return n->attrs[i].set;
}

/* The slot for a write, or NULL with an error naming the node. */
static ir_attr *slot(ir_graph *g, ir_id node, const char *name, ir_attr_kind kind, diag *d) {
    ir_node *n = &g->nodes[node];
    int i = ir_attr_index(n->op, name);
    if (i < 0) {
        ir_node_error(g, n, d, "unknown attribute '%s'", name);
        return NULL;
    }
    ir_attr_kind want = ir_op_get(n->op)->attrs[i].kind;
    if (want != kind) {
        ir_node_error(g, n, d, "attribute '%s' must be %s, got %s", name, ir_attr_kind_name(want),
                      ir_attr_kind_name(kind));
        return NULL;
    }
    return &n->attrs[i];
}

int ir_set_attr_int(ir_graph *g, ir_id node, const char *name, int64_t v, diag *d) {
    int i = ir_attr_index(g->nodes[node].op, name);
    ir_attr_kind k = i >= 0 && ir_op_get(g->nodes[node].op)->attrs[i].kind == IR_AK_DTYPE ? IR_AK_DTYPE : IR_AK_INT;
    ir_attr *a = slot(g, node, name, k, d);
    if (!a) return -1;
    a->set = true;
    a->v.i = v;
    return 0;
}

int ir_set_attr_float(ir_graph *g, ir_id node, const char *name, float v, diag *d) {
    ir_attr *a = slot(g, node, name, IR_AK_FLOAT, d);
    if (!a) return -1;
    a->set = true;
    a->v.f = v;
    return 0;
}

int ir_set_attr_str(ir_graph *g, ir_id node, const char *name, const char *v, diag *d) {
    ir_attr *a = slot(g, node, name, IR_AK_STR, d);
    if (!a) return -1;
    a->v.s = arena_strdup(&g->arena, v);
    if (!a->v.s) return diag_error(d, "%s: out of memory", g->source);
    a->set = true;
    return 0;
}

static int set_list(ir_graph *g, ir_id node, const char *name, ir_attr_kind kind, const void *v,
                    uint32_t n, size_t elem, diag *d) {
    ir_attr *a = slot(g, node, name, kind, d);
    if (!a) return -1;
    void *copy = arena_memdup(&g->arena, v, n, elem);
    if (n && !copy) return diag_error(d, "%s: out of memory", g->source);
    a->set = true;
    a->count = n;
    if (kind == IR_AK_INTS) a->v.ints = copy;
    else if (kind == IR_AK_FLOATS) a->v.floats = copy;
    else a->v.strs = copy;
    return 0;
}

int ir_set_attr_ints(ir_graph *g, ir_id node, const char *name, const int64_t *v, uint32_t n, diag *d) {
    return set_list(g, node, name, IR_AK_INTS, v, n, sizeof *v, d);
}

int ir_set_attr_floats(ir_graph *g, ir_id node, const char *name, const float *v, uint32_t n, diag *d) {
    return set_list(g, node, name, IR_AK_FLOATS, v, n, sizeof *v, d);
}

int ir_set_attr_strs(ir_graph *g, ir_id node, const char *name, const char *const *v, uint32_t n, diag *d) {
    const char **copy = arena_array(&g->arena, n, sizeof *copy);
    if (n && !copy) return diag_error(d, "%s: out of memory", g->source);
    for (uint32_t i = 0; i < n; i++) {
        copy[i] = arena_strdup(&g->arena, v[i]);
        if (!copy[i]) return diag_error(d, "%s: out of memory", g->source);
    }
    return set_list(g, node, name, IR_AK_STRS, copy, n, sizeof *copy, d);
}

int ir_set_attr_graph(ir_graph *g, ir_id node, const char *name, ir_graph *sub, diag *d) {
    ir_attr *a = slot(g, node, name, IR_AK_GRAPH, d);
    if (!a) return -1;
    a->set = true;
    a->v.graph = sub;
    sub->parent = g;
    return 0;
}
