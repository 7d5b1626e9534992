/* interp_lib_attn.c — the interpreter's library routines of the attention
 * and sampling ops (see interp_lib.h): LinearAttention and
 * NonMaxSuppression.
 *
 * Neither is a loop nest. LinearAttention is a recurrence over the
 * sequence: each step decays and delta-corrects a (dk, dv) state per
 * key/value head before the step's query reads it, so step t needs the state
 * of step t - 1. NonMaxSuppression is a greedy selection in score order whose
 * result count depends on the data; it binds the fresh symbol of that count.
 * Both compute in double and check at run time what inference could not
 * (sizes that were symbols).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "interp_lib.h"

static double read_f(const lib_tensor *t, int64_t i) { return interp_read(t->dtype, t->data, i).f; }

/* Input i, or NULL when the node has no such input or it is omitted. */
static const lib_tensor *opt_in(const lib_call *c, uint32_t i) {
    return i < c->n_in && c->in[i].present ? &c->in[i] : NULL;
}
static void write_f(lib_tensor *t, int64_t i, double v) { interp_write(t->dtype, t->data, i, (interp_slot){.f = v}); }

/* ---- LinearAttention(query, key, value, past_state?, decay?, beta?) -> output, present_state ---- */

/* The sizes of a LinearAttention call: B, T, heads, head sizes, and the
 * widths of decay and beta's last axes. */
typedef struct la_dims {
    int64_t b, t, hq, hkv, dk, dv, decay_w, beta_w;
} la_dims;

static int la_read_dims(lib_call *c, la_dims *s) {
    const lib_tensor *q = &c->in[0], *k = &c->in[1], *v = &c->in[2];
    s->hq = ir_attr_int(c->node, "q_num_heads");
    s->hkv = ir_attr_int(c->node, "kv_num_heads");
    s->b = q->shape[0];
    s->t = q->shape[1];
    if (s->hq < 1 || s->hkv < 1 || s->hq % s->hkv || q->shape[2] % s->hq || v->shape[2] % s->hkv)
        return lib_error(c, "the hidden sizes do not split into the heads");
    s->dk = q->shape[2] / s->hq;
    s->dv = v->shape[2] / s->hkv;
    for (int i = 1; i < 3; i++)
        if (c->in[i].shape[0] != s->b || c->in[i].shape[1] != s->t)
            return lib_error(c, "query, key and value differ in batch or length");
    if (k->shape[2] != s->hkv * s->dk)
        return lib_error(c, "key's hidden size is not kv_num_heads * %lld", (long long)s->dk);
    const lib_tensor *past = opt_in(c, 3), *decay = opt_in(c, 4), *beta = opt_in(c, 5);
    int64_t state[4] = {s->b, s->hkv, s->dk, s->dv};
    if (past && memcmp(past->shape, state, sizeof state)) return lib_error(c, "past_state has the wrong shape");
    s->decay_w = decay ? decay->shape[2] : 0;
    s->beta_w = beta ? beta->shape[2] : 0;
    if (decay && (decay->shape[0] != s->b || decay->shape[1] != s->t ||
                           (s->decay_w != s->hkv && s->decay_w != s->hkv * s->dk)))
        return lib_error(c, "decay has the wrong shape");
    if (beta && (beta->shape[0] != s->b || beta->shape[1] != s->t || (s->beta_w != s->hkv && s->beta_w != 1)))
        return lib_error(c, "beta has the wrong shape");
    return 0;
}

/* One step of key/value head h of batch b at time t on its state S (dk, dv):
 * S *= exp(decay) per key row (gated); v = beta * (v - S^T k) (delta);
 * S += k v^T. kv holds room for k (dk) and v (dv). */
static void la_update(lib_call *c, const la_dims *s, int64_t b, int64_t h, int64_t t, double *S, double *kv) {
    const lib_tensor *key = &c->in[1], *val = &c->in[2], *decay = opt_in(c, 4), *beta = opt_in(c, 5);
    double *k = kv, *v = kv + s->dk;
    int64_t row = b * s->t + t;
    for (int64_t d = 0; d < s->dk; d++) k[d] = read_f(key, row * s->hkv * s->dk + h * s->dk + d);
    for (int64_t m = 0; m < s->dv; m++) v[m] = read_f(val, row * s->hkv * s->dv + h * s->dv + m);
    if (decay) {
        for (int64_t d = 0; d < s->dk; d++) {
            int64_t at = row * s->decay_w + (s->decay_w == s->hkv ? h : h * s->dk + d);
            double g = exp(read_f(decay, at));
            for (int64_t m = 0; m < s->dv; m++) S[d * s->dv + m] *= g;
        }
    }
    if (beta) {
        double bt = read_f(beta, row * s->beta_w + (s->beta_w == 1 ? 0 : h));
        for (int64_t m = 0; m < s->dv; m++) {
            double got = 0;
            for (int64_t d = 0; d < s->dk; d++) got += S[d * s->dv + m] * k[d];
            v[m] = bt * (v[m] - got);
        }
    }
    for (int64_t d = 0; d < s->dk; d++)
        for (int64_t m = 0; m < s->dv; m++) S[d * s->dv + m] += k[d] * v[m];
}

/* output[b, t, hq * dv + m] = scale * sum over d of query[b, t, hq * dk + d] * S[d, m]
 * for the query heads hq that share key/value head h. */
static void la_read(lib_call *c, const la_dims *s, int64_t b, int64_t h, int64_t t, const double *S, double scale,
                    lib_tensor *out) {
    const lib_tensor *q = &c->in[0];
    int64_t group = s->hq / s->hkv, row = b * s->t + t;
    for (int64_t hq = h * group; hq < (h + 1) * group; hq++) {
        for (int64_t m = 0; m < s->dv; m++) {
            double acc = 0;
            for (int64_t d = 0; d < s->dk; d++)
                acc += read_f(q, (row * s->hq + hq) * s->dk + d) * S[d * s->dv + m];
            write_f(out, row * s->hq * s->dv + hq * s->dv + m, scale * acc);
        }
    }
}

int interp_lib_linear_attention(lib_call *c) {
    la_dims s = {0};
    bool gating, delta;
    if (linear_attention_rule(c->node, &gating, &delta)) return lib_error(c, "unknown update_rule");
    if (la_read_dims(c, &s)) return -1;
    int64_t out_shape[3] = {s.b, s.t, s.hq * s.dv}, state_shape[4] = {s.b, s.hkv, s.dk, s.dv};
    lib_tensor *out = lib_output(c, 0, out_shape), *state = out ? lib_output(c, 1, state_shape) : NULL;
    if (!state) return -1;
    double scale = ir_attr_float(c->node, "scale");
    if (scale == 0) scale = 1 / sqrt((double)s.dk);
    double *S = malloc((size_t)(s.dk * s.dv + s.dk + s.dv + 1) * sizeof *S), *kv = S + s.dk * s.dv;
    if (!S) return lib_error(c, "out of memory");
    const lib_tensor *past = opt_in(c, 3);
    for (int64_t b = 0; b < s.b; b++) {
        for (int64_t h = 0; h < s.hkv; h++) {
            int64_t base = (b * s.hkv + h) * s.dk * s.dv;
            for (int64_t i = 0; i < s.dk * s.dv; i++) S[i] = past ? read_f(past, base + i) : 0;
            for (int64_t t = 0; t < s.t; t++) {
                la_update(c, &s, b, h, t, S, kv);
                la_read(c, &s, b, h, t, S, scale, out);
            }
            for (int64_t i = 0; i < s.dk * s.dv; i++) write_f(state, base + i, S[i]);
        }
    }
    free(S);
    return 0;
}

/* ---- NonMaxSuppression(boxes, scores, max_output_boxes_per_class?, iou_threshold?, score_threshold?) ---- */

/* A box as its extents along y and x, min first. */
typedef struct nms_box {
    double y0, x0, y1, x1;
} nms_box;

/* Box i of batch b: corners (y1, x1, y2, x2) in either order, or with
 * center_point_box (x_center, y_center, width, height). */
static nms_box nms_box_at(const lib_tensor *boxes, int64_t b, int64_t i, bool center) {
    int64_t at = (b * boxes->shape[1] + i) * 4;
    double v[4];
    for (int j = 0; j < 4; j++) v[j] = read_f(boxes, at + j);
    nms_box r;
    if (center) {
        r = (nms_box){v[1] - v[3] / 2, v[0] - v[2] / 2, v[1] + v[3] / 2, v[0] + v[2] / 2};
    } else {
        r = (nms_box){fmin(v[0], v[2]), fmin(v[1], v[3]), fmax(v[0], v[2]), fmax(v[1], v[3])};
    }
    return r;
}

/* Whether a and b overlap by more than the threshold (intersection over union). */
static bool nms_suppresses(const nms_box *a, const nms_box *b, double threshold) {
    double iy0 = fmax(a->y0, b->y0), iy1 = fmin(a->y1, b->y1), ix0 = fmax(a->x0, b->x0), ix1 = fmin(a->x1, b->x1);
    if (iy1 <= iy0 || ix1 <= ix0) return false;
    double inter = (iy1 - iy0) * (ix1 - ix0);
    double area_a = (a->y1 - a->y0) * (a->x1 - a->x0), area_b = (b->y1 - b->y0) * (b->x1 - b->x0);
    double uni = area_a + area_b - inter;
    if (area_a <= 0 || area_b <= 0 || uni <= 0) return false;
    return inter / uni > threshold;
}

typedef struct nms_candidate {
    double score;
    int64_t box;
} nms_candidate;

/* Higher scores first, equal scores in box order. */
static int nms_order(const void *pa, const void *pb) {
    const nms_candidate *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return (a->box > b->box) - (a->box < b->box);
}

/* The optional one-value input i as a double (def when absent or empty). */
static double nms_param(const lib_call *c, uint32_t i, double def) {
    const lib_tensor *t = opt_in(c, i);
    if (!t || t->numel < 1) return def;
    interp_slot v = interp_read(t->dtype, t->data, 0);
    return ir_dtype_is_float(t->dtype) ? v.f : (double)v.i;
}

/* The selected (batch, class, box) triples, appended to *sel (grown as
 * needed): per batch and class, candidates above score_threshold in score
 * order, each kept unless it overlaps a kept one by more than iou_threshold,
 * at most max_output_boxes_per_class of them. */
typedef struct nms_selection {
    int64_t *sel;
    int64_t count, cap;
} nms_selection;

static int nms_keep(nms_selection *s, int64_t b, int64_t cls, int64_t box) {
    if (s->count == s->cap) {
        int64_t cap = s->cap ? s->cap * 2 : 64;
        int64_t *q = realloc(s->sel, (size_t)cap * 3 * sizeof *q);
        if (!q) return -1;
        s->sel = q;
        s->cap = cap;
    }
    int64_t *t = s->sel + 3 * s->count++;
    t[0] = b;
    t[1] = cls;
    t[2] = box;
    return 0;
}

static int nms_class(lib_call *c, int64_t b, int64_t cls, nms_candidate *cand, nms_box *kept, nms_selection *s) {
    const lib_tensor *boxes = &c->in[0], *scores = &c->in[1];
    int64_t n = boxes->shape[1], m = 0, n_kept = 0;
    int64_t max_out = (int64_t)fmin(fmax(nms_param(c, 2, 0), 0), (double)n);
    double iou = nms_param(c, 3, 0), min_score = nms_param(c, 4, -INFINITY);
    bool filter = opt_in(c, 4) && c->in[4].numel > 0;
    bool center = ir_attr_int(c->node, "center_point_box") != 0;
    for (int64_t i = 0; i < n; i++) {
        double sc = read_f(scores, (b * scores->shape[1] + cls) * n + i);
        if (!filter || sc > min_score) cand[m++] = (nms_candidate){sc, i};
    }
    qsort(cand, (size_t)m, sizeof *cand, nms_order);
    for (int64_t j = 0; j < m && n_kept < max_out; j++) {
        nms_box box = nms_box_at(boxes, b, cand[j].box, center);
        bool keep = true;
        for (int64_t i = 0; i < n_kept && keep; i++) keep = !nms_suppresses(&box, &kept[i], iou);
        if (!keep) continue;
        kept[n_kept++] = box;
        if (nms_keep(s, b, cls, cand[j].box)) return lib_error(c, "out of memory");
    }
    return 0;
}

int interp_lib_nms(lib_call *c) {
    const lib_tensor *boxes = &c->in[0], *scores = &c->in[1];
    if (boxes->rank != 3 || scores->rank != 3 || boxes->shape[2] != 4 || scores->shape[0] != boxes->shape[0] ||
        scores->shape[2] != boxes->shape[1])
        return lib_error(c, "boxes (B, N, 4) and scores (B, C, N) do not match");
    int64_t n = boxes->shape[1] ? boxes->shape[1] : 1;
    nms_candidate *cand = malloc((size_t)n * sizeof *cand);
    nms_box *kept = malloc((size_t)n * sizeof *kept);
    nms_selection s = {0};
    int rc = cand && kept ? 0 : lib_error(c, "out of memory");
    for (int64_t b = 0; rc == 0 && b < boxes->shape[0]; b++)
        for (int64_t cls = 0; rc == 0 && cls < scores->shape[1]; cls++) rc = nms_class(c, b, cls, cand, kept, &s);
    int64_t shape[2] = {s.count, 3};
    lib_tensor *out = rc == 0 ? lib_output(c, 0, shape) : NULL;
    if (out && s.count) memcpy(out->data, s.sel, (size_t)s.count * 3 * sizeof *s.sel);
    free(cand);
    free(kept);
    free(s.sel);
    return out ? 0 : -1;
}
