/* arch_hparams.c — the hyperparameters of the llama-family decoders
 * (arch_hparams.h) from the GGUF metadata, with llama.cpp's defaults
 * (src/llama-model.cpp load_hparams and src/models/ARCH.cpp):
 *
 *   head size      ARCH.attention.key_length (= value_length), default E / heads
 *   rotated width  ARCH.rope.dimension_count, default the head size
 *   RoPE           ARCH.rope.freq_base (10000); linear scaling by
 *                  1 / ARCH.rope.scaling.factor (or rope.scale_linear), any
 *                  other rope.scaling.type is refused
 *   gemma3         ARCH.attention.sliding_window (none when absent or 0) on
 *                  all layers but every attention.sliding_window_pattern-th
 *                  (6), those with base rope.freq_base_swa (10000) and no
 *                  scaling; QK^T scaled by 1 / sqrt(head size) (the 62-layer
 *                  27B: 1 / sqrt(E / heads)); final_logit_softcapping (none)
 *
 * Sizes are checked against bounds before anything is allocated from them.
 */
#include "arch_hparams.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const decoder_traits traits[] = {
    {.arch = "llama"},
    {.arch = "qwen2", .neox = true, .qkv_bias = true},
    {.arch = "qwen3", .neox = true, .qk_norm = true},
    {.arch = "gemma3", .neox = true, .qk_norm = true, .gemma = true},
};

const decoder_traits *decoder_traits_of(const char *arch) {
    for (size_t i = 0; i < sizeof traits / sizeof traits[0]; i++)
        if (!strcmp(traits[i].arch, arch)) return &traits[i];
    return NULL;
}

void decoder_arch_names(char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof traits / sizeof traits[0] && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", traits[i].arch);
}

bool decoder_layer_is_swa(const decoder_hp *hp, int64_t il) {
    return hp->n_swa > 0 && (hp->swa_pattern == 0 || il % hp->swa_pattern < hp->swa_pattern - 1);
}

/* RoPE scaling: linear (positions times 1 / factor) or none; 0 or -1. */
static int read_rope_scaling(gguf_builder *b, decoder_hp *hp) {
    char k[128];
    snprintf(k, sizeof k, "%s.rope.scaling.type", b->arch);
    gguf_str st;
    if (gguf_find(b->f, k)) {
        if (gguf_get_str(b->f, k, &st, b->d)) return -1;
        bool known = (st.len == 4 && !memcmp(st.ptr, "none", 4)) || (st.len == 6 && !memcmp(st.ptr, "linear", 6));
        if (!known)
            return diag_error(b->d, "%s: key '%s': RoPE scaling '%.*s' is not supported (none, linear)", b->f->path, k,
                              (int)(st.len > 32 ? 32 : st.len), st.ptr);
    }
    double factor;
    snprintf(k, sizeof k, "%s.rope.scaling.factor", b->arch);
    const char *key = gguf_find(b->f, k) ? "rope.scaling.factor" : "rope.scale_linear";
    if (gb_arch_f64(b, key, false, 0.0, &factor)) return -1;
    if (!(factor == 0 || (factor >= 1e-3 && factor <= 1e6)))
        return diag_error(b->d, "%s: key '%s.%s': implausible RoPE scaling factor %g", b->f->path, b->arch, key,
                          factor);
    hp->rope_scale = factor == 0 ? 1.0 : 1.0 / factor;
    return 0;
}

/* gemma3's sliding window, its RoPE base, the attention scale and the
 * final softcapping. */
static int read_gemma(gguf_builder *b, decoder_hp *hp) {
    uint64_t swa, pattern;
    if (gb_arch_u64(b, "attention.sliding_window", false, 0, &swa) ||
        gb_arch_u64(b, "attention.sliding_window_pattern", false, 6, &pattern) ||
        gb_arch_f64(b, "rope.freq_base_swa", false, 10000.0, &hp->rope_base_swa) ||
        gb_arch_f64(b, "final_logit_softcapping", false, 0.0, &hp->softcap))
        return -1;
    if (swa > (1u << 24) || pattern > 4096 || !(hp->rope_base_swa > 1) || !(hp->softcap >= 0))
        return diag_error(b->d, "%s: %s: implausible sliding window %llu / pattern %llu / RoPE base %g / softcap %g",
                          b->f->path, b->arch, (unsigned long long)swa, (unsigned long long)pattern, hp->rope_base_swa,
                          hp->softcap);
    hp->n_swa = (int64_t)swa, hp->swa_pattern = (int64_t)pattern;
    hp->rope_scale_swa = 1.0;
    int64_t d = hp->n_layer == 62 ? hp->n_embd / hp->n_head : hp->head; /* 27B: gemma_pytorch's config */
    hp->attn_scale = 1.0f / sqrtf((float)d);
    return 0;
}

int decoder_read_hparams(gguf_builder *b, decoder_hp *hp) {
    memset(hp, 0, sizeof *hp);
    hp->t = decoder_traits_of(b->arch);
    uint64_t e, l, h, kv, ff, ctx, rot, kl, vl;
    if (gb_arch_u64(b, "embedding_length", true, 0, &e) || gb_arch_u64(b, "block_count", true, 0, &l) ||
        gb_arch_u64(b, "attention.head_count", true, 0, &h) || gb_arch_u64(b, "feed_forward_length", true, 0, &ff) ||
        gb_arch_u64(b, "context_length", true, 0, &ctx) ||
        gb_arch_f64(b, "attention.layer_norm_rms_epsilon", true, 0, &hp->eps) ||
        gb_arch_f64(b, "rope.freq_base", false, 10000.0, &hp->rope_base))
        return -1;
    if (gb_arch_u64(b, "attention.head_count_kv", false, h, &kv)) return -1;
    const char *path = b->f->path;
    if (!e || !h || !kv || h % kv || !l || !ff || !ctx || e > (1u << 20) || h > 4096 || l > 4096 ||
        ff > (1u << 24) || ctx > (1u << 24) || !(hp->rope_base > 1) || !(hp->eps >= 0))
        return diag_error(b->d,
                          "%s: %s: implausible sizes: embedding %llu, heads %llu / %llu kv, blocks %llu, ffn %llu, "
                          "context %llu",
                          path, b->arch, (unsigned long long)e, (unsigned long long)h, (unsigned long long)kv,
                          (unsigned long long)l, (unsigned long long)ff, (unsigned long long)ctx);
    if (gb_arch_u64(b, "attention.key_length", false, e / h, &kl) ||
        gb_arch_u64(b, "attention.value_length", false, kl, &vl))
        return -1;
    if (!kl || kl > 4096 || vl != kl)
        return diag_error(b->d,
                          "%s: %s.attention.key_length %llu / value_length %llu: not supported (equal, 1 .. 4096)",
                          path, b->arch, (unsigned long long)kl, (unsigned long long)vl);
    if (gb_arch_u64(b, "rope.dimension_count", false, kl, &rot)) return -1;
    if (!rot || rot % 2 || rot > kl)
        return diag_error(b->d, "%s: key '%s.rope.dimension_count': %llu for heads of %llu", path, b->arch,
                          (unsigned long long)rot, (unsigned long long)kl);
    const gguf_tensor *emb = gguf_find_tensor(b->f, "token_embd.weight");
    if (!emb || emb->n_dims != 2) return diag_error(b->d, "%s: tensor 'token_embd.weight' is missing or not 2-D", path);
    hp->n_embd = (int64_t)e, hp->n_layer = (int64_t)l, hp->n_head = (int64_t)h, hp->n_head_kv = (int64_t)kv;
    hp->n_ff = (int64_t)ff, hp->n_ctx = (int64_t)ctx, hp->n_rot = (int64_t)rot, hp->head = (int64_t)kl;
    hp->n_vocab = (int64_t)emb->ne[1];
    if (read_rope_scaling(b, hp)) return -1;
    return hp->t->gemma ? read_gemma(b, hp) : 0;
}
