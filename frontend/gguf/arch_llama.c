/* arch_llama.c — the llama-family decoders (llama, qwen2, qwen3, gemma3) as
 * graphs, from the GGUF metadata (arch_hparams.h) and the tensor names
 * llama.cpp uses, computing what llama.cpp's src/models/ARCH.cpp computes.
 *
 *   x = token_embd[tokens]                          [seq, E]   (gemma: * sqrt(E))
 *   per block: n = RMSNorm(x) * attn_norm
 *              q, k, v = Wq . n, Wk . n, Wv . n          (qwen2: + biases)
 *              q, k = RMSNorm per head * attn_q/k_norm   (qwen3, gemma3)
 *              o = Wo . Attention(RoPE(q), RoPE(k), v)   causal, grouped-query
 *              x += o                                    (gemma: RMSNorm(o) * post_attention_norm)
 *              n = RMSNorm(x) * ffn_norm
 *              x += Wdown . (act(Wgate . n) * (Wup . n)) (gemma: RMSNorm(..) * post_ffw_norm)
 *   logits = output . (RMSNorm(x) * output_norm)    [seq, vocab]  (softcapped if set)
 *
 * act is silu, GELU (tanh approximation) for gemma. gemma3's local layers
 * attend through a sliding window (Attention's sliding_window) with RoPE of
 * their own base; its Gemma RMSNorm "(1 + w)" is not rebuilt here because
 * llama.cpp's converter stores w + 1 in the file. W . n is Gemm(n, W,
 * transB=1): GGUF stores a weight as [out, in]. RoPE rotates adjacent pairs
 * for llama (llama.cpp's "normal" mode, RotaryEmbedding interleaved=1) and
 * the two halves of each head for the others (NeoX mode, interleaved=0),
 * by cos/sin of angles the graph computes from the positions.
 * Without output.weight the embedding is tied. Weights stay in their file
 * types (gb_weight); block-type weights feed MatMulGGML / GatherGGML, which
 * read them in place (runtime/qmatmul.h), instead of a dequantized copy. The
 * graph is the prefill of positions 0 .. seq-1.
 *
 * With b->kv_cache the graph is one step of generation instead, the same
 * for prefill (seq tokens) and decode (one): per block inputs cache_k.L and
 * cache_v.L (f32 [1, past, kv_heads, head], the keys after RoPE and the
 * values of positions 0 .. past-1) and outputs k.L and v.L (f32 [1, seq,
 * kv_heads * head], those of the new positions past .. past+seq-1). The
 * caller keeps one [n_ctx, kv_heads * head] array per cache: the inputs are
 * its first `past` rows and the outputs are bound to the rows that follow,
 * so the new keys are written in place and nothing is copied between steps
 * (runtime/generate.c). Positions are past + 0 .. seq-1. Sliding-window
 * layers keep every position too; the window masks the older ones. Input
 * logit_rows (i64 [rows], indices into 0 .. seq-1) picks the positions
 * whose logits are wanted ([rows, vocab]): generation needs only the last;
 * the last block's FFN and the output matmul run on those rows alone.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch_hparams.h"

/* The RoPE inputs of a layer: cos and sin [1, seq, rot/2] of the angles
 * pos * scale * base^(-2i/rot), i < rot/2, computed in the graph in f32
 * from position_ids pos [1, seq] (as ggml does; no table over the
 * context). */
typedef struct rope_in {
    ir_id cos, sin;
} rope_in;

static int rope_angles(gguf_builder *b, const decoder_hp *hp, double base, double scale, ir_id pos, rope_in *r) {
    int64_t half = hp->n_rot / 2, two = 2;
    float *f = malloc((size_t)half * sizeof *f);
    if (!f) return diag_error(b->d, "%s: out of memory", b->f->path);
    for (int64_t i = 0; i < half; i++) f[i] = (float)(scale * pow(base, -2.0 * (double)i / (double)hp->n_rot));
    ir_id inv = gb_const_f32(b, f, 1, &half);
    free(f);
    ir_id p = gb_node(b, IR_OP_Cast, &pos, 1, NULL);
    if (inv == IR_NONE || p == IR_NONE || ir_set_attr_int(b->g, b->g->values[p].producer, "to", IR_F32, b->d))
        return -1;
    ir_id un[2] = {p, gb_const_i64(b, &two, 1, false)};
    ir_id th[2] = {un[1] == IR_NONE ? IR_NONE : gb_node(b, IR_OP_Unsqueeze, un, 2, NULL), inv};
    ir_id theta = th[0] == IR_NONE ? IR_NONE : gb_node(b, IR_OP_Mul, th, 2, NULL); /* [1, seq, half] */
    r->cos = theta == IR_NONE ? IR_NONE : gb_node(b, IR_OP_Cos, &theta, 1, NULL);
    r->sin = theta == IR_NONE ? IR_NONE : gb_node(b, IR_OP_Sin, &theta, 1, NULL);
    return r->cos == IR_NONE || r->sin == IR_NONE ? -1 : 0;
}

static ir_id set_int(gguf_builder *b, ir_id v, const char *attr, int64_t x) {
    if (v == IR_NONE || ir_set_attr_int(b->g, b->g->values[v].producer, attr, x, b->d)) return IR_NONE;
    return v;
}

/* Block i's tensor `part` ("blk.I.PART") into buf. */
static const char *tn(char *buf, int64_t i, const char *part) {
    snprintf(buf, 64, "blk.%lld.%s", (long long)i, part);
    return buf;
}

/* x @ W^T (+ bias): x [seq, in] -> [seq, out]. Gemm(x, W, bias?, transB=1)
 * for float weights; MatMulGGML(x, W) (+ Add bias) for block types, which
 * read W in place. */
static ir_id linear_w(gguf_builder *b, ir_id x, ir_id wv, bool quant, const char *w, const char *bias, int64_t out) {
    ir_id ins[3] = {x, wv, IR_NONE};
    if (ins[0] == IR_NONE || ins[1] == IR_NONE) return IR_NONE;
    if (bias && (ins[2] = gb_weight(b, bias, 1, &out, true)) == IR_NONE) return IR_NONE;
    if (!quant) return set_int(b, gb_node(b, IR_OP_Gemm, ins, bias ? 3 : 2, w), "transB", 1);
    ir_id y = gb_node(b, IR_OP_MatMulGGML, ins, 2, w);
    if (!bias || y == IR_NONE) return y;
    ir_id add[2] = {y, ins[2]};
    return gb_node(b, IR_OP_Add, add, 2, bias);
}

static ir_id linear(gguf_builder *b, ir_id x, const char *w, const char *bias, int64_t out, int64_t in) {
    int64_t wd[2] = {out, in};
    bool quant;
    if (x == IR_NONE) return IR_NONE;
    ir_id wv = gb_weight_q(b, w, 2, wd, &quant);
    return linear_w(b, x, wv, quant, w, bias, out);
}

/* RMSNorm of x's last axis (n elements) times weight w [n]. */
static ir_id rms_norm(gguf_builder *b, const decoder_hp *hp, ir_id x, const char *w, int64_t n) {
    ir_id ins[2] = {x, x == IR_NONE ? IR_NONE : gb_weight(b, w, 1, &n, true)};
    if (ins[1] == IR_NONE) return IR_NONE;
    ir_id y = gb_node(b, IR_OP_RMSNormalization, ins, 2, w);
    if (y == IR_NONE || ir_set_attr_float(b->g, b->g->values[y].producer, "epsilon", (float)hp->eps, b->d))
        return IR_NONE;
    return y;
}

static ir_id reshape(gguf_builder *b, ir_id x, const int64_t *shape, int64_t rank, const char *origin) {
    ir_id ins[2] = {x, x == IR_NONE ? IR_NONE : gb_const_i64(b, shape, rank, false)};
    return ins[1] == IR_NONE ? IR_NONE : gb_node(b, IR_OP_Reshape, ins, 2, origin);
}

/* RMSNorm of each head of x [seq, heads * head] with weight w [head]. */
static ir_id head_norm(gguf_builder *b, const decoder_hp *hp, ir_id x, int64_t heads, const char *w) {
    int64_t split[3] = {0, heads, hp->head}, join[2] = {0, heads * hp->head};
    return reshape(b, rms_norm(b, hp, reshape(b, x, split, 3, w), w, hp->head), join, 2, w);
}

static ir_id axis0(gguf_builder *b, ir_op op, ir_id x) {
    int64_t zero = 0;
    ir_id ins[2] = {x, x == IR_NONE ? IR_NONE : gb_const_i64(b, &zero, 1, false)};
    return ins[1] == IR_NONE ? IR_NONE : gb_node(b, op, ins, 2, NULL);
}

static ir_id scalar_mul(gguf_builder *b, ir_id x, float c, const char *origin) {
    ir_id ins[2] = {x, x == IR_NONE ? IR_NONE : gb_const_f32(b, &c, 0, NULL)};
    return ins[1] == IR_NONE ? IR_NONE : gb_node(b, IR_OP_Mul, ins, 2, origin);
}

static ir_id add(gguf_builder *b, ir_id x, ir_id y) {
    ir_id ins[2] = {x, y};
    return x == IR_NONE || y == IR_NONE ? IR_NONE : gb_node(b, IR_OP_Add, ins, 2, NULL);
}

/* x [seq, heads * head] rotated, as packed 3-D heads [1, seq, heads * head]. */
static ir_id rope(gguf_builder *b, const decoder_hp *hp, ir_id x, const rope_in *r, int64_t heads, const char *origin) {
    ir_id ins[3] = {axis0(b, IR_OP_Unsqueeze, x), r->cos, r->sin};
    if (ins[0] == IR_NONE) return IR_NONE;
    ir_id y = set_int(b, gb_node(b, IR_OP_RotaryEmbedding, ins, 3, origin), "interleaved", hp->t->neox ? 0 : 1);
    y = set_int(b, y, "num_heads", heads);
    if (hp->n_rot != hp->head) y = set_int(b, y, "rotary_embedding_dim", hp->n_rot);
    return y;
}

/* The past keys or values of block i: input NAME.i, f32 [1, past, kv_heads,
 * head], as Attention's past (transposed to [1, kv_heads, past, head]). */
static ir_id cache_input(gguf_builder *b, const decoder_hp *hp, const char *name, int64_t i, ir_dim past) {
    char n[64];
    snprintf(n, sizeof n, "%s.%lld", name, (long long)i);
    ir_dim dims[4] = {ir_dim_const(1), past, ir_dim_const(hp->n_head_kv), ir_dim_const(hp->head)};
    ir_id in = IR_NONE;
    for (uint32_t k = 0; k < b->g->n_inputs; k++) /* cache_k.0 exists: it gives the start position */
        if (!strcmp(b->g->values[b->g->inputs[k]].name, n)) in = b->g->inputs[k];
    if (in == IR_NONE && (in = ir_add_input(b->g, n, IR_F32, 4, dims, b->d)) == IR_NONE) return IR_NONE;
    ir_id t = gb_node(b, IR_OP_Transpose, &in, 1, n);
    int64_t perm[4] = {0, 2, 1, 3};
    if (t == IR_NONE || ir_set_attr_ints(b->g, b->g->values[t].producer, "perm", perm, 4, b->d)) return IR_NONE;
    return t;
}

/* Graph output NAME.i: the value x (the keys or values of the new positions). */
static int cache_output(gguf_builder *b, const char *name, int64_t i, ir_id x) {
    char n[64];
    snprintf(n, sizeof n, "%s.%lld", name, (long long)i);
    ir_id ins[1] = {x};
    ir_id node = ir_add_node(b->g, IR_OP_Identity, ins, 1, (const char *[]){n}, 1, n, b->d);
    return node == IR_NONE ? -1 : ir_add_output(b->g, b->g->nodes[node].out[0], b->d);
}

/* Block i's attention of h [seq, E] (normed): Wo . Attention(RoPE(q),
 * RoPE(k), v), q, k per-head normed first where the architecture does. */
static ir_id attention(gguf_builder *b, const decoder_hp *hp, int64_t i, ir_id h, const rope_in *r, ir_dim past) {
    char wq[64], wk[64], wv[64], wo[64], bq[64], bk[64], bv[64], nq[64], nk[64];
    int64_t E = hp->n_embd, QD = hp->head * hp->n_head, KV = hp->head * hp->n_head_kv;
    bool bias = hp->t->qkv_bias;
    ir_id q = linear(b, h, tn(wq, i, "attn_q.weight"), bias ? tn(bq, i, "attn_q.bias") : NULL, QD, E);
    ir_id k = q == IR_NONE ? IR_NONE
                           : linear(b, h, tn(wk, i, "attn_k.weight"), bias ? tn(bk, i, "attn_k.bias") : NULL, KV, E);
    ir_id v = k == IR_NONE ? IR_NONE
                           : linear(b, h, tn(wv, i, "attn_v.weight"), bias ? tn(bv, i, "attn_v.bias") : NULL, KV, E);
    if (v != IR_NONE && hp->t->qk_norm) {
        q = head_norm(b, hp, q, hp->n_head, tn(nq, i, "attn_q_norm.weight"));
        k = q == IR_NONE ? IR_NONE : head_norm(b, hp, k, hp->n_head_kv, tn(nk, i, "attn_k_norm.weight"));
    }
    if (k == IR_NONE || v == IR_NONE) return IR_NONE;
    /* packed 3-D heads: [1, seq, heads * head] */
    ir_id q3 = rope(b, hp, q, r, hp->n_head, wq);
    ir_id k3 = q3 == IR_NONE ? IR_NONE : rope(b, hp, k, r, hp->n_head_kv, wk);
    ir_id v3 = k3 == IR_NONE ? IR_NONE : axis0(b, IR_OP_Unsqueeze, v);
    if (v3 == IR_NONE) return IR_NONE;
    ir_id qkv[6] = {q3, k3, v3, IR_NONE, IR_NONE, IR_NONE};
    uint32_t n_qkv = 3;
    if (b->kv_cache) {
        if (cache_output(b, "k", i, k3) || cache_output(b, "v", i, v3)) return IR_NONE;
        if ((qkv[4] = cache_input(b, hp, "cache_k", i, past)) == IR_NONE ||
            (qkv[5] = cache_input(b, hp, "cache_v", i, past)) == IR_NONE)
            return IR_NONE;
        n_qkv = 6;
    }
    ir_id a = set_int(b, gb_node(b, IR_OP_Attention, qkv, n_qkv, tn(wo, i, "attn_output.weight")), "is_causal", 1);
    a = set_int(b, a, "q_num_heads", hp->n_head);
    a = set_int(b, a, "kv_num_heads", hp->n_head_kv);
    if (a != IR_NONE && decoder_layer_is_swa(hp, i)) a = set_int(b, a, "sliding_window", hp->n_swa);
    if (a != IR_NONE && hp->attn_scale > 0 &&
        ir_set_attr_float(b->g, b->g->values[a].producer, "scale", (float)hp->attn_scale, b->d))
        return IR_NONE;
    return linear(b, axis0(b, IR_OP_Squeeze, a), wo, NULL, E, QD);
}

/* Block i's feed-forward network of h [seq, E] (normed): Wdown . (act(Wgate
 * . h) * (Wup . h)), act silu (Swish with alpha 1) or, for gemma, GELU with
 * the tanh approximation. */
static ir_id ffn(gguf_builder *b, const decoder_hp *hp, int64_t i, ir_id h) {
    char wg[64], wu[64], wd[64];
    int64_t E = hp->n_embd;
    ir_id g = linear(b, h, tn(wg, i, "ffn_gate.weight"), NULL, hp->n_ff, E);
    ir_id u = g == IR_NONE ? IR_NONE : linear(b, h, tn(wu, i, "ffn_up.weight"), NULL, hp->n_ff, E);
    if (u == IR_NONE) return IR_NONE;
    ir_id act = gb_node(b, hp->t->gemma ? IR_OP_Gelu : IR_OP_Swish, &g, 1, wg);
    if (act != IR_NONE && hp->t->gemma &&
        ir_set_attr_str(b->g, b->g->values[act].producer, "approximate", "tanh", b->d))
        return IR_NONE;
    ir_id gu[2] = {act, u};
    ir_id m = act == IR_NONE ? IR_NONE : gb_node(b, IR_OP_Mul, gu, 2, NULL);
    return linear(b, m, tn(wd, i, "ffn_down.weight"), NULL, E, hp->n_ff);
}

/* Rows `rows` (i64 [rows]) of x [seq, E]: Gather along axis 0. */
static ir_id take_rows(gguf_builder *b, ir_id x, ir_id rows) {
    ir_id in[2] = {x, rows};
    return x == IR_NONE ? IR_NONE : gb_node(b, IR_OP_Gather, in, 2, "logit_rows");
}

/* One block: x [seq, E] -> x [seq, E]; past: the cached length (kv_cache
 * form only). gemma norms the attention's and the FFN's outputs too. With
 * rows (the last block of the kv_cache form) only those rows go on after
 * the attention: x [rows, E] (what llama.cpp does with its output ids). */
static ir_id block(gguf_builder *b, const decoder_hp *hp, int64_t i, ir_id x, const rope_in *r, ir_dim past,
                   ir_id rows) {
    char n[64];
    int64_t E = hp->n_embd;
    ir_id o = attention(b, hp, i, rms_norm(b, hp, x, tn(n, i, "attn_norm.weight"), E), r, past);
    if (hp->t->gemma) o = rms_norm(b, hp, o, tn(n, i, "post_attention_norm.weight"), E);
    if (rows != IR_NONE) {
        x = take_rows(b, x, rows);
        o = take_rows(b, o, rows);
    }
    x = add(b, x, o);
    ir_id f = ffn(b, hp, i, rms_norm(b, hp, x, tn(n, i, "ffn_norm.weight"), E));
    if (hp->t->gemma) f = rms_norm(b, hp, f, tn(n, i, "post_ffw_norm.weight"), E);
    return add(b, x, f);
}

/* position_ids [1, seq] = Unsqueeze(Range(start, start + seq, 1)), seq =
 * Shape(tokens)[0]; start is 0, or past = the length of the first block's
 * key cache (an input of its own, added first). */
static ir_id positions(gguf_builder *b, const decoder_hp *hp, ir_id tokens, ir_dim past) {
    ir_graph *g = b->g;
    int64_t zero = 0, one = 1;
    ir_id start = gb_const_i64(b, &zero, 1, true);
    if (b->kv_cache) {
        ir_dim dims[4] = {ir_dim_const(1), past, ir_dim_const(hp->n_head_kv), ir_dim_const(hp->head)};
        ir_id past_in = ir_add_input(g, "cache_k.0", IR_F32, 4, dims, b->d);
        ir_id ps = past_in == IR_NONE ? IR_NONE : gb_node(b, IR_OP_Shape, &past_in, 1, NULL);
        if (ps == IR_NONE || ir_set_attr_int(g, g->values[ps].producer, "start", 1, b->d) ||
            ir_set_attr_int(g, g->values[ps].producer, "end", 2, b->d))
            return IR_NONE;
        start = axis0(b, IR_OP_Squeeze, ps);
    }
    ir_id shp = gb_node(b, IR_OP_Shape, &tokens, 1, NULL);
    ir_id end = add(b, start, shp == IR_NONE ? IR_NONE : axis0(b, IR_OP_Squeeze, shp));
    ir_id rin[3] = {start, end, gb_const_i64(b, &one, 1, true)};
    if (end == IR_NONE || rin[2] == IR_NONE) return IR_NONE;
    return axis0(b, IR_OP_Unsqueeze, gb_node(b, IR_OP_Range, rin, 3, NULL));
}

/* logits = h . W^T, softcapped where the model says: cap * tanh(logits / cap). */
static int logits(gguf_builder *b, const decoder_hp *hp, ir_id h, ir_id w, bool quant) {
    ir_graph *g = b->g;
    bool cap = hp->softcap > 0;
    ir_id lin[2] = {h, w};
    ir_op op = quant ? IR_OP_MatMulGGML : IR_OP_Gemm;
    ir_id node = ir_add_node(g, op, lin, 2, cap ? NULL : (const char *[]){"logits"}, 1, "output.weight", b->d);
    if (node == IR_NONE || (!quant && ir_set_attr_int(g, node, "transB", 1, b->d))) return -1;
    ir_id y = g->nodes[node].out[0];
    if (cap) {
        ir_id t = gb_node(b, IR_OP_Tanh, (ir_id[]){scalar_mul(b, y, 1.0f / (float)hp->softcap, NULL)}, 1, NULL);
        float c = (float)hp->softcap;
        ir_id ins[2] = {t, t == IR_NONE ? IR_NONE : gb_const_f32(b, &c, 0, NULL)};
        if (ins[1] == IR_NONE) return -1;
        node = ir_add_node(g, IR_OP_Mul, ins, 2, (const char *[]){"logits"}, 1, "final_logit_softcapping", b->d);
        if (node == IR_NONE) return -1;
        y = g->nodes[node].out[0];
    }
    return ir_add_output(g, y, b->d);
}

int gguf_build_llama(gguf_builder *b) {
    decoder_hp hp;
    if (decoder_read_hparams(b, &hp)) return -1;
    ir_graph *g = b->g;
    ir_dim seq = ir_dim_named(g, "seq"), past = ir_dim_named(g, "past");
    ir_id tokens = ir_add_input(g, "tokens", IR_I64, 1, &seq, b->d);
    ir_id pos = tokens == IR_NONE ? IR_NONE : positions(b, &hp, tokens, past);
    rope_in global, local;
    if (pos == IR_NONE || rope_angles(b, &hp, hp.rope_base, hp.rope_scale, pos, &global) ||
        (hp.n_swa > 0 && rope_angles(b, &hp, hp.rope_base_swa, hp.rope_scale_swa, pos, &local)))
        return -1;
    int64_t ed[2] = {hp.n_vocab, hp.n_embd};
    bool emb_q;
    ir_id emb = gb_weight_q(b, "token_embd.weight", 2, ed, &emb_q);
    if (emb == IR_NONE) return -1;
    ir_id gin[2] = {emb, tokens};
    ir_id x = gb_node(b, emb_q ? IR_OP_GatherGGML : IR_OP_Gather, gin, 2, "token_embd.weight");
    if (hp.t->gemma) x = scalar_mul(b, x, sqrtf((float)hp.n_embd), "token_embd.weight");
    ir_id rows = IR_NONE;
    if (b->kv_cache) {
        ir_dim nr = ir_dim_named(g, "rows");
        if ((rows = ir_add_input(g, "logit_rows", IR_I64, 1, &nr, b->d)) == IR_NONE) return -1;
    }
    for (int64_t i = 0; i < hp.n_layer && x != IR_NONE; i++)
        x = block(b, &hp, i, x, decoder_layer_is_swa(&hp, i) ? &local : &global, past,
                  i == hp.n_layer - 1 ? rows : IR_NONE);
    ir_id h = rms_norm(b, &hp, x, "output_norm.weight", hp.n_embd);
    if (h == IR_NONE) return -1;
    bool out_q = emb_q;
    ir_id out = gguf_find_tensor(b->f, "output.weight") ? gb_weight_q(b, "output.weight", 2, ed, &out_q) : emb;
    return out == IR_NONE ? -1 : logits(b, &hp, h, out, out_q);
}
