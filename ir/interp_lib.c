/* interp_lib.c — the interpreter's library routines (see interp_lib.h):
 * TopK, NonZero, Unique, CumSum and CumProd (one scan), Det (LU with
 * partial pivoting), MaxUnpool (a scatter), BitCast and Dropout, and the
 * name -> function table. They work on any dtype through interp_read /
 * interp_write; sorting
 * is a stable merge sort of element positions, so equal values keep their
 * index order, as TopK and Unique specify. Routines check what inference
 * could not (run-time K and axis values) and fail with a message, never
 * crash, on bad data.
 */
#include "interp_lib.h"

#include "window.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared helpers ---------------------------------------------------------- */

/* A tensor seen as (outer, len, inner) around one axis: element (o, j, i)
 * is at (o * len + j) * inner + i. */
typedef struct axis_view {
    int64_t outer, len, inner;
} axis_view;

static axis_view around_axis(const lib_tensor *t, int axis) {
    axis_view v = {1, t->rank ? t->shape[axis] : 1, 1};
    for (int i = 0; i < axis; i++) v.outer *= t->shape[i];
    for (int i = axis + 1; i < t->rank; i++) v.inner *= t->shape[i];
    return v;
}

/* A scalar or one-element integer input as int64; -1 with an error otherwise. */
static int scalar_int(lib_call *c, uint32_t i, const char *what, int64_t *out) {
    const lib_tensor *t = &c->in[i];
    if (!t->present || t->numel != 1 || !ir_dtype_is_int(t->dtype))
        return lib_error(c, "%s must be one integer", what);
    *out = interp_read(t->dtype, t->data, 0).i;
    return 0;
}

static int normalize_axis(lib_call *c, int64_t axis, int rank, int *out) {
    int r = rank ? rank : 1;
    if (axis < -r || axis >= r) return lib_error(c, "axis %lld is out of range for rank %d", (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + r : axis);
    return 0;
}

/* Stable merge sort of positions by cmp(ctx, a, b) (< 0: a first). */
typedef int (*pos_cmp)(const void *ctx, int64_t a, int64_t b);

static void merge_sort(int64_t *pos, int64_t *tmp, int64_t n, pos_cmp cmp, const void *ctx) {
    if (n < 2) return;
    int64_t h = n / 2;
    merge_sort(pos, tmp, h, cmp, ctx);
    merge_sort(pos + h, tmp, n - h, cmp, ctx);
    int64_t i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = cmp(ctx, pos[j], pos[i]) < 0 ? pos[j++] : pos[i++];
    while (i < h) tmp[k++] = pos[i++];
    while (j < n) tmp[k++] = pos[j++];
    memcpy(pos, tmp, (size_t)n * sizeof *pos);
}

/* Positions 0..n-1 (malloc'd); NULL when out of memory. */
static int64_t *identity_positions(int64_t n) {
    int64_t *pos = malloc((size_t)(n ? n : 1) * sizeof *pos);
    for (int64_t i = 0; pos && i < n; i++) pos[i] = i;
    return pos;
}

/* Positions 0..n-1 sorted stably by cmp; NULL when out of memory. */
static int64_t *sorted_positions(int64_t n, pos_cmp cmp, const void *ctx) {
    int64_t *pos = identity_positions(n), *tmp = malloc((size_t)(n ? n : 1) * sizeof *tmp);
    if (pos && tmp) merge_sort(pos, tmp, n, cmp, ctx);
    free(tmp);
    if (!tmp) {
        free(pos);
        return NULL;
    }
    return pos;
}

static void copy_elem(const lib_tensor *from, int64_t i, lib_tensor *to, int64_t j) {
    interp_write(to->dtype, to->data, j, interp_read(from->dtype, from->data, i));
}

static void write_i64(lib_tensor *t, int64_t i, int64_t v) { interp_write(t->dtype, t->data, i, (interp_slot){.i = v}); }

/* ---- TopK(X, K) -> Values, Indices ------------------------------------------------ */

typedef struct topk_ctx {
    const lib_tensor *x;
    int64_t base, stride; /* element j of the slice is at base + j * stride */
    int sign;             /* -1: largest first */
} topk_ctx;

static int topk_cmp(const void *ctx, int64_t a, int64_t b) {
    const topk_ctx *t = ctx;
    interp_slot va = interp_read(t->x->dtype, t->x->data, t->base + a * t->stride);
    interp_slot vb = interp_read(t->x->dtype, t->x->data, t->base + b * t->stride);
    return t->sign * interp_compare(t->x->dtype, va, vb);
}

/* Values, Indices (outer, k, inner): the k largest (smallest) of each slice
 * along the axis, sorted, equal values in index order. */
static int lib_topk(lib_call *c) {
    const lib_tensor *x = &c->in[0];
    int axis = 0;
    int64_t k = 0;
    if (normalize_axis(c, ir_attr_int(c->node, "axis"), x->rank, &axis) || scalar_int(c, 1, "K", &k)) return -1;
    if (x->rank == 0) return lib_error(c, "input X must have rank >= 1");
    axis_view v = around_axis(x, axis);
    if (k < 0 || k > v.len)
        return lib_error(c, "K = %lld is out of range for axis size %lld", (long long)k, (long long)v.len);
    int64_t shape[IR_MAX_RANK];
    memcpy(shape, x->shape, sizeof shape);
    shape[axis] = k;
    lib_tensor *values = lib_output(c, 0, shape);
    lib_tensor *indices = values ? lib_output(c, 1, shape) : NULL;
    if (!indices) return -1;
    topk_ctx t = {.x = x, .stride = v.inner, .sign = ir_attr_int(c->node, "largest") ? -1 : 1};
    for (int64_t o = 0; o < v.outer; o++) {
        for (int64_t i = 0; i < v.inner; i++) {
            t.base = o * v.len * v.inner + i;
            int64_t *pos = sorted_positions(v.len, topk_cmp, &t);
            if (!pos) return lib_error(c, "out of memory");
            for (int64_t j = 0; j < k; j++) {
                int64_t at = (o * k + j) * v.inner + i;
                copy_elem(x, t.base + pos[j] * v.inner, values, at);
                write_i64(indices, at, pos[j]);
            }
            free(pos);
        }
    }
    return 0;
}

/* ---- NonZero(X) -> Y (rank, count) ------------------------------------------------- */

static bool is_nonzero(const lib_tensor *t, int64_t i) {
    interp_slot v = interp_read(t->dtype, t->data, i);
    return ir_dtype_is_float(t->dtype) ? v.f != 0 : v.i != 0;
}

/* Y[d][j]: coordinate d of the j-th nonzero element in row-major order
 * (a scalar counts as a one-element vector, as numpy does). */
static int lib_nonzero(lib_call *c) {
    const lib_tensor *x = &c->in[0];
    int rank = x->rank ? x->rank : 1;
    int64_t count = 0;
    for (int64_t i = 0; i < x->numel; i++) count += is_nonzero(x, i);
    int64_t shape[2] = {rank, count};
    lib_tensor *y = lib_output(c, 0, shape);
    if (!y) return -1;
    int64_t j = 0;
    for (int64_t i = 0; i < x->numel; i++) {
        if (!is_nonzero(x, i)) continue;
        int64_t rest = i;
        for (int d = rank - 1; d >= 0; d--) {
            int64_t size = x->rank ? x->shape[d] : 1;
            write_i64(y, d * count + j, rest % size);
            rest /= size;
        }
        j++;
    }
    return 0;
}

/* ---- Unique(X) -> Y, indices, inverse_indices, counts -------------------------------- */

/* Slices of X along the axis (or its elements when there is no axis),
 * compared lexicographically in row-major order. */
typedef struct slice_ctx {
    const lib_tensor *x;
    axis_view v;
} slice_ctx;

static int slice_cmp(const void *ctx, int64_t a, int64_t b) {
    const slice_ctx *s = ctx;
    for (int64_t o = 0; o < s->v.outer; o++) {
        for (int64_t i = 0; i < s->v.inner; i++) {
            int64_t base = o * s->v.len * s->v.inner + i;
            interp_slot va = interp_read(s->x->dtype, s->x->data, base + a * s->v.inner);
            interp_slot vb = interp_read(s->x->dtype, s->x->data, base + b * s->v.inner);
            int r = interp_compare(s->x->dtype, va, vb);
            if (r) return r;
        }
    }
    return 0;
}

static int first_pos_cmp(const void *ctx, int64_t a, int64_t b) {
    const int64_t *first = ctx;
    return (first[a] > first[b]) - (first[a] < first[b]);
}

/* Group the sorted slice positions into runs of equal slices: run_of[slice],
 * first[run] (smallest position, thanks to the stable sort), count[run]. */
static int64_t group_runs(const slice_ctx *s, const int64_t *pos, int64_t *run_of, int64_t *first, int64_t *count) {
    int64_t runs = 0;
    for (int64_t j = 0; j < s->v.len; j++) {
        if (j == 0 || slice_cmp(s, pos[j - 1], pos[j]) != 0) {
            first[runs] = pos[j];
            count[runs++] = 0;
        }
        run_of[pos[j]] = runs - 1;
        count[runs - 1]++;
    }
    return runs;
}

static int unique_outputs(lib_call *c, const slice_ctx *s, int axis, int64_t runs, const int64_t *order,
                          const int64_t *rank_of, const int64_t *run_of, const int64_t *first, const int64_t *count) {
    const lib_tensor *x = s->x;
    int64_t shape[IR_MAX_RANK];
    memcpy(shape, x->shape, sizeof shape);
    if (axis < 0) shape[0] = runs;
    else shape[axis] = runs;
    lib_tensor *y = lib_output(c, 0, shape);
    if (!y) return -1;
    for (int64_t r = 0; r < runs; r++) /* Y: the slices in output order */
        for (int64_t o = 0; o < s->v.outer; o++)
            for (int64_t i = 0; i < s->v.inner; i++)
                copy_elem(x, (o * s->v.len + first[order[r]]) * s->v.inner + i, y, (o * runs + r) * s->v.inner + i);
    int64_t n_runs[1] = {runs}, n_slices[1] = {s->v.len};
    for (uint32_t o = 1; o < c->n_out; o++) {
        lib_tensor *t = lib_output(c, o, o == 2 ? n_slices : n_runs);
        if (!t) return -1;
        for (int64_t j = 0; j < (o == 2 ? s->v.len : runs); j++)
            write_i64(t, j, o == 1 ? first[order[j]] : o == 2 ? rank_of[run_of[j]] : count[order[j]]);
    }
    return 0;
}

/* Distinct elements (or slices along `axis`), sorted ascending or in order of
 * first occurrence; indices: first occurrence; inverse_indices: the output
 * position of each input element; counts. */
static int lib_unique(lib_call *c) {
    const lib_tensor *x = &c->in[0];
    int axis = -1;
    if (ir_attr_is_set(c->node, "axis") && normalize_axis(c, ir_attr_int(c->node, "axis"), x->rank, &axis)) return -1;
    if (axis >= 0 && x->rank == 0) return lib_error(c, "axis is given but X is a scalar");
    slice_ctx s = {.x = x, .v = axis < 0 ? (axis_view){1, x->numel, 1} : around_axis(x, axis)};
    int64_t n = s.v.len, m = n ? n : 1;
    int64_t *pos = sorted_positions(n, slice_cmp, &s);
    int64_t *run_of = malloc((size_t)m * sizeof *run_of), *first = malloc((size_t)m * sizeof *first);
    int64_t *count = malloc((size_t)m * sizeof *count), *rank_of = malloc((size_t)m * sizeof *rank_of);
    int64_t *order = NULL;
    int rc = -1;
    if (!pos || !run_of || !first || !count || !rank_of) {
        lib_error(c, "out of memory");
        goto done;
    }
    int64_t runs = group_runs(&s, pos, run_of, first, count);
    /* runs come in ascending order; unsorted output orders them by first occurrence */
    order = ir_attr_int(c->node, "sorted") ? identity_positions(runs) : sorted_positions(runs, first_pos_cmp, first);
    if (!order) {
        lib_error(c, "out of memory");
        goto done;
    }
    for (int64_t r = 0; r < runs; r++) rank_of[order[r]] = r;
    rc = unique_outputs(c, &s, axis, runs, order, rank_of, run_of, first, count);
done:
    free(pos);
    free(run_of);
    free(first);
    free(count);
    free(rank_of);
    free(order);
    return rc;
}

/* ---- CumSum, CumProd (x, axis) -> y ------------------------------------------------------- */

typedef enum { SCAN_SUM, SCAN_PROD } scan_op;

/* acc op x: in double for floats, wrapping 64-bit arithmetic for integers
 * (the write wraps to the element width). */
static interp_slot scan_step(scan_op op, bool fl, interp_slot acc, interp_slot x) {
    if (fl) acc.f = op == SCAN_SUM ? acc.f + x.f : acc.f * x.f;
    else acc.u = op == SCAN_SUM ? acc.u + x.u : acc.u * x.u;
    return acc;
}

/* y[.., j, ..] = x[.., 0, ..] op .. op x[.., j, ..] (up to j - 1 when
 * exclusive, the identity for the first; from the end when reverse). */
static int scan_axis(lib_call *c, scan_op op) {
    const lib_tensor *x = &c->in[0];
    int64_t a = 0;
    int axis = 0;
    if (scalar_int(c, 1, "axis", &a) || normalize_axis(c, a, x->rank, &axis)) return -1;
    lib_tensor *y = lib_output(c, 0, x->shape);
    if (!y) return -1;
    axis_view v = around_axis(x, axis);
    bool exclusive = ir_attr_int(c->node, "exclusive") != 0, reverse = ir_attr_int(c->node, "reverse") != 0;
    bool fl = ir_dtype_is_float(x->dtype);
    interp_slot identity = {.i = op == SCAN_SUM ? 0 : 1};
    if (fl) identity.f = op == SCAN_SUM ? 0 : 1;
    for (int64_t o = 0; o < v.outer; o++) {
        for (int64_t i = 0; i < v.inner; i++) {
            interp_slot acc = identity;
            for (int64_t step = 0; step < v.len; step++) {
                int64_t j = reverse ? v.len - 1 - step : step, at = (o * v.len + j) * v.inner + i;
                interp_slot xv = interp_read(x->dtype, x->data, at);
                if (!exclusive) acc = scan_step(op, fl, acc, xv);
                interp_write(y->dtype, y->data, at, acc);
                if (exclusive) acc = scan_step(op, fl, acc, xv);
            }
        }
    }
    return 0;
}

static int lib_cumsum(lib_call *c) { return scan_axis(c, SCAN_SUM); }
static int lib_cumprod(lib_call *c) { return scan_axis(c, SCAN_PROD); }

/* ---- Det(X (..., M, M)) -> Y (...) --------------------------------------------------------- */

/* The determinant of the m x m matrix a (row-major, overwritten): LU
 * decomposition with partial pivoting, in double. */
static double lu_determinant(double *a, int64_t m) {
    double det = 1;
    for (int64_t k = 0; k < m; k++) {
        int64_t piv = k;
        for (int64_t i = k + 1; i < m; i++)
            if (fabs(a[i * m + k]) > fabs(a[piv * m + k])) piv = i;
        if (a[piv * m + k] == 0) return 0;
        if (piv != k) {
            for (int64_t j = 0; j < m; j++) {
                double t = a[k * m + j];
                a[k * m + j] = a[piv * m + j];
                a[piv * m + j] = t;
            }
            det = -det;
        }
        det *= a[k * m + k];
        for (int64_t i = k + 1; i < m; i++) {
            double f = a[i * m + k] / a[k * m + k];
            for (int64_t j = k + 1; j < m; j++) a[i * m + j] -= f * a[k * m + j];
        }
    }
    return det;
}

static int lib_det(lib_call *c) {
    const lib_tensor *x = &c->in[0];
    if (x->rank < 2 || x->shape[x->rank - 1] != x->shape[x->rank - 2])
        return lib_error(c, "input must be a stack of square matrices");
    int64_t m = x->shape[x->rank - 1], count = 1;
    for (int i = 0; i < x->rank - 2; i++) count *= x->shape[i];
    lib_tensor *y = lib_output(c, 0, x->shape);
    if (!y) return -1;
    if (count == 0) return 0;
    double *a = malloc((size_t)(m ? m * m : 1) * sizeof *a); /* m * m <= numel: it fits */
    if (!a) return lib_error(c, "out of memory");
    for (int64_t b = 0; b < count; b++) {
        for (int64_t e = 0; e < m * m; e++) a[e] = interp_read(x->dtype, x->data, b * m * m + e).f;
        interp_write(y->dtype, y->data, b, (interp_slot){.f = lu_determinant(a, m)});
    }
    free(a);
    return 0;
}

/* ---- MaxUnpool(X, I, output_shape?) -> Y ------------------------------------------------- */

/* The unpooled shape (N, C, (D - 1) * stride + kernel - pads) of X. */
static int natural_unpool_shape(lib_call *c, const lib_tensor *x, int64_t *shape) {
    ir_window w;
    if (x->rank < 3 || ir_window_read(c->g, c->node, x->rank - 2, NULL, &w, NULL))
        return lib_error(c, "X or the window attributes are invalid");
    shape[0] = x->shape[0];
    shape[1] = x->shape[1];
    for (int i = 0; i < w.k; i++) {
        ir_dim o = ir_window_unpool_out(c->g, &w, i, ir_dim_const(x->shape[2 + i]));
        if (o.c < 0) return lib_error(c, "the unpooled size of axis %d is negative", 2 + i);
        shape[2 + i] = o.c;
    }
    return 0;
}

/* Y is zero but for X[e] at flat position I[e] of the unpooled shape, which
 * starts at the origin of Y (output_shape may make Y larger; positions
 * beyond a smaller Y are dropped). */
static int lib_max_unpool(lib_call *c) {
    const lib_tensor *x = &c->in[0], *ind = &c->in[1], *os = c->n_in > 2 ? &c->in[2] : NULL;
    int64_t natural[IR_MAX_RANK], shape[IR_MAX_RANK], strides[IR_MAX_RANK], count = 1;
    if (natural_unpool_shape(c, x, natural)) return -1;
    if (ind->numel != x->numel) return lib_error(c, "I and X differ in size");
    memcpy(shape, natural, sizeof shape);
    if (os && os->present) {
        if (!ir_dtype_is_int(os->dtype) || os->numel != x->rank) return lib_error(c, "output_shape must hold %d integers", x->rank);
        for (int a = 0; a < x->rank; a++) shape[a] = interp_read(os->dtype, os->data, a).i;
    }
    for (int a = 0; a < x->rank; a++)
        if (__builtin_mul_overflow(count, natural[a], &count)) return lib_error(c, "the unpooled shape is too large");
    lib_tensor *y = lib_output(c, 0, shape);
    if (!y) return -1;
    for (int a = x->rank - 1; a >= 0; a--) strides[a] = a == x->rank - 1 ? 1 : strides[a + 1] * shape[a + 1];
    for (int64_t e = 0; e < x->numel; e++) {
        int64_t q = interp_read(ind->dtype, ind->data, e).i, at = 0;
        if (q < 0 || q >= count) return lib_error(c, "index %lld is out of range", (long long)q);
        bool inside = true;
        for (int a = x->rank - 1; a >= 0; a--) { /* count > 0: every natural[a] > 0 */
            int64_t coord = q % natural[a];
            q /= natural[a];
            inside = inside && coord < shape[a];
            at += coord * strides[a];
        }
        if (inside) copy_elem(x, e, y, at);
    }
    return 0;
}

/* ---- BitCast(x) -> y: the same bytes ------------------------------------------------------ */

static int lib_bitcast(lib_call *c) {
    const lib_tensor *x = &c->in[0];
    lib_tensor *y = lib_output(c, 0, x->shape);
    if (!y) return -1;
    int64_t nbytes = ir_dtype_storage_bytes(x->dtype, x->numel);
    if (nbytes != ir_dtype_storage_bytes(y->dtype, y->numel)) return lib_error(c, "input and output sizes differ");
    if (nbytes > 0) memcpy(y->data, x->data, (size_t)nbytes);
    return 0;
}

/* ---- Dropout(data, ratio?, training_mode?) -> output, mask? ------------------------------ */

/* An identity, as in inference, unless training_mode is true and the ratio
 * nonzero: random dropping is not something a compiled model reproduces. */
static int lib_dropout(lib_call *c) {
    const lib_tensor *x = &c->in[0];
    double ratio = 0.5;
    bool training = false;
    if (c->n_in > 1 && c->in[1].present) ratio = interp_read(c->in[1].dtype, c->in[1].data, 0).f;
    if (c->n_in > 2 && c->in[2].present) training = interp_read(IR_BOOL, c->in[2].data, 0).i != 0;
    if (training && ratio != 0) return lib_error(c, "training-mode Dropout with ratio %g is random: not supported", ratio);
    lib_tensor *y = lib_output(c, 0, x->shape);
    if (!y) return -1;
    for (int64_t i = 0; i < x->numel; i++) copy_elem(x, i, y, i);
    lib_tensor *mask = c->n_out > 1 ? lib_output(c, 1, x->shape) : NULL;
    if (c->n_out > 1 && !mask) return -1;
    for (int64_t i = 0; mask && i < x->numel; i++) interp_write(IR_BOOL, mask->data, i, (interp_slot){.i = 1});
    return 0;
}

/* ---- the table ---------------------------------------------------------------------------- */

static const struct {
    const char *name;
    interp_lib_fn fn;
} lib_table[] = {
    {"TopK", lib_topk},
    {"NonZero", lib_nonzero},
    {"Unique", lib_unique},
    {"CumSum", lib_cumsum},
    {"CumProd", lib_cumprod},
    {"Det", lib_det},
    {"MaxUnpool", lib_max_unpool},
    {"BitCast", lib_bitcast},
    {"Dropout", lib_dropout},
};

interp_lib_fn interp_lib_find(const char *name) {
    for (size_t i = 0; i < sizeof lib_table / sizeof lib_table[0]; i++)
        if (!strcmp(lib_table[i].name, name)) return lib_table[i].fn;
    return NULL;
}
