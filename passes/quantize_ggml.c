/* quantize_ggml.c — the block modes of `--quantize` (q8_0, q4_0, q4_k):
 * weight-only quantization of a MatMul / Gemm with a constant weight into
 * one of ggml's block formats, the same bytes llama.cpp writes for that
 * weight (runtime/ggml_quant.h).
 *
 *   MatMul(x, W [K, N])            -> MatMulGGML(x, Wq [N, K])
 *   Gemm(x, W, C) (transB or not)  -> MatMulGGML(x, Wq [N, K]) (+ Add C)
 *
 * MatMulGGML keeps W in its block format and multiplies as ggml does
 * (activations quantized per block to q8_0 / q8_K, integer dots per block:
 * runtime/qmatmul.h); it is a library step, so every path that runs library
 * steps runs it (the interpreter, the compiled CPU artifact; a Vulkan build
 * runs it on the CPU). The bias becomes a following Add. A contraction
 * stays float, with the reason noted, when K is no multiple of the block
 * (32; 256 for q4_k), or for a Gemm with transA, alpha != 1 or beta != 1.
 * Embedding lookups (Gather on axis 0 of a constant 2-D table) become
 * GatherGGML with the table in the same block type, as llama.cpp stores
 * token embeddings; the first / last contraction rule does not apply to
 * them. Conv stays float in these modes (its weight would need an im2col on the
 * activations to reach MatMulGGML).
 */
#include <stdio.h>
#include <stdlib.h>

#include "ir/dtype.h"
#include "passes/quantize_impl.h"
#include "passes/rewrite.h"
#include "runtime/ggml_quant.h"

/* The constant wv (f32, [rows, k] when rows_first, else [k, rows]) as a
 * block-type constant [rows, k]; *bytes gets its size. */
static ir_id block_const(ir_graph *g, ir_id wv, ir_dtype t, int64_t n, int64_t k, bool rows_first, int64_t *bytes,
                         diag *d) {
    const ir_value *w = &g->values[wv];
    int64_t nbytes = ir_dtype_storage_bytes(t, n * k);
    float *rows = malloc((size_t)(n * k) * sizeof *rows);
    void *q = malloc((size_t)nbytes);
    if (!rows || !q) {
        free(rows);
        free(q);
        diag_error(d, "%s: out of memory quantizing '%s'", g->source, w->name);
        return IR_NONE;
    }
    for (int64_t r = 0; r < n; r++)
        for (int64_t c = 0; c < k; c++) rows[r * k + c] = qz_weight_at(w, rows_first ? r * k + c : c * n + r);
    int qrc = rt_ggml_quantize(t, rows, n * k, q);
    char base[200];
    snprintf(base, sizeof base, "%.180s_%s", w->name, ir_dtype_name(t));
    ir_dim dims[2] = {ir_dim_const(n), ir_dim_const(k)};
    if (qrc) diag_error(d, "%s: cannot quantize '%s' to %s", g->source, w->name, ir_dtype_name(t));
    ir_id wq = qrc ? IR_NONE : qz_new_const(g, base, t, 2, dims, q, (size_t)nbytes, d);
    free(rows);
    free(q);
    *bytes = nbytes;
    return wq;
}

int qz_to_ggml(ir_graph *g, ir_id node, ir_dtype t, const char **why, int64_t *bytes, diag *d) {
    ir_node *nd = &g->nodes[node];
    if (nd->op == IR_OP_Conv) {
        *why = "Conv stays float in the block modes";
        return 0;
    }
    bool gemm = nd->op == IR_OP_Gemm, tb = gemm && ir_attr_int(nd, "transB") != 0;
    if (gemm && qz_gemm_unsupported(g, nd)) {
        *why = "Gemm with transA, alpha != 1 or beta != 1";
        return 0;
    }
    const ir_value *w = &g->values[nd->in[1]];
    if (w->rank != 2) {
        *why = "weight is not 2-D";
        return 0;
    }
    int64_t k = tb ? w->dims[1].c : w->dims[0].c, n = tb ? w->dims[0].c : w->dims[1].c;
    int64_t blk = ir_dtype_get(t)->block_elems;
    if (k % blk) {
        *why = blk == 32 ? "K is no multiple of 32" : "K is no multiple of 256";
        return 0;
    }
    ir_id x = nd->in[0], bias = nd->n_in > 2 ? nd->in[2] : IR_NONE, y = nd->out[0];
    ir_id wq = block_const(g, nd->in[1], t, n, k, tb, bytes, d);
    if (wq == IR_NONE) return -1;
    const char *origin = g->nodes[node].name;
    ir_id in[2] = {x, wq};
    ir_id out = qz_infer_out(g, qz_add(g, IR_OP_MatMulGGML, in, 2, 1, origin, d), d);
    if (out == IR_NONE) return -1;
    if (bias != IR_NONE) {
        ir_id ain[2] = {out, bias};
        out = qz_infer_out(g, qz_add(g, IR_OP_Add, ain, 2, 1, origin, d), d);
        if (out == IR_NONE) return -1;
    }
    if (!rw_same_type(g, out, y) || !rw_replace(g, y, out))
        return ir_node_error(g, &g->nodes[node], d, "%s quantization gave a different type", ir_dtype_name(t));
    g->nodes[node].dead = true;
    return 1;
}

bool qz_embedding_table(const ir_graph *g, const ir_node *n) {
    if (n->dead || n->op != IR_OP_Gather || n->n_in != 2 || ir_attr_int(n, "axis") != 0) return false;
    const ir_value *w = &g->values[n->in[0]];
    return w->kind == IR_VALUE_CONST && w->dtype == IR_F32 && w->rank == 2 && w->data;
}

int qz_gather_to_ggml(ir_graph *g, ir_id node, ir_dtype t, const char **why, int64_t *bytes, diag *d) {
    const ir_node *nd = &g->nodes[node];
    const ir_value *w = &g->values[nd->in[0]];
    int64_t rows = w->dims[0].c, k = w->dims[1].c;
    if (k % ir_dtype_get(t)->block_elems) {
        *why = ir_dtype_get(t)->block_elems == 32 ? "rows are no multiple of 32" : "rows are no multiple of 256";
        return 0;
    }
    ir_id ix = nd->in[1], y = nd->out[0];
    ir_id wq = block_const(g, nd->in[0], t, rows, k, true, bytes, d);
    if (wq == IR_NONE) return -1;
    ir_id in[2] = {wq, ix};
    ir_id out = qz_infer_out(g, qz_add(g, IR_OP_GatherGGML, in, 2, 1, g->nodes[node].name, d), d);
    if (out == IR_NONE) return -1;
    if (!rw_same_type(g, out, y) || !rw_replace(g, y, out))
        return ir_node_error(g, &g->nodes[node], d, "%s quantization gave a different type", ir_dtype_name(t));
    g->nodes[node].dead = true;
    return 1;
}
