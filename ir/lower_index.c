/* lower_index.c — lowering of the ops that address data through index
 * tensors: GatherElements, GatherND, ScatterElements, ScatterND, OneHot,
 * ReverseSequence, Compress.
 *
 * Gathers are one loop kernel whose load index is itself a loaded value
 * (negative indices normalized at run time). A scatter writes a copy of the
 * data with some positions replaced; the kernel IR has no scattered stores,
 * so each output point searches the updates for the ones aimed at it: a
 * reduction over the update positions with a select. Reduction none keeps
 * the last matching position (MAX of the position, -1 when none matches)
 * and loads that update in the post expression; add/mul/max/min reduce the
 * matching updates and combine them with the data in the post expression.
 * The search costs O(output size x searched updates) — fine for the
 * interpreter and small index tensors, the price of expressing a scatter as
 * a loop nest. Compress searches, for each output position, the source
 * position whose running count of true conditions matches it.
 */
#include <string.h>

#include "lower.h"
#include "movement.h"

#define NODE (&p->g->nodes[node])

/* ---- gathers ------------------------------------------------------------------------- */

int lower_gather_elements(kir_program *p, ir_id node, diag *d) {
    const ir_value *x = mv_val(p, NODE->in[0]);
    int axis = mv_axis(NODE, "axis", x->rank);
    /* out (I...) [i] = data[i with axis -> indices[i]] */
    uint32_t idx[IR_MAX_RANK];
    for (int i = 0; i < x->rank; i++) idx[i] = kb_idx(p, i);
    idx[axis] = mv_norm_index(p, kb_load_same(p, mv_in(p, node, 1)), x->dims[axis]);
    return mv_emit(p, node, mv_out(p, node, 0), kb_load(p, mv_in(p, node, 0), idx));
}

/* Entry j of the index tuple at tuple position pos[0..q-1) of an ND index
 * tensor, normalized against data axis `axis`. */
static uint32_t nd_index(kir_program *p, uint32_t ind, const uint32_t *pos, int q, int j, ir_dim dim) {
    uint32_t at[IR_MAX_RANK];
    memcpy(at, pos, sizeof(uint32_t) * (size_t)(q - 1));
    at[q - 1] = mv_i(p, j);
    return mv_norm_index(p, kb_load(p, ind, at), dim);
}

int lower_gather_nd(kir_program *p, ir_id node, diag *d) {
    const ir_value *x = mv_val(p, NODE->in[0]), *ind = mv_val(p, NODE->in[1]);
    int b = (int)ir_attr_int(NODE, "batch_dims"), q = ind->rank, k = (int)ind->dims[q - 1].c;
    /* out (B..., M..., D[b+k:]) = data[B..., indices[B..., M..., 0..k), D[b+k:]...] */
    uint32_t pos[IR_MAX_RANK], idx[IR_MAX_RANK];
    for (int i = 0; i < q - 1; i++) pos[i] = kb_idx(p, i);
    for (int i = 0; i < x->rank; i++)
        idx[i] = i < b ? kb_idx(p, i)
               : i < b + k ? nd_index(p, mv_in(p, node, 1), pos, q, i - b, x->dims[i])
                           : kb_idx(p, q - 1 + i - b - k);
    return mv_emit(p, node, mv_out(p, node, 0), kb_load(p, mv_in(p, node, 0), idx));
}

/* ---- scatters ------------------------------------------------------------------------- */

typedef struct scatter {
    kir_reduce red;     /* KR_MAX of the position for reduction none */
    bool last;          /* reduction none */
} scatter;

static int scatter_reduction(kir_program *p, ir_id node, scatter *s, diag *d) {
    const char *r = ir_attr_str(NODE, "reduction");
    s->last = !strcmp(r, "none");
    s->red = s->last || !strcmp(r, "max") ? KR_MAX : !strcmp(r, "add") ? KR_SUM : !strcmp(r, "mul") ? KR_PROD
           : !strcmp(r, "min") ? KR_MIN : KR_NONE;
    if (s->red == KR_NONE) return ir_node_error(p->g, NODE, d, "reduction '%s' is not supported", r);
    return 0;
}

/* The reduction body for matching updates: the update where hit, else the
 * reduction's neutral value. */
static uint32_t masked_update(kir_program *p, kir_reduce r, uint32_t hit, uint32_t upd) {
    ir_dtype t = kb_type(p, upd);
    uint32_t neutral = ir_dtype_is_float(t) ? kb_const_f(p, t, kb_reduce_init_f(r)) : kb_const_i(p, t, kb_reduce_init_i(r, t));
    return kb_select(p, hit, upd, neutral);
}

/* Combine the reduced updates (ACC) with the data element. */
static uint32_t combine(kir_program *p, kir_reduce r, uint32_t data, uint32_t acc) {
    kx_op op = r == KR_SUM ? KX_ADD : r == KR_PROD ? KX_MUL : r == KR_MAX ? KX_MAX : KX_MIN;
    return kb_bin(p, op, data, acc);
}

/* Emit a scatter kernel: reduce over red[0..rrank) with the match condition
 * hit, where upd_at loads the update at the reduction point. For the last-hit
 * form, pos is the reduction point's linear position and upd_of_pos(ACC)
 * the post-expression load of the chosen update. */
static int emit_scatter(kir_program *p, ir_id node, const scatter *s, int rrank, const ir_dim *red, uint32_t hit,
                        uint32_t upd_at, uint32_t pos, uint32_t upd_of_acc) {
    ir_dtype t = mv_val(p, NODE->out[0])->dtype;
    uint32_t data = kb_load_same(p, mv_in(p, node, 0));
    if (s->last) {
        uint32_t acc = kb_acc(p, IR_I64);
        uint32_t post = kb_select(p, kb_bin(p, KX_GE, acc, mv_i(p, 0)), upd_of_acc, data);
        return kb_reduce(p, node, mv_out(p, node, 0), KR_MAX, rrank, red, IR_I64,
                         kb_select(p, hit, pos, mv_i(p, -1)), post) < 0 ? -1 : 0;
    }
    uint32_t post = combine(p, s->red, data, kb_acc(p, t));
    return kb_reduce(p, node, mv_out(p, node, 0), s->red, rrank, red, t, masked_update(p, s->red, hit, upd_at), post) < 0 ? -1 : 0;
}

int lower_scatter_elements(kir_program *p, ir_id node, diag *d) {
    scatter s;
    if (scatter_reduction(p, node, &s, d)) return -1;
    const ir_value *x = mv_val(p, NODE->in[0]), *upd = mv_val(p, NODE->in[2]);
    int axis = mv_axis(NODE, "axis", x->rank);
    /* out (D...) [i] = data[i] combined with updates[u] for every u along the
     * updates' axis with u = i off the axis and indices[u] == i[axis] */
    uint32_t u[IR_MAX_RANK], hit = kb_const_i(p, IR_BOOL, 1);
    for (int i = 0; i < x->rank; i++) {
        u[i] = i == axis ? kb_ridx(p, 0) : kb_idx(p, i);
        if (i != axis && !ir_dim_eq(upd->dims[i], x->dims[i]))
            hit = mv_and(p, hit, kb_bin(p, KX_LT, kb_idx(p, i), kb_dim(p, upd->dims[i])));
    }
    uint32_t target = mv_norm_index(p, kb_load(p, mv_in(p, node, 1), u), x->dims[axis]);
    hit = mv_and(p, hit, kb_bin(p, KX_EQ, target, kb_idx(p, axis)));
    uint32_t upd_at = kb_load(p, mv_in(p, node, 2), u);
    u[axis] = kb_acc(p, IR_I64);
    return emit_scatter(p, node, &s, 1, &upd->dims[axis], hit, upd_at, kb_ridx(p, 0), kb_load(p, mv_in(p, node, 2), u));
}

int lower_scatter_nd(kir_program *p, ir_id node, diag *d) {
    scatter s;
    if (scatter_reduction(p, node, &s, d)) return -1;
    const ir_value *x = mv_val(p, NODE->in[0]), *ind = mv_val(p, NODE->in[1]);
    int q = ind->rank, k = (int)ind->dims[q - 1].c;
    /* out (D...) [i] = data[i] combined with updates[m, i[k:]...] for every tuple
     * position m of indices (M..., k) whose tuple equals i[:k] */
    uint32_t m[IR_MAX_RANK], u[IR_MAX_RANK], hit = kb_const_i(p, IR_BOOL, 1);
    for (int i = 0; i < q - 1; i++) m[i] = kb_ridx(p, i);
    for (int j = 0; j < k; j++)
        hit = mv_and(p, hit, kb_bin(p, KX_EQ, nd_index(p, mv_in(p, node, 1), m, q, j, x->dims[j]), kb_idx(p, j)));
    for (int i = k; i < x->rank; i++) u[q - 1 + i - k] = kb_idx(p, i);
    memcpy(u, m, sizeof(uint32_t) * (size_t)(q - 1));
    uint32_t upd_at = kb_load(p, mv_in(p, node, 2), u);
    uint32_t pos = mv_linearize(p, m, ind->dims, q - 1);
    mv_unravel(p, kb_acc(p, IR_I64), ind->dims, q - 1, u);
    return emit_scatter(p, node, &s, q - 1, ind->dims, hit, upd_at, pos, kb_load(p, mv_in(p, node, 2), u));
}

/* ---- OneHot, ReverseSequence ------------------------------------------------------------- */

int lower_one_hot(kir_program *p, ir_id node, diag *d) {
    const ir_value *o = mv_val(p, NODE->out[0]);
    int axis = mv_axis(NODE, "axis", o->rank);
    /* out (I[:axis], depth, I[axis:]) [.., j, ..] = j == indices[..] ? on : off,
     * negative indices counted from depth */
    uint32_t idx[IR_MAX_RANK];
    for (int i = 0; i < o->rank - 1; i++) idx[i] = kb_idx(p, i < axis ? i : i + 1);
    uint32_t at = mv_norm_index(p, kb_load(p, mv_in(p, node, 0), idx), o->dims[axis]);
    uint32_t body = kb_select(p, kb_bin(p, KX_EQ, kb_idx(p, axis), at), mv_element(p, NODE->in[2], 1),
                              mv_element(p, NODE->in[2], 0));
    return mv_emit(p, node, mv_out(p, node, 0), body);
}

int lower_reverse_sequence(kir_program *p, ir_id node, diag *d) {
    const ir_value *x = mv_val(p, NODE->in[0]);
    int ba = (int)ir_attr_int(NODE, "batch_axis"), ta = (int)ir_attr_int(NODE, "time_axis");
    /* out[.., t, b, ..] = t < len[b] ? x[.., len[b]-1-t, b, ..] : x[.., t, b, ..] */
    uint32_t t = kb_idx(p, ta), bidx = kb_idx(p, ba), idx[IR_MAX_RANK];
    uint32_t len = kb_cast(p, IR_I64, kb_load(p, mv_in(p, node, 1), &bidx), false);
    for (int i = 0; i < x->rank; i++) idx[i] = kb_idx(p, i);
    idx[ta] = kb_select(p, kb_bin(p, KX_LT, t, len), mv_ibin(p, KX_SUB, mv_ibin(p, KX_SUB, len, mv_i(p, 1)), t), t);
    return mv_emit(p, node, mv_out(p, node, 0), kb_load(p, mv_in(p, node, 0), idx));
}

/* ---- Compress -------------------------------------------------------------------------------- */

int lower_compress(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = mv_val(p, n->in[0]), *c = mv_val(p, n->in[1]);
    bool has_axis = ir_attr_is_set(n, "axis");
    int axis = has_axis ? mv_axis(n, "axis", x->rank) : 0;
    ir_dim len = c->dims[0];
    uint32_t cond = mv_in(p, node, 1), r = kb_ridx(p, 0);
    /* count (L) [i] = number of true conditions in [0, i]: O(L^2) */
    char name[256];
    snprintf(name, sizeof name, "%s_count", n->name);
    uint32_t count = kb_temp(p, name, IR_I64, 1, &len);
    uint32_t upto = kb_bin(p, KX_AND, kb_bin(p, KX_LE, r, kb_idx(p, 0)), kb_load(p, cond, &r));
    if (kb_reduce(p, node, count, KR_SUM, 1, &len, IR_I64, kb_select(p, upto, mv_i(p, 1), mv_i(p, 0)), KIR_NONE) < 0)
        return -1;
    /* out (.., K, ..) [.., j, ..] = x[.., s, ..] for the s with cond[s] and count[s] == j + 1:
     * a MIN over the condition, O(out x L); without axis x is read flattened */
    uint32_t at = kb_idx(p, axis);
    uint32_t hit = kb_bin(p, KX_AND, kb_load(p, cond, &r), kb_bin(p, KX_EQ, kb_load(p, count, &r), kb_iadd(p, at, 1)));
    uint32_t src = kb_acc(p, IR_I64), idx[IR_MAX_RANK];
    if (has_axis) {
        for (int i = 0; i < x->rank; i++) idx[i] = i == axis ? src : kb_idx(p, i);
    } else {
        mv_unravel(p, src, x->dims, x->rank, idx);
    }
    return kb_reduce(p, node, mv_out(p, node, 0), KR_MIN, 1, &len, IR_I64, kb_select(p, hit, r, mv_i(p, INT64_MAX)),
                     kb_load(p, mv_in(p, node, 0), idx)) < 0 ? -1 : 0;
}
