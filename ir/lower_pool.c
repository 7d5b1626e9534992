/* lower_pool.c — lowering of the pools. A pool is one reduction over the
 * window taps of each output point (MAX, or SUM then a division or a root);
 * taps in the padding are guarded: they read the reduction's identity, so
 * padding never wins a max, and an average divides by the number of taps
 * that count (inside the input, or inside the explicit padding with
 * count_include_pad). MaxPool's Indices are a second kernel: the first tap
 * (in window order) that holds the max, turned into a flat input index.
 * The global pools reduce over all spatial axes. */
#include <math.h>

#include "lower_nn.h"

#define NODE (&p->g->nodes[node])

/* The value that loses every max in type t: -inf, or the type's minimum. */
static uint32_t lowest(kir_program *p, ir_dtype t) {
    if (ir_dtype_is_float(t)) return kb_const_f(p, t, -INFINITY);
    return kb_const_i(p, t, kb_reduce_init_i(KR_MAX, t));
}

/* X[n, c, pos...] for the output point's batch and channel. */
static uint32_t load_window(kir_program *p, uint32_t xb, int k, const uint32_t *pos) {
    uint32_t idx[IR_MAX_RANK] = {kb_idx(p, 0), kb_idx(p, 1)};
    for (int i = 0; i < k; i++) idx[2 + i] = pos[i];
    return kb_load(p, xb, idx);
}

/* Everything a windowed pool needs: X, Y, the window and its taps. */
typedef struct pool {
    uint32_t x, y;         /* buffers */
    const kir_buffer *xb, *yb;
    ir_window w;
    nn_taps taps;
    ir_dim red[IR_MAX_RANK];
} pool;

static int pool_init(kir_program *p, ir_id node, pool *pl, diag *d) {
    const ir_node *n = NODE;
    pl->x = kb_value(p, n->in[0]);
    pl->y = kb_value(p, n->out[0]);
    pl->xb = kb_buf(p, pl->x);
    pl->yb = kb_buf(p, pl->y);
    int k = pl->xb->rank - 2;
    if (ir_window_read(p->g, n, k, NULL, &pl->w, d)) return -1;
    nn_window_taps(p, &pl->w, pl->xb->dims + 2, pl->yb->dims + 2, 0, &pl->taps);
    for (int i = 0; i < k; i++) pl->red[i] = ir_dim_const(pl->w.kernel[i]);
    return 0;
}

/* ---- MaxPool ---------------------------------------------------------------------- */

/* Tap number of the current reduction point, row-major over the kernel. */
static uint32_t tap_number(kir_program *p, const ir_window *w) {
    uint32_t t = nn_ix(p, 0);
    for (int i = 0; i < w->k; i++) t = kb_bin(p, KX_ADD, kb_imul(p, t, w->kernel[i]), kb_ridx(p, i));
    return t;
}

/* Flat index into X of the tap numbered `tap` of the output point: rows of
 * (n, c) planes, the plane row-major (storage_order 0) or column-major (1). */
static uint32_t flat_input_index(kir_program *p, const pool *pl, uint32_t tap, bool column_major) {
    const ir_window *w = &pl->w;
    int k = w->k;
    uint32_t pos[IR_MAX_RANK], rest = tap;
    for (int i = k - 1; i >= 0; i--) { /* tap -> per-axis taps, last axis fastest */
        uint32_t ki = nn_ibin(p, KX_MOD, rest, nn_ix(p, w->kernel[i]));
        rest = nn_ibin(p, KX_FLOORDIV, rest, nn_ix(p, w->kernel[i]));
        pos[i] = nn_window_pos(p, w, i, pl->taps.begin[i], ki);
    }
    /* Horner over (n, c, spatial axes); column-major takes the spatial axes
     * last to first, so that axis 0 varies fastest */
    uint32_t flat = kb_bin(p, KX_ADD, kb_bin(p, KX_MUL, kb_idx(p, 0), kb_dim(p, pl->xb->dims[1])), kb_idx(p, 1));
    for (int j = 0; j < k; j++) {
        int i = column_major ? k - 1 - j : j;
        flat = kb_bin(p, KX_ADD, kb_bin(p, KX_MUL, flat, kb_dim(p, pl->xb->dims[2 + i])), pos[i]);
    }
    return flat;
}

/* Indices (N, C, O...) = flat index of the first tap whose value equals
 * Y[n, c, o...] (NaN matching NaN): a MIN over tap numbers, then decoded. */
static int max_pool_indices(kir_program *p, ir_id node, const pool *pl, uint32_t ib) {
    ir_dtype t = pl->xb->dtype;
    uint32_t x = load_window(p, pl->x, pl->w.k, pl->taps.pos), y = kb_load_same(p, pl->y);
    uint32_t match = kb_bin(p, KX_EQ, x, y);
    if (ir_dtype_is_float(t))
        match = kb_bin(p, KX_OR, match, kb_bin(p, KX_AND, kb_un(p, KX_ISNAN, x), kb_un(p, KX_ISNAN, y)));
    int64_t n_taps = 1;
    for (int i = 0; i < pl->w.k; i++) n_taps *= pl->w.kernel[i];
    uint32_t body = kb_select(p, nn_and(p, pl->taps.inside, match), tap_number(p, &pl->w), nn_ix(p, n_taps));
    bool column_major = ir_attr_int(NODE, "storage_order") == 1;
    uint32_t post = flat_input_index(p, pl, kb_acc(p, IR_I64), column_major);
    return kb_reduce(p, node, ib, KR_MIN, pl->w.k, pl->red, IR_I64, body, post) < 0 ? -1 : 0;
}

/* Y (N, C, O...) = max over taps of X[n, c, o*s - pad_begin + k*d]. */
int lower_max_pool(kir_program *p, ir_id node, diag *d) {
    nn_bind_node(p, node);
    const ir_node *n = NODE;
    pool pl;
    if (pool_init(p, node, &pl, d)) return -1;
    ir_dtype t = pl.xb->dtype;
    uint32_t x = load_window(p, pl.x, pl.w.k, pl.taps.pos);
    if (pl.taps.inside != KIR_NONE) x = kb_select(p, pl.taps.inside, x, lowest(p, t));
    if (kb_reduce(p, node, pl.y, KR_MAX, pl.w.k, pl.red, t, x, KIR_NONE) < 0) return -1;
    if (n->n_out < 2 || n->out[1] == IR_NONE) return 0;
    return max_pool_indices(p, node, &pl, kb_value(p, n->out[1]));
}

/* ---- AveragePool, LpPool ------------------------------------------------------------- */

/* |x|^p in type t (the LpPool term). */
static uint32_t lp_term(kir_program *p, uint32_t x, int64_t pw) {
    uint32_t a = kb_un(p, KX_ABS, x);
    if (pw == 1) return a;
    if (pw == 2) return kb_bin(p, KX_MUL, x, x);
    return kb_bin(p, KX_POW, a, kb_const_f(p, kb_type(p, x), (double)pw));
}

/* acc^(1/p) (the LpPool result). */
static uint32_t lp_root(kir_program *p, uint32_t acc, int64_t pw) {
    if (pw == 1) return acc;
    if (pw == 2) return kb_un(p, KX_SQRT, acc);
    return kb_bin(p, KX_POW, acc, kb_const_f(p, kb_type(p, acc), 1.0 / (double)pw));
}

/* Number of taps of axis i whose position lies in [lo, hi):
 * clamp(floor((hi-1-start)/d), .., K-1) - clamp(ceil((lo-start)/d), 0, ..) + 1, at least 0. */
static uint32_t taps_in(kir_program *p, const ir_window *w, int i, uint32_t begin, uint32_t lo, uint32_t hi) {
    uint32_t start = nn_window_pos(p, w, i, begin, nn_ix(p, 0));
    uint32_t first = nn_ibin(p, KX_MAX, nn_ix(p, 0), nn_iceildiv(p, kb_bin(p, KX_SUB, lo, start), w->dil[i]));
    uint32_t last = nn_ibin(p, KX_FLOORDIV, kb_bin(p, KX_SUB, kb_iadd(p, hi, -1), start), nn_ix(p, w->dil[i]));
    last = nn_ibin(p, KX_MIN, nn_ix(p, w->kernel[i] - 1), last);
    return nn_ibin(p, KX_MAX, nn_ix(p, 0), kb_iadd(p, kb_bin(p, KX_SUB, last, first), 1));
}

/* Whether every tap of axis i lies in [lo, hi) for every output point
 * (all constant), so that the count is the kernel size. */
static bool taps_all_in(const kir_program *p, const pool *pl, int i, uint32_t begin, uint32_t lo, uint32_t hi) {
    const kir_expr *b = &p->exprs[begin], *l = &p->exprs[lo], *h = &p->exprs[hi];
    ir_dim out = pl->yb->dims[2 + i];
    if (b->op != KX_CONST || l->op != KX_CONST || h->op != KX_CONST || !ir_dim_is_const(out)) return false;
    int64_t first = -b->ival, last = (out.c - 1) * pl->w.stride[i] - b->ival + ir_window_span(&pl->w, i) - 1;
    return first >= l->ival && last < h->ival;
}

/* The divisor of an average: the product over axes of the taps inside the
 * input, or inside the padded extent [-pad_begin, in + pad_end) when
 * count_include_pad (taps past it, added by ceil_mode, never count). */
static uint32_t average_count(kir_program *p, const pool *pl, bool include_pad) {
    uint32_t count = nn_ix(p, 1);
    for (int i = 0; i < pl->w.k; i++) {
        ir_dim in = pl->xb->dims[2 + i], out = pl->yb->dims[2 + i];
        uint32_t begin = pl->taps.begin[i], lo = nn_ix(p, 0), hi = kb_dim(p, in);
        if (include_pad) {
            lo = kb_bin(p, KX_SUB, nn_ix(p, 0), begin);
            hi = kb_bin(p, KX_ADD, hi, nn_pad_end(p, &pl->w, i, in, out));
        }
        uint32_t ci = taps_all_in(p, pl, i, begin, lo, hi) ? nn_ix(p, pl->w.kernel[i]) : taps_in(p, &pl->w, i, begin, lo, hi);
        count = kb_bin(p, KX_MUL, count, ci);
    }
    return count;
}

/* AveragePool: Y = sum over taps inside of X / count;
 * LpPool: Y = (sum over taps inside of |X|^p)^(1/p). */
int lower_avg_lp_pool(kir_program *p, ir_id node, diag *d) {
    nn_bind_node(p, node);
    const ir_node *n = NODE;
    pool pl;
    if (pool_init(p, node, &pl, d)) return -1;
    ir_dtype t = nn_compute_type(pl.xb->dtype);
    bool lp = n->op == IR_OP_LpPool;
    uint32_t x = kb_cast(p, t, load_window(p, pl.x, pl.w.k, pl.taps.pos), false);
    if (lp) x = lp_term(p, x, ir_attr_int(n, "p"));
    if (pl.taps.inside != KIR_NONE) x = kb_select(p, pl.taps.inside, x, kb_const_f(p, t, 0.0));
    uint32_t acc = kb_acc(p, t), post;
    if (lp) post = lp_root(p, acc, ir_attr_int(n, "p"));
    else post = kb_bin(p, KX_DIV, acc, kb_cast(p, t, average_count(p, &pl, ir_attr_int(n, "count_include_pad") != 0), false));
    post = kb_cast(p, pl.yb->dtype, post, false);
    return kb_reduce(p, node, pl.y, KR_SUM, pl.w.k, pl.red, t, x, post) < 0 ? -1 : 0;
}

/* ---- global pools ------------------------------------------------------------------- */

/* Y (N, C, 1...) = max, mean or Lp norm over the spatial axes of X[n, c, ...]. */
int lower_global_pool(kir_program *p, ir_id node, diag *d) {
    nn_bind_node(p, node);
    const ir_node *n = NODE;
    uint32_t xb = kb_value(p, n->in[0]), yb = kb_value(p, n->out[0]);
    const kir_buffer *x = kb_buf(p, xb);
    int k = x->rank - 2;
    uint32_t pos[IR_MAX_RANK];
    for (int i = 0; i < k; i++) pos[i] = kb_ridx(p, i);
    uint32_t v = load_window(p, xb, k, pos);
    if (n->op == IR_OP_GlobalMaxPool) return kb_reduce(p, node, yb, KR_MAX, k, x->dims + 2, x->dtype, v, KIR_NONE) < 0 ? -1 : 0;
    ir_dtype t = nn_compute_type(x->dtype);
    v = kb_cast(p, t, v, false);
    uint32_t acc = kb_acc(p, t), post;
    if (n->op == IR_OP_GlobalLpPool) {
        v = lp_term(p, v, ir_attr_int(n, "p"));
        post = lp_root(p, acc, ir_attr_int(n, "p"));
    } else {
        uint32_t count = nn_ix(p, 1);
        for (int i = 0; i < k; i++) count = kb_bin(p, KX_MUL, count, kb_dim(p, x->dims[2 + i]));
        post = kb_bin(p, KX_DIV, acc, kb_cast(p, t, count, false));
    }
    post = kb_cast(p, x->dtype, post, false);
    return kb_reduce(p, node, yb, KR_SUM, k, x->dims + 2, t, v, post) < 0 ? -1 : 0;
}
