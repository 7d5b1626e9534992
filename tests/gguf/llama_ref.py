#!/usr/bin/env python3
"""tests/gguf/llama_ref.py — a numpy reference of the llama / qwen2 prefill,
written from the architecture (llama.cpp's llm_build_llama / llm_build_qwen2:
RMSNorm, RoPE "normal" (adjacent pairs) for llama and NeoX (halves) for qwen2,
causal grouped-query attention, SwiGLU, tied embeddings when output.weight is
absent), in float64, with the weights the gguf package reads and dequantizes.

A stopgap oracle until llama.cpp's own logits are available: it checks that
smelt builds the right graph from the metadata, not that it matches
llama.cpp's rounding.
"""
import numpy as np
import gguf


def load(path):
    r = gguf.GGUFReader(path)
    arch = r.fields["general.architecture"].contents()

    def kv(key, default=None):
        f = r.fields.get("%s.%s" % (arch, key))
        return default if f is None else f.contents()

    w = {}
    for t in r.tensors:
        v = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type)
        w[t.name] = np.asarray(v, dtype=np.float64).reshape(tuple(int(x) for x in t.shape[::-1]))
    hp = dict(arch=arch, n_layer=kv("block_count"), n_head=kv("attention.head_count"),
              n_head_kv=kv("attention.head_count_kv", kv("attention.head_count")),
              eps=kv("attention.layer_norm_rms_epsilon"), base=kv("rope.freq_base", 10000.0),
              n_embd=kv("embedding_length"))
    hp["head"] = hp["n_embd"] // hp["n_head"]
    hp["n_rot"] = kv("rope.dimension_count", hp["head"])
    return hp, w


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope(x, n_heads, hp):
    """x [seq, n_heads * head] rotated at positions 0..seq-1."""
    seq, head, rot = x.shape[0], hp["head"], hp["n_rot"]
    x = x.reshape(seq, n_heads, head).copy()
    i = np.arange(rot // 2)
    theta = np.arange(seq)[:, None] * hp["base"] ** (-2.0 * i / rot)  # [seq, rot/2]
    c, s = np.cos(theta)[:, None, :], np.sin(theta)[:, None, :]
    if hp["arch"] == "qwen2":  # NeoX: (i, i + rot/2)
        a, b = x[..., :rot // 2].copy(), x[..., rot // 2:rot].copy()
        x[..., :rot // 2], x[..., rot // 2:rot] = a * c - b * s, a * s + b * c
    else:  # normal: (2i, 2i + 1)
        a, b = x[..., 0:rot:2].copy(), x[..., 1:rot:2].copy()
        x[..., 0:rot:2], x[..., 1:rot:2] = a * c - b * s, a * s + b * c
    return x.reshape(seq, -1)


def forward(path, tokens):
    hp, w = load(path)
    H, KVH, D = hp["n_head"], hp["n_head_kv"], hp["head"]
    x = w["token_embd.weight"][tokens]
    seq = len(tokens)
    mask = np.triu(np.full((seq, seq), -np.inf), 1)
    for i in range(hp["n_layer"]):
        p = "blk.%d." % i
        h = rms_norm(x, w[p + "attn_norm.weight"], hp["eps"])
        q, k, v = (h @ w[p + n + ".weight"].T + w.get(p + n + ".bias", 0.0) for n in ("attn_q", "attn_k", "attn_v"))
        q, k = rope(q, H, hp), rope(k, KVH, hp)
        q, k, v = q.reshape(seq, H, D), k.reshape(seq, KVH, D), v.reshape(seq, KVH, D)
        out = np.empty((seq, H, D))
        for hh in range(H):
            kvh = hh // (H // KVH)
            s = q[:, hh] @ k[:, kvh].T / np.sqrt(D) + mask
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            out[:, hh] = (s / s.sum(axis=-1, keepdims=True)) @ v[:, kvh]
        x = x + out.reshape(seq, -1) @ w[p + "attn_output.weight"].T
        h = rms_norm(x, w[p + "ffn_norm.weight"], hp["eps"])
        g, u = h @ w[p + "ffn_gate.weight"].T, h @ w[p + "ffn_up.weight"].T
        x = x + (g / (1 + np.exp(-g)) * u) @ w[p + "ffn_down.weight"].T
    h = rms_norm(x, w["output_norm.weight"], hp["eps"])
    return h @ w.get("output.weight", w["token_embd.weight"]).T
