/* lib_nms.c — the library routine of NonMaxSuppression (see lib.h): a
 * greedy selection in score order, per batch and class, whose result count
 * depends on the data (the output binds the fresh symbol of that count). It
 * computes in double.
 */
#include <math.h>
#include <stdlib.h>

#include "lib_impl.h"

/* ---- NonMaxSuppression(boxes, scores, max_output_boxes_per_class?, iou_threshold?, score_threshold?) ---- */

/* A box as its extents along y and x, min first. */
typedef struct nms_box {
    double y0, x0, y1, x1;
} nms_box;

/* Box i of batch b: corners (y1, x1, y2, x2) in either order, or with
 * center_point_box (x_center, y_center, width, height). */
static nms_box nms_box_at(const rt_tensor *boxes, int64_t b, int64_t i, bool center) {
    int64_t at = (b * boxes->shape[1] + i) * 4;
    double v[4];
    for (int j = 0; j < 4; j++) v[j] = rt_tensor_read_f(boxes, at + j);
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
static double nms_param(const rt_lib_call *c, uint32_t i, double def) {
    const rt_tensor *t = rt_lib_opt_in(c, i);
    if (!t || t->numel < 1) return def;
    rt_slot v = rt_tensor_read(t, 0);
    return ir_dtype_is_float((ir_dtype)t->dtype) ? v.f : (double)v.i;
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

static int nms_class(rt_lib_call *c, int64_t b, int64_t cls, bool center, nms_candidate *cand, nms_box *kept,
                     nms_selection *s) {
    const rt_tensor *boxes = &c->in[0], *scores = &c->in[1];
    int64_t n = boxes->shape[1], m = 0, n_kept = 0;
    int64_t max_out = (int64_t)fmin(fmax(nms_param(c, 2, 0), 0), (double)n);
    double iou = nms_param(c, 3, 0), min_score = nms_param(c, 4, -INFINITY);
    bool filter = rt_lib_opt_in(c, 4) && c->in[4].numel > 0;
    for (int64_t i = 0; i < n; i++) {
        double sc = rt_tensor_read_f(scores, (b * scores->shape[1] + cls) * n + i);
        if (!filter || sc > min_score) cand[m++] = (nms_candidate){sc, i};
    }
    qsort(cand, (size_t)m, sizeof *cand, nms_order);
    for (int64_t j = 0; j < m && n_kept < max_out; j++) {
        nms_box box = nms_box_at(boxes, b, cand[j].box, center);
        bool keep = true;
        for (int64_t i = 0; i < n_kept && keep; i++) keep = !nms_suppresses(&box, &kept[i], iou);
        if (!keep) continue;
        kept[n_kept++] = box;
        if (nms_keep(s, b, cls, cand[j].box)) return rt_lib_error(c, "out of memory");
    }
    return 0;
}

int rt_lib_nms(rt_lib_call *c) {
    const rt_tensor *boxes = &c->in[0], *scores = &c->in[1];
    int64_t center = 0;
    if (rt_lib_attr_int(c, "center_point_box", &center)) return -1;
    if (boxes->rank != 3 || scores->rank != 3 || boxes->shape[2] != 4 || scores->shape[0] != boxes->shape[0] ||
        scores->shape[2] != boxes->shape[1])
        return rt_lib_error(c, "boxes (B, N, 4) and scores (B, C, N) do not match");
    int64_t n = boxes->shape[1] ? boxes->shape[1] : 1;
    nms_candidate *cand = malloc((size_t)n * sizeof *cand);
    nms_box *kept = malloc((size_t)n * sizeof *kept);
    nms_selection s = {0};
    int rc = cand && kept ? 0 : rt_lib_error(c, "out of memory");
    for (int64_t b = 0; rc == 0 && b < boxes->shape[0]; b++)
        for (int64_t cls = 0; rc == 0 && cls < scores->shape[1]; cls++)
            rc = nms_class(c, b, cls, center != 0, cand, kept, &s);
    int64_t shape[2] = {s.count, 3};
    rt_tensor *out = rc == 0 ? c->output(c, 0, shape) : NULL;
    for (int64_t i = 0; out && i < 3 * s.count; i++) rt_tensor_write_i64(out, i, s.sel[i]);
    free(cand);
    free(kept);
    free(s.sel);
    return out ? 0 : -1;
}
