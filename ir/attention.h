/* attention.h — the head layouts of the attention ops (Attention,
 * RotaryEmbedding, LinearAttention).
 *
 * These ops take their heads either as 4-D tensors (batch, heads, seq,
 * head_size) or packed as 3-D ones (batch, seq, heads * head_size) with the
 * head counts given by attributes; Attention also grows its keys and values
 * by a past cache and may have fewer key/value heads than query heads
 * (grouped-query attention). The readers below check the inputs and work
 * out every size once; inference (infer_attn.c) and lowering
 * (lower_attention.c) both go through them, so they agree.
 */
#ifndef SMELT_ATTENTION_H
#define SMELT_ATTENTION_H

#include "ir.h"

/* The sizes of an Attention node. */
typedef struct attn_dims {
    bool packed;        /* 3-D Q, K, V (and Y) */
    ir_dim batch, q_heads, kv_heads, group; /* group = q_heads / kv_heads */
    ir_dim q_len, kv_len, past_len, total_len; /* total = past + kv */
    ir_dim head, v_head; /* head size of Q and K, of V */
    bool has_past;
} attn_dims;

/* The qk_matmul_output modes: which stage of the scores it holds. */
enum { ATTN_QK_RAW, ATTN_QK_SOFTCAP, ATTN_QK_BIASED, ATTN_QK_SOFTMAX };

int attn_read_dims(ir_graph *g, const ir_node *n, attn_dims *a, diag *d);

/* The sizes of a RotaryEmbedding node: X is (batch, heads, seq, head) or
 * packed (batch, seq, heads * head); the caches' last axis has `half`
 * values, half the rotated width (rotary_embedding_dim, or the head size). */
typedef struct rope_dims {
    bool packed, has_positions;
    ir_dim head, half;
} rope_dims;

int rope_read_dims(ir_graph *g, const ir_node *n, rope_dims *r, diag *d);

/* LinearAttention's update_rule: whether the state decays (gated) and
 * whether writes are delta-corrected; -1 for an unknown rule. */
int linear_attention_rule(const ir_node *n, bool *gating, bool *delta);

/* CausalConvWithState's activation: SiLU (silu, swish) or none; -1 for an
 * unknown one. */
int causal_conv_activation(const ir_node *n, bool *silu);

#endif
