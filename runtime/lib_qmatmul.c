/* lib_qmatmul.c — the library routines over ggml block-format weights kept
 * in place: MatMulGGML (x @ W^T through the quantized matmul of
 * qmatmul.h, split over the caller's threads) and GatherGGML (rows of W
 * dequantized, the embedding lookup). */
#include "ggml_quant.h"
#include "lib_impl.h"
#include "qmatmul.h"

/* MatMulGGML(x f32 [..., K], W [N, K]) -> y f32 [..., N] */
int rt_lib_matmul_ggml(rt_lib_call *c) {
    const rt_tensor *x = &c->in[0], *w = &c->in[1];
    if (x->rank < 1 || w->rank != 2 || x->shape[x->rank - 1] != w->shape[1])
        return rt_lib_error(c, "x and W do not agree in size");
    int64_t shape[16], k = w->shape[1], m = k ? x->numel / k : 0;
    for (int a = 0; a < x->rank; a++) shape[a] = x->shape[a];
    shape[x->rank - 1] = w->shape[0];
    rt_tensor *y = c->output(c, 0, shape);
    if (!y) return -1;
    if (rt_qmatmul((ir_dtype)w->dtype, w->data, w->shape[0], k, x->data, m, y->data, c->pool))
        return rt_lib_error(c, "no quantized matmul for W of %s with rows of %lld, or out of memory",
                            ir_dtype_name((ir_dtype)w->dtype), (long long)k);
    return 0;
}

/* GatherGGML(W [R, K], indices [...]) -> y f32 [..., K] */
int rt_lib_gather_ggml(rt_lib_call *c) {
    const rt_tensor *w = &c->in[0], *ix = &c->in[1];
    if (w->rank != 2 || ix->rank > 15) return rt_lib_error(c, "W must be 2-D");
    int64_t shape[16], k = w->shape[1];
    for (int a = 0; a < ix->rank; a++) shape[a] = ix->shape[a];
    shape[ix->rank] = k;
    rt_tensor *y = c->output(c, 0, shape);
    if (!y) return -1;
    int64_t row = ir_dtype_storage_bytes((ir_dtype)w->dtype, k);
    for (int64_t i = 0; i < ix->numel; i++) {
        int64_t r = rt_tensor_read(ix, i).i;
        if (r < 0) r += w->shape[0];
        if (r < 0 || r >= w->shape[0]) return rt_lib_error(c, "index %lld is out of range", (long long)rt_tensor_read(ix, i).i);
        if (rt_ggml_dequantize((ir_dtype)w->dtype, (const uint8_t *)w->data + r * row, k, (float *)y->data + i * k))
            return rt_lib_error(c, "rows of %lld elements of %s are no whole number of blocks", (long long)k,
                                ir_dtype_name((ir_dtype)w->dtype));
    }
    return 0;
}
