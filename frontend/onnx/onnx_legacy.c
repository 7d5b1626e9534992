/* onnx_legacy.c — old-opset forms of ONNX nodes turned into the IR's newest
 * forms (see onnx_legacy.h): the attribute table onnx_legacy.def, B of old
 * broadcasting binary ops aligned at their `axis` (and PRelu's slope at the
 * channel axis before opset 7), Softmax / LogSoftmax / Hardmax before
 * opset 13 built as Flatten -> op(axis=-1) -> Reshape, and DFT before
 * opset 20 with its axis attribute made an input.
 */
#include "onnx_legacy.h"

#include <stdio.h>
#include <string.h>

typedef enum { IGNORE, MUST_BE_1, ALIGN_B } legacy_rule;

typedef struct legacy_attr {
    const char *op_type, *attr;
    int64_t before;
    legacy_rule rule;
} legacy_attr;

static const legacy_attr legacy_attrs[] = {
#define LEGACY(op, attr, before, rule) {#op, #attr, before, rule},
#include "onnx_legacy.def"
#undef LEGACY
};

static const legacy_attr *find_legacy(const char *op_type, const char *attr, int64_t opset) {
    for (size_t i = 0; i < sizeof legacy_attrs / sizeof legacy_attrs[0]; i++) {
        const legacy_attr *l = &legacy_attrs[i];
        if ((!strcmp(l->op_type, "*") || !strcmp(l->op_type, op_type)) && !strcmp(l->attr, attr) && opset < l->before)
            return l;
    }
    return NULL;
}

bool onnx_legacy_attr(const char *op_type, const char *attr, int64_t opset) {
    return find_legacy(op_type, attr, opset) != NULL;
}

static const onnx_attribute *find_attr(const onnx_node *n, const char *name) {
    for (size_t k = 0; k < n->n_attrs; k++)
        if (!strcmp(n->attrs[k].name, name)) return &n->attrs[k];
    return NULL;
}

static int node_error(const onnx_node *n, const char *label, int64_t opset, const char *path, diag *d,
                      const char *what) {
    return diag_error(d, "%s: node '%s' (%s, opset %lld): %s", path, label, n->op_type, (long long)opset, what);
}

/* ---- B of old broadcasting binary ops ------------------------------------------ */

/* A constant i64 vector in the graph arena, named label~what. */
static ir_id i64_vector(ir_graph *g, const char *label, const char *what, const int64_t *vals, int n, diag *d) {
    char base[256];
    snprintf(base, sizeof base, "%s~%s", label, what);
    ir_dim dim = ir_dim_const(n);
    void *copy = arena_memdup(&g->arena, vals, (size_t)(n ? n : 1), sizeof *vals);
    if (!copy) {
        diag_error(d, "%s: out of memory", g->source);
        return IR_NONE;
    }
    return ir_add_const(g, ir_fresh_name(g, base), IR_I64, 1, &dim, copy, (uint64_t)n * sizeof *vals, -1, d);
}

/* A one-output node of op, its output named out_name (NULL: a fresh name
 * from label), with `axis` set where the op has that attribute; inferred. */
static ir_id add_node(ir_graph *g, ir_op op, const ir_id *in, uint32_t n_in, const char *out_name, const char *label,
                      int64_t axis, diag *d) {
    char base[256];
    snprintf(base, sizeof base, "%s~%s", label, ir_op_get(op)->name); /* '~': not an ONNX name to be defined later */
    const char *names[1] = {out_name ? out_name : ir_fresh_name(g, base)};
    ir_id nid = ir_add_node(g, op, in, n_in, names, 1, label, d);
    if (nid == IR_NONE) return IR_NONE;
    if (ir_attr_index(op, "axis") >= 0 && ir_set_attr_int(g, nid, "axis", axis, d)) return IR_NONE;
    if (ir_infer_node(g, nid, d)) return IR_NONE;
    return g->nodes[nid].out[0];
}

/* Old Add(A, B, broadcast=1, axis=k): B's axes line up with A's from axis k,
 * so B gets rank(A) - k - rank(B) trailing size-1 axes (numpy rules do the rest). */
static int align_b(ir_graph *g, const onnx_node *n, const char *label, int64_t opset, ir_id *in, int64_t axis,
                   const char *path, diag *d) {
    const ir_value *a = &g->values[in[0]], *b = &g->values[in[1]];
    int64_t ra = a->rank, rb = b->rank;
    if (axis < 0) axis += ra;
    int64_t pad = ra - axis - rb;
    if (axis < 0 || pad < 0) return node_error(n, label, opset, path, d, "broadcast axis is out of range for B");
    if (pad == 0) return 0;
    if (b->kind == IR_VALUE_CONST) { /* the same bytes with a longer shape */
        ir_dim dims[IR_MAX_RANK];
        for (int i = 0; i < ra - axis; i++) dims[i] = i < rb ? b->dims[i] : ir_dim_const(1);
        ir_id c = ir_add_const(g, ir_fresh_name(g, b->name), b->dtype, (int)(ra - axis), dims, b->data, b->nbytes,
                               b->mapping, d);
        if (c == IR_NONE) return -1;
        in[1] = c;
        return 0;
    }
    int64_t axes[IR_MAX_RANK];
    for (int64_t i = 0; i < pad; i++) axes[i] = rb + i;
    ir_id ax = i64_vector(g, label, "axes", axes, (int)pad, d);
    ir_id uin[2] = {in[1], ax};
    ir_id v = ax == IR_NONE ? IR_NONE : add_node(g, IR_OP_Unsqueeze, uin, 2, NULL, label, 0, d);
    if (v == IR_NONE) return -1;
    in[1] = v;
    return 0;
}

int onnx_legacy_prepare(ir_graph *g, const onnx_node *n, const char *label, int64_t opset, ir_id *in,
                        uint32_t n_in, const char *path, diag *d) {
    /* PRelu before opset 7: a slope vector is per channel (axis 1), not numpy-broadcast */
    if (opset < 7 && !strcmp(n->op_type, "PRelu") && n_in == 2 && in[0] != IR_NONE && in[1] != IR_NONE &&
        g->values[in[0]].rank > 2 && g->values[in[1]].rank == 1 && ir_value_numel(g, in[1]) != 1 &&
        align_b(g, n, label, opset, in, 1, path, d))
        return -1;
    for (size_t k = 0; k < n->n_attrs; k++) {
        const onnx_attribute *a = &n->attrs[k];
        const legacy_attr *l = find_legacy(n->op_type, a->name, opset);
        if (!l || l->rule == IGNORE) continue;
        if (l->rule == MUST_BE_1 && a->i != 1) {
            char msg[160];
            snprintf(msg, sizeof msg, "attribute %s=%lld (training or per-activation statistics) is not supported",
                     a->name, (long long)a->i);
            return node_error(n, label, opset, path, d, msg);
        }
        if (l->rule == ALIGN_B) {
            const onnx_attribute *bc = find_attr(n, "broadcast");
            if (n_in != 2 || in[0] == IR_NONE || in[1] == IR_NONE || !bc || !bc->i) continue;
            if (align_b(g, n, label, opset, in, a->i, path, d)) return -1;
        }
    }
    return 0;
}

/* ---- Softmax, LogSoftmax, Hardmax before opset 13 -------------------------------- */

/* The shape of x as a Reshape target: constants, -1 for one symbolic size,
 * or Shape(x) when several are symbolic. */
static ir_id shape_target(ir_graph *g, ir_id x, const char *label, diag *d) {
    const ir_value *v = &g->values[x];
    int64_t dims[IR_MAX_RANK];
    int symbolic = 0;
    for (int i = 0; i < v->rank; i++) {
        dims[i] = ir_dim_is_const(v->dims[i]) ? v->dims[i].c : -1;
        symbolic += !ir_dim_is_const(v->dims[i]);
    }
    if (symbolic <= 1) return i64_vector(g, label, "shape", dims, v->rank, d);
    return add_node(g, IR_OP_Shape, &x, 1, NULL, label, 0, d);
}

/* ---- DFT before opset 20 (loss family) ------------------------------------------------ */

/* DFT(input, dft_length?) {axis = 1, inverse, onesided}: opset 20 made the
 * axis input 2 with the default -2, so the axis becomes a constant input. */
static int expand_dft(ir_graph *g, const onnx_node *n, const char *label, int64_t opset, const ir_id *in,
                      uint32_t n_in, const char *path, diag *d) {
    if (n_in > 2) return node_error(n, label, opset, path, d, "more than 2 inputs");
    for (size_t k = 0; k < n->n_attrs; k++)
        if (n->attrs[k].type != ONNX_ATTR_INT) return node_error(n, label, opset, path, d, "attributes must be ints");
    const onnx_attribute *a = find_attr(n, "axis");
    int64_t axis = a ? a->i : 1;
    ir_id c = i64_vector(g, label, "axis", &axis, 1, d);
    if (c == IR_NONE) return -1;
    ir_id din[3] = {in[0], n_in > 1 ? in[1] : IR_NONE, c};
    const char *names[1] = {n->outputs[0]};
    ir_id nid = ir_add_node(g, IR_OP_DFT, din, 3, names, 1, label, d);
    if (nid == IR_NONE) return -1;
    for (size_t k = 0; k < n->n_attrs; k++) {
        const onnx_attribute *at = &n->attrs[k];
        if (at != a && ir_set_attr_int(g, nid, at->name, at->i, d)) return -1;
    }
    return ir_infer_node(g, nid, d);
}

int onnx_legacy_expand(ir_graph *g, const onnx_node *n, const char *label, int64_t opset, const ir_id *in,
                       uint32_t n_in, const char *path, diag *d) {
    ir_op op = ir_op_from_name(n->op_type, -1);
    if (op == IR_OP_DFT && opset < 20 && n_in >= 1 && in[0] != IR_NONE && n->n_outputs == 1)
        return expand_dft(g, n, label, opset, in, n_in, path, d);
    if (opset >= 13 || (op != IR_OP_Softmax && op != IR_OP_LogSoftmax && op != IR_OP_Hardmax)) return 1;
    if (n_in != 1 || in[0] == IR_NONE || n->n_outputs != 1) return 1; /* the normal path reports it */
    const ir_value *x = &g->values[in[0]];
    const onnx_attribute *a = find_attr(n, "axis");
    int64_t rank = x->rank, axis = a ? a->i : 1;
    if (axis < -rank || axis >= rank)
        return node_error(n, label, opset, path, d, "axis is out of range for the input's rank");
    if (axis < 0) axis += rank;
    if (axis == rank - 1) return 1; /* the 2-D view changes nothing */
    // x (d0..dn) -> Flatten(axis) (P, Q) -> op over Q -> Reshape back to (d0..dn)
    ir_id flat = add_node(g, IR_OP_Flatten, in, 1, NULL, label, axis, d);
    ir_id y = flat == IR_NONE ? IR_NONE : add_node(g, op, &flat, 1, NULL, label, 1, d);
    ir_id shape = y == IR_NONE ? IR_NONE : shape_target(g, in[0], label, d);
    if (shape == IR_NONE) return -1;
    ir_id rin[2] = {y, shape};
    return add_node(g, IR_OP_Reshape, rin, 2, n->outputs[0], label, 0, d) == IR_NONE ? -1 : 0;
}
