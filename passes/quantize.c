/* quantize.c — `--quantize MODE`: rewrite the constant weights of MatMul,
 * Gemm and Conv into a smaller form, with existing graph ops only, so that
 * every backend runs the result.
 *
 *   f16, bf16  the weight is stored in half precision and read through a
 *              Cast to f32, which kernel fusion inlines into the
 *              contraction's load (the sum stays f32).
 *   int8       per-output-channel symmetric int8 weights (scale =
 *              max |w| / 127 per output channel, values rounded half to even
 *              into [-127, 127]); the activation is quantized at run time to
 *              u8 per tensor (DynamicQuantizeLinear: the range of the tensor
 *              and 0), the contraction is MatMulInteger / ConvInteger (an i32
 *              sum of 8-bit products), then f32(acc) * (x_scale * w_scale[c])
 *              (+ bias): the Cast and Muls land in the integer kernel's
 *              epilogue (kir_fuse_epilogue). This is onnxruntime's dynamic
 *              quantization, done by the compiler.
 *
 * What stays float: contractions whose node name matches a --quantize-skip
 * glob, the first and the last contraction of the graph (unless
 * keep_ends is off: the stem and the classifier / LM head carry most of the
 * error), weights of fewer than min_elements elements, and Gemm with
 * transA, alpha != 1 or beta != 1 (int8). New nodes are appended and the
 * node order is restored at the end (rw_sort_nodes).
 */
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"
#include "passes/quantize_impl.h"
#include "passes/rewrite.h"
#include "runtime/half.h"

static const char *const MODE_NAMES[] = {"none", "f16", "bf16", "int8", "q8_0", "q4_0", "q4_k"};

int pass_quant_mode_parse(const char *s, pass_quant_mode *m) {
    for (int i = 1; i < (int)(sizeof MODE_NAMES / sizeof MODE_NAMES[0]); i++)
        if (!strcmp(s, MODE_NAMES[i])) {
            *m = (pass_quant_mode)i;
            return 0;
        }
    return -1;
}

const char *pass_quant_mode_name(pass_quant_mode m) { return MODE_NAMES[m]; }

void pass_quant_defaults(pass_quant_options *q) {
    memset(q, 0, sizeof *q);
    q->keep_ends = true;
    q->min_elements = 4096;
}

/* Input index of the weight of a contraction whose weight is a float
 * constant of the node's compute dtype (f32), or -1. */
static int weight_input(const ir_graph *g, const ir_node *n) {
    if (n->dead || n->n_in < 2) return -1;
    if (n->op != IR_OP_MatMul && n->op != IR_OP_Gemm && n->op != IR_OP_Conv) return -1;
    const ir_value *w = &g->values[n->in[1]], *x = &g->values[n->in[0]];
    if (w->kind != IR_VALUE_CONST || w->dtype != IR_F32 || x->dtype != IR_F32 || !w->data) return -1;
    if (n->op == IR_OP_MatMul && w->rank != 2) return -1;
    return 1;
}

static bool skipped_by_name(const ir_node *n, const pass_quant_options *q) {
    for (int i = 0; i < q->n_skip; i++)
        if (fnmatch(q->skip[i], n->name ? n->name : "", 0) == 0) return true;
    return false;
}

ir_id qz_add(ir_graph *g, ir_op op, const ir_id *in, uint32_t n_in, uint32_t n_out, const char *origin, diag *d) {
    return ir_add_node(g, op, in, n_in, NULL, n_out, origin, d);
}

ir_id qz_infer_out(ir_graph *g, ir_id nid, diag *d) {
    return nid == IR_NONE || ir_infer_node(g, nid, d) ? IR_NONE : g->nodes[nid].out[0];
}

ir_id qz_new_const(ir_graph *g, const char *base, ir_dtype t, int rank, const ir_dim *dims, const void *data,
                       size_t nbytes, diag *d) {
    void *copy = arena_alloc(&g->arena, nbytes ? nbytes : 1);
    if (!copy) {
        diag_error(d, "%s: out of memory making '%s'", g->source, base);
        return IR_NONE;
    }
    memcpy(copy, data, nbytes);
    return ir_add_const(g, ir_fresh_name(g, base), t, rank, dims, copy, nbytes, -1, d);
}

float qz_weight_at(const ir_value *w, int64_t i) {
    float f;
    memcpy(&f, (const uint8_t *)w->data + i * 4, 4);
    return f;
}

/* f16 / bf16: W -> Cast(W_half, to=f32). */
static int to_half(ir_graph *g, ir_id node, int wi, bool bf16, diag *d) {
    ir_id wv = g->nodes[node].in[wi];
    int64_t n = ir_value_numel(g, wv);
    uint16_t *h = malloc((size_t)(n ? n : 1) * 2);
    if (!h) return diag_error(d, "%s: out of memory", g->source);
    const ir_value *w = &g->values[wv];
    for (int64_t i = 0; i < n; i++) h[i] = bf16 ? rt_f32_to_bf16(qz_weight_at(w, i)) : rt_f32_to_f16(qz_weight_at(w, i));
    char base[200];
    snprintf(base, sizeof base, "%.180s_%s", w->name, bf16 ? "bf16" : "f16");
    ir_id c = qz_new_const(g, base, bf16 ? IR_BF16 : IR_F16, w->rank, w->dims, h, (size_t)n * 2, d);
    free(h);
    if (c == IR_NONE) return -1;
    ir_id cast = qz_add(g, IR_OP_Cast, &c, 1, 1, g->nodes[node].name, d);
    if (cast == IR_NONE || ir_set_attr_int(g, cast, "to", IR_F32, d)) return -1;
    ir_id cv = qz_infer_out(g, cast, d);
    if (cv == IR_NONE) return -1;
    g->nodes[node].in[wi] = cv;
    return 0;
}

bool qz_gemm_unsupported(const ir_graph *g, const ir_node *n) {
    (void)g;
    return ir_attr_int(n, "transA") || ir_attr_float(n, "alpha") != 1.0f ||
           (n->n_in > 2 && n->in[2] != IR_NONE && ir_attr_float(n, "beta") != 1.0f);
}

/* Symmetric int8 of w per output channel: channel c of `oc` channels holds
 * the elements with (i / inner) % oc == c. q gets the values (laid out as
 * w, or transposed to [cols, rows] when transpose), scale the scales. */
static void quantize_int8(const ir_value *w, int64_t n, int64_t oc, int64_t inner, int8_t *q, float *scale,
                          bool transpose, int64_t rows, int64_t cols) {
    for (int64_t c = 0; c < oc; c++) scale[c] = 0;
    for (int64_t i = 0; i < n; i++) {
        float a = fabsf(qz_weight_at(w, i));
        int64_t c = (i / inner) % oc;
        if (a > scale[c]) scale[c] = a;
    }
    for (int64_t c = 0; c < oc; c++) scale[c] = scale[c] > 0 ? scale[c] / 127.0f : 1.0f;
    for (int64_t i = 0; i < n; i++) {
        double v = nearbyint((double)qz_weight_at(w, i) / (double)scale[(i / inner) % oc]);
        v = v > 127 ? 127 : v < -127 ? -127 : v;
        int64_t at = transpose ? (i % cols) * rows + i / cols : i;
        q[at] = (int8_t)v;
    }
}

/* Whether int8 can rewrite contraction nd (Gemm's transA / alpha / beta
 * and a Conv bias that is not a constant keep it float). */
static bool int8_applies(const ir_graph *g, const ir_node *nd) {
    ir_id bias = nd->n_in > 2 ? nd->in[2] : IR_NONE;
    if (nd->op == IR_OP_Gemm && qz_gemm_unsupported(g, nd)) return false;
    return !(nd->op == IR_OP_Conv && bias != IR_NONE && (g->values[bias].kind != IR_VALUE_CONST || !g->values[bias].data));
}

void pass_quant_u8_params(float min, float max, float *scale, uint8_t *zero_point) {
    float lo = min < 0 ? min : 0, hi = max > 0 ? max : 0;
    if (hi == lo) {
        *scale = 1.0f, *zero_point = 0;
        return;
    }
    *scale = (hi - lo) / 255.0f;
    float z = nearbyintf(0.0f - lo / *scale); /* round half to even, as numpy.round */
    *zero_point = (uint8_t)(z < 0 ? 0 : z > 255 ? 255 : z);
}

static const pass_act_range *range_of(const pass_quant_options *q, const char *name) {
    for (int i = 0; name && i < q->n_ranges; i++)
        if (!strcmp(q->ranges[i].name, name)) return &q->ranges[i];
    return NULL;
}

/* x quantized to u8: with a calibrated range, QuantizeLinear with constant
 * scale and zero point (static); else DynamicQuantizeLinear. */
static int quantize_input(ir_graph *g, ir_id x, const pass_quant_options *q, const char *origin, ir_id out[3], diag *d) {
    const pass_act_range *r = range_of(q, g->values[x].name);
    if (!r) {
        ir_id dq = qz_add(g, IR_OP_DynamicQuantizeLinear, &x, 1, 3, origin, d);
        if (dq == IR_NONE || ir_infer_node(g, dq, d)) return -1;
        for (int i = 0; i < 3; i++) out[i] = g->nodes[dq].out[i];
        return 0;
    }
    float scale;
    uint8_t zp;
    pass_quant_u8_params(r->min, r->max, &scale, &zp);
    char base[200];
    snprintf(base, sizeof base, "%.180s_scale", g->values[x].name);
    out[1] = qz_new_const(g, base, IR_F32, 0, NULL, &scale, sizeof scale, d);
    snprintf(base, sizeof base, "%.180s_zero_point", g->values[x].name);
    out[2] = qz_new_const(g, base, IR_U8, 0, NULL, &zp, 1, d);
    if (out[1] == IR_NONE || out[2] == IR_NONE) return -1;
    ir_id qin[3] = {x, out[1], out[2]};
    out[0] = qz_infer_out(g, qz_add(g, IR_OP_QuantizeLinear, qin, 3, 1, origin, d), d);
    return out[0] == IR_NONE ? -1 : 0;
}

/* int8: y = f32(Integer(Q(x), Wq, x_zp)) * (x_scale * w_scale) (+ bias),
 * Q = DynamicQuantizeLinear, or QuantizeLinear with a calibrated range. */
static int to_int8(ir_graph *g, ir_id node, const pass_quant_options *qo, diag *d) {
    ir_node *nd = &g->nodes[node];
    ir_op op = nd->op;
    bool conv = op == IR_OP_Conv, gemm = op == IR_OP_Gemm;
    bool tb = gemm && ir_attr_int(nd, "transB") != 0;
    if (!int8_applies(g, nd)) return 0;
    ir_id x = nd->in[0], wv = nd->in[1], bias = nd->n_in > 2 ? nd->in[2] : IR_NONE, y = nd->out[0];
    const char *origin = nd->name;
    const ir_value *w = &g->values[wv];
    int64_t n = ir_value_numel(g, wv);
    /* output channels: Conv axis 0 of W; MatMul axis 1 of [K,N]; Gemm axis 0 of [N,K] with transB */
    int64_t oc = conv || tb ? w->dims[0].c : w->dims[1].c, inner = conv || tb ? n / oc : 1;
    int64_t rows = w->dims[0].c, cols = w->rank > 1 ? w->dims[1].c : 1;
    int8_t *q = malloc((size_t)n);
    float *scale = malloc((size_t)oc * sizeof *scale);
    if (!q || !scale) {
        free(q);
        free(scale);
        return diag_error(d, "%s: out of memory", g->source);
    }
    quantize_int8(w, n, oc, inner, q, scale, tb, rows, cols);
    ir_dim qdims[IR_MAX_RANK];
    memcpy(qdims, w->dims, (size_t)w->rank * sizeof *qdims);
    if (tb) qdims[0] = w->dims[1], qdims[1] = w->dims[0]; /* MatMulInteger reads [K, N] */
    char base[200];
    snprintf(base, sizeof base, "%.180s_int8", w->name);
    ir_id wq = qz_new_const(g, base, IR_I8, w->rank, qdims, q, (size_t)n, d);
    /* the scale along the output channel axis of y: [oc] for MatMul/Gemm, [oc,1,..] for Conv */
    ir_dim sdims[IR_MAX_RANK];
    int srank = conv ? w->rank - 1 : 1;
    sdims[0] = ir_dim_const(oc);
    for (int i = 1; i < srank; i++) sdims[i] = ir_dim_const(1);
    snprintf(base, sizeof base, "%.180s_scale", g->values[wv].name);
    ir_id sc = qz_new_const(g, base, IR_F32, srank, sdims, scale, (size_t)oc * 4, d);
    free(q);
    free(scale);
    if (wq == IR_NONE || sc == IR_NONE) return -1;
    /* x -> (xq, xs, xzp) */
    ir_id xqs[3];
    if (quantize_input(g, x, qo, origin, xqs, d)) return -1;
    ir_id xq = xqs[0], xs = xqs[1], xzp = xqs[2];
    ir_id iin[3] = {xq, wq, xzp};
    ir_id mi = qz_add(g, conv ? IR_OP_ConvInteger : IR_OP_MatMulInteger, iin, 3, 1, origin, d);
    if (mi == IR_NONE) return -1;
    if (conv) rw_copy_attrs(g, mi, &g->nodes[node]);
    ir_id acc = qz_infer_out(g, mi, d);
    if (acc == IR_NONE) return -1;
    ir_id cast = qz_add(g, IR_OP_Cast, &acc, 1, 1, origin, d);
    if (cast == IR_NONE || ir_set_attr_int(g, cast, "to", IR_F32, d)) return -1;
    ir_id accf = qz_infer_out(g, cast, d);
    ir_id m1in[2] = {xs, sc};
    ir_id mul1 = qz_add(g, IR_OP_Mul, m1in, 2, 1, origin, d);
    ir_id comb = qz_infer_out(g, mul1, d);
    if (accf == IR_NONE || comb == IR_NONE) return -1;
    ir_id m2in[2] = {accf, comb};
    ir_id out = qz_infer_out(g, qz_add(g, IR_OP_Mul, m2in, 2, 1, origin, d), d);
    if (out == IR_NONE) return -1;
    if (bias != IR_NONE) {
        ir_id b = bias;
        if (conv) { /* [M] -> [M,1,..] along y's channel axis */
            const ir_value *bv = &g->values[bias];
            b = qz_new_const(g, "conv_bias", bv->dtype, srank, sdims, bv->data, (size_t)bv->nbytes, d);
            if (b == IR_NONE) return -1;
        }
        ir_id ain[2] = {out, b};
        out = qz_infer_out(g, qz_add(g, IR_OP_Add, ain, 2, 1, origin, d), d);
        if (out == IR_NONE) return -1;
    }
    if (!rw_same_type(g, out, y) || !rw_replace(g, y, out))
        return ir_node_error(g, &g->nodes[node], d, "int8 quantization gave a different type");
    g->nodes[node].dead = true;
    return 1;
}

/* The ggml block type of a block mode, else IR_F32. */
static ir_dtype block_type(pass_quant_mode m) {
    return m == PASS_QUANT_Q8_0 ? IR_Q8_0 : m == PASS_QUANT_Q4_0 ? IR_Q4_0 : m == PASS_QUANT_Q4_K ? IR_Q4_K : IR_F32;
}

/* Record why a contraction stayed float (the first PASS_QUANT_MAX_WHY). */
static void note_kept(pass_quant_stats *st, const ir_node *n, const char *why) {
    if (st->n_why < PASS_QUANT_MAX_WHY)
        snprintf(st->why[st->n_why], sizeof st->why[0], "%.80s: %s", n->name ? n->name : "(unnamed)", why);
    st->n_why++;
}

/* The first and the last contraction with a constant weight. */
static void ends(const ir_graph *g, uint32_t *first, uint32_t *last) {
    *first = *last = IR_NONE;
    for (uint32_t i = 0; i < g->n_nodes; i++)
        if (weight_input(g, &g->nodes[i]) >= 0) {
            if (*first == IR_NONE) *first = i;
            *last = i;
        }
}

/* Whether node i stays float by the rules of q (not by its own shape). */
static bool kept_by_rules(const ir_graph *g, const pass_quant_options *q, uint32_t i, bool table, int64_t n,
                          uint32_t first, uint32_t last) {
    return (!table && q->keep_ends && (i == first || i == last)) || n < q->min_elements ||
           skipped_by_name(&g->nodes[i], q);
}

int pass_quant_int8_inputs(const ir_graph *g, const pass_quant_options *q, ir_id *x, int cap) {
    uint32_t first, last;
    ends(g, &first, &last);
    int n = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const ir_node *nd = &g->nodes[i];
        int wi = weight_input(g, nd);
        if (wi < 0 || nd->dead || kept_by_rules(g, q, i, false, ir_value_numel(g, nd->in[wi]), first, last) ||
            !int8_applies(g, nd))
            continue;
        bool seen = false;
        for (int k = 0; k < n; k++) seen |= x[k] == nd->in[0];
        if (!seen && n < cap) x[n++] = nd->in[0];
    }
    return n;
}

int pass_quantize(ir_graph *g, const pass_quant_options *q, pass_quant_stats *stats, diag *d) {
    pass_quant_stats none;
    if (!stats) stats = &none;
    memset(stats, 0, sizeof *stats);
    if (!q || q->mode == PASS_QUANT_NONE) return 0;
    uint32_t first, last, n_nodes = g->n_nodes;
    ends(g, &first, &last);
    ir_dtype bt = block_type(q->mode);
    for (uint32_t i = 0; i < n_nodes; i++) {
        int wi = weight_input(g, &g->nodes[i]);
        bool table = wi < 0 && bt != IR_F32 && qz_embedding_table(g, &g->nodes[i]);
        if (wi < 0 && !table) continue;
        int64_t n = ir_value_numel(g, g->nodes[i].in[table ? 0 : wi]);
        stats->weight_bytes_before += n * 4;
        bool keep = kept_by_rules(g, q, i, table, n, first, last);
        int rc = 0;
        int64_t bytes = q->mode == PASS_QUANT_INT8 ? n : n * 2;
        const char *why = NULL;
        if (!keep && table)
            rc = qz_gather_to_ggml(g, i, bt, &why, &bytes, d);
        else if (!keep && (q->mode == PASS_QUANT_F16 || q->mode == PASS_QUANT_BF16))
            rc = to_half(g, i, wi, q->mode == PASS_QUANT_BF16, d) ? -1 : 1;
        else if (!keep && q->mode == PASS_QUANT_INT8)
            rc = to_int8(g, i, q, d);
        else if (!keep && bt != IR_F32)
            rc = qz_to_ggml(g, i, bt, &why, &bytes, d);
        if (rc < 0) return -1;
        if (rc == 0) {
            stats->kept++;
            stats->weight_bytes_after += n * 4;
            if (why) note_kept(stats, &g->nodes[i], why);
        } else {
            stats->quantized++;
            stats->weight_bytes_after += bytes;
        }
    }
    return rw_sort_nodes(g, d);
}
