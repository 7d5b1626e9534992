#!/usr/bin/env python3
"""bench/vulkan/make_bench_gguf.py OUTDIR [TYPE ...] — GGUF files of
SmolLM2-135M's shapes (llama: 30 layers, hidden 576, 9 heads, 3 KV heads,
FFN 1536, vocab 49152) with random weights, for speed measurements where
the real files cannot be carried (the GPU machine: llm_decode.py on them;
decode speed depends on the shapes and the types, not on the values).
Written by tests/gguf/make_models.py's write_model (the gguf package,
fixed seed), so only numpy and the gguf package are needed. TYPEs:
make_models' names (default q4_0 q4_1 q8_0; not the K-quants, whose 256-
element blocks do not divide rows of 576, so that llama.cpp's Q4_K files of
this model hold other types); OUTDIR/smollm2shape_TYPE.gguf."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "gguf"))
import make_models  # noqa: E402

SMOLLM2_135M = dict(n_layer=30, n_embd=576, n_head=9, n_head_kv=3, n_ff=1536, n_vocab=49152, n_ctx=2048)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    make_models.HP.update(SMOLLM2_135M)
    for t in sys.argv[2:] or ["q4_0", "q4_1", "q8_0"]:
        path = os.path.join(out, f"smollm2shape_{t}.gguf")
        make_models.write_model(path, "llama", t, 0)
        print(path, os.path.getsize(path))


if __name__ == "__main__":
    main()
