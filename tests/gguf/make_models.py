#!/usr/bin/env python3
"""tests/gguf/make_models.py OUTDIR — the GGUF test files, written with the
gguf Python package (the oracle) and fixed seeds.

Writes into OUTDIR:
  ARCH_TYPE.gguf  tiny models of llama, qwen2, qwen3 and gemma3 (2 layers, hidden 256, 4 heads,
      2 KV heads, FFN 512, vocab 300) with random weights: every 2-D weight in
      TYPE (f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k q5_k q6_k),
      norms and biases in f32, and the metadata keys llama.cpp's loader
      requires for the architecture. llama has a SentencePiece-style vocab and
      its own output.weight; qwen2 a GPT-2-style byte-level BPE vocab, Q/K/V
      biases and tied embeddings (no output.weight). qwen3 (types f32 f16
      q8_0 q4_0 q4_k) is qwen2 without biases, with per-head Q/K norms,
      heads of 128 and its own output.weight; gemma3 (the same types) has
      the SentencePiece vocab, 6 layers of heads of 128, Q/K norms, post-
      attention and post-FFN norms, a sliding window of 8, linear RoPE
      scaling by 8 and tied embeddings. Hidden 256 because the K-quant super-blocks hold 256
      elements of a row.
      Weights of the types gguf.quants can quantize (q4_0 .. q8_0, bf16) go
      through gguf.quants.quantize; for the K-quants the package has only
      dequantizers, so their blocks are random bytes with the f16 scale
      fields set to small values (every bit pattern of the other fields is a
      valid block).
  types.gguf   every metadata value type, nested arrays, general.alignment 64,
      tensors of the plain ggml types (f64, i8, i16, i32, i64) and a 1-D one.
  v2.gguf      types.gguf with version 2 (the layout is the same).
  bad/*.gguf   malformed files, and bad/expected.tsv: file name, a part of the
      error message smelt must give.
"""
import os
import struct
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

TYPES = {
    "f32": Q.F32, "f16": Q.F16, "bf16": Q.BF16, "q4_0": Q.Q4_0, "q4_1": Q.Q4_1,
    "q5_0": Q.Q5_0, "q5_1": Q.Q5_1, "q8_0": Q.Q8_0, "q2_k": Q.Q2_K, "q3_k": Q.Q3_K,
    "q4_k": Q.Q4_K, "q5_k": Q.Q5_K, "q6_k": Q.Q6_K,
}
FILE_TYPE = {
    "f32": 0, "f16": 1, "bf16": 32, "q4_0": 2, "q4_1": 3, "q5_0": 8, "q5_1": 9, "q8_0": 7,
    "q2_k": 10, "q3_k": 11, "q4_k": 14, "q5_k": 16, "q6_k": 18,
}
# byte offset and typical size of the f16 scale fields of a K-quant block
K_SCALES = {
    Q.Q2_K: [(80, 2e-3), (82, 2e-3)], Q.Q3_K: [(108, 5e-4)], Q.Q4_K: [(0, 1e-4), (2, 5e-4)],
    Q.Q5_K: [(0, 5e-5), (2, 5e-4)], Q.Q6_K: [(208, 2e-5)],
}

HP = dict(n_layer=2, n_embd=256, n_head=4, n_head_kv=2, n_ff=512, n_vocab=300, n_ctx=128)
# qwen3 and gemma3 have heads of 128 (key_length), not E / heads = 64, as the
# real ones do; gemma3 6 layers (5 local, 1 global: llama.cpp's default
# pattern) with a window of 8 tokens, less than the tests' 40 positions
ARCH_HP = {"qwen3": dict(head=128), "gemma3": dict(n_layer=6, head=128, n_swa=8)}
# the types written for each architecture
ARCH_TYPES = {"llama": list(TYPES), "qwen2": list(TYPES), "qwen3": ["f32", "f16", "q8_0", "q4_0", "q4_k"],
              "gemma3": ["f32", "f16", "q8_0", "q4_0", "q4_k"]}


def random_k_blocks(rng, qtype, rows, cols):
    """Random K-quant blocks for a (rows, cols) weight: uint8 (rows, bytes)."""
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    b = rng.integers(0, 256, size=(rows * cols // block, size), dtype=np.uint8)
    for off, mag in K_SCALES[qtype]:
        d = (rng.uniform(0.5, 1.5, size=b.shape[0]) * mag).astype(np.float16)
        b[:, off:off + 2] = d.view(np.uint8).reshape(-1, 2)
    return b.reshape(rows, cols // block * size)


def weight(rng, qtype, rows, cols):
    """(array, raw_dtype) for gguf's add_tensor: numpy shape (rows, cols) is ne (cols, rows)."""
    x = (rng.standard_normal((rows, cols)) * 0.05).astype(np.float32)
    if qtype == Q.F32:
        return x, None
    if qtype == Q.F16:
        return x.astype(np.float16), None
    if qtype in K_SCALES:
        return random_k_blocks(rng, qtype, rows, cols), qtype
    return gguf.quants.quantize(x, qtype), qtype


def spm_vocab(n):
    toks = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % i for i in range(256)]
    types = [2, 3, 3] + [6] * 256
    words = ["the", "a", "of", "to", "and", "in", "is", "it", "that", "on", "was", "he", "for",
             "with", "as", "I", "his", "they", "be", "at", "one", "have", "this", "from", "or",
             "had", "by", "hot", "word", "but", "what", "some", "we", "can", "out", "other",
             "were", "all", "there", "when", "up"]
    for w in words:
        if len(toks) == n:
            break
        toks.append("\u2581" + w)
        types.append(1)
    while len(toks) < n:  # larger vocabularies (bench/vulkan/make_bench_gguf.py)
        toks.append("\u2581w%d" % len(toks))
        types.append(1)
    scores = [0.0] * 3 + [0.0] * 256 + [-float(i) for i in range(len(toks) - 259)]
    return toks, scores, types


def bytes_to_unicode():
    """GPT-2's map from bytes to printable characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def bpe_vocab(n):
    b2u = bytes_to_unicode()
    toks = [b2u[b] for b in range(256)]
    merges = []
    sp = b2u[ord(" ")]
    words = ["an", "in", "on", "at", "to", "is", "it", "of", "or", "he", "we", "be",
             "as", "by", "up", "so", "no", "do", "go", "me", "my", "us", "if", "hi", "ok",
             "la", "ma", "pa", "ta", "da", "na", "ra", "sa", "va", "za", "ka", "ga"]
    for w in words:
        if len(toks) >= n - 3:
            break
        merges.append(sp + " " + w[0])  # "Ġ t" -> "Ġt" ... keep every merge's result in the vocab
        if sp + w[0] not in toks:
            toks.append(sp + w[0])
        if len(toks) >= n - 3:
            break
        merges.append(w[0] + " " + w[1])  # both parts are byte tokens
        if w not in toks:
            toks.append(w)
    while len(toks) < n - 3:
        toks.append("tok%d" % len(toks))
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    types = [1] * len(toks) + [3] * 3
    return toks + specials, types, merges


def write_model(path, arch, tname, seed, drop=(), extra=()):
    """drop: tensor names and keys left out, extra: (key, value, GGUFValueType)
    added instead (for the error tests)."""
    qtype = TYPES[tname]
    rng = np.random.default_rng(seed)
    hp = dict(HP, **ARCH_HP.get(arch, {}))
    head = hp.get("head", hp["n_embd"] // hp["n_head"])
    w = gguf.GGUFWriter(path, arch)
    w.add_name("smelt-tiny-%s-%s" % (arch, tname))
    w.add_file_type(FILE_TYPE[tname])
    w.add_quantization_version(2)
    w.add_context_length(hp["n_ctx"])
    w.add_embedding_length(hp["n_embd"])
    w.add_block_count(hp["n_layer"])
    w.add_feed_forward_length(hp["n_ff"])
    w.add_head_count(hp["n_head"])
    w.add_head_count_kv(hp["n_head_kv"])
    w.add_layer_norm_rms_eps(1e-5 if arch == "llama" else 1e-6)
    w.add_rope_freq_base(10000.0 if arch == "llama" else 1000000.0)
    w.add_rope_dimension_count(head)
    if "head" in hp:
        w.add_key_length(head)
        w.add_value_length(head)
    if "n_swa" in hp:  # and linear RoPE scaling as Gemma 3 4B..27B have (llama.cpp: global layers only)
        w.add_sliding_window(hp["n_swa"])
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(8.0)
    w.add_vocab_size(hp["n_vocab"])
    if arch in ("llama", "gemma3"):
        toks, scores, types = spm_vocab(hp["n_vocab"])
        w.add_tokenizer_model("llama")
        w.add_token_list(toks)
        w.add_token_scores(scores)
        w.add_token_types(types)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_unk_token_id(0)
        w.add_add_bos_token(True)
    else:
        toks, types, merges = bpe_vocab(hp["n_vocab"])
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("qwen2")
        w.add_token_list(toks)
        w.add_token_types(types)
        w.add_token_merges(merges)
        eot = toks.index("<|endoftext|>")
        w.add_bos_token_id(eot)
        w.add_eos_token_id(toks.index("<|im_end|>"))
        w.add_pad_token_id(eot)
        w.add_add_bos_token(False)
    assert len(toks) == hp["n_vocab"]

    def add(name, rows, cols):
        arr, raw = weight(rng, qtype, rows, cols)
        if name not in drop:
            w.add_tensor(name, arr, raw_dtype=raw)

    def add_f32(name, n, base=0.0):
        x = (base + rng.standard_normal(n) * 0.05).astype(np.float32)
        if name not in drop:
            w.add_tensor(name, x)

    for key in drop:
        for kvs in w.kv_data:
            kvs.pop(key, None)
    for key, val, vtype in extra:
        w.add_key_value(key, val, vtype)

    E, F, V = hp["n_embd"], hp["n_ff"], hp["n_vocab"]
    qd, kv = head * hp["n_head"], head * hp["n_head_kv"]
    add("token_embd.weight", V, E)
    for i in range(hp["n_layer"]):
        p = "blk.%d." % i
        add_f32(p + "attn_norm.weight", E, 1.0)
        add(p + "attn_q.weight", qd, E)
        add(p + "attn_k.weight", kv, E)
        add(p + "attn_v.weight", kv, E)
        if arch == "qwen2":
            add_f32(p + "attn_q.bias", qd)
            add_f32(p + "attn_k.bias", kv)
            add_f32(p + "attn_v.bias", kv)
        if arch in ("qwen3", "gemma3"):  # gemma3's norms hold 1 + w (llama.cpp's converter adds the 1)
            add_f32(p + "attn_q_norm.weight", head, 1.0)
            add_f32(p + "attn_k_norm.weight", head, 1.0)
        add(p + "attn_output.weight", E, qd)
        if arch == "gemma3":
            add_f32(p + "post_attention_norm.weight", E, 1.0)
        add_f32(p + "ffn_norm.weight", E, 1.0)
        add(p + "ffn_gate.weight", F, E)
        add(p + "ffn_up.weight", F, E)
        add(p + "ffn_down.weight", E, F)
        if arch == "gemma3":
            add_f32(p + "post_ffw_norm.weight", E, 1.0)
    add_f32("output_norm.weight", E, 1.0)
    if arch in ("llama", "qwen3"):
        add("output.weight", V, E)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_types(path):
    """Every metadata value type, nested arrays, a custom alignment, plain-type tensors."""
    V = gguf.GGUFValueType
    w = gguf.GGUFWriter(path, "smelt-test")
    w.add_custom_alignment(64)
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_float32("t.f32", 0.1)
    w.add_bool("t.bool", True)
    w.add_string("t.string", "h\u00e9llo \"w\"\n")
    w.add_uint64("t.u64", 2**63 + 5)
    w.add_int64("t.i64", -2**62)
    w.add_float64("t.f64", -1.0 / 3.0)
    w.add_key_value("t.arr_u8", [1, 2, 3], V.ARRAY, sub_type=V.UINT8)
    w.add_key_value("t.arr_i16", [-1, 2, -3], V.ARRAY, sub_type=V.INT16)
    w.add_key_value("t.arr_f64", [0.5, -2.25], V.ARRAY, sub_type=V.FLOAT64)
    w.add_key_value("t.arr_bool", [True, False, True], V.ARRAY, sub_type=V.BOOL)
    w.add_array("t.arr_str", ["a", "", "long string %d" % 7] + ["s%d" % i for i in range(20)])
    w.add_array("t.arr_i32_long", list(range(100)))
    w.add_key_value("t.nested", [[1, 2], [3], [4, 5, 6]], V.ARRAY)
    w.add_key_value("t.nested_str", [["x", "yz"], ["w"]], V.ARRAY)
    w.add_key_value("t.nested3", [[[1.5], [2.5, 3.5]], [[4.5]]], V.ARRAY)
    rng = np.random.default_rng(7)
    w.add_tensor("f64", rng.standard_normal((3, 5)))
    w.add_tensor("i8", rng.integers(-128, 128, (2, 7), dtype=np.int8))
    w.add_tensor("i16", rng.integers(-30000, 30000, (9,), dtype=np.int16))
    w.add_tensor("i32", rng.integers(-2**31, 2**31, (2, 2, 3), dtype=np.int32))
    w.add_tensor("i64", rng.integers(-2**62, 2**62, (1, 2, 2, 2), dtype=np.int64))
    w.add_tensor("f32_1d", rng.standard_normal(33).astype(np.float32))
    w.add_tensor("q8_0", gguf.quants.quantize(rng.standard_normal((2, 64)).astype(np.float32), Q.Q8_0),
                 raw_dtype=Q.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# ---- malformed files ---------------------------------------------------------

def s(x):
    b = x.encode() if isinstance(x, str) else x
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, payload):
    return s(key) + struct.pack("<I", vtype) + payload


def tinfo(name, dims, ttype, offset):
    return s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims) + \
        struct.pack("<IQ", ttype, offset)


def raw(kvs=(), tensors=(), data=b"", version=3, n_kv=None, n_tensors=None, magic=b"GGUF", align=32):
    head = magic + struct.pack("<IQQ", version, len(tensors) if n_tensors is None else n_tensors,
                               len(kvs) if n_kv is None else n_kv)
    body = head + b"".join(kvs) + b"".join(tensors)
    body += b"\0" * ((-len(body)) % align)
    return body + data


def nested(depth):
    """An array nested depth levels deep around one u8."""
    v = struct.pack("<IQ", 0, 1) + b"\x07"
    for _ in range(depth - 1):
        v = struct.pack("<IQ", 9, 1) + v
    return v


def write_bad(outdir, good):
    bad = os.path.join(outdir, "bad")
    os.makedirs(bad, exist_ok=True)
    with open(good, "rb") as f:
        g = f.read()
    name_kv = kv("general.name", 8, s("x"))
    f32x8 = tinfo("w", [8], 0, 0)
    cases = [
        ("empty", b"", "not a GGUF file"),
        ("bad_magic", b"GGUX" + g[4:], "bad magic"),
        ("bad_version", g[:4] + struct.pack("<I", 7) + g[8:], "unknown GGUF version 7"),
        ("version1", g[:4] + struct.pack("<I", 1) + g[8:], "version 1 is not supported"),
        ("big_endian", g[:4] + struct.pack(">I", 3) + g[8:], "big-endian"),
        ("truncated_header", g[:14], "header: tensor count at byte 8 (8 bytes) runs past the end of the file (14 bytes)"),
        ("truncated_counts", g[:300], "header: 22 keys cannot fit in the 276 bytes"),
        ("truncated_kv", g[:1000], "key 'tokenizer.ggml.tokens': array of 300 string"),
        ("truncated_tensor_info", g[:g.index(b"blk.1.ffn_up.weight") + 4], "tensor 17: name length 19 at byte"),
        ("truncated_data", g[:len(g) // 2], "runs past the end of the file"),
        ("n_tensors_huge", raw([name_kv], n_tensors=1 << 60), "tensors cannot fit"),
        ("n_kv_huge", raw([name_kv], n_kv=(1 << 64) - 1), "keys cannot fit"),
        ("key_past_end", raw([struct.pack("<Q", 1 << 40) + b"general.name"]), "key 0: key length 1099511627776"),
        ("value_string_past_end", raw([kv("general.name", 8, struct.pack("<Q", 1 << 40) + b"x")]),
         "key 'general.name': string length 1099511627776"),
        ("array_count_huge", raw([kv("a", 9, struct.pack("<IQ", 6, 1 << 61))]), "key 'a': array of 2305843009213693952 f32"),
        ("array_strings_past_end", raw([kv("a", 9, struct.pack("<IQ", 8, 3) + s("x") + struct.pack("<Q", 1000))]),
         "key 'a': string length 1000"),
        ("unknown_value_type", raw([kv("k", 13, b"\0" * 8)]), "key 'k': unknown value type 13"),
        ("unknown_array_type", raw([kv("k", 9, struct.pack("<IQ", 99, 1))]), "key 'k': unknown array element type 99"),
        ("nested_depth", raw([kv("deep", 9, nested(9))]), "key 'deep': arrays nested deeper than 8"),
        ("duplicate_key", raw([name_kv, name_kv]), "key 'general.name': duplicate key"),
        ("alignment_type", raw([kv("general.alignment", 10, struct.pack("<Q", 32))]), "general.alignment': type u64"),
        ("alignment_not_pow2", raw([kv("general.alignment", 4, struct.pack("<I", 24))], align=24),
         "24 is not a power of two"),
        ("unaligned_offset", raw([name_kv], [tinfo("a", [8], 0, 0), tinfo("blk.0.attn_q.weight", [8], 0, 36)],
                                 data=b"\0" * 96), "tensor 'blk.0.attn_q.weight': offset 36 not aligned to 32"),
        ("overlap", raw([name_kv], [tinfo("a", [16], 0, 0), tinfo("b", [8], 0, 32)], data=b"\0" * 96),
         "tensor 'b' (bytes 32..64) overlaps tensor 'a'"),
        ("unknown_tensor_type", raw([], [tinfo("t", [32], 99, 0)], data=b"\0" * 64),
         "tensor 't': unknown or unsupported ggml type 99"),
        ("removed_q4_2", raw([], [tinfo("t", [32], 4, 0)], data=b"\0" * 64), "tensor 't': unknown or unsupported ggml type 4"),
        ("tensor_past_end", raw([], [tinfo("t", [64], 0, 0)], data=b"\0" * 64), "tensor 't': data at offset 0, 256 bytes"),
        ("offset_past_end", raw([], [tinfo("t", [1], 0, 1 << 62)], data=b"\0" * 64), "runs past the end"),
        ("too_many_dims", raw([], [tinfo("t", [1] * 5, 0, 0)], data=b"\0" * 64), "tensor 't': 5 dimensions"),
        ("dims_overflow", raw([], [tinfo("t", [1 << 40, 1 << 40], 0, 0)], data=b"\0" * 64), "element count overflows"),
        ("partial_block", raw([], [tinfo("t", [33], 2, 0)], data=b"\0" * 64), "row length 33 is not a multiple of the q4_0 block"),
        ("duplicate_tensor", raw([], [f32x8, f32x8], data=b"\0" * 64), "tensor 'w': duplicate tensor name"),
        ("tensor_name_past_end", b"GGUF" + struct.pack("<IQQQ", 3, 1, 0, 1 << 33) + b"\0" * 32,
         "tensor 0: name length 8589934592"),
    ]
    with open(os.path.join(bad, "expected.tsv"), "w") as f:
        for name, blob, msg in cases:
            with open(os.path.join(bad, name + ".gguf"), "wb") as g2:
                g2.write(blob)
            f.write("%s.gguf\t%s\n" % (name, msg))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "build/gguf"
    os.makedirs(out, exist_ok=True)
    for k, arch in enumerate(("llama", "qwen2", "qwen3", "gemma3")):
        for j, t in enumerate(ARCH_TYPES[arch]):
            write_model(os.path.join(out, "%s_%s.gguf" % (arch, t)), arch, t, seed=1000 * k + j)
    write_types(os.path.join(out, "types.gguf"))
    with open(os.path.join(out, "types.gguf"), "rb") as f:
        b = f.read()
    with open(os.path.join(out, "v2.gguf"), "wb") as f:
        f.write(b[:4] + struct.pack("<I", 2) + b[8:])
    write_bad(out, os.path.join(out, "llama_q4_0.gguf"))
    # models whose graph cannot be built: the error names what is wrong
    bg = os.path.join(out, "badgraph")
    os.makedirs(bg, exist_ok=True)
    write_model(os.path.join(bg, "no_ffn_up.gguf"), "llama", "q8_0", 1, drop=("blk.1.ffn_up.weight",))
    write_model(os.path.join(bg, "no_heads.gguf"), "qwen2", "f16", 2, drop=("qwen2.attention.head_count",))
    write_model(os.path.join(bg, "no_k_norm.gguf"), "qwen3", "f16", 3, drop=("blk.1.attn_k_norm.weight",))
    write_model(os.path.join(bg, "no_post_ffw_norm.gguf"), "gemma3", "f32", 4, drop=("blk.5.post_ffw_norm.weight",))
    V = gguf.GGUFValueType
    write_model(os.path.join(bg, "value_length.gguf"), "qwen3", "f32", 5, drop=("qwen3.attention.value_length",),
                extra=[("qwen3.attention.value_length", 64, V.UINT32)])
    write_model(os.path.join(bg, "rope_yarn.gguf"), "gemma3", "f32", 6, drop=("gemma3.rope.scaling.type",),
                extra=[("gemma3.rope.scaling.type", "yarn", V.STRING)])
    with open(os.path.join(bg, "expected.tsv"), "w") as f:
        f.write("no_ffn_up.gguf\ttensor 'blk.1.ffn_up.weight' is missing\n")
        f.write("no_k_norm.gguf\ttensor 'blk.1.attn_k_norm.weight' is missing\n")
        f.write("no_post_ffw_norm.gguf\ttensor 'blk.5.post_ffw_norm.weight' is missing\n")
        f.write("value_length.gguf\tqwen3.attention.key_length 128 / value_length 64: not supported\n")
        f.write("rope_yarn.gguf\tkey 'gemma3.rope.scaling.type': RoPE scaling 'yarn' is not supported\n")
        f.write("no_heads.gguf\tkey 'qwen2.attention.head_count' is missing\n")
        f.write("../types.gguf\tarchitecture 'smelt-test' is not supported (supported: llama, qwen2, qwen3, gemma3)\n")


if __name__ == "__main__":
    main()
