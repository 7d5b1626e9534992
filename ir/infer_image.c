/* infer_image.c — inference for the image ops of the loss family:
 * CenterCropPad, Col2Im and MaxUnpool, and Col2Im's geometry (image.h).
 * Their output sizes come from integer inputs (the target shape,
 * image_shape and block_shape, output_shape), which must be constants:
 * an ahead-of-time compiler has to know them (`smelt run` makes small
 * integer inputs constants). Windows are read through window.h, as the
 * lowering and the interpreter read them.
 */
#include "image.h"
#include "infer.h"

#define NODE (&g->nodes[node])

/* Sizes beyond this are rejected: they can only come from a broken file. */
#define IMAGE_MAX (INT64_C(1) << 32)

/* Input i: a constant i32/i64 vector of `want` values (any number up to
 * IR_MAX_RANK when want < 0), each in [lo, IMAGE_MAX]; count in *count. */
static int const_sizes(ir_graph *g, const ir_node *n, uint32_t i, const char *what, int want, int64_t lo,
                       int64_t *vals, int *count, diag *d) {
    if (infer_input(g, n, i)->rank != 1) return ir_node_error(g, n, d, "%s must be a vector", what);
    int rc = infer_const_ints(g, n, i, vals, IR_MAX_RANK, count, d);
    if (rc) return rc < 0 ? -1 : ir_node_error(g, n, d, "%s must be a constant", what);
    if (want >= 0 && *count != want) return ir_node_error(g, n, d, "%s has %d values, expected %d", what, *count, want);
    for (int k = 0; k < *count; k++)
        if (vals[k] < lo || vals[k] > IMAGE_MAX)
            return ir_node_error(g, n, d, "%s has invalid value %lld", what, (long long)vals[k]);
    return 0;
}

/* Sizes a and b must agree where both are known. */
static int same_size(ir_graph *g, const ir_node *n, ir_dim a, ir_dim b, const char *what, diag *d) {
    if (ir_dim_is_const(a) && ir_dim_is_const(b) && a.c != b.c)
        return ir_node_error(g, n, d, "%s: size %lld where %lld is expected", what, (long long)b.c, (long long)a.c);
    return 0;
}

/* ---- CenterCropPad ------------------------------------------------------------------------ */

/* CenterCropPad(input, shape) -> input with the sizes of `shape` along
 * `axes` (all axes when absent). */
int infer_center_crop_pad(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    int64_t sizes[IR_MAX_RANK];
    int count;
    uint32_t n_axes;
    const int64_t *axes = ir_attr_ints(n, "axes", &n_axes);
    if (ir_dtype_is_quant(x->dtype))
        return ir_node_error(g, n, d, "cannot crop or pad %s blocks", ir_dtype_name(x->dtype));
    if (const_sizes(g, n, 1, "shape", axes ? (int)n_axes : x->rank, 0, sizes, &count, d)) return -1;
    ir_dim out[IR_MAX_RANK];
    bool seen[IR_MAX_RANK] = {false};
    for (int i = 0; i < x->rank; i++) out[i] = x->dims[i];
    for (int k = 0; k < count; k++) {
        int a = k;
        if (axes && infer_axis(g, n, axes[k], x->rank, &a, d)) return -1;
        if (seen[a]) return ir_node_error(g, n, d, "axis %d is given twice", a);
        seen[a] = true;
        out[a] = ir_dim_const(sizes[k]);
    }
    return infer_set(g, n, 0, x->dtype, x->rank, out, d);
}

/* ---- Col2Im ------------------------------------------------------------------------------- */

/* a * b into *r unless it overflows or passes IMAGE_MAX. */
static bool mul_size(int64_t a, int64_t b, int64_t *r) { return !__builtin_mul_overflow(a, b, r) && *r <= IMAGE_MAX; }

int col2im_read(ir_graph *g, const ir_node *n, col2im_geometry *geo, diag *d) {
    int k, kb;
    int64_t block[IR_MAX_RANK];
    if (const_sizes(g, n, 1, "image_shape", -1, 1, geo->image, &k, d) ||
        const_sizes(g, n, 2, "block_shape", k, 1, block, &kb, d))
        return -1;
    ir_dim bdims[IR_MAX_RANK];
    for (int i = 0; i < k; i++) bdims[i] = ir_dim_const(block[i]);
    if (ir_window_read(g, n, k, bdims, &geo->w, d)) return -1;
    geo->block_count = geo->block_size = 1;
    for (int i = 0; i < k; i++) {
        ir_dim b = ir_window_out(g, &geo->w, i, ir_dim_const(geo->image[i]));
        if (b.c < 1) return ir_node_error(g, n, d, "the block does not fit into the image along axis %d", i);
        geo->blocks[i] = b.c;
        if (!mul_size(geo->block_count, b.c, &geo->block_count) || !mul_size(geo->block_size, block[i], &geo->block_size))
            return ir_node_error(g, n, d, "too many blocks");
    }
    return 0;
}

/* Col2Im(input (N, C * prod(block), L), image_shape, block_shape) -> (N, C, image...) */
int infer_col2im(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0);
    col2im_geometry geo;
    if (x->rank != 3) return ir_node_error(g, n, d, "input has rank %d, expected 3 (N, C * prod(block), L)", x->rank);
    if (col2im_read(g, n, &geo, d) || same_size(g, n, ir_dim_const(geo.block_count), x->dims[2], "input axis 2", d))
        return -1;
    ir_dim cb = x->dims[1];
    if (ir_dim_is_const(cb) && cb.c % geo.block_size)
        return ir_node_error(g, n, d, "input axis 1 (%lld) is not a multiple of the block size %lld", (long long)cb.c,
                             (long long)geo.block_size);
    ir_dim out[IR_MAX_RANK] = {x->dims[0], ir_dim_div(g, cb, ir_dim_const(geo.block_size))};
    for (int i = 0; i < geo.w.k; i++) out[2 + i] = ir_dim_const(geo.image[i]);
    return infer_set(g, n, 0, x->dtype, 2 + geo.w.k, out, d);
}

/* ---- MaxUnpool -------------------------------------------------------------------------------- */

/* MaxUnpool(X (N, C, D...), I (X's shape, i64), output_shape?) -> output_shape,
 * or (N, C, (D - 1) * stride + kernel - pads) */
int infer_max_unpool(ir_graph *g, uint32_t node, diag *d) {
    const ir_node *n = NODE;
    const ir_value *x = infer_input(g, n, 0), *idx = infer_input(g, n, 1);
    if (!ir_dtype_is_float(x->dtype)) return ir_node_error(g, n, d, "X must be floats, got %s", ir_dtype_name(x->dtype));
    if (x->rank < 3) return ir_node_error(g, n, d, "X has rank %d, expected at least 3", x->rank);
    if (idx->dtype != IR_I64 || idx->rank != x->rank) return ir_node_error(g, n, d, "I must be i64 of X's rank");
    for (int i = 0; i < x->rank; i++)
        if (same_size(g, n, x->dims[i], idx->dims[i], "I", d)) return -1;
    ir_window w;
    if (ir_window_read(g, n, x->rank - 2, NULL, &w, d)) return -1;
    ir_dim out[IR_MAX_RANK] = {x->dims[0], x->dims[1]};
    for (int i = 0; i < w.k; i++) out[2 + i] = ir_window_unpool_out(g, &w, i, x->dims[2 + i]);
    if (infer_input(g, n, 2)) {
        int64_t shape[IR_MAX_RANK];
        int count;
        if (const_sizes(g, n, 2, "output_shape", x->rank, 0, shape, &count, d)) return -1;
        for (int i = 0; i < count; i++) out[i] = ir_dim_const(shape[i]);
    }
    return infer_set(g, n, 0, x->dtype, x->rank, out, d);
}
