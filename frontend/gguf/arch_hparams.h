/* arch_hparams.h — the hyperparameters of the decoder-only transformers
 * that arch_llama.c builds (llama, qwen2, qwen3, gemma3), read from the
 * GGUF metadata as llama.cpp reads them, and what sets the architectures
 * apart (which parts a block has). Internal to frontend/gguf/.
 */
#ifndef SMELT_GGUF_ARCH_HPARAMS_H
#define SMELT_GGUF_ARCH_HPARAMS_H

#include "gguf_build.h"

/* What an architecture's blocks have beyond llama's. */
typedef struct decoder_traits {
    const char *arch;
    bool neox;        /* RoPE rotates the two halves of a head (else adjacent pairs) */
    bool qkv_bias;    /* attn_q/k/v.bias */
    bool qk_norm;     /* per-head RMSNorm of Q and K (attn_q_norm, attn_k_norm) before RoPE */
    bool gemma;       /* embedding * sqrt(E), attn_post_norm and ffn_post_norm, GELU (tanh) FFN,
                         sliding-window layers, final logit softcapping */
} decoder_traits;

typedef struct decoder_hp {
    const decoder_traits *t;
    int64_t n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx, n_rot, head;
    double eps;
    double rope_base, rope_scale;         /* positions are multiplied by rope_scale (linear scaling) */
    double rope_base_swa, rope_scale_swa; /* the same for sliding-window layers */
    int64_t n_swa, swa_pattern;           /* window (0: none); every swa_pattern-th layer is global */
    double attn_scale;                    /* of QK^T; 0: 1 / sqrt(head) */
    double softcap;                       /* final logits: softcap * tanh(logits / softcap); 0: none */
} decoder_hp;

/* The traits of architecture `arch`, NULL if it is not one of these. */
const decoder_traits *decoder_traits_of(const char *arch);
/* The names of the supported architectures, ", "-separated, into buf. */
void decoder_arch_names(char *buf, size_t cap);

/* Reads and checks the hyperparameters of b->arch: 0, or -1 with an error
 * naming the key. */
int decoder_read_hparams(gguf_builder *b, decoder_hp *hp);

/* Whether layer il attends through a sliding window (llama.cpp's
 * set_swa_pattern: all but every swa_pattern-th layer, counted from 1). */
bool decoder_layer_is_swa(const decoder_hp *hp, int64_t il);

#endif
