/* infer_shape_value.c — shape values: what small integer tensors computed
 * from shapes hold, as dims.
 *
 * Exported models compute shapes at run time: Shape(x) -> Gather / Slice ->
 * Unsqueeze -> Concat (with arithmetic on the way) -> the shape operand of a
 * Reshape, Expand, Slice, Range or ConstantOfShape. When x has symbolic dims
 * (batch, seq) nothing there is a constant, yet every element is a dim
 * expression. Inference records those elements on the value (ir_value.sval)
 * with the rules below, one per op, run after the op's shape inference
 * (ir_infer_node); the inference of the consumers reads them through
 * infer_sym_ints, so `Reshape(x, Concat(batch, seq, 12, 64))` gets the dims
 * [batch, seq, 12, 64] instead of fresh unknowns. A value whose elements are
 * all constants is folded into a constant (passes/fold_constants.c).
 *
 * A symbolic element stands for a non-negative value, as dims do: rules only
 * build expressions that are sizes or arithmetic on sizes (no negative
 * constant inside an expression). Where the real value could be negative
 * (seq - 5 with seq < 5) the run time finds the expression invalid and
 * reports it. Nothing changes at run time: the nodes stay in the graph and
 * still compute the tensors where they are real data (a graph output).
 */
#include <string.h>

#include "infer.h"
#include "movement.h"

/* ---- reading ----------------------------------------------------------------- */

/* Element count of a value of rank <= 1 with a constant length, else -1. */
static int64_t small_numel(const ir_value *x) {
    if (x->rank == 0) return 1;
    if (x->rank != 1 || !ir_dim_is_const(x->dims[0])) return -1;
    return x->dims[0].c;
}

static bool sval_dtype(ir_dtype t) { return t == IR_I64 || t == IR_I32 || t == IR_BOOL; }

int ir_value_sval(const ir_graph *g, ir_id v, ir_dim *out, int max, int *n) {
    if (v == IR_NONE) return 1;
    const ir_value *x = &g->values[v];
    int64_t numel = small_numel(x);
    if (numel < 0 || numel > max || !sval_dtype(x->dtype)) return 1;
    if (x->kind == IR_VALUE_CONST) {
        size_t esz = x->dtype == IR_I64 ? 8 : x->dtype == IR_I32 ? 4 : 1;
        if (!x->data || x->nbytes < (uint64_t)numel * esz) return 1;
        const uint8_t *p = x->data;
        for (int64_t k = 0; k < numel; k++) {
            int64_t e;
            if (esz == 8) memcpy(&e, p + 8 * k, 8);
            else if (esz == 4) {
                int32_t e32;
                memcpy(&e32, p + 4 * k, 4);
                e = e32;
            } else e = p[k] != 0;
            out[k] = ir_dim_const(e);
        }
    } else {
        if (!x->sval) return 1;
        memcpy(out, x->sval, sizeof(ir_dim) * (size_t)numel);
    }
    *n = (int)numel;
    return 0;
}

int ir_value_sval_const(const ir_graph *g, ir_id v, int64_t *out, int max, int *n) {
    ir_dim e[IR_SVAL_MAX];
    if (max > IR_SVAL_MAX) max = IR_SVAL_MAX;
    if (ir_value_sval(g, v, e, max, n)) return 1;
    for (int k = 0; k < *n; k++) {
        if (!ir_dim_is_const(e[k])) return 1;
        out[k] = e[k].c;
    }
    return 0;
}

int infer_sym_ints(ir_graph *g, const ir_node *n, uint32_t i, ir_dim *vals, int max, int *count, diag *d) {
    const ir_value *v = infer_input(g, n, i);
    if (!v) return 1;
    if (v->kind == IR_VALUE_CONST) {
        int64_t c[IR_SVAL_MAX];
        int rc = infer_const_ints(g, n, i, c, max < IR_SVAL_MAX ? max : IR_SVAL_MAX, count, d);
        for (int k = 0; rc == 0 && k < *count; k++) vals[k] = ir_dim_const(c[k]);
        return rc;
    }
    if (v->dtype != IR_I64 && v->dtype != IR_I32) return 1;
    return ir_value_sval(g, n->in[i], vals, max, count);
}

/* ---- rules ------------------------------------------------------------------- */

/* A rule writes the elements of output 0 into out (count in *n) and returns
 * 0, or 1 when they are not known. */
typedef int (*sv_rule)(ir_graph *g, const ir_node *n, ir_dim *out, int *cnt);

static int in_sval(ir_graph *g, const ir_node *n, uint32_t i, ir_dim *out, int *cnt) {
    return i < n->n_in ? ir_value_sval(g, n->in[i], out, IR_SVAL_MAX, cnt) : 1;
}

/* Shape(x) with start and end: the dims themselves. */
static int sv_shape(ir_graph *g, const ir_node *n, ir_dim *out, int *cnt) {
    const ir_value *x = infer_input(g, n, 0);
    int64_t start = ir_attr_int(n, "start"), r = x->rank;
    if (start < 0) start += r;
    start = start < 0 ? 0 : start > r ? r : start;
    int64_t len = small_numel(&g->values[n->out[0]]);
    for (int64_t k = 0; k < len; k++) out[k] = x->dims[start + k];
    *cnt = (int)len;
    return 0;
}

static int sv_size(ir_graph *g, const ir_node *n, ir_dim *out, int *cnt) {
    const ir_value *x = infer_input(g, n, 0);
    out[0] = ir_dim_const(1);
    for (int i = 0; i < x->rank; i++) out[0] = ir_dim_mul(g, out[0], x->dims[i]);
    *cnt = 1;
    return 0;
}

/* Identity, Reshape, Squeeze, Unsqueeze, Flatten: the same elements. */
static int sv_same(ir_graph *g, const ir_node *n, ir_dim *out, int *cnt) { return in_sval(g, n, 0, out, cnt); }

/* Cast between integer types (and to and from bool): constants convert,
 * symbols pass to wider or equal integer types (shapes fit in i32). */
static int sv_cast(ir_graph *g, const ir_node *n, ir_dim *out, int *cnt) {
    ir_dtype to = g->values[n->out[0]].dtype;
    if (in_sval(g, n, 0, out, cnt)) return 1;
    for (int k = 0; k < *cnt; k++) {
        if (!ir_dim_is_const(out[k])) {
            if (to == IR_BOOL) return 1;
            continue;
        }
        int64_t c = out[k].c;
        out[k] = ir_dim_const(to == IR_BOOL ? c != 0 : to == IR_I32 ? (int64_t)(int32_t)(uint32_t)c : c);
    }
    return 0;
}

/* Gather of a 1-D shape value with constant indices (negative from the end). */
static int sv_gather(ir_graph *g, const ir_node *n, ir_dim *out, int *cnt) {
    ir_dim data[IR_SVAL_MAX];
    int64_t idx[IR_SVAL_MAX];
    int nd, ni;
    if (g->values[n->in[0]].rank != 1 || in_sval(g, n, 0, data, &nd) ||
        ir_value_sval_const(g, n->in[1], idx, IR_SVAL_MAX, &ni))
        return 1;
    for (int k = 0; k < ni; k++) {
        int64_t i = idx[k] < 0 ? idx[k] + nd : idx[k];
        if (i < 0 || i >= nd) return 1;
        out[k] = data[i];
    }
    *cnt = ni;
    return 0;
}

/* Slice of a 1-D shape value with constant bounds (the plan inference made). */
static int sv_slice(ir_graph *g, const ir_node *n, ir_dim *out, int *cnt) {
    ir_dim data[IR_SVAL_MAX];
    int nd;
    mv_slice s;
    if (g->values[n->in[0]].rank != 1 || in_sval(g, n, 0, data, &nd) || mv_slice_plan(g, n, &s, NULL) ||
        !ir_dim_is_const(s.start[0]) || !ir_dim_is_const(s.size[0]))
        return 1;
    for (int64_t k = 0; k < s.size[0].c; k++) {
        int64_t i = s.start[0].c + k * s.step[0];
        if (i < 0 || i >= nd) return 1;
        out[k] = data[i];
    }
    *cnt = (int)s.size[0].c;
    return 0;
}

static int sv_concat(ir_graph *g, const ir_node *n, ir_dim *out, int *cnt) {
    int total = 0;
    for (uint32_t i = 0; i < n->n_in; i++) {
        int c;
        if (g->values[n->in[i]].rank != 1 || ir_value_sval(g, n->in[i], out + total, IR_SVAL_MAX - total, &c)) return 1;
        total += c;
    }
    *cnt = total;
    return 0;
}

/* ONNX integer division truncates; Mod (fmod = 0) takes the divisor's sign. */
static int64_t trunc_div(int64_t a, int64_t b) { return a / b; }
static int64_t floor_mod(int64_t a, int64_t b) {
    int64_t r = a % b;
    return r != 0 && ((r < 0) != (b < 0)) ? r + b : r;
}

/* One element of an integer binary op, or false when the result is not
 * known or would be a symbolic expression with a negative part. */
static bool sv_arith(ir_graph *g, const ir_node *n, ir_dim a, ir_dim b, ir_dim *r) {
    bool ca = ir_dim_is_const(a), cb = ir_dim_is_const(b);
    if (ca && cb) { /* constants: ONNX's semantics, any sign */
        int64_t x = a.c, y = b.c, v;
        switch (n->op) {
        case IR_OP_Add: if (__builtin_add_overflow(x, y, &v)) return false; break;
        case IR_OP_Sub: if (__builtin_sub_overflow(x, y, &v)) return false; break;
        case IR_OP_Mul: if (__builtin_mul_overflow(x, y, &v)) return false; break;
        case IR_OP_Div: if (y == 0 || (x == INT64_MIN && y == -1)) return false; v = trunc_div(x, y); break;
        case IR_OP_Mod:
            if (y == 0 || (x == INT64_MIN && y == -1)) return false;
            v = ir_attr_int(n, "fmod") ? x % y : floor_mod(x, y);
            break;
        case IR_OP_Min: v = x < y ? x : y; break;
        case IR_OP_Max: v = x > y ? x : y; break;
        default: return false;
        }
        *r = ir_dim_const(v);
        return true;
    }
    /* a symbol is a size (>= 0): keep every constant in the expression >= 0 */
    switch (n->op) {
    case IR_OP_Add:
        if ((ca && a.c < 0) || (cb && b.c < 0)) {
            ir_dim s = ca ? b : a, c = ca ? a : b;
            if (c.c == INT64_MIN) return false;
            *r = ir_dim_sub(g, s, ir_dim_const(-c.c));
        } else {
            *r = ir_dim_add(g, a, b);
        }
        return true;
    case IR_OP_Sub:
        if (cb && b.c < 0) {
            if (b.c == INT64_MIN) return false;
            *r = ir_dim_add(g, a, ir_dim_const(-b.c));
        }
        else if (ca) return false; /* c - size: often negative */
        else *r = ir_dim_sub(g, a, b);
        return !ir_dim_is_const(*r) || r->c >= 0;
    case IR_OP_Mul:
        if ((ca && a.c < 0) || (cb && b.c < 0)) return false;
        *r = ir_dim_mul(g, a, b);
        return true;
    case IR_OP_Div:
        if ((ca && a.c < 0) || (cb && b.c <= 0)) return false;
        *r = ir_dim_div(g, a, b); /* floor = truncation on non-negative operands */
        return true;
    case IR_OP_Mod:
        if (ca || !cb || b.c <= 0 || ir_attr_int(n, "fmod")) return false;
        *r = ir_dim_expr(g, IR_SYM_MOD, a, b);
        return true;
    case IR_OP_Min: *r = ir_dim_expr(g, IR_SYM_MIN, a, b); return true;
    case IR_OP_Max: *r = ir_dim_expr(g, IR_SYM_MAX, a, b); return true;
    default: return false;
    }
}

/* Element k of a shape value of length len broadcast to the output. */
static ir_dim bcast_at(const ir_dim *v, int len, int k) { return v[len == 1 ? 0 : k]; }

/* The output length of a broadcast of lengths (1 or n), or -1. */
static int bcast_len(const int *len, int count, const ir_graph *g, const ir_node *n) {
    int64_t out = small_numel(&g->values[n->out[0]]);
    for (int i = 0; i < count; i++)
        if (len[i] != 1 && len[i] != out) return -1;
    return (int)out;
}

/* Add, Sub, Mul, Div, Mod, Min, Max on integer shape values (Min and Max
 * with any number of operands). */
static int sv_binary(ir_graph *g, const ir_node *n, ir_dim *out, int *cnt) {
    if (!ir_dtype_is_int(g->values[n->out[0]].dtype) || n->n_in > 8) return 1;
    ir_dim v[8][IR_SVAL_MAX];
    int len[8];
    for (uint32_t i = 0; i < n->n_in; i++)
        if (in_sval(g, n, i, v[i], &len[i])) return 1;
    int m = bcast_len(len, (int)n->n_in, g, n);
    if (m < 0) return 1;
    for (int k = 0; k < m; k++) {
        out[k] = bcast_at(v[0], len[0], k);
        for (uint32_t i = 1; i < n->n_in; i++)
            if (!sv_arith(g, n, out[k], bcast_at(v[i], len[i], k), &out[k])) return 1;
    }
    *cnt = m;
    return 0;
}

/* Equal, where decidable: equal dims, two constants, or a size against a
 * negative constant (torch's `shape == -1` of expand(n, -1, -1)). */
static int sv_equal(ir_graph *g, const ir_node *n, ir_dim *out, int *cnt) {
    ir_dim a[IR_SVAL_MAX], b[IR_SVAL_MAX];
    int len[2];
    if (in_sval(g, n, 0, a, &len[0]) || in_sval(g, n, 1, b, &len[1])) return 1;
    int m = bcast_len(len, 2, g, n);
    if (m < 0) return 1;
    for (int k = 0; k < m; k++) {
        ir_dim x = bcast_at(a, len[0], k), y = bcast_at(b, len[1], k);
        if (ir_dim_eq(x, y)) out[k] = ir_dim_const(1);
        else if (ir_dim_is_const(x) && ir_dim_is_const(y)) out[k] = ir_dim_const(0);
        else if ((ir_dim_is_const(x) && x.c < 0) || (ir_dim_is_const(y) && y.c < 0)) out[k] = ir_dim_const(0);
        else return 1;
    }
    *cnt = m;
    return 0;
}

/* Where with a known condition picks elements of known shape values. */
static int sv_where(ir_graph *g, const ir_node *n, ir_dim *out, int *cnt) {
    ir_dim v[3][IR_SVAL_MAX];
    int len[3];
    for (uint32_t i = 0; i < 3; i++)
        if (in_sval(g, n, i, v[i], &len[i])) return 1;
    int m = bcast_len(len, 3, g, n);
    if (m < 0) return 1;
    for (int k = 0; k < m; k++) {
        ir_dim c = bcast_at(v[0], len[0], k);
        if (!ir_dim_is_const(c)) return 1;
        out[k] = bcast_at(v[c.c ? 1 : 2], len[c.c ? 1 : 2], k);
    }
    *cnt = m;
    return 0;
}

static const sv_rule rules[IR_OP_COUNT] = {
    [IR_OP_Shape] = sv_shape,       [IR_OP_Size] = sv_size,       [IR_OP_Identity] = sv_same,
    [IR_OP_Reshape] = sv_same,      [IR_OP_Squeeze] = sv_same,    [IR_OP_Unsqueeze] = sv_same,
    [IR_OP_Flatten] = sv_same,      [IR_OP_Cast] = sv_cast,       [IR_OP_Gather] = sv_gather,
    [IR_OP_Slice] = sv_slice,       [IR_OP_Concat] = sv_concat,   [IR_OP_Add] = sv_binary,
    [IR_OP_Sub] = sv_binary,        [IR_OP_Mul] = sv_binary,      [IR_OP_Div] = sv_binary,
    [IR_OP_Mod] = sv_binary,        [IR_OP_Min] = sv_binary,      [IR_OP_Max] = sv_binary,
    [IR_OP_Equal] = sv_equal,       [IR_OP_Where] = sv_where,
};

int infer_shape_value(ir_graph *g, ir_id node) {
    const ir_node *n = &g->nodes[node];
    sv_rule rule = rules[n->op];
    if (!rule || n->n_out != 1 || n->out[0] == IR_NONE) return 0;
    ir_value *o = &g->values[n->out[0]];
    int64_t numel = small_numel(o);
    if (numel < 0 || numel > IR_SVAL_MAX || !sval_dtype(o->dtype)) return 0;
    ir_dim e[IR_SVAL_MAX];
    int cnt = 0;
    if (rule(g, n, e, &cnt) || cnt != numel) return 0;
    for (int k = 0; k < cnt; k++)
        if (ir_dim_is_const(e[k]) && e[k].c == INT64_MIN) return 0; /* an invalid expression */
    o = &g->values[n->out[0]]; /* rules may add symbols, not values; re-read anyway */
    o->sval = numel ? arena_memdup(&g->arena, e, (size_t)numel, sizeof *e) : NULL;
    return numel && !o->sval ? -1 : 0;
}
