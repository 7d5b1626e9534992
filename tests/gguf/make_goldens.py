#!/usr/bin/env python3
"""tests/gguf/make_goldens.py MODELDIR [SMOLLM.gguf] — golden generations from
llama.cpp (the oracle of tests/gguf/run_generate.sh), written to
tests/gguf/goldens/*.json and committed, so that CI never builds llama.cpp.

MODELDIR holds the tiny models of make_models.py (deterministic: the same
bytes every time; each golden records the sha256 of the file it was made
from, and the test refuses a model whose hash differs). For each model, from
a fixed prompt of token ids, greedy decoding of 32 tokens by llama.cpp with
one thread and an F32 KV cache: the token ids, and per position (every
prompt position and every generated one) the 10 highest logits (ids and
values) — enough to compare logits of the top candidates and top-1 choice
with smelt fed the same tokens (teacher forcing).

With SMOLLM.gguf (SmolLM2-135M-Instruct.Q4_1.gguf, from tools/deps.sh) it
also writes smollm2.json: the chat prompt's token ids and llama.cpp's greedy
continuation of 32 tokens, with its text; and the token ids of a few plain
texts (BOS as the vocabulary asks, special tokens parsed).

`make_goldens.py --text MODELDIR` writes only text_ARCH_TYPE.json (the text
prompt path of `smelt run MODEL --prompt TEXT`, for compiled artifacts that
carry their tokenizer): a text prompt, llama.cpp's tokenization of it (BOS
as the vocabulary asks, special tokens parsed) and its greedy continuation
of 32 tokens, with the text of those tokens as llama.cpp detokenizes them
(as hex bytes: a random model's text need not be UTF-8).

The oracle's environment (not needed by the tests):
    python3 -m venv /work/llama-venv
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX512=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
        -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" \
        /work/llama-venv/bin/pip install --no-binary llama-cpp-python llama-cpp-python==0.3.36 numpy
(AMX must be off: llama.cpp's AMX weight repacking crashed on this Sapphire
Rapids CPU; the other flags only change speed, not the goldens' agreement.) Run: /work/llama-venv/bin/python tests/gguf/make_goldens.py build/gguf
"""
import hashlib
import json
import os
import sys

import numpy as np
import llama_cpp

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "goldens")
N_GEN = 32
TOPK = 10
PROMPT = [5, 77, 140, 23, 250, 9, 61, 199]  # ids of the tiny vocabularies (300 tokens)
TYPES = ["f32", "f16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k"]
# the architectures and their types (make_models.py ARCH_TYPES, less bf16)
ARCHS = {"llama": TYPES, "qwen2": TYPES, "qwen3": ["f32", "f16", "q8_0", "q4_0", "q4_k"],
         "gemma3": ["f32", "f16", "q8_0", "q4_0", "q4_k"]}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load(path, n_ctx):
    return llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_batch=n_ctx, n_threads=1, n_threads_batch=1,
                           logits_all=True, type_k=0, type_v=0, flash_attn=False, seed=0, verbose=False)


def greedy(llm, prompt, n):
    """llama.cpp's greedy continuation: prompt evaluated at once, then one token per step."""
    llm.reset()
    llm.eval(prompt)
    out = []
    for _ in range(n):
        row = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
        t = int(np.argmax(row))
        out.append(t)
        llm.eval([t])
    rows = np.array(llm.scores[:llm.n_tokens], dtype=np.float64)
    return out, rows


def top(rows):
    res = []
    for r in rows:
        ids = np.argsort(-r, kind="stable")[:TOPK]
        res.append({"ids": [int(i) for i in ids], "logits": [float(np.float32(r[i])) for i in ids]})
    return res


def eog_ids(llm):
    """The vocabulary's end-of-generation ids (llama_vocab_is_eog), where a
    generation stops: `generated` runs on through them, a caller that stops
    there generates its prefix."""
    v = llama_cpp.llama_model_get_vocab(llm._model.model)
    return [i for i in range(llm.n_vocab()) if llama_cpp.llama_vocab_is_eog(v, i)]


def tiny(moddir):
    for arch, types in ARCHS.items():
        for t in types:
            path = os.path.join(moddir, f"{arch}_{t}.gguf")
            llm = load(path, 128)
            gen, rows = greedy(llm, PROMPT, N_GEN)
            eog = eog_ids(llm)
            del llm
            doc = {"model": os.path.basename(path), "sha256": sha256(path), "prompt": PROMPT, "generated": gen,
                   "eog": eog, "topk": top(rows)}
            write(f"{arch}_{t}.json", doc)


TEXT_PROMPTS = {"llama": "the word of the hot sun is in a cat, and he was out",
                "qwen2": "hi to us, it is ok so we go: 42 <|im_start|>ma"}
# f32 only: over 100 positions a quantized model meets near-ties (llama q8_0:
# logits 9e-3 apart at step 21) that the greedy check could not hold
TEXT_TYPES = ["f32"]


def text(moddir):
    for arch, prompt_text in TEXT_PROMPTS.items():
        for t in TEXT_TYPES:
            path = os.path.join(moddir, f"{arch}_{t}.gguf")
            llm = load(path, 128)
            prompt = llm.tokenize(prompt_text.encode(), add_bos=True, special=True)
            gen, _ = greedy(llm, prompt, N_GEN)
            out = llm.detokenize(gen)
            del llm
            write(f"text_{arch}_{t}.json", {"model": os.path.basename(path), "sha256": sha256(path),
                                            "prompt_text": prompt_text, "prompt": prompt, "generated": gen,
                                            "text_hex": out.hex()})


SMOLLM_TEXTS = ["The capital of France is", "def fibonacci(n):\n    return n if n < 2 else 0",
                "Water boils at 100 °C; ice melts at 0 °C. Ça va? 🦙<|im_end|>\n\n  x"]


def smollm(path):
    llm = load(path, 512)
    msgs = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n" \
           "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    prompt = llm.tokenize(msgs.encode(), add_bos=False, special=True)
    gen, _ = greedy(llm, prompt, N_GEN)
    text = llm.detokenize(gen).decode("utf-8", errors="replace")
    texts = [{"text": t, "ids": llm.tokenize(t.encode(), add_bos=True, special=True)} for t in SMOLLM_TEXTS]
    write("smollm2.json", {"model": os.path.basename(path), "sha256": sha256(path), "prompt_text": msgs,
                           "prompt": prompt, "generated": gen, "text": text, "texts": texts})


def write(name, doc):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", name)


if __name__ == "__main__":
    if sys.argv[1] == "--text":
        text(sys.argv[2])
        sys.exit(0)
    tiny(sys.argv[1])
    if len(sys.argv) > 2:
        smollm(sys.argv[2])
