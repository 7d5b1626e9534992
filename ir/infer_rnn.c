/* infer_rnn.c — dtype and shape inference for the recurrent layers RNN, GRU
 * and LSTM: one function for the three, since they differ only in the
 * number of gates stacked in W, R and B (rnn.h) and in LSTM's extra cell
 * state and peepholes. The sizes come from X (seq, batch, input; batch
 * first under layout 1) and R (hidden); every other input must agree. */
#include "infer.h"
#include "rnn.h"

#define NODE (&g->nodes[node])

/* The sizes of one layer. */
typedef struct rnn_sizes {
    ir_dim seq, batch, input, hidden, dirs;
} rnn_sizes;

/* Dimensions that cannot both be constants and differ (a symbol may stand
 * for the size wanted). */
static bool dims_agree(ir_dim have, ir_dim want) {
    return !ir_dim_is_const(have) || !ir_dim_is_const(want) || have.c == want.c;
}

/* Input i, when present, must have the dtype t (IR_DTYPE_NONE: any) and the
 * shape want (rank dims). */
static int check_input(ir_graph *g, const ir_node *n, uint32_t i, const char *what, ir_dtype t, int rank,
                       const ir_dim *want, diag *d) {
    const ir_value *v = infer_input(g, n, i);
    if (!v) return 0;
    if (t != IR_DTYPE_NONE && v->dtype != t)
        return ir_node_error(g, n, d, "%s is %s, expected %s like X", what, ir_dtype_name(v->dtype),
                             ir_dtype_name(t));
    char want_s[256], have_s[256];
    bool ok = v->rank == rank;
    for (int k = 0; ok && k < rank; k++) ok = dims_agree(v->dims[k], want[k]);
    if (ok) return 0;
    ir_type_format(g, v->dtype, v->rank, v->dims, have_s, sizeof have_s);
    ir_type_format(g, v->dtype, rank, want, want_s, sizeof want_s);
    return ir_node_error(g, n, d, "%s is %s, expected %s", what, have_s, want_s);
}

/* A state tensor (initial_h, initial_c, Y_h, Y_c): (dirs, batch, hidden), or
 * (batch, dirs, hidden) under layout 1. */
static void state_shape(const rnn_attrs *a, const rnn_sizes *s, ir_dim *dims) {
    dims[0] = a->batch_first ? s->batch : s->dirs;
    dims[1] = a->batch_first ? s->dirs : s->batch;
    dims[2] = s->hidden;
}

/* The sizes, from X, R and hidden_size. */
static int read_sizes(ir_graph *g, const ir_node *n, const rnn_attrs *a, rnn_sizes *s, diag *d) {
    const ir_value *x = infer_input(g, n, RNN_X), *r = infer_input(g, n, RNN_R);
    if (x->rank != 3) return ir_node_error(g, n, d, "X has rank %d, expected 3", x->rank);
    if (r->rank != 3) return ir_node_error(g, n, d, "R has rank %d, expected 3", r->rank);
    s->seq = x->dims[a->batch_first ? 1 : 0];
    s->batch = x->dims[a->batch_first ? 0 : 1];
    s->input = x->dims[2];
    s->dirs = ir_dim_const(a->n_dirs);
    s->hidden = r->dims[2];
    int64_t hs = ir_attr_int(n, "hidden_size");
    if (ir_attr_is_set(n, "hidden_size")) {
        if (!dims_agree(s->hidden, ir_dim_const(hs)))
            return ir_node_error(g, n, d, "hidden_size is %lld but R has %lld columns", (long long)hs,
                                 (long long)s->hidden.c);
        s->hidden = ir_dim_const(hs);
    }
    return 0;
}

int infer_rnn(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    rnn_attrs a;
    rnn_sizes s;
    if (rnn_read_attrs(g, n, &a, d) || read_sizes(g, n, &a, &s, d)) return -1;
    ir_dtype t = infer_input(g, n, RNN_X)->dtype;
    if (t != IR_F32 && t != IR_F64 && t != IR_F16 && t != IR_BF16)
        return ir_node_error(g, n, d, "X is %s, expected a float type (f16, bf16, f32, f64)", ir_dtype_name(t));
    ir_dim gh = ir_dim_mul(g, ir_dim_const(a.gates), s.hidden);
    ir_dim w[3] = {s.dirs, gh, s.input}, r[3] = {s.dirs, gh, s.hidden};
    ir_dim b[2] = {s.dirs, ir_dim_mul(g, ir_dim_const(2), gh)};
    ir_dim p[2] = {s.dirs, ir_dim_mul(g, ir_dim_const(3), s.hidden)};
    ir_dim lens[1] = {s.batch}, state[3];
    state_shape(&a, &s, state);
    if (check_input(g, n, RNN_W, "W", t, 3, w, d) || check_input(g, n, RNN_R, "R", t, 3, r, d) ||
        check_input(g, n, RNN_B, "B", t, 2, b, d) ||
        check_input(g, n, RNN_SEQ_LENS, "sequence_lens", IR_DTYPE_NONE, 1, lens, d) ||
        check_input(g, n, RNN_INITIAL_H, "initial_h", t, 3, state, d))
        return -1;
    if (a.cell == RNN_CELL_LSTM &&
        (check_input(g, n, RNN_INITIAL_C, "initial_c", t, 3, state, d) || check_input(g, n, RNN_P, "P", t, 2, p, d)))
        return -1;
    const ir_value *sl = infer_input(g, n, RNN_SEQ_LENS);
    if (sl && sl->dtype != IR_I32 && sl->dtype != IR_I64)
        return ir_node_error(g, n, d, "sequence_lens is %s, expected i32", ir_dtype_name(sl->dtype));
    ir_dim y[4];
    if (a.batch_first) y[0] = s.batch, y[1] = s.seq, y[2] = s.dirs, y[3] = s.hidden;
    else y[0] = s.seq, y[1] = s.dirs, y[2] = s.batch, y[3] = s.hidden;
    if (infer_set(g, n, RNN_Y, t, 4, y, d) || infer_set(g, n, RNN_Y_H, t, 3, state, d)) return -1;
    return infer_set(g, n, RNN_Y_C, t, 3, state, d);
}
