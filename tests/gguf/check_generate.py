#!/usr/bin/env python3
"""tests/gguf/check_generate.py BUILD — text generation checked against
llama.cpp (golden files of make_goldens.py; llama.cpp itself is not needed).

For each tiny model (llama and qwen2, make_models.py, rebuilt into
BUILD/gguf when missing; its sha256 must be the golden's), compiled by
`smelt compile` into its generation step:
  greedy   every type (qwen2 Q4_0: an expected failure, see XFAIL_GREEDY):
           `smelt run --prompt-ids P -n 32 --temp 0` gives exactly
           llama.cpp's 32 greedy tokens.
  logits   every type: the prompt, then llama.cpp's generated tokens one per
           decode step (teacher forcing); at each of the 40 positions the
           logits of llama.cpp's 10 best tokens agree within TOL[type] (absolute,
           logits of magnitude ~1-5), and the best token is llama.cpp's at
           >= 95% of positions (or one llama.cpp ranks within
           TOL of its best: a near-tie; the exact rate is printed too). Block-type weights go through MatMulGGML,
           which quantizes activations to 8 bits (q8_0 / q8_1 / q8_K) as
           llama.cpp does; F16 weights meet f16 activations in llama.cpp,
           f32 in smelt, hence F16's looser tolerance.
  kvcache  the logits of step-by-step decoding equal those of one prefill
           of the whole sequence (within 1e-4): the cache holds what
           recomputing would give.
goldens/smollm2.json (llama.cpp's greedy answer for SmolLM2-135M-Instruct's
chat prompt) is not compared: llama.cpp 0.3.36 as built here answers it
incoherently ("L'Étoile, la Marseillaise, ..."), while smelt answers "The
capital of France is Paris."; not explained yet.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
SMELT = os.environ.get("SMELT", os.path.join(BUILD, "smelt"))
HERE = os.path.dirname(os.path.abspath(__file__))
GOLD = os.path.join(HERE, "goldens")
GG = os.path.join(BUILD, "gguf")
EXACT = ["f32", "f16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k"]
# With the quantized matmul (activations quantized to q8 per block, integer
# dots, as ggml does) greedy runs match llama.cpp's for every type but one:
# qwen2 Q4_0 has a near-tie (logits 1.8e-2 apart) at step 25 that resolves
# the other way (float summation order differs from llama.cpp's x86 kernels).
XFAIL_GREEDY = {"qwen2_q4_0": "a near-tie at step 25 (logits within 2e-2) flips"}
# Quantized types: 2e-2 is what the AVX2 kernels reach; the portable ones
# (SMELT_QMATMUL_PORTABLE=1) sum in another order, and since activations are
# re-quantized per layer a rounding step can move, up to 2.9e-2 here; their
# greedy runs may then differ at near-ties (llama_q5_1 does at step 29).
TOL = {"f32": 1e-3, "f16": 5e-3, "q8_0": 0.05, "q4_0": 0.05, "q4_1": 0.05, "q5_0": 0.05, "q5_1": 0.05,
       "q4_k": 0.05, "q5_k": 0.05, "q6_k": 0.05}
passed = failed = skipped = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL", what)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run(args):
    p = subprocess.run([SMELT] + args, capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(" ".join(args) + ": " + p.stderr.strip())
    return p.stdout


def ids(xs):
    return ",".join(str(x) for x in xs)


def logits(so, prompt, rest, tmp):
    out = os.path.join(tmp, "l.npy")
    run(["run", so, "--prompt-ids", ids(prompt), "--eval-ids", ids(rest), "--logits-out", out, "--ctx", "64",
         "--threads", "1"])
    return np.load(out)


def one(arch, t, tmp):
    g = json.load(open(os.path.join(GOLD, f"{arch}_{t}.json")))
    path = os.path.join(GG, g["model"])
    if sha256(path) != g["sha256"]:
        check(False, f"{g['model']}: not the file the golden was made from (sha256)")
        return
    so = os.path.join(tmp, f"{arch}_{t}.so")
    run(["compile", path, "-o", so])
    name = f"{arch}_{t}"
    if name in XFAIL_GREEDY:
        global skipped
        skipped += 1
        print(f"XFAIL {name} greedy: {XFAIL_GREEDY[name]}")
    elif t in EXACT:
        out = run(["run", so, "--prompt-ids", ids(g["prompt"]), "-n", "32", "--temp", "0", "--print-ids", "--ctx", "64",
                   "--threads", "1"]).strip()
        got = [int(x) for x in out.split(",")] if out else []
        check(got == g["generated"], f"{name} greedy: {got} != llama.cpp {g['generated']}")
    seq = g["prompt"] + g["generated"][:-1]
    L = logits(so, g["prompt"], g["generated"][:-1], tmp)
    worst, agree, raw = 0.0, 0, 0
    for i, tk in enumerate(g["topk"][:len(seq)]):
        ref = np.array(tk["logits"])
        mine = L[i, tk["ids"]]
        worst = max(worst, float(np.max(np.abs(mine - ref))))
        best = int(np.argmax(L[i]))
        raw += best == tk["ids"][0]
        # agreement: smelt's best is llama.cpp's, or a token llama.cpp ranks
        # within TOL of its best (a near-tie that the stated tolerance allows)
        agree += best in [tk["ids"][k] for k in range(len(ref)) if ref[0] - ref[k] <= TOL[t]]
    rate = agree / len(seq)
    check(worst <= TOL[t], f"{name} logits: max |diff| {worst:.3g} > {TOL[t]}")
    check(rate >= 0.95, f"{name} top-1 agreement {rate:.2%} < 95%")
    if t == "f32":  # one prefill of the whole sequence against step-by-step decoding
        P = logits(so, seq[:-1], seq[-1:], tmp)
        d = float(np.max(np.abs(P - L)))
        check(d <= 1e-4, f"{name} kvcache: prefill and decode differ by {d:.3g}")
    print(f"{name}: logits max |diff| {worst:.2e} (tol {TOL[t]}), top-1 {rate:.0%} (exact {raw / len(seq):.0%})")


def main():
    if not all(os.path.exists(os.path.join(GG, f"{a}_{t}.gguf")) for a in ("llama", "qwen2") for t in TOL):
        subprocess.run([sys.executable, os.path.join(HERE, "make_models.py"), GG], check=True, capture_output=True)
    with tempfile.TemporaryDirectory() as tmp:
        for arch in ("llama", "qwen2"):
            for t in TOL:
                try:
                    one(arch, t, tmp)
                except RuntimeError as e:
                    check(False, f"{arch}_{t}: {e}")
    print(f"generate: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
