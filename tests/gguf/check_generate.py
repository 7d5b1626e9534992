#!/usr/bin/env python3
"""tests/gguf/check_generate.py BUILD — text generation checked against
llama.cpp (golden files of make_goldens.py; llama.cpp itself is not needed).

For each tiny model (llama, qwen2, qwen3, gemma3: make_models.py, rebuilt into
BUILD/gguf when missing; its sha256 must be the golden's), compiled by
`smelt compile` into its generation step:
  greedy   every type (qwen2 Q4_0: an expected failure, see XFAIL_GREEDY):
           `smelt run --prompt-ids P -n 32 --temp 0` gives exactly
           llama.cpp's 32 greedy tokens up to the first one llama.cpp
           counts as end-of-generation (the golden's "eog",
           llama_vocab_is_eog), where smelt must stop: qwen3 Q8_0 stops at
           <|im_end|>, qwen3 Q4_0 at <|endoftext|>.
  logits   every type: the prompt, then llama.cpp's generated tokens one per
           decode step (teacher forcing); at each of the 40 positions the
           logits of llama.cpp's 10 best tokens agree within TOL[type] (absolute,
           logits of magnitude ~1-5), and the best token is llama.cpp's at
           >= 95% of positions (or one llama.cpp ranks within
           TOL of its best: a near-tie; the exact rate is printed too). Block-type weights go through MatMulGGML,
           which quantizes activations to 8 bits (q8_0 / q8_1 / q8_K) as
           llama.cpp does; F16 weights meet f16 activations in llama.cpp,
           f32 in smelt, hence F16's looser tolerance.
           gemma3: TOL plus what llama.cpp's f16 GELU table alone moves the
           logits (gelu_f16_shift, measured on the numpy reference).
  kvcache  the logits of step-by-step decoding equal those of one prefill
           of the whole sequence (within 1e-4): the cache holds what
           recomputing would give.
  text     (llama_f32, qwen2_f32: goldens/text_*.json; f32 only, as a
           quantized model meets near-ties over 100 positions)
           the compiled artifact alone, through its own tokenizer (the
           record `smelt compile` stores): `smelt tokenize X.so --text T`
           gives llama.cpp's prompt ids, and `smelt run X.so --prompt T -n 32
           --temp 0` llama.cpp's 32 greedy ids and the same text bytes.
  notok    an artifact compiled from a GGUF whose tokenizer smelt does not
           support (its model name patched) is made with a warning, runs
           with --prompt-ids, and --prompt gives a clear error (exit 1).
SmolLM2-135M-Instruct Q4_1 (.cache/smollm2, tools/deps.sh; skipped when
absent), compiled to an artifact: its chat prompt rendered and tokenized
from the artifact (`smelt tokenize X.so --chat`) and three plain texts give
llama.cpp's ids (goldens/smollm2.json); `smelt run X.so --chat --prompt Q`
generates what the GGUF path generates and what llama.cpp's prompt ids
given as --prompt-ids generate (the artifact runs alone). Its greedy
continuation is not compared with llama.cpp's: both begin "L'Étoile, la"
(7 tokens) and then part at a near-tie (llama.cpp's logits 2.50 for 2828
and 2.32 for 12693, smelt's 2.43 and 2.49): a 30-layer Q4_1 model
accumulates logit differences of ~0.1, more than such a gap; the number of
leading tokens that agree is printed.
"""
import concurrent.futures
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from checks import Checks  # noqa: E402

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
# (SMELT_QMATMUL_KERNELS=portable) sum in another order, and since activations are
# re-quantized per layer a rounding step can move, up to 2.9e-2 here; their
# greedy runs may then differ at near-ties (llama_q5_1 does at step 29).
TOL = {"f32": 1e-3, "f16": 5e-3, "q8_0": 0.05, "q4_0": 0.05, "q4_1": 0.05, "q5_0": 0.05, "q5_1": 0.05,
       "q4_k": 0.05, "q5_k": 0.05, "q6_k": 0.05}
# the architectures and the types checked (qwen3 and gemma3: the tiny
# models of make_models.py ARCH_TYPES)
ARCHS = {"llama": list(TOL), "qwen2": list(TOL), "qwen3": ["f32", "f16", "q8_0", "q4_0", "q4_k"],
         "gemma3": ["f32", "f16", "q8_0", "q4_0", "q4_k"]}
check = Checks()


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


def run_bytes(args):
    p = subprocess.run([SMELT] + args, capture_output=True)
    if p.returncode:
        raise RuntimeError(" ".join(args) + ": " + p.stderr.decode(errors="replace").strip())
    return p.stdout


def tokenize(model, args):
    return [int(x) for x in run(["tokenize", model] + args).split()]


def text_prompt(name, so):
    """The text prompt path on the compiled artifact alone."""
    gpath = os.path.join(GOLD, f"text_{name}.json")
    if not os.path.exists(gpath):
        return
    g = json.load(open(gpath))
    got = tokenize(so, ["--text", g["prompt_text"], "--add-special", "--parse-special"])
    check(got == g["prompt"], f"{name} text: tokenized from the artifact {got} != llama.cpp {g['prompt']}")
    common = ["-n", "32", "--temp", "0", "--ctx", "128", "--threads", "1"]  # the models' context
    out = run(["run", so, "--prompt", g["prompt_text"], "--print-ids"] + common).strip()
    got = [int(x) for x in out.split(",")] if out else []
    check(got == g["generated"], f"{name} text: --prompt generates {got} != llama.cpp {g['generated']}")
    text = run_bytes(["run", so, "--prompt", g["prompt_text"]] + common)
    want = bytes.fromhex(g["text_hex"]) + b"\n"
    check(text == want, f"{name} text: --prompt prints {text!r} != llama.cpp {want!r}")


def no_tokenizer(tmp):
    """A GGUF whose tokenizer smelt cannot carry still compiles; --prompt says why it cannot run."""
    data = open(os.path.join(GG, "llama_f32.gguf"), "rb").read()
    key = b"tokenizer.ggml.model"
    at = data.index(key) + len(key) + 4 + 8  # the value: type u32, length u64, text
    assert data[at:at + 5] == b"llama"
    path = os.path.join(tmp, "notok.gguf")
    open(path, "wb").write(data[:at] + b"nope!" + data[at + 5:])
    so = os.path.join(tmp, "notok.so")
    p = subprocess.run([SMELT, "compile", path, "-o", so], capture_output=True, text=True)
    check(p.returncode == 0 and "'nope!' is not supported" in p.stderr and "carries no tokenizer" in p.stderr,
          f"notok: compile rc {p.returncode}, stderr {p.stderr.strip()!r}")
    p = subprocess.run([SMELT, "run", so, "--prompt", "the", "-n", "2"], capture_output=True, text=True)
    check(p.returncode == 1 and so in p.stderr and "carries no tokenizer" in p.stderr and "--prompt-ids" in p.stderr,
          f"notok: --prompt rc {p.returncode}, stderr {p.stderr.strip()!r}")
    p = subprocess.run([SMELT, "run", so, "--prompt-ids", "1,5", "-n", "2", "--temp", "0"], capture_output=True)
    check(p.returncode == 0, f"notok: --prompt-ids rc {p.returncode}")


SMOLLM = ".cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm(tmp):
    if not os.path.exists(SMOLLM):
        check.skip(f"smollm2: {SMOLLM} is absent (tools/deps.sh fetches it)")
        return
    g = json.load(open(os.path.join(GOLD, "smollm2.json")))
    if sha256(SMOLLM) != g["sha256"]:
        check(False, f"{SMOLLM}: not the file the golden was made from (sha256)")
        return
    so = os.path.join(tmp, "smollm2.so")
    run(["compile", SMOLLM, "-o", so])
    question = "What is the capital of France?"
    msgs = os.path.join(tmp, "msgs.json")
    json.dump([{"role": "user", "content": question}], open(msgs, "w"))
    got = tokenize(so, ["--chat", msgs])
    check(got == g["prompt"], f"smollm2 chat: the artifact's prompt {got} != llama.cpp's {g['prompt']}")
    for t in g["texts"]:
        got = tokenize(so, ["--text", t["text"], "--add-special", "--parse-special"])
        check(got == t["ids"], f"smollm2 text {t['text']!r}: {got} != llama.cpp {t['ids']}")
    common = ["-n", "32", "--temp", "0", "--threads", "1", "--print-ids"]
    chat_so = run(["run", so, "--chat", "--prompt", question] + common).strip()
    chat_gguf = run(["run", SMOLLM, "--chat", "--prompt", question] + common).strip()
    ids_so = run(["run", so, "--prompt-ids", ids(g["prompt"])] + common).strip()
    check(chat_so == chat_gguf, f"smollm2 --chat: the artifact gives {chat_so}, the GGUF {chat_gguf}")
    check(chat_so == ids_so, f"smollm2 --chat: {chat_so}, with llama.cpp's prompt ids {ids_so}")
    mine = [int(x) for x in chat_so.split(",")] if chat_so else []
    agree = next((i for i, (a, b) in enumerate(zip(mine, g["generated"])) if a != b), min(len(mine), 32))
    print(f"smollm2: prompt {len(g['prompt'])} ids as llama.cpp's; greedy agrees with llama.cpp for {agree} tokens")


def logits(so, prompt, rest, tmp):
    out = os.path.join(tmp, "l.npy")
    run(["run", so, "--prompt-ids", ids(prompt), "--eval-ids", ids(rest), "--logits-out", out, "--ctx", "64",
         "--threads", "1"])
    return np.load(out)


def gelu_f16_shift(path, seq, g, t):
    """gemma3's GELU in llama.cpp goes through ggml's f16 table (input and
    output rounded to f16), smelt's is computed in f32. How far that rounding
    alone moves the logits is measured on the numpy reference (llama_ref.py,
    exact vs f16 GELU), which with the f16 GELU must itself reproduce
    llama.cpp's logits within TOL (checked here: it shows that the rounding is
    the cause). Measured: 1.1e-3 (f32), 1.1e-3 (f16), 0.060 (q8_0), 0.070
    (q4_0), 4e-3 (q4_k); the reference with the f16 GELU is within 1.6e-4,
    1.9e-3, 0.023, 0.023, 2.4e-6 of llama.cpp (with the exact GELU: 8.2e-4,
    1.8e-3, 0.039, 0.036, 3.2e-3)."""
    sys.path.insert(0, HERE)
    import llama_ref
    exact = llama_ref.forward(path, np.array(seq))
    f16 = llama_ref.forward(path, np.array(seq), gelu_f16=True)
    err = max(float(np.max(np.abs(f16[i, tk["ids"]] - tk["logits"]))) for i, tk in enumerate(g["topk"][:len(seq)]))
    check(err <= TOL[t], f"{g['model']}: numpy reference with f16 GELU vs llama.cpp: {err:.3g} > {TOL[t]}")
    return float(np.max(np.abs(exact - f16)))


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
        check.skip(f"(expected failure) {name} greedy: {XFAIL_GREEDY[name]}")
    elif t in EXACT:
        out = run(["run", so, "--prompt-ids", ids(g["prompt"]), "-n", "32", "--temp", "0", "--print-ids", "--ctx", "64",
                   "--threads", "1"]).strip()
        got = [int(x) for x in out.split(",")] if out else []
        # smelt stops at the first token of llama.cpp's greedy continuation
        # that llama.cpp counts as end-of-generation (the golden's "eog",
        # llama_vocab_is_eog): the same tokens up to there, and no further
        want = g["generated"]
        eog = set(g.get("eog", ()))
        stop = next((i for i, tk in enumerate(want) if tk in eog), len(want))
        check(got == want[:stop], f"{name} greedy: {got} != llama.cpp {want[:stop]} (end of generation at {stop})")
    text_prompt(name, so)
    seq = g["prompt"] + g["generated"][:-1]
    L = logits(so, g["prompt"], g["generated"][:-1], tmp)
    tol = TOL[t] + (gelu_f16_shift(path, seq, g, t) if arch == "gemma3" else 0.0)
    worst, agree, raw = 0.0, 0, 0
    for i, tk in enumerate(g["topk"][:len(seq)]):
        ref = np.array(tk["logits"])
        mine = L[i, tk["ids"]]
        worst = max(worst, float(np.max(np.abs(mine - ref))))
        best = int(np.argmax(L[i]))
        raw += best == tk["ids"][0]
        # agreement: smelt's best is llama.cpp's, or a token llama.cpp ranks
        # within TOL of its best (a near-tie that the stated tolerance allows)
        agree += best in [tk["ids"][k] for k in range(len(ref)) if ref[0] - ref[k] <= tol]
    rate = agree / len(seq)
    check(worst <= tol, f"{name} logits: max |diff| {worst:.3g} > {tol:.3g}")
    check(rate >= 0.95, f"{name} top-1 agreement {rate:.2%} < 95%")
    if t == "f32":  # one prefill of the whole sequence against step-by-step decoding
        P = logits(so, seq[:-1], seq[-1:], tmp)
        d = float(np.max(np.abs(P - L)))
        check(d <= 1e-4, f"{name} kvcache: prefill and decode differ by {d:.3g}")
    print(f"{name}: logits max |diff| {worst:.2e} (tol {tol:.3g}), top-1 {rate:.0%} (exact {raw / len(seq):.0%})")


def main():
    if not all(os.path.exists(os.path.join(GG, f"{a}_{t}.gguf")) for a, ts in ARCHS.items() for t in ts):
        subprocess.run([sys.executable, os.path.join(HERE, "make_models.py"), GG], check=True, capture_output=True)
    # the cases run side by side on the machine's cores, each in its own folder
    cases = [(f"{arch}_{t}", lambda tmp, arch=arch, t=t: one(arch, t, tmp)) for arch, ts in ARCHS.items() for t in ts]
    cases += [(extra.__name__, extra) for extra in (no_tokenizer, smollm)]

    def run_case(case, top):
        name, fn = case
        tmp = os.path.join(top, name)
        os.mkdir(tmp)
        try:
            fn(tmp)
        except RuntimeError as e:
            check(False, f"{name}: {e}")

    with tempfile.TemporaryDirectory() as top, concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        list(pool.map(lambda c: run_case(c, top), cases))
    return check.summary("generate")


if __name__ == "__main__":
    sys.exit(main())
