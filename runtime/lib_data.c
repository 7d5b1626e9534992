/* lib_data.c — the library routines that move data (see lib.h):
 * MaxUnpool (a scatter, its window read from the kernel_shape, strides and
 * pads attributes), BitCast (the same bytes), Dropout (the identity of
 * inference, when whether it trains was known only at run time) and
 * DequantizeGGML (ggml's block formats, ggml_quant.h). */
#include <string.h>

#include "ggml_quant.h"
#include "lib_impl.h"

/* ---- MaxUnpool(X, I, output_shape?) -> Y ------------------------------------------------- */

/* Window sizes beyond this are rejected, as the graph's reader does (ir/window.c). */
#define WINDOW_MAX (INT64_C(1) << 32)

/* List attribute `name` into dst: `want` values, each in [lo, WINDOW_MAX];
 * dflt everywhere when absent (required: an error). */
static int window_list(rt_lib_call *c, const char *name, int64_t *dst, int want, int64_t lo, int64_t dflt,
                       bool required) {
    const int64_t *v;
    uint32_t n;
    if (!rt_lib_attr_ints(c, name, &v, &n)) {
        if (required) return rt_lib_error(c, "attribute '%s' is missing", name);
        for (int i = 0; i < want; i++) dst[i] = dflt;
        return 0;
    }
    if ((int)n != want) return rt_lib_error(c, "attribute '%s' has %u values, expected %d", name, n, want);
    for (int i = 0; i < want; i++) {
        if (v[i] < lo || v[i] > WINDOW_MAX)
            return rt_lib_error(c, "attribute '%s' has invalid value %lld", name, (long long)v[i]);
        dst[i] = v[i];
    }
    return 0;
}

/* The unpooled shape (N, C, (D - 1) * stride + kernel - pads) of X. */
static int natural_unpool_shape(rt_lib_call *c, const rt_tensor *x, int64_t *shape) {
    int k = x->rank - 2;
    int64_t kernel[16], stride[16], pads[32];
    if (x->rank < 3) return rt_lib_error(c, "X must have rank >= 3");
    if (window_list(c, "kernel_shape", kernel, k, 1, 1, true) || window_list(c, "strides", stride, k, 1, 1, false) ||
        window_list(c, "pads", pads, 2 * k, 0, 0, false))
        return -1;
    shape[0] = x->shape[0];
    shape[1] = x->shape[1];
    for (int i = 0; i < k; i++) {
        int64_t o;
        if (__builtin_mul_overflow(x->shape[2 + i] - 1, stride[i], &o) ||
            __builtin_add_overflow(o, kernel[i] - pads[i] - pads[i + k], &o))
            return rt_lib_error(c, "the unpooled size of axis %d is too large", 2 + i);
        if (o < 0) return rt_lib_error(c, "the unpooled size of axis %d is negative", 2 + i);
        shape[2 + i] = o;
    }
    return 0;
}

/* Y is zero but for X[e] at flat position I[e] of the unpooled shape, which
 * starts at the origin of Y (output_shape may make Y larger; positions
 * beyond a smaller Y are dropped). */
int rt_lib_max_unpool(rt_lib_call *c) {
    const rt_tensor *x = &c->in[0], *ind = &c->in[1], *os = rt_lib_opt_in(c, 2);
    int64_t natural[16], shape[16], strides[16], count = 1;
    if (natural_unpool_shape(c, x, natural)) return -1;
    if (ind->numel != x->numel) return rt_lib_error(c, "I and X differ in size");
    memcpy(shape, natural, sizeof shape);
    if (os) {
        if (!ir_dtype_is_int((ir_dtype)os->dtype) || os->numel != x->rank)
            return rt_lib_error(c, "output_shape must hold %d integers", x->rank);
        for (int a = 0; a < x->rank; a++) shape[a] = rt_tensor_read(os, a).i;
    }
    for (int a = 0; a < x->rank; a++)
        if (__builtin_mul_overflow(count, natural[a], &count)) return rt_lib_error(c, "the unpooled shape is too large");
    rt_tensor *y = c->output(c, 0, shape);
    if (!y) return -1;
    for (int a = x->rank - 1; a >= 0; a--) strides[a] = a == x->rank - 1 ? 1 : strides[a + 1] * shape[a + 1];
    for (int64_t e = 0; e < x->numel; e++) {
        int64_t q = rt_tensor_read(ind, e).i, at = 0;
        if (q < 0 || q >= count) return rt_lib_error(c, "index %lld is out of range", (long long)q);
        bool inside = true;
        for (int a = x->rank - 1; a >= 0; a--) { /* count > 0: every natural[a] > 0 */
            int64_t coord = q % natural[a];
            q /= natural[a];
            inside = inside && coord < shape[a];
            at += coord * strides[a];
        }
        if (inside) rt_tensor_copy_elem(x, e, y, at);
    }
    return 0;
}

/* ---- BitCast(x) -> y: the same bytes ------------------------------------------------------ */

int rt_lib_bitcast(rt_lib_call *c) {
    const rt_tensor *x = &c->in[0];
    rt_tensor *y = c->output(c, 0, x->shape);
    if (!y) return -1;
    int64_t nbytes = ir_dtype_storage_bytes((ir_dtype)x->dtype, x->numel);
    if (nbytes != ir_dtype_storage_bytes((ir_dtype)y->dtype, y->numel))
        return rt_lib_error(c, "input and output sizes differ");
    if (nbytes > 0) memcpy(y->data, x->data, (size_t)nbytes);
    return 0;
}

/* ---- Dropout(data, ratio?, training_mode?) -> output, mask? ------------------------------ */

/* An identity, as in inference, unless training_mode is true and the ratio
 * nonzero: random dropping is not something a compiled model reproduces. */
int rt_lib_dropout(rt_lib_call *c) {
    const rt_tensor *x = &c->in[0], *ratio_in = rt_lib_opt_in(c, 1), *train_in = rt_lib_opt_in(c, 2);
    double ratio = ratio_in && ratio_in->numel > 0 ? rt_tensor_read_f(ratio_in, 0) : 0.5;
    bool training = train_in && train_in->numel > 0 && rt_elem_read(IR_BOOL, train_in->data, 0).i != 0;
    if (training && ratio != 0)
        return rt_lib_error(c, "training-mode Dropout with ratio %g is random: not supported", ratio);
    rt_tensor *y = c->output(c, 0, x->shape);
    if (!y) return -1;
    for (int64_t i = 0; i < x->numel; i++) rt_tensor_copy_elem(x, i, y, i);
    rt_tensor *mask = c->n_out > 1 ? c->output(c, 1, x->shape) : NULL;
    if (c->n_out > 1 && !mask) return -1;
    for (int64_t i = 0; mask && i < x->numel; i++) rt_tensor_write_i64(mask, i, 1);
    return 0;
}

/* ---- DequantizeGGML(x) -> y f32 ------------------------------------------------------------ */

int rt_lib_dequantize_ggml(rt_lib_call *c) {
    const rt_tensor *x = &c->in[0];
    rt_tensor *y = c->output(c, 0, x->shape);
    if (!y) return -1;
    if (rt_ggml_dequantize((ir_dtype)x->dtype, x->data, x->numel, y->data))
        return rt_lib_error(c, "%lld elements of %s are no whole number of blocks", (long long)x->numel,
                            ir_dtype_name((ir_dtype)x->dtype));
    return 0;
}
