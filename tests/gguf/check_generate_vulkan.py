#!/usr/bin/env python3
"""tests/gguf/check_generate_vulkan.py BUILD — text generation on Vulkan
(`smelt run --target vulkan`; lavapipe in CI) against llama.cpp's goldens
(tests/gguf/goldens; check_generate.py checks the CPU path the same way).

For the tiny llama and qwen2 models (make_models.py) of types F32, F16,
Q8_0 and Q4_0, compiled with `smelt compile --target cpu,vulkan`:
  device   every kernel but the embedding lookup (GatherGGML) has SPIR-V:
           block-type weights go through spv_ggml.c's MatMulGGML kernels
           (`--emit spirv-asm` names the host kernels).
  greedy   `smelt run X.so --target vulkan --prompt-ids P -n 32 --temp 0`
           gives llama.cpp's 32 greedy tokens (up to its end of
           generation), for F32 and F16 (XFAIL_GREEDY: see there).
  logits   the prompt, then llama.cpp's tokens one per decode step: the
           logits of llama.cpp's 10 best tokens within the CPU path's
           tolerance (check_generate.TOL: 1e-3 F32, 5e-3 F16, 0.05 Q8_0 and
           Q4_0) at each of the 40 positions, the best token llama.cpp's (or
           a near-tie within it) at >= 95%. The CPU path's MatMulGGML
           quantizes activations to q8 as llama.cpp's CPU backend does; the
           Vulkan kernels multiply dequantized weights with f32 activations
           (as llama.cpp's Vulkan backend does), and still stay within 0.05
           of llama.cpp's logits here (measured 0.048 / 0.045 for llama
           Q8_0 / Q4_0).
           Greedy runs of Q8_0 and Q4_0 (XFAIL_GREEDY) part from llama.cpp's
           at a near-tie: the first step where they differ is printed with
           the gap between llama.cpp's logits of its token and of ours
           there (teacher-forced), which must be within the tolerance.
  kvcache  (F32) decoding step by step equals one prefill within 1e-4.
  gguf     `smelt run X.gguf --target vulkan` (compiled in memory with its
           SPIR-V) gives what the artifact gives.
  nodev    without a Vulkan device (VK_ICD_FILENAMES pointing nowhere) the
           artifact runs on the CPU, says so on stderr, and gives the CPU
           path's tokens; a device number that does not exist, and an
           artifact compiled without SPIR-V, are errors (exit 1) that say so.
"""
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

import check_generate as cg
from checks import Checks  # tests/checks.py (check_generate puts tests/ on the path)

check = Checks()

TYPES = ["f32", "f16", "q8_0", "q4_0"]
ARCHS = ["llama", "qwen2"]
# greedy runs of the quantized models part from llama.cpp's at near-ties:
# llama.cpp quantizes activations to q8, the Vulkan kernels do not
XFAIL_GREEDY = {"q8_0": "f32 activations (llama.cpp's CPU path: q8)", "q4_0": "f32 activations (llama.cpp's CPU path: q8)"}
VK = ["--target", "vulkan"]


def logits(so, prompt, rest, tmp):
    out = os.path.join(tmp, "l.npy")
    cg.run(["run", so, "--prompt-ids", cg.ids(prompt), "--eval-ids", cg.ids(rest), "--logits-out", out, "--ctx", "64",
            "--threads", "1"] + VK)
    return np.load(out)


def greedy(model, prompt, env=None):
    args = [cg.SMELT, "run", model, "--prompt-ids", cg.ids(prompt), "-n", "32", "--temp", "0", "--print-ids", "--ctx",
            "64", "--threads", "1"] + VK
    p = subprocess.run(args, capture_output=True, text=True, env=env)
    if p.returncode:
        raise RuntimeError(" ".join(args) + ": " + p.stderr.strip())
    out = p.stdout.strip()
    return [int(x) for x in out.split(",")] if out else [], p.stderr


def one(arch, t, tmp):
    g = json.load(open(os.path.join(cg.GOLD, f"{arch}_{t}.json")))
    path = os.path.join(cg.GG, g["model"])
    name = f"{arch}_{t}"
    if cg.sha256(path) != g["sha256"]:
        check(False, f"{g['model']}: not the file the golden was made from (sha256)")
        return
    so = os.path.join(tmp, f"{name}.so")
    cg.run(["compile", path, "--target", "cpu,vulkan", "-o", so])
    asm = os.path.join(tmp, f"{name}.spvasm")
    cg.run(["compile", path, "--emit", "spirv-asm", "-o", asm])
    host = [ln for ln in open(asm) if "runs on the host" in ln]
    check(all("GatherGGML" in ln for ln in host) and len(host) <= 1,
             f"{name} device: kernels on the host: {[ln.strip() for ln in host]}")
    want = g["generated"]
    eog = set(g.get("eog", ()))
    want = want[:next((i for i, tk in enumerate(want) if tk in eog), len(want))]
    got, _ = greedy(so, g["prompt"])
    seq = g["prompt"] + g["generated"][:-1]
    L = logits(so, g["prompt"], g["generated"][:-1], tmp)
    tol = cg.TOL[t]
    if t in XFAIL_GREEDY and got != want:
        at = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        gap = float("inf")
        if at < min(len(got), len(want)):  # llama.cpp's logits there: its token's and ours
            tk = g["topk"][len(g["prompt"]) - 1 + at]
            if got[at] in tk["ids"]:
                gap = tk["logits"][0] - tk["logits"][tk["ids"].index(got[at])]
        check(gap <= tol, f"{name} greedy: parts from llama.cpp at step {at}, not a near-tie (gap {gap:.3g})")
        check.skip(f"(expected failure) {name} greedy: {XFAIL_GREEDY[t]}: the same {at} tokens, then a near-tie "
                   f"(llama.cpp's logits {gap:.3g} apart)")
    else:
        check(got == want, f"{name} greedy on Vulkan: {got} != llama.cpp {want}")
    if arch == "llama" and t == "f32":
        got_gguf, _ = greedy(path, g["prompt"])
        check(got_gguf == got, f"{name} gguf: {got_gguf} != the artifact's {got}")
        env = dict(os.environ, VK_ICD_FILENAMES=os.path.join(tmp, "none.json"))
        p = subprocess.run([cg.SMELT, "run", so, "--prompt-ids", "1,2", "-n", "2", "--device", "99"] + VK,
                           capture_output=True, text=True)
        check(p.returncode == 1 and "no Vulkan device 99" in p.stderr,
                 f"{name} --device 99: rc {p.returncode}, stderr {p.stderr.strip()!r}")
        plain = os.path.join(tmp, "plain.so")
        cg.run(["compile", path, "-o", plain])
        p = subprocess.run([cg.SMELT, "run", plain, "--prompt-ids", "1,2", "-n", "2"] + VK, capture_output=True,
                           text=True)
        check(p.returncode == 1 and "was not compiled for Vulkan" in p.stderr,
                 f"{name} artifact without SPIR-V: rc {p.returncode}, stderr {p.stderr.strip()!r}")
        got_cpu, err = greedy(so, g["prompt"], env)
        check(got_cpu == want and "running on the CPU" in err,
                 f"{name} nodev: {got_cpu} (llama.cpp {want}), stderr {err.strip()!r}")
    worst, agree = 0.0, 0
    for i, tk in enumerate(g["topk"][:len(seq)]):
        ref = np.array(tk["logits"])
        worst = max(worst, float(np.max(np.abs(L[i, tk["ids"]] - ref))))
        best = int(np.argmax(L[i]))
        agree += best in [tk["ids"][k] for k in range(len(ref)) if ref[0] - ref[k] <= tol]
    rate = agree / len(seq)
    check(worst <= tol, f"{name} logits on Vulkan: max |diff| {worst:.3g} > {tol:.3g}")
    check(rate >= 0.95, f"{name} top-1 agreement on Vulkan {rate:.2%} < 95%")
    if t == "f32":
        P = logits(so, seq[:-1], seq[-1:], tmp)
        d = float(np.max(np.abs(P - L)))
        check(d <= 1e-4, f"{name} kvcache on Vulkan: prefill and decode differ by {d:.3g}")
    print(f"{name} vulkan: logits max |diff| {worst:.2e} (tol {tol:.3g}), top-1 {rate:.0%}")


def main():
    if not all(os.path.exists(os.path.join(cg.GG, f"{a}_{t}.gguf")) for a in ARCHS for t in TYPES):
        subprocess.run([sys.executable, os.path.join(cg.HERE, "make_models.py"), cg.GG], check=True,
                       capture_output=True)
    p = subprocess.run([cg.SMELT, "devices"], capture_output=True, text=True)
    if p.returncode:
        check.skip("generate_vulkan: no Vulkan device")
        return check.summary("generate_vulkan")
    # the cases run side by side on the machine's cores, each in its own folder
    def run_case(name, top):
        tmp = os.path.join(top, name)
        os.mkdir(tmp)
        try:
            one(*name.split("_", 1), tmp)
        except RuntimeError as e:
            check(False, f"{name}: {e}")

    with tempfile.TemporaryDirectory() as top, concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        list(pool.map(lambda n: run_case(n, top), [f"{a}_{t}" for a in ARCHS for t in TYPES]))
    return check.summary("generate_vulkan")

if __name__ == "__main__":
    sys.exit(main())
