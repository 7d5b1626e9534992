#!/usr/bin/env python3
"""tests/gguf/llama_ref.py — a numpy reference of the llama / qwen2 / qwen3 /
gemma3 prefill, written from the architecture (llama.cpp's src/models/
llama.cpp, qwen2.cpp, qwen3.cpp, gemma3.cpp: RMSNorm, RoPE "normal" (adjacent
pairs) for llama and NeoX (halves) for the others, causal grouped-query
attention, SwiGLU, tied embeddings when output.weight is absent; qwen3 and
gemma3 RMSNorm each head of Q and K; gemma3 scales the embedding by
sqrt(E), norms the attention and FFN outputs, uses GELU (tanh), a sliding
window with RoPE base rope.freq_base_swa (10000) and no scaling on all
layers but every 6th, and softcaps the logits if the file says so; linear
RoPE scaling multiplies the positions by 1 / rope.scaling.factor), in float64, with the
weights the gguf package reads and dequantizes. gelu_f16=True rounds
GELU's input and output to f16 as ggml's CPU GELU table does.

A stopgap oracle until llama.cpp's own logits are available: it checks that
smelt builds the right graph from the metadata. Where a weight is a block
type with a quantized matmul, the activations are first quantized per block
as ggml does (q8_0 / q8_1 / q8_K, written here from ggml's definitions:
scale amax / 127 stored as f16, round half to even of x * 127 / amax; q8_K
-127 / max of the largest-magnitude value, f32 scale), as smelt and
llama.cpp multiply them.
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
    w["@types"] = {t.name: t.tensor_type for t in r.tensors}
    w["@mins"] = {}  # q4_1 / q5_1: the f16 min of each block, [rows, blocks]
    for t in r.tensors:
        if t.tensor_type in (gguf.GGMLQuantizationType.Q4_1, gguf.GGMLQuantizationType.Q5_1):
            nbb = 20 if t.tensor_type == gguf.GGMLQuantizationType.Q4_1 else 24
            raw = np.asarray(t.data).reshape(-1, nbb)
            m = raw[:, 2:4].copy().view(np.float16).astype(np.float64)
            w["@mins"][t.name] = m.reshape(int(t.shape[1]), -1)
    for t in r.tensors:
        v = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type)
        w[t.name] = np.asarray(v, dtype=np.float64).reshape(tuple(int(x) for x in t.shape[::-1]))
    hp = dict(arch=arch, n_layer=kv("block_count"), n_head=kv("attention.head_count"),
              n_head_kv=kv("attention.head_count_kv", kv("attention.head_count")),
              eps=kv("attention.layer_norm_rms_epsilon"), base=kv("rope.freq_base", 10000.0),
              n_embd=kv("embedding_length"), n_swa=kv("attention.sliding_window", 0),
              swa_pattern=kv("attention.sliding_window_pattern", 6), base_swa=kv("rope.freq_base_swa", 10000.0),
              softcap=kv("final_logit_softcapping", 0.0),
              scale=1.0 / (kv("rope.scaling.factor", 0.0) or 1.0))
    hp["head"] = kv("attention.key_length", hp["n_embd"] // hp["n_head"])
    hp["n_rot"] = kv("rope.dimension_count", hp["head"])
    return hp, w


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope(x, n_heads, hp, base, scale):
    """x [seq, n_heads * head] rotated at positions 0..seq-1 (times scale)."""
    seq, head, rot = x.shape[0], hp["head"], hp["n_rot"]
    x = x.reshape(seq, n_heads, head).copy()
    i = np.arange(rot // 2)
    theta = np.arange(seq)[:, None] * scale * base ** (-2.0 * i / rot)  # [seq, rot/2]
    c, s = np.cos(theta)[:, None, :], np.sin(theta)[:, None, :]
    if hp["arch"] != "llama":  # NeoX: (i, i + rot/2)
        a, b = x[..., :rot // 2].copy(), x[..., rot // 2:rot].copy()
        x[..., :rot // 2], x[..., rot // 2:rot] = a * c - b * s, a * s + b * c
    else:  # normal: (2i, 2i + 1)
        a, b = x[..., 0:rot:2].copy(), x[..., 1:rot:2].copy()
        x[..., 0:rot:2], x[..., 1:rot:2] = a * c - b * s, a * s + b * c
    return x.reshape(seq, -1)


Q = gguf.GGMLQuantizationType
ACT = {Q.Q4_0: "q8_0", Q.Q5_0: "q8_0", Q.Q8_0: "q8_0", Q.Q4_1: "q8_0", Q.Q5_1: "q8_0",
       Q.Q4_K: "q8_K", Q.Q5_K: "q8_K", Q.Q6_K: "q8_K"}


def q8(x, kind, corr=None):
    """x [rows, K] quantized per block to ggml's activation format, decoded.
    corr (q8_1): the f16 s = d * sum q of each block minus the decoded sum,
    [rows, blocks]: ggml multiplies a q4_1 / q5_1 block's min with s."""
    n = 256 if kind == "q8_K" else 32
    b = x.astype(np.float32).reshape(-1, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "q8_K":
            mx = b[np.arange(len(b)), np.argmax(np.abs(b), axis=1)]
            iscale = np.where(mx != 0, np.float32(-127) / mx, np.float32(0)).astype(np.float32)
            q = np.minimum(127, np.rint(iscale[:, None] * b))
            d = np.where(mx != 0, np.float32(1) / iscale, np.float32(0)).astype(np.float32)
        else:
            amax = np.abs(b).max(axis=1)
            inv = np.where(amax != 0, np.float32(127) / amax, np.float32(0)).astype(np.float32)
            q = np.rint(b * inv[:, None])
            d32 = (amax / np.float32(127)).astype(np.float32)
            d = d32.astype(np.float16).astype(np.float32)
            if corr is not None:
                sq = q.sum(axis=1).astype(np.float32)
                sf = (d32 * sq).astype(np.float16).astype(np.float64)
                corr.append((sf - d.astype(np.float64) * sq).reshape(x.shape[0], -1))
    return (q.astype(np.float64) * d[:, None].astype(np.float64)).reshape(x.shape)


def mm(w, h, name):
    """h @ W^T, with h quantized first as ggml does for block-type W."""
    kind = ACT.get(w["@types"][name])
    if not kind:
        return h @ w[name].T
    corr = [] if name in w["@mins"] else None
    y = q8(h, kind, corr) @ w[name].T
    return y + corr[0] @ w["@mins"][name].T if corr else y


def gelu(x, f16):
    if f16:
        x = x.astype(np.float16).astype(np.float64)
    y = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * x * (1 + 0.044715 * x * x)))
    return y.astype(np.float16).astype(np.float64) if f16 else y


def forward(path, tokens, gelu_f16=False):
    hp, w = load(path)
    H, KVH, D = hp["n_head"], hp["n_head_kv"], hp["head"]
    gemma = hp["arch"] == "gemma3"
    x = w["token_embd.weight"][tokens]
    if gemma:
        x = x * np.float32(np.sqrt(np.float32(hp["n_embd"])))
    seq = len(tokens)
    pos = np.arange(seq)
    causal = np.where(pos[None, :] > pos[:, None], -np.inf, 0.0)
    local = np.where(pos[:, None] - pos[None, :] >= max(hp["n_swa"], 1), -np.inf, causal)
    for i in range(hp["n_layer"]):
        p = "blk.%d." % i
        swa = gemma and hp["n_swa"] > 0 and i % hp["swa_pattern"] < hp["swa_pattern"] - 1
        h = rms_norm(x, w[p + "attn_norm.weight"], hp["eps"])
        q, k, v = (mm(w, h, p + n + ".weight") + w.get(p + n + ".bias", 0.0) for n in ("attn_q", "attn_k", "attn_v"))
        if p + "attn_q_norm.weight" in w:
            q = rms_norm(q.reshape(seq, H, D), w[p + "attn_q_norm.weight"], hp["eps"]).reshape(seq, -1)
            k = rms_norm(k.reshape(seq, KVH, D), w[p + "attn_k_norm.weight"], hp["eps"]).reshape(seq, -1)
        base, scale = (hp["base_swa"], 1.0) if swa else (hp["base"], hp["scale"])
        q, k = rope(q, H, hp, base, scale), rope(k, KVH, hp, base, scale)
        q, k, v = q.reshape(seq, H, D), k.reshape(seq, KVH, D), v.reshape(seq, KVH, D)
        mask = local if swa else causal
        out = np.empty((seq, H, D))
        for hh in range(H):
            kvh = hh // (H // KVH)
            s = q[:, hh] @ k[:, kvh].T / np.sqrt(D) + mask
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            out[:, hh] = (s / s.sum(axis=-1, keepdims=True)) @ v[:, kvh]
        o = mm(w, out.reshape(seq, -1), p + "attn_output.weight")
        x = x + (rms_norm(o, w[p + "post_attention_norm.weight"], hp["eps"]) if gemma else o)
        h = rms_norm(x, w[p + "ffn_norm.weight"], hp["eps"])
        g, u = mm(w, h, p + "ffn_gate.weight"), mm(w, h, p + "ffn_up.weight")
        f = mm(w, (gelu(g, gelu_f16) if gemma else g / (1 + np.exp(-g))) * u, p + "ffn_down.weight")
        x = x + (rms_norm(f, w[p + "post_ffw_norm.weight"], hp["eps"]) if gemma else f)
    h = rms_norm(x, w["output_norm.weight"], hp["eps"])
    logits = mm(w, h, "output.weight" if "output.weight" in w else "token_embd.weight")
    if hp["softcap"]:
        logits = hp["softcap"] * np.tanh(logits / hp["softcap"])
    return logits
