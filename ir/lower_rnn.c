/* lower_rnn.c — lowering of the recurrent layers RNN, GRU and LSTM.
 *
 * The time loop is unrolled here, at lowering: one small set of loop kernels
 * per step. Why not a library kernel running the recurrence: the kernel IR
 * has no loop around kernels, and a library routine would be an opaque
 * RNN/GRU/LSTM implementation that every backend re-implements with all of
 * its activations, directions and masks; unrolled, a layer is contractions
 * (the backends' contraction templates) and elementwise gates, which every
 * backend already compiles. The cost: the sequence length must be a
 * compile-time constant (smelt run fixes symbolic sizes from its inputs; a
 * symbolic one is refused here) of at most RNN_MAX_STEPS, and the program
 * grows linearly with it.
 *
 * Kernels, for D directions, batch B, hidden size H, G gates (rnn.h):
 *   xw (D, S, B, G*H) = X_t . W^T + Wb + Rb      one contraction for all steps
 *   per step s, all directions in each kernel (direction d = an index):
 *     RNN   state_s (1, D, B, H) = f(xw + h_{s-1} . R^T)
 *     GRU   zr_s    (D, B, 2H)   = f(xw[z,r] + h_{s-1} . R[z,r]^T)
 *           state_s (1, D, B, H) = (1-z) g(xw[h] + (r h_{s-1}) . R[h]^T) + z h_{s-1}
 *                                  (linear_before_reset: r (h_{s-1} . R[h]^T + Rb[h]))
 *     LSTM  gates_s (D, B, 4H)   = xw + h_{s-1} . R^T
 *           state_s (2, D, B, H) = h_s, c_s from the gates, c_{s-1} and the peepholes
 *   Y stacks the steps' h; Y_h, Y_c copy the last state.
 * A kernel writes a whole buffer, so Y reads each time's h from the step
 * buffers through a chain of S selects: O(S) work per element of Y.
 * Each recurrent sum carries its cell's update as the post expression, so a
 * state is the output of a reduction (or, for LSTM, read by the next step's
 * reduction) and fusion never inlines one step into the next. LSTM keeps h
 * and c in one state buffer for the same reason: c_s alone would be an
 * elementwise chain through all steps.
 *
 * A direction that runs in reverse reads, at step s, time len_b - 1 - s of
 * batch entry b (len_b = sequence_lens[b], or S), as onnxruntime does. Steps
 * at or past len_b leave the state unchanged (so Y_h is the state after the
 * last step inside the sequence) and give Y = 0. clip bounds the inputs of
 * the gate activations (f and g), not the input of h.
 */
#include <stdio.h>

#include "lower_nn.h"
#include "lower_reduce.h"
#include "rnn.h"

#define NODE (&p->g->nodes[node])
#define RNN_MAX_STEPS 4096

typedef struct rnn_low {
    kir_program *p;
    ir_id node;
    rnn_attrs a;
    ir_dtype t;        /* the type states and gates are computed in */
    int64_t steps;     /* S */
    ir_dim dirs, batch, hidden;
    uint32_t x, w, r, bias, lens, h0, c0, peep; /* input buffers, KIR_NONE when omitted */
    uint32_t xw;       /* (D, S, B, G*H) */
    uint32_t *state;   /* state after step s: (1 or 2, D, B, H): h, then c for LSTM */
} rnn_low;

/* Index expressions of a point: direction, batch entry, unit (a hidden unit
 * or a gate row). */
typedef struct rnn_at {
    uint32_t d, b, j;
} rnn_at;

/* ---- small expressions ---------------------------------------------------------- */

static uint32_t ix(rnn_low *L, int64_t v) { return nn_ix(L->p, v); }
static uint32_t fc(rnn_low *L, double v) { return kb_const_f(L->p, L->t, v); }
static uint32_t add(rnn_low *L, uint32_t a, uint32_t b) { return kb_bin(L->p, KX_ADD, a, b); }
static uint32_t mul(rnn_low *L, uint32_t a, uint32_t b) { return kb_bin(L->p, KX_MUL, a, b); }

static uint32_t load_t(rnn_low *L, uint32_t buf, const uint32_t *idx) {
    return kb_cast(L->p, L->t, kb_load(L->p, buf, idx), false);
}

/* e0 for direction 0, e1 for direction 1 (bidirectional), at direction d. */
static uint32_t per_dir(rnn_low *L, uint32_t d, uint32_t e0, uint32_t e1) {
    if (L->a.n_dirs == 1) return e0;
    return kb_select(L->p, kb_bin(L->p, KX_EQ, d, ix(L, 1)), e1, e0);
}

/* Row j of gate g in W, R, B and the gate buffers: g*H + j. */
static uint32_t gate_row(rnn_low *L, int g, uint32_t j) {
    return add(L, kb_bin(L->p, KX_MUL, ix(L, g), kb_dim(L->p, L->hidden)), j);
}

/* ---- time ---------------------------------------------------------------------------- */

/* The sequence length of batch entry b (i64). */
static uint32_t seq_len(rnn_low *L, uint32_t b) {
    if (L->lens == KIR_NONE) return ix(L, L->steps);
    return kb_cast(L->p, IR_I64, kb_load(L->p, L->lens, &b), false);
}

/* The time that direction d reads for batch entry b at step s; the map is its
 * own inverse, so it is also the step at which time s is read. */
static uint32_t time_of(rnn_low *L, uint32_t d, uint32_t b, uint32_t s) {
    uint32_t rev = kb_bin(L->p, KX_SUB, kb_bin(L->p, KX_SUB, seq_len(L, b), ix(L, 1)), s);
    return per_dir(L, d, L->a.reverse[0] ? rev : s, L->a.reverse[1] ? rev : s);
}

/* Whether step (or time) s lies inside batch entry b's sequence; KIR_NONE: always. */
static uint32_t in_sequence(rnn_low *L, uint32_t b, uint32_t s) {
    return L->lens == KIR_NONE ? KIR_NONE : kb_bin(L->p, KX_LT, s, seq_len(L, b));
}

/* ---- states ---------------------------------------------------------------------------- */

/* Where part k (0: h, 1: c) of the state before step s lives at point at: a
 * step's state buffer, or initial_h / initial_c ((batch, dirs, hidden) under
 * layout 1). Returns false when it is 0 (first step, no initial state). */
static bool state_ref(rnn_low *L, int64_t s, int k, rnn_at at, uint32_t *buf, uint32_t *idx) {
    if (s > 0) {
        *buf = L->state[s - 1];
        idx[0] = ix(L, k), idx[1] = at.d, idx[2] = at.b, idx[3] = at.j;
        return true;
    }
    *buf = k ? L->c0 : L->h0;
    idx[0] = L->a.batch_first ? at.b : at.d;
    idx[1] = L->a.batch_first ? at.d : at.b;
    idx[2] = at.j;
    return *buf != KIR_NONE;
}

static uint32_t state_before(rnn_low *L, int64_t s, int k, rnn_at at) {
    uint32_t buf, idx[4];
    return state_ref(L, s, k, at, &buf, idx) ? load_t(L, buf, idx) : fc(L, 0);
}

/* new where step s lies inside the sequence of batch entry at.b, else old. */
static uint32_t inside_or(rnn_low *L, int64_t s, rnn_at at, uint32_t new_v, uint32_t old_v) {
    uint32_t in = in_sequence(L, at.b, ix(L, s));
    return in == KIR_NONE ? new_v : kb_select(L->p, in, new_v, old_v);
}

/* ---- activations ------------------------------------------------------------------------ */

static uint32_t act_one(rnn_low *L, const rnn_act *f, uint32_t x) {
    switch (f->kind) {
    case RNN_FN_AFFINE: return add(L, mul(L, fc(L, f->alpha), x), fc(L, f->beta));
    case RNN_FN_SCALED_TANH: return mul(L, fc(L, f->alpha), kb_un(L->p, KX_TANH, mul(L, fc(L, f->beta), x)));
    case RNN_FN_OP: break;
    }
    if (f->op == IR_OP_Tanh) return kb_un(L->p, KX_TANH, x);
    return lower_activation_expr(L->p, f->op, x, f->alpha, f->beta); /* a float op of rnn.c's table */
}

/* Activation k (0 f, 1 g, 2 h) of direction d applied to x, clipped first
 * when `gate` (the input of a gate activation) and clip is set. */
static uint32_t activate(rnn_low *L, uint32_t d, int k, uint32_t x, bool gate) {
    if (gate && L->a.clip)
        x = kb_bin(L->p, KX_MIN, kb_bin(L->p, KX_MAX, x, fc(L, -L->a.clip_at)), fc(L, L->a.clip_at));
    return per_dir(L, d, act_one(L, &L->a.act[0][k], x), act_one(L, &L->a.act[L->a.n_dirs - 1][k], x));
}

/* ---- kernels ---------------------------------------------------------------------------- */

/* Points of the kernels: gate buffers (D, B, rows), states (K, D, B, H). */
static rnn_at gate_point(rnn_low *L) { return (rnn_at){kb_idx(L->p, 0), kb_idx(L->p, 1), kb_idx(L->p, 2)}; }
static rnn_at state_point(rnn_low *L) { return (rnn_at){kb_idx(L->p, 1), kb_idx(L->p, 2), kb_idx(L->p, 3)}; }

/* X . W^T + biases at (d, t, b, j) for all steps:
 * X (S, B, I) [layout 1: (B, S, I)], W (D, G*H, I) -> xw (D, S, B, G*H).
 * GRU with linear_before_reset keeps Rb of the h gate out (it goes inside r). */
static int emit_input_projection(rnn_low *L) {
    kir_program *p = L->p;
    uint32_t d = kb_idx(p, 0), t = kb_idx(p, 1), b = kb_idx(p, 2), j = kb_idx(p, 3), k = kb_ridx(p, 0);
    nn_contraction c = {.n = 2, .rrank = 1};
    c.op[0] = nn_operand_of(p, rnn_input(&p->g->nodes[L->node], RNN_X));
    c.op[1] = nn_operand_of(p, rnn_input(&p->g->nodes[L->node], RNN_W));
    c.op[0].idx[0] = L->a.batch_first ? b : t;
    c.op[0].idx[1] = L->a.batch_first ? t : b;
    c.op[0].idx[2] = k;
    c.op[1].idx[0] = d, c.op[1].idx[1] = j, c.op[1].idx[2] = k;
    c.red[0] = kb_buf(p, L->x)->dims[2];
    uint32_t post = KIR_NONE;
    if (L->bias != KIR_NONE) {
        uint32_t wb_idx[2] = {d, j}, rb_idx[2] = {d, gate_row(L, L->a.gates, j)};
        uint32_t rb = load_t(L, L->bias, rb_idx);
        if (L->a.cell == RNN_CELL_GRU && L->a.linear_before_reset)
            rb = kb_select(p, kb_bin(p, KX_LT, j, gate_row(L, 2, ix(L, 0))), rb, fc(L, 0));
        post = add(L, add(L, kb_acc(p, L->t), load_t(L, L->bias, wb_idx)), rb);
    }
    return nn_contraction_emit(p, L->node, L->xw, &c, L->t, post);
}

/* The step-s recurrent sum into out at point at:
 *   acc = sum over k of [scale *] h_{s-1}[d, b, k] * R[d, row, k],
 * with post (an expression of rec_acc) as the stored value. Before the first
 * step without initial_h, h_{s-1} = 0: acc is 0 and the kernel elementwise. */
static bool has_prev_h(rnn_low *L, int64_t s) { return s > 0 || L->h0 != KIR_NONE; }
static uint32_t rec_acc(rnn_low *L, int64_t s) { return has_prev_h(L, s) ? kb_acc(L->p, L->t) : fc(L, 0); }

static int emit_recurrent(rnn_low *L, int64_t s, uint32_t out, rnn_at at, uint32_t row, const nn_operand *scale,
                          uint32_t post) {
    kir_program *p = L->p;
    if (!has_prev_h(L, s)) return kb_kernel(p, L->node, out, post) < 0 ? -1 : 0;
    uint32_t k = kb_ridx(p, 0);
    rnn_at ak = {at.d, at.b, k};
    nn_contraction c = {.n = 2, .rrank = 1, .red = {L->hidden}};
    c.op[0] = (nn_operand){.inside = KIR_NONE, .zp = IR_NONE};
    state_ref(L, s, 0, ak, &c.op[0].buf, c.op[0].idx);
    c.op[1] = (nn_operand){.buf = L->r, .idx = {at.d, row, k}, .inside = KIR_NONE, .zp = IR_NONE};
    if (scale) c.op[c.n++] = *scale;
    return nn_contraction_emit(p, L->node, out, &c, L->t, post);
}

/* Temporaries named after the node, the step and what they hold. */
static uint32_t step_temp(rnn_low *L, const char *what, int64_t s, int rank, const ir_dim *dims) {
    char name[64];
    snprintf(name, sizeof name, "%s%lld", what, (long long)s);
    return lr_temp(L->p, L->node, name, L->t, rank, dims);
}

/* Gate values of step s: (D, B, n_gates * H). */
static uint32_t gates_temp(rnn_low *L, const char *what, int64_t s, int n_gates) {
    ir_dim dims[3] = {L->dirs, L->batch, ir_dim_mul(L->p->g, ir_dim_const(n_gates), L->hidden)};
    return step_temp(L, what, s, 3, dims);
}

/* ---- cells ------------------------------------------------------------------------------ */

/* RNN: h_s = f(xw + h_{s-1} . R^T) into state_s (1, D, B, H). */
static int rnn_step(rnn_low *L, int64_t s) {
    rnn_at at = state_point(L);
    uint32_t xw_idx[4] = {at.d, time_of(L, at.d, at.b, ix(L, s)), at.b, at.j};
    uint32_t h = activate(L, at.d, 0, add(L, rec_acc(L, s), kb_load(L->p, L->xw, xw_idx)), true);
    return emit_recurrent(L, s, L->state[s], at, at.j, NULL, inside_or(L, s, at, h, state_before(L, s, 0, at)));
}

/* GRU: the update and reset gates z, r = f(xw + h_{s-1} . R^T) into
 * zr (D, B, 2H), then h_s = (1 - z) h~ + z h_{s-1} into state_s (1, D, B, H) with
 *   h~ = g(xw[h] + (r h_{s-1}) . R[h]^T)              (r scales the sum's terms)
 *   h~ = g(xw[h] + r (h_{s-1} . R[h]^T + Rb[h]))     (linear_before_reset: r scales the sum) */
static int gru_step(rnn_low *L, int64_t s) {
    kir_program *p = L->p;
    uint32_t zr = gates_temp(L, "zr", s, 2);
    rnn_at g = gate_point(L);
    uint32_t g_idx[4] = {g.d, time_of(L, g.d, g.b, ix(L, s)), g.b, g.j};
    uint32_t zr_v = activate(L, g.d, 0, add(L, rec_acc(L, s), kb_load(p, L->xw, g_idx)), true);
    if (emit_recurrent(L, s, zr, g, g.j, NULL, zr_v)) return -1;

    rnn_at at = state_point(L);
    uint32_t row = gate_row(L, 2, at.j);
    uint32_t xw_idx[4] = {at.d, time_of(L, at.d, at.b, ix(L, s)), at.b, row};
    uint32_t z_idx[3] = {at.d, at.b, at.j}, r_idx[3] = {at.d, at.b, gate_row(L, 1, at.j)};
    uint32_t z = kb_load(p, zr, z_idx), prev = state_before(L, s, 0, at), pre;
    nn_operand reset = {.buf = zr, .idx = {at.d, at.b, gate_row(L, 1, kb_ridx(p, 0))}, .inside = KIR_NONE, .zp = IR_NONE};
    if (L->a.linear_before_reset) {
        uint32_t rb = fc(L, 0);
        if (L->bias != KIR_NONE) {
            uint32_t rb_idx[2] = {at.d, gate_row(L, L->a.gates + 2, at.j)};
            rb = load_t(L, L->bias, rb_idx);
        }
        pre = add(L, kb_load(p, L->xw, xw_idx), mul(L, kb_load(p, zr, r_idx), add(L, rec_acc(L, s), rb)));
    } else {
        pre = add(L, kb_load(p, L->xw, xw_idx), rec_acc(L, s));
    }
    uint32_t hh = activate(L, at.d, 1, pre, true);
    uint32_t h = add(L, mul(L, kb_bin(p, KX_SUB, fc(L, 1), z), hh), mul(L, z, prev));
    return emit_recurrent(L, s, L->state[s], at, row, L->a.linear_before_reset ? NULL : &reset,
                          inside_or(L, s, at, h, prev));
}

/* LSTM: the gates i, o, f, c = xw + h_{s-1} . R^T into gates (D, B, 4H), then
 * state_s (2, D, B, H) = h_s, c_s with (P: peepholes i, o, f)
 *   i = f(gi + Pi c_{s-1})   f = f(gf + Pf c_{s-1}) (input_forget: 1 - i)
 *   c_s = f c_{s-1} + i g(gc)   o = f(go + Po c_s)   h_s = o h(c_s) */
static int lstm_step(rnn_low *L, int64_t s) {
    kir_program *p = L->p;
    uint32_t gates = gates_temp(L, "gates", s, 4);
    rnn_at g = gate_point(L);
    uint32_t g_idx[4] = {g.d, time_of(L, g.d, g.b, ix(L, s)), g.b, g.j};
    if (emit_recurrent(L, s, gates, g, g.j, NULL, add(L, rec_acc(L, s), kb_load(p, L->xw, g_idx)))) return -1;

    rnn_at at = state_point(L);
    uint32_t gv[4], pv[3];
    for (int k = 0; k < 4; k++) {
        uint32_t idx[3] = {at.d, at.b, gate_row(L, k, at.j)};
        gv[k] = kb_load(p, gates, idx);
    }
    for (int k = 0; k < 3; k++) {
        uint32_t idx[2] = {at.d, gate_row(L, k, at.j)};
        pv[k] = L->peep == KIR_NONE ? fc(L, 0) : load_t(L, L->peep, idx);
    }
    uint32_t h_prev = state_before(L, s, 0, at), c_prev = state_before(L, s, 1, at);
    uint32_t i = activate(L, at.d, 0, add(L, gv[0], mul(L, pv[0], c_prev)), true);
    uint32_t f = L->a.input_forget ? kb_bin(p, KX_SUB, fc(L, 1), i)
                                   : activate(L, at.d, 0, add(L, gv[2], mul(L, pv[2], c_prev)), true);
    uint32_t c = add(L, mul(L, f, c_prev), mul(L, i, activate(L, at.d, 1, gv[3], true)));
    uint32_t o = activate(L, at.d, 0, add(L, gv[1], mul(L, pv[1], c)), true);
    uint32_t h = mul(L, o, activate(L, at.d, 2, c, false));
    uint32_t is_h = kb_bin(p, KX_EQ, kb_idx(p, 0), ix(L, 0));
    uint32_t v = inside_or(L, s, at, kb_select(p, is_h, h, c), kb_select(p, is_h, h_prev, c_prev));
    return kb_kernel(p, L->node, L->state[s], v) < 0 ? -1 : 0;
}

/* ---- outputs ---------------------------------------------------------------------------- */

/* Y: the h of the step that read time t, 0 past the sequence:
 * (S, D, B, H) [layout 1: (B, S, D, H)] at (t, d, b, j). */
static int emit_y(rnn_low *L, uint32_t out) {
    kir_program *p = L->p;
    bool bf = L->a.batch_first;
    uint32_t t = kb_idx(p, bf ? 1 : 0);
    rnn_at at = {kb_idx(p, bf ? 2 : 1), kb_idx(p, bf ? 0 : 2), kb_idx(p, 3)};
    uint32_t step = time_of(L, at.d, at.b, t);
    uint32_t v = state_before(L, L->steps, 0, at);
    for (int64_t s = L->steps - 2; s >= 0; s--)
        v = kb_select(p, kb_bin(p, KX_EQ, step, ix(L, s)), state_before(L, s + 1, 0, at), v);
    uint32_t in = in_sequence(L, at.b, t);
    if (in != KIR_NONE) v = kb_select(p, in, v, fc(L, 0));
    return kb_kernel(p, L->node, out, kb_cast(p, kb_buf(p, out)->dtype, v, false)) < 0 ? -1 : 0;
}

/* Y_h, Y_c: part k of the last state, (D, B, H) [layout 1: (B, D, H)]. */
static int emit_final(rnn_low *L, uint32_t out, int k) {
    kir_program *p = L->p;
    bool bf = L->a.batch_first;
    rnn_at at = {kb_idx(p, bf ? 1 : 0), kb_idx(p, bf ? 0 : 1), kb_idx(p, 2)};
    uint32_t v = state_before(L, L->steps, k, at);
    return kb_kernel(p, L->node, out, kb_cast(p, kb_buf(p, out)->dtype, v, false)) < 0 ? -1 : 0;
}

/* ---- the layer ---------------------------------------------------------------------------- */

static uint32_t input_buf(kir_program *p, ir_id node, uint32_t i) {
    ir_id v = rnn_input(NODE, i);
    return v == IR_NONE ? KIR_NONE : kb_value(p, v);
}

static int setup(rnn_low *L, diag *d) {
    kir_program *p = L->p;
    ir_id node = L->node;
    const ir_node *n = NODE;
    if (rnn_read_attrs(p->g, n, &L->a, d)) return -1;
    nn_bind_node(p, node);
    L->x = input_buf(p, node, RNN_X), L->w = input_buf(p, node, RNN_W), L->r = input_buf(p, node, RNN_R);
    L->bias = input_buf(p, node, RNN_B), L->lens = input_buf(p, node, RNN_SEQ_LENS);
    L->h0 = input_buf(p, node, RNN_INITIAL_H);
    L->c0 = L->a.cell == RNN_CELL_LSTM ? input_buf(p, node, RNN_INITIAL_C) : KIR_NONE;
    L->peep = L->a.cell == RNN_CELL_LSTM ? input_buf(p, node, RNN_P) : KIR_NONE;
    const kir_buffer *x = kb_buf(p, L->x);
    ir_dim seq = x->dims[L->a.batch_first ? 1 : 0];
    L->batch = x->dims[L->a.batch_first ? 0 : 1];
    L->t = nn_compute_type(x->dtype);
    L->dirs = ir_dim_const(L->a.n_dirs);
    L->hidden = kb_buf(p, L->r)->dims[2];
    if (!ir_dim_is_const(seq))
        return ir_node_error(p->g, n, d, "the sequence length of X is known only at run time; the layer is unrolled "
                             "over time and needs it at compile time (smelt run takes it from the input)");
    if (seq.c > RNN_MAX_STEPS)
        return ir_node_error(p->g, n, d, "sequence length %lld: at most %d steps are unrolled", (long long)seq.c,
                             RNN_MAX_STEPS);
    L->steps = seq.c;
    L->state = arena_array(&p->arena, (size_t)(L->steps ? L->steps : 1), sizeof *L->state);
    if (!L->state) return diag_error(d, "out of memory");
    ir_dim xw[4] = {L->dirs, seq, L->batch, kb_buf(p, L->w)->dims[1]};
    L->xw = lr_temp(p, node, "xw", L->t, 4, xw);
    ir_dim st[4] = {ir_dim_const(L->a.cell == RNN_CELL_LSTM ? 2 : 1), L->dirs, L->batch, L->hidden};
    for (int64_t s = 0; s < L->steps; s++) L->state[s] = step_temp(L, "state", s, 4, st);
    return 0;
}

int lower_rnn(kir_program *p, ir_id node, diag *d) {
    rnn_low L = {.p = p, .node = node};
    if (setup(&L, d) || emit_input_projection(&L)) return -1;
    for (int64_t s = 0; s < L.steps; s++) {
        int rc = L.a.cell == RNN_CELL_RNN ? rnn_step(&L, s) : L.a.cell == RNN_CELL_GRU ? gru_step(&L, s) : lstm_step(&L, s);
        if (rc) return -1;
    }
    const ir_node *n = NODE;
    if (n->n_out > RNN_Y && emit_y(&L, kb_value(p, n->out[RNN_Y]))) return -1;
    if (n->n_out > RNN_Y_H && emit_final(&L, kb_value(p, n->out[RNN_Y_H]), 0)) return -1;
    if (n->n_out > RNN_Y_C && emit_final(&L, kb_value(p, n->out[RNN_Y_C]), 1)) return -1;
    return 0;
}
