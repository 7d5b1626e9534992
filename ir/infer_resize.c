/* infer_resize.c — the Resize plan (movement.h) and Resize inference.
 *
 * The plan reads the attributes (modes checked by name) and the constant
 * roi / scales / sizes inputs, spreads per-axis values given for `axes` over
 * all axes, and works out each axis's output size and coordinate scale the
 * way the ONNX reference does: from scales, out = floor(in * scale); from
 * sizes, scale = out / in, or under keep_aspect_ratio_policy one scale for
 * all resized axes and out = round_half_up(scale * in). An axis whose scale
 * is 1 and size unchanged (and, for tf_crop_and_resize, whose roi is [0, 1])
 * is not resized at all, as in the reference.
 */
#include <math.h>
#include <string.h>

#include "movement.h"

#define NODE (&g->nodes[node])

/* Index of s in names[0..n), or -1. */
static int lookup(const char *s, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

static int resize_modes(ir_graph *g, const ir_node *n, mv_resize *rz, diag *d) {
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const coords[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                                         "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
    static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    int m = lookup(ir_attr_str(n, "mode"), modes, 3);
    int c = lookup(ir_attr_str(n, "coordinate_transformation_mode"), coords, 7);
    int k = lookup(ir_attr_str(n, "nearest_mode"), nearests, 4);
    if (m < 0) return ir_node_error(g, n, d, "mode '%s' is not nearest, linear or cubic", ir_attr_str(n, "mode"));
    if (c < 0)
        return ir_node_error(g, n, d, "coordinate_transformation_mode '%s' is not supported",
                             ir_attr_str(n, "coordinate_transformation_mode"));
    if (k < 0) return ir_node_error(g, n, d, "nearest_mode '%s' is not supported", ir_attr_str(n, "nearest_mode"));
    rz->mode = (mv_resize_mode)m;
    rz->coord = (mv_resize_coord)c;
    rz->nearest = (mv_resize_nearest)k;
    rz->antialias = ir_attr_int(n, "antialias") != 0;
    rz->exclude_outside = ir_attr_int(n, "exclude_outside") != 0;
    rz->cubic_a = ir_attr_float(n, "cubic_coeff_a");
    rz->extrapolation = ir_attr_float(n, "extrapolation_value");
    if (rz->antialias && rz->mode == RZ_NEAREST)
        return ir_node_error(g, n, d, "antialias is not defined for mode nearest");
    return 0;
}

/* The axes attribute normalized (all axes when absent); count in *na. */
static int resize_axes(ir_graph *g, const ir_node *n, int rank, int *axes, int *na, diag *d) {
    uint32_t cnt;
    const int64_t *a = ir_attr_ints(n, "axes", &cnt);
    if (!a) {
        for (int i = 0; i < rank; i++) axes[i] = i;
        *na = rank;
        return 0;
    }
    if ((int)cnt > rank) return ir_node_error(g, n, d, "axes has %u entries for rank %d", cnt, rank);
    bool seen[IR_MAX_RANK] = {0};
    for (uint32_t i = 0; i < cnt; i++) {
        if (infer_axis(g, n, a[i], rank, &axes[i], d)) return -1;
        if (seen[axes[i]]) return ir_node_error(g, n, d, "axis %lld is repeated", (long long)a[i]);
        seen[axes[i]] = true;
    }
    *na = (int)cnt;
    return 0;
}

/* Input i as doubles, treating an empty or absent input as "not given"
 * (*given false). 1 when it is given but not a constant. */
static int optional_values(ir_graph *g, const ir_node *n, uint32_t i, double *v, int want, bool *given, diag *d) {
    const ir_value *x = infer_input(g, n, i);
    *given = x && ir_value_numel(g, n->in[i]) != 0;
    if (!*given) return 0;
    int cnt;
    int rc = mv_const_doubles(g, n, i, v, 2 * IR_MAX_RANK, &cnt, d);
    if (rc) return rc;
    if (cnt != want) return ir_node_error(g, n, d, "input %u ('%s') has %d values, expected %d", i, x->name, cnt, want);
    return 0;
}

/* The tf_crop_and_resize region of each axis in `axes`: constant values, or
 * positions in a roi input that is only known at run time. */
static int resize_roi(ir_graph *g, const ir_node *n, const int *axes, int na, mv_resize *rz, diag *d) {
    double roi[2 * IR_MAX_RANK];
    bool has_roi;
    int rc = optional_values(g, n, 1, roi, 2 * na, &has_roi, d);
    if (rc < 0) return -1;
    if (!has_roi) return ir_node_error(g, n, d, "tf_crop_and_resize needs a roi");
    const ir_value *r = infer_input(g, n, 1);
    int64_t numel = ir_value_numel(g, n->in[1]);
    if (rc == 1 && (r->rank != 1 || !ir_dtype_is_float(r->dtype) || numel != 2 * na))
        return ir_node_error(g, n, d, "roi must hold %d floats", 2 * na);
    rz->roi_runtime = rc == 1;
    rz->roi = n->in[1];
    rz->roi_count = na;
    for (int i = 0; i < na; i++) {
        rz->roi_at[axes[i]] = i;
        if (rc == 1) continue;
        rz->roi_start[axes[i]] = roi[i];
        rz->roi_end[axes[i]] = roi[na + i];
    }
    return 0;
}

/* Output size of an axis of size dim resized by scale s: floor(dim * s). */
static int scaled_dim(ir_graph *g, const ir_node *n, ir_dim dim, double s, ir_dim *out, diag *d) {
    if (ir_dim_is_const(dim)) {
        double o = floor((double)dim.c * s);
        if (!(o >= 0 && o < (double)((int64_t)1 << 40))) return ir_node_error(g, n, d, "scale %g gives size %g", s, o);
        *out = ir_dim_const((int64_t)o);
    } else if (s >= 1 && s == floor(s)) {
        *out = ir_dim_mul(g, dim, ir_dim_const((int64_t)s));
    } else if (s < 1 && 1 / s == floor(1 / s)) {
        *out = ir_dim_div(g, dim, ir_dim_const((int64_t)(1 / s)));
    } else {
        return ir_node_error(g, n, d, "scale %g on a symbolic axis is not supported", s);
    }
    return 0;
}

static bool isclose(double a, double b) { return fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b)); }

/* From sizes under keep_aspect_ratio_policy not_larger / not_smaller: one
 * scale for all resized axes. */
static int keep_aspect(ir_graph *g, const ir_node *n, const ir_value *x, const int *axes, int na, const double *sizes,
                       bool larger, mv_resize *rz, diag *d) {
    double scale = larger ? INFINITY : -INFINITY;
    for (int i = 0; i < na; i++) {
        ir_dim dim = x->dims[axes[i]];
        if (!ir_dim_is_const(dim) || dim.c == 0)
            return ir_node_error(g, n, d, "keep_aspect_ratio_policy needs known non-zero sizes of the resized axes");
        double s = sizes[i] / (double)dim.c;
        scale = larger ? fmin(scale, s) : fmax(scale, s);
    }
    for (int i = 0; i < na; i++) {
        int a = axes[i];
        rz->scale[a] = scale;
        rz->out[a] = ir_dim_const((int64_t)(scale * (double)x->dims[a].c + 0.5));
    }
    return 0;
}

int mv_resize_plan(ir_graph *g, const ir_node *n, mv_resize *rz, diag *d) {
    const ir_value *x = infer_input(g, n, 0);
    memset(rz, 0, sizeof *rz);
    if (resize_modes(g, n, rz, d)) return -1;
    int axes[IR_MAX_RANK], na = 0, r = x->rank;
    if (resize_axes(g, n, r, axes, &na, d)) return -1;
    rz->rank = r;
    for (int i = 0; i < r; i++) {
        rz->scale[i] = 1;
        rz->scale_known[i] = true;
        rz->out[i] = x->dims[i];
        rz->roi_end[i] = 1;
        rz->roi_at[i] = -1;
    }
    double scales[IR_MAX_RANK], sizes[IR_MAX_RANK];
    bool has_scales = false, has_sizes = false;
    int rc = optional_values(g, n, 2, scales, na, &has_scales, d);
    if (!rc) rc = optional_values(g, n, 3, sizes, na, &has_sizes, d);
    if (rc) return rc;
    if (has_scales == has_sizes) return ir_node_error(g, n, d, "exactly one of scales and sizes must be given");
    if (rz->coord == RZ_TF_CROP_AND_RESIZE && resize_roi(g, n, axes, na, rz, d)) return -1;
    const char *policy = ir_attr_str(n, "keep_aspect_ratio_policy");
    if (has_sizes && strcmp(policy, "stretch")) {
        if (strcmp(policy, "not_larger") && strcmp(policy, "not_smaller"))
            return ir_node_error(g, n, d, "keep_aspect_ratio_policy '%s' is not supported", policy);
        if (keep_aspect(g, n, x, axes, na, sizes, !strcmp(policy, "not_larger"), rz, d)) return -1;
    } else {
        for (int i = 0; i < na; i++) {
            int a = axes[i];
            ir_dim dim = x->dims[a];
            if (has_scales) {
                if (!(scales[i] > 0)) return ir_node_error(g, n, d, "scale %g of axis %d is not positive", scales[i], a);
                rz->scale[a] = scales[i];
                if (scaled_dim(g, n, dim, scales[i], &rz->out[a], d)) return -1;
                continue;
            }
            if (!(sizes[i] >= 0 && sizes[i] < (double)((int64_t)1 << 40)))
                return ir_node_error(g, n, d, "size %g of axis %d is out of range", sizes[i], a);
            rz->out[a] = ir_dim_const((int64_t)sizes[i]);
            rz->scale_known[a] = ir_dim_is_const(dim) && dim.c > 0;
            rz->scale[a] = rz->scale_known[a] ? sizes[i] / (double)dim.c : 1;
        }
    }
    for (int i = 0; i < r; i++) {
        bool full_roi = rz->coord != RZ_TF_CROP_AND_RESIZE ||
                        ((rz->roi_at[i] < 0 || !rz->roi_runtime) && rz->roi_start[i] == 0 && isclose(rz->roi_end[i], 1));
        rz->resized[i] = !(rz->scale_known[i] && isclose(rz->scale[i], 1) && ir_dim_eq(rz->out[i], x->dims[i]) && full_roi);
    }
    return 0;
}

int infer_resize(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    mv_resize rz;
    int rc = mv_resize_plan(g, n, &rz, d);
    if (rc < 0) return -1;
    if (rc == 1)
        for (int i = 0; i < x->rank; i++) rz.out[i] = ir_dim_fresh(g);
    return infer_set(g, n, 0, x->dtype, x->rank, rz.out, d);
}
