/* lib_util.c — helpers of several library routine families (see
 * lib_impl.h): a tensor around one axis, scalar operands and axes checked at
 * run time, and a stable merge sort of element positions, so that equal
 * values keep their index order as TopK and Unique specify. */
#include <stdlib.h>
#include <string.h>

#include "lib_impl.h"

rt_axis_view rt_lib_around_axis(const rt_tensor *t, int axis) {
    rt_axis_view v = {1, t->rank ? t->shape[axis] : 1, 1};
    for (int i = 0; i < axis; i++) v.outer *= t->shape[i];
    for (int i = axis + 1; i < t->rank; i++) v.inner *= t->shape[i];
    return v;
}

int rt_lib_scalar_int(rt_lib_call *c, uint32_t i, const char *what, int64_t *out) {
    const rt_tensor *t = rt_lib_opt_in(c, i);
    if (!t || t->numel != 1 || !ir_dtype_is_int((ir_dtype)t->dtype)) return rt_lib_error(c, "%s must be one integer", what);
    *out = rt_tensor_read(t, 0).i;
    return 0;
}

int rt_lib_normalize_axis(rt_lib_call *c, int64_t axis, int rank, int *out) {
    int r = rank ? rank : 1;
    if (axis < -r || axis >= r) return rt_lib_error(c, "axis %lld is out of range for rank %d", (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + r : axis);
    return 0;
}

static void merge_sort(int64_t *pos, int64_t *tmp, int64_t n, rt_pos_cmp cmp, const void *ctx) {
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

int64_t *rt_lib_identity_positions(int64_t n) {
    int64_t *pos = malloc((size_t)(n ? n : 1) * sizeof *pos);
    for (int64_t i = 0; pos && i < n; i++) pos[i] = i;
    return pos;
}

int64_t *rt_lib_sorted_positions(int64_t n, rt_pos_cmp cmp, const void *ctx) {
    int64_t *pos = rt_lib_identity_positions(n), *tmp = malloc((size_t)(n ? n : 1) * sizeof *tmp);
    if (pos && tmp) merge_sort(pos, tmp, n, cmp, ctx);
    free(tmp);
    if (!tmp) {
        free(pos);
        return NULL;
    }
    return pos;
}
