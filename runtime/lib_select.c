/* lib_select.c — the library routines that select and sort (see lib.h):
 * TopK, NonZero and Unique. Sorting is the stable merge sort of element
 * positions (lib_util.c), so equal values keep their index order as TopK
 * and Unique specify; NonZero's count and Unique's number of distinct
 * values are data-dependent sizes, bound when the outputs are created. */
#include <stdlib.h>
#include <string.h>

#include "lib_impl.h"

/* ---- TopK(X, K) -> Values, Indices ------------------------------------------------ */

typedef struct topk_ctx {
    const rt_tensor *x;
    int64_t base, stride; /* element j of the slice is at base + j * stride */
    int sign;             /* -1: largest first */
} topk_ctx;

static int topk_cmp(const void *ctx, int64_t a, int64_t b) {
    const topk_ctx *t = ctx;
    rt_slot va = rt_tensor_read(t->x, t->base + a * t->stride), vb = rt_tensor_read(t->x, t->base + b * t->stride);
    return t->sign * rt_elem_compare((ir_dtype)t->x->dtype, va, vb);
}

/* Values, Indices (outer, k, inner): the k largest (smallest) of each slice
 * along the axis, sorted, equal values in index order. */
int rt_lib_topk(rt_lib_call *c) {
    const rt_tensor *x = &c->in[0];
    int axis = 0;
    int64_t k = 0, a = 0, largest = 1;
    if (rt_lib_attr_int(c, "axis", &a) || rt_lib_attr_int(c, "largest", &largest) ||
        rt_lib_normalize_axis(c, a, x->rank, &axis) || rt_lib_scalar_int(c, 1, "K", &k))
        return -1;
    if (x->rank == 0) return rt_lib_error(c, "input X must have rank >= 1");
    rt_axis_view v = rt_lib_around_axis(x, axis);
    if (k < 0 || k > v.len)
        return rt_lib_error(c, "K = %lld is out of range for axis size %lld", (long long)k, (long long)v.len);
    int64_t shape[16];
    memcpy(shape, x->shape, sizeof shape);
    shape[axis] = k;
    rt_tensor *values = c->output(c, 0, shape);
    rt_tensor *indices = values ? c->output(c, 1, shape) : NULL;
    if (!indices) return -1;
    topk_ctx t = {.x = x, .stride = v.inner, .sign = largest ? -1 : 1};
    for (int64_t o = 0; o < v.outer; o++) {
        for (int64_t i = 0; i < v.inner; i++) {
            t.base = o * v.len * v.inner + i;
            int64_t *pos = rt_lib_sorted_positions(v.len, topk_cmp, &t);
            if (!pos) return rt_lib_error(c, "out of memory");
            for (int64_t j = 0; j < k; j++) {
                int64_t at = (o * k + j) * v.inner + i;
                rt_tensor_copy_elem(x, t.base + pos[j] * v.inner, values, at);
                rt_tensor_write_i64(indices, at, pos[j]);
            }
            free(pos);
        }
    }
    return 0;
}

/* ---- NonZero(X) -> Y (rank, count) ------------------------------------------------- */

static bool is_nonzero(const rt_tensor *t, int64_t i) {
    rt_slot v = rt_tensor_read(t, i);
    return ir_dtype_is_float((ir_dtype)t->dtype) ? v.f != 0 : v.i != 0;
}

/* Y[d][j]: coordinate d of the j-th nonzero element in row-major order
 * (a scalar counts as a one-element vector, as numpy does). */
int rt_lib_nonzero(rt_lib_call *c) {
    const rt_tensor *x = &c->in[0];
    int rank = x->rank ? x->rank : 1;
    int64_t count = 0;
    for (int64_t i = 0; i < x->numel; i++) count += is_nonzero(x, i);
    int64_t shape[2] = {rank, count};
    rt_tensor *y = c->output(c, 0, shape);
    if (!y) return -1;
    int64_t j = 0;
    for (int64_t i = 0; i < x->numel; i++) {
        if (!is_nonzero(x, i)) continue;
        int64_t rest = i;
        for (int d = rank - 1; d >= 0; d--) {
            int64_t size = x->rank ? x->shape[d] : 1;
            rt_tensor_write_i64(y, d * count + j, rest % size);
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
    const rt_tensor *x;
    rt_axis_view v;
} slice_ctx;

static int slice_cmp(const void *ctx, int64_t a, int64_t b) {
    const slice_ctx *s = ctx;
    for (int64_t o = 0; o < s->v.outer; o++) {
        for (int64_t i = 0; i < s->v.inner; i++) {
            int64_t base = o * s->v.len * s->v.inner + i;
            rt_slot va = rt_tensor_read(s->x, base + a * s->v.inner), vb = rt_tensor_read(s->x, base + b * s->v.inner);
            int r = rt_elem_compare((ir_dtype)s->x->dtype, va, vb);
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

static int unique_outputs(rt_lib_call *c, const slice_ctx *s, int axis, int64_t runs, const int64_t *order,
                          const int64_t *rank_of, const int64_t *run_of, const int64_t *first, const int64_t *count) {
    const rt_tensor *x = s->x;
    int64_t shape[16];
    memcpy(shape, x->shape, sizeof shape);
    if (axis < 0) shape[0] = runs;
    else shape[axis] = runs;
    rt_tensor *y = c->output(c, 0, shape);
    if (!y) return -1;
    for (int64_t r = 0; r < runs; r++) /* Y: the slices in output order */
        for (int64_t o = 0; o < s->v.outer; o++)
            for (int64_t i = 0; i < s->v.inner; i++)
                rt_tensor_copy_elem(x, (o * s->v.len + first[order[r]]) * s->v.inner + i, y,
                                    (o * runs + r) * s->v.inner + i);
    int64_t n_runs[1] = {runs}, n_slices[1] = {s->v.len};
    for (uint32_t o = 1; o < c->n_out; o++) {
        rt_tensor *t = c->output(c, o, o == 2 ? n_slices : n_runs);
        if (!t) return -1;
        for (int64_t j = 0; j < (o == 2 ? s->v.len : runs); j++)
            rt_tensor_write_i64(t, j, o == 1 ? first[order[j]] : o == 2 ? rank_of[run_of[j]] : count[order[j]]);
    }
    return 0;
}

/* Distinct elements (or slices along `axis`), sorted ascending or in order of
 * first occurrence; indices: first occurrence; inverse_indices: the output
 * position of each input element; counts. */
int rt_lib_unique(rt_lib_call *c) {
    const rt_tensor *x = &c->in[0];
    int axis = -1;
    int64_t a = 0, sorted = 1;
    if (rt_lib_attr_int(c, "sorted", &sorted)) return -1;
    if (rt_lib_attr_is_set(c, "axis") &&
        (rt_lib_attr_int(c, "axis", &a) || rt_lib_normalize_axis(c, a, x->rank, &axis)))
        return -1;
    if (axis >= 0 && x->rank == 0) return rt_lib_error(c, "axis is given but X is a scalar");
    slice_ctx s = {.x = x, .v = axis < 0 ? (rt_axis_view){1, x->numel, 1} : rt_lib_around_axis(x, axis)};
    int64_t n = s.v.len, m = n ? n : 1;
    int64_t *pos = rt_lib_sorted_positions(n, slice_cmp, &s);
    int64_t *run_of = malloc((size_t)m * sizeof *run_of), *first = malloc((size_t)m * sizeof *first);
    int64_t *count = malloc((size_t)m * sizeof *count), *rank_of = malloc((size_t)m * sizeof *rank_of);
    int64_t *order = NULL;
    int rc = -1;
    if (!pos || !run_of || !first || !count || !rank_of) {
        rt_lib_error(c, "out of memory");
        goto done;
    }
    int64_t runs = group_runs(&s, pos, run_of, first, count);
    /* runs come in ascending order; unsorted output orders them by first occurrence */
    order = sorted ? rt_lib_identity_positions(runs) : rt_lib_sorted_positions(runs, first_pos_cmp, first);
    if (!order) {
        rt_lib_error(c, "out of memory");
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
