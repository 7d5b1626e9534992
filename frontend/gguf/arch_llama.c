/* arch_llama.c — the llama and qwen2 transformers as graphs, from the
 * GGUF metadata and tensor names llama.cpp uses.
 *
 *   x = token_embd[tokens]                                   [seq, E]
 *   per block: x += Wo . Attention(RoPE(Wq . n), RoPE(Wk . n), Wv . n)
 *                   with n = RMSNorm(x) * attn_norm, causal, grouped-query
 *              x += Wdown . (silu(Wgate . n) * (Wup . n)), n = RMSNorm(x) * ffn_norm
 *   logits = output . (RMSNorm(x) * output_norm)             [seq, vocab]
 *
 * W . n is Gemm(n, W, transB=1): GGUF stores a weight as [out, in]. qwen2
 * adds Q/K/V biases (the Gemm's C). RoPE rotates adjacent pairs for llama
 * (llama.cpp's "normal" mode, RotaryEmbedding interleaved=1) and the two
 * halves of each head for qwen2 (NeoX mode, interleaved=0), with cos/sin
 * tables over context_length positions computed here in double. Without
 * output.weight the embedding is tied. Weights stay in their file types
 * (gb_weight). The graph is the prefill of positions 0 .. seq-1, for
 * seq <= context_length.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_build.h"

typedef struct llama_hp {
    int64_t n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx, n_rot, head;
    double eps, rope_base;
    bool neox, biases;
} llama_hp;

static int read_hparams(gguf_builder *b, llama_hp *hp) {
    uint64_t e, l, h, kv, ff, ctx, rot;
    if (gb_arch_u64(b, "embedding_length", true, 0, &e) || gb_arch_u64(b, "block_count", true, 0, &l) ||
        gb_arch_u64(b, "attention.head_count", true, 0, &h) || gb_arch_u64(b, "feed_forward_length", true, 0, &ff) ||
        gb_arch_u64(b, "context_length", true, 0, &ctx) ||
        gb_arch_f64(b, "attention.layer_norm_rms_epsilon", true, 0, &hp->eps) ||
        gb_arch_f64(b, "rope.freq_base", false, 10000.0, &hp->rope_base))
        return -1;
    if (gb_arch_u64(b, "attention.head_count_kv", false, h, &kv)) return -1;
    const char *path = b->f->path;
    if (!e || !h || !kv || e % h || h % kv || !l || !ff || !ctx || e > (1u << 20) || l > 4096 || ff > (1u << 24) ||
        ctx > (1u << 24))
        return diag_error(b->d, "%s: %s: implausible sizes: embedding %llu, heads %llu / %llu kv, blocks %llu, ffn %llu, "
                          "context %llu", path, b->arch, (unsigned long long)e, (unsigned long long)h,
                          (unsigned long long)kv, (unsigned long long)l, (unsigned long long)ff, (unsigned long long)ctx);
    if (gb_arch_u64(b, "rope.dimension_count", false, e / h, &rot)) return -1;
    if (!rot || rot % 2 || rot > e / h)
        return diag_error(b->d, "%s: key '%s.rope.dimension_count': %llu for heads of %llu", path, b->arch,
                          (unsigned long long)rot, (unsigned long long)(e / h));
    uint64_t kl;
    if (gb_arch_u64(b, "attention.key_length", false, e / h, &kl) || kl != e / h)
        return b->d->errors ? -1 : diag_error(b->d, "%s: %s.attention.key_length %llu differs from embedding / heads: not supported",
                                              path, b->arch, (unsigned long long)kl);
    char k[128];
    snprintf(k, sizeof k, "%s.rope.scaling.type", b->arch);
    gguf_str st;
    if (gguf_find(b->f, k) && (gguf_get_str(b->f, k, &st, b->d) || !(st.len == 4 && !memcmp(st.ptr, "none", 4))))
        return b->d->errors ? -1 : diag_error(b->d, "%s: key '%s': RoPE scaling '%.*s' is not supported", path, k,
                                              (int)(st.len > 32 ? 32 : st.len), st.ptr);
    const gguf_tensor *emb = gguf_find_tensor(b->f, "token_embd.weight");
    if (!emb || emb->n_dims != 2) return diag_error(b->d, "%s: tensor 'token_embd.weight' is missing or not 2-D", path);
    hp->n_embd = (int64_t)e, hp->n_layer = (int64_t)l, hp->n_head = (int64_t)h, hp->n_head_kv = (int64_t)kv;
    hp->n_ff = (int64_t)ff, hp->n_ctx = (int64_t)ctx, hp->n_rot = (int64_t)rot, hp->head = (int64_t)(e / h);
    hp->n_vocab = (int64_t)emb->ne[1];
    hp->neox = !strcmp(b->arch, "qwen2");
    hp->biases = !strcmp(b->arch, "qwen2");
    return 0;
}

/* cos and sin of p * base^(-2i/rot) for p < n_ctx, i < rot/2: [n_ctx, rot/2] each */
static int rope_tables(gguf_builder *b, const llama_hp *hp, ir_id *cosv, ir_id *sinv) {
    int64_t half = hp->n_rot / 2, n = hp->n_ctx * half;
    float *c = malloc((size_t)n * sizeof *c), *s = malloc((size_t)n * sizeof *s);
    if (!c || !s) {
        free(c);
        free(s);
        return diag_error(b->d, "%s: out of memory", b->f->path);
    }
    for (int64_t p = 0; p < hp->n_ctx; p++)
        for (int64_t i = 0; i < half; i++) {
            double theta = (double)p * pow(hp->rope_base, -2.0 * (double)i / (double)hp->n_rot);
            c[p * half + i] = (float)cos(theta);
            s[p * half + i] = (float)sin(theta);
        }
    int64_t dims[2] = {hp->n_ctx, half};
    *cosv = gb_const_f32(b, c, 2, dims);
    *sinv = gb_const_f32(b, s, 2, dims);
    free(c);
    free(s);
    return *cosv == IR_NONE || *sinv == IR_NONE ? -1 : 0;
}

static ir_id set_int(gguf_builder *b, ir_id v, const char *attr, int64_t x) {
    if (v == IR_NONE || ir_set_attr_int(b->g, b->g->values[v].producer, attr, x, b->d)) return IR_NONE;
    return v;
}

/* Gemm(x, W, bias?, transB=1): x [seq, in] -> [seq, out] */
static ir_id linear(gguf_builder *b, ir_id x, const char *w, const char *bias, int64_t out, int64_t in) {
    int64_t wd[2] = {out, in};
    ir_id ins[3] = {x, gb_weight(b, w, 2, wd, true), IR_NONE};
    if (ins[1] == IR_NONE) return IR_NONE;
    if (bias && (ins[2] = gb_weight(b, bias, 1, &out, true)) == IR_NONE) return IR_NONE;
    return set_int(b, gb_node(b, IR_OP_Gemm, ins, bias ? 3 : 2, w), "transB", 1);
}

static ir_id rms_norm(gguf_builder *b, const llama_hp *hp, ir_id x, const char *w) {
    ir_id ins[2] = {x, gb_weight(b, w, 1, &hp->n_embd, true)};
    if (ins[1] == IR_NONE) return IR_NONE;
    ir_id y = gb_node(b, IR_OP_RMSNormalization, ins, 2, w);
    if (y == IR_NONE || ir_set_attr_float(b->g, b->g->values[y].producer, "epsilon", (float)hp->eps, b->d))
        return IR_NONE;
    return y;
}

static ir_id axis0(gguf_builder *b, ir_op op, ir_id x) {
    int64_t zero = 0;
    ir_id ins[2] = {x, gb_const_i64(b, &zero, 1, false)};
    return ins[1] == IR_NONE ? IR_NONE : gb_node(b, op, ins, 2, NULL);
}

static ir_id rope(gguf_builder *b, const llama_hp *hp, ir_id x3, const ir_id *tables, int64_t heads, const char *origin) {
    ir_id ins[4] = {x3, tables[0], tables[1], tables[2]};
    ir_id y = set_int(b, gb_node(b, IR_OP_RotaryEmbedding, ins, 4, origin), "interleaved", hp->neox ? 0 : 1);
    y = set_int(b, y, "num_heads", heads);
    if (hp->n_rot != hp->head) y = set_int(b, y, "rotary_embedding_dim", hp->n_rot);
    return y;
}

/* One block: x [seq, E] -> x [seq, E]. tables: cos, sin, position_ids. */
static ir_id block(gguf_builder *b, const llama_hp *hp, int64_t i, ir_id x, const ir_id *tables) {
    char n[12][64];
    const char *parts[12] = {"attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_q.bias",
                             "attn_k.bias", "attn_v.bias", "attn_output.weight", "ffn_norm.weight", "ffn_gate.weight",
                             "ffn_up.weight", "ffn_down.weight"};
    for (int k = 0; k < 12; k++) snprintf(n[k], sizeof n[k], "blk.%lld.%s", (long long)i, parts[k]);
    int64_t E = hp->n_embd, KV = hp->head * hp->n_head_kv;
    ir_id h = rms_norm(b, hp, x, n[0]);
    if (h == IR_NONE) return IR_NONE;
    ir_id q = linear(b, h, n[1], hp->biases ? n[4] : NULL, E, E);
    ir_id k = q == IR_NONE ? IR_NONE : linear(b, h, n[2], hp->biases ? n[5] : NULL, KV, E);
    ir_id v = k == IR_NONE ? IR_NONE : linear(b, h, n[3], hp->biases ? n[6] : NULL, KV, E);
    if (v == IR_NONE) return IR_NONE;
    /* packed 3-D heads: [1, seq, heads * head] */
    ir_id q3 = rope(b, hp, axis0(b, IR_OP_Unsqueeze, q), tables, hp->n_head, n[1]);
    ir_id k3 = rope(b, hp, axis0(b, IR_OP_Unsqueeze, k), tables, hp->n_head_kv, n[2]);
    ir_id v3 = axis0(b, IR_OP_Unsqueeze, v);
    if (q3 == IR_NONE || k3 == IR_NONE || v3 == IR_NONE) return IR_NONE;
    ir_id qkv[3] = {q3, k3, v3};
    ir_id a = set_int(b, gb_node(b, IR_OP_Attention, qkv, 3, n[7]), "is_causal", 1);
    a = set_int(b, a, "q_num_heads", hp->n_head);
    a = set_int(b, a, "kv_num_heads", hp->n_head_kv);
    ir_id o = a == IR_NONE ? IR_NONE : linear(b, axis0(b, IR_OP_Squeeze, a), n[7], NULL, E, E);
    if (o == IR_NONE) return IR_NONE;
    ir_id add1[2] = {x, o};
    x = gb_node(b, IR_OP_Add, add1, 2, NULL);
    h = x == IR_NONE ? IR_NONE : rms_norm(b, hp, x, n[8]);
    if (h == IR_NONE) return IR_NONE;
    ir_id g = linear(b, h, n[9], NULL, hp->n_ff, E);
    ir_id u = g == IR_NONE ? IR_NONE : linear(b, h, n[10], NULL, hp->n_ff, E);
    if (u == IR_NONE) return IR_NONE;
    ir_id gu[2] = {gb_node(b, IR_OP_Swish, &g, 1, n[9]), u}; /* silu: Swish with alpha 1 */
    ir_id m = gu[0] == IR_NONE ? IR_NONE : gb_node(b, IR_OP_Mul, gu, 2, NULL);
    ir_id dn = m == IR_NONE ? IR_NONE : linear(b, m, n[11], NULL, E, hp->n_ff);
    if (dn == IR_NONE) return IR_NONE;
    ir_id add2[2] = {x, dn};
    return gb_node(b, IR_OP_Add, add2, 2, NULL);
}

int gguf_build_llama(gguf_builder *b) {
    llama_hp hp;
    if (read_hparams(b, &hp)) return -1;
    ir_graph *g = b->g;
    ir_dim seq = ir_dim_named(g, "seq");
    ir_id tokens = ir_add_input(g, "tokens", IR_I64, 1, &seq, b->d);
    if (tokens == IR_NONE) return -1;
    /* position_ids [1, seq] = Unsqueeze(Range(0, seq, 1)), seq = Shape(tokens)[0] */
    int64_t zero = 0, one = 1;
    ir_id shp = gb_node(b, IR_OP_Shape, &tokens, 1, NULL);
    ir_id n = shp == IR_NONE ? IR_NONE : axis0(b, IR_OP_Squeeze, shp);
    ir_id rin[3] = {gb_const_i64(b, &zero, 1, true), n, gb_const_i64(b, &one, 1, true)};
    ir_id tables[3];
    if (n == IR_NONE || rin[0] == IR_NONE || rin[2] == IR_NONE) return -1;
    ir_id range = gb_node(b, IR_OP_Range, rin, 3, NULL);
    tables[2] = range == IR_NONE ? IR_NONE : axis0(b, IR_OP_Unsqueeze, range);
    if (tables[2] == IR_NONE || rope_tables(b, &hp, &tables[0], &tables[1])) return -1;

    int64_t ed[2] = {hp.n_vocab, hp.n_embd};
    ir_id emb = gb_weight(b, "token_embd.weight", 2, ed, true);
    if (emb == IR_NONE) return -1;
    ir_id gin[2] = {emb, tokens};
    ir_id x = gb_node(b, IR_OP_Gather, gin, 2, "token_embd.weight");
    for (int64_t i = 0; i < hp.n_layer && x != IR_NONE; i++) x = block(b, &hp, i, x, tables);
    ir_id h = x == IR_NONE ? IR_NONE : rms_norm(b, &hp, x, "output_norm.weight");
    if (h == IR_NONE) return -1;
    ir_id out = gguf_find_tensor(b->f, "output.weight") ? gb_weight(b, "output.weight", 2, ed, true) : emb;
    if (out == IR_NONE) return -1;
    ir_id lin[2] = {h, out};
    ir_id node = ir_add_node(g, IR_OP_Gemm, lin, 2, (const char *[]){"logits"}, 1, "output.weight", b->d);
    if (node == IR_NONE || ir_set_attr_int(g, node, "transB", 1, b->d)) return -1;
    return ir_add_output(g, g->nodes[node].out[0], b->d);
}
