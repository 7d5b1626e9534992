#!/usr/bin/env python3
"""bench/vulkan/llm_decode.py — LLM decode speed of smelt on a Vulkan GPU
(`smelt run --target vulkan`, quantized matmuls dequantized in the kernel:
codegen/spirv/spv_ggml.c) and the fraction of the GPU's memory bandwidth
it reaches; optionally llama.cpp's llama-bench (a Vulkan or CUDA build) on
the same GGUF files in the same run.

  python3 bench/vulkan/llm_decode.py --smelt build/smelt --work /tmp/ld \\
      [--gguf .cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf ...] [--tg 128] [--prompt 16]
      [--runs 3] [--pp 512] [--profile] [--peak-gbs 3350] [--llama-bench /path/llama-bench] [--cpu-threads 16] [--out T.md]

Self-contained (python3 and the smelt binary; no numpy, no gguf package):
each GGUF is compiled with `smelt compile --target cpu,vulkan` (LLVM's
libraries on LD_LIBRARY_PATH, as gpu_bench.py) once; then --runs runs of
`smelt run X.so --target vulkan --prompt-ids P --ignore-eos -n TG --temp 0`
(P: --prompt ids 1..n, TG decode steps whatever is sampled), each run a
fresh process; tg is the median of the runs' "generation" tokens/s (decode
steps / their wall time, greedy pick included). With --cpu-threads, the
same artifact on the host CPU too. pp (--pp N, 0: not measured): tokens/s
of one prefill of N ids (`-n 1`, the "prompt" line; median of the runs).

Bytes per decode token: every weight tensor of the GGUF (header parsed
here) but the token embedding, which is gathered one row per token,
unless the output projection is tied to it; plus the f32 KV cache read by
attention at the mean position (prompt + TG / 2; smelt's cache is f32 as
llama.cpp's --cache-type f32; llama.cpp's default is f16). Bandwidth
fraction = tg x bytes / peak. The peak comes from --peak-gbs, else from
the device name `smelt devices` prints (H100 SXM / HBM3 3350 GB/s, H100
PCIe 2000, H200 4800; unknown: not computed).

--profile: one more run with `--profile`: the device time of the last
decode step's dispatches, summed by kind (the node name without its
"blk.N." layer prefix), the 12 largest, against the step's wall time.

llama-bench (--llama-bench): `llama-bench -m GGUF -p 0 -n TG -ngl 99 -r
RUNS -o json`, its avg_ts as tg; the table gives smelt / llama.cpp.
"""
import argparse
import json
import os
import re
import statistics
import struct
import subprocess
import sys

# ggml types: (block elements, block bytes) — ggml-common.h / ir/dtype.def
GGML_TYPES = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 10: (256, 84),
              11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 30: (1, 2)}
GGML_NAMES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 10: "Q2_K", 11: "Q3_K",
              12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 30: "BF16"}
PEAKS = [("H200", 4800.0), ("H100 PCIe", 2000.0), ("H100", 3350.0)]


class Reader:
    def __init__(self, f):
        self.f = f

    def u(self, fmt):
        n = struct.calcsize(fmt)
        return struct.unpack("<" + fmt, self.f.read(n))[0]

    def s(self):
        return self.f.read(self.u("Q")).decode("utf-8", "replace")

    def value(self, t):
        fmts = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
        if t in fmts:
            return self.u(fmts[t])
        if t == 8:
            return self.s()
        if t == 9:
            et, n = self.u("I"), self.u("Q")
            return [self.value(et) for _ in range(n)]
        raise ValueError(f"GGUF value type {t}")


def gguf_info(path):
    """(metadata, [(name, type, n_elements)]) from the file's header."""
    with open(path, "rb") as f:
        r = Reader(f)
        if f.read(4) != b"GGUF":
            raise ValueError(f"{path}: not a GGUF file")
        r.u("I")
        n_t, n_kv = r.u("Q"), r.u("Q")
        meta = {}
        for _ in range(n_kv):
            k = r.s()
            meta[k] = r.value(r.u("I"))
        tensors = []
        for _ in range(n_t):
            name = r.s()
            dims = [r.u("Q") for _ in range(r.u("I"))]
            t = r.u("I")
            r.u("Q")
            n = 1
            for d in dims:
                n *= d
            tensors.append((name, t, n))
    return meta, tensors


def decode_bytes(path, pos):
    """Weight bytes read per decode token, KV cache bytes at position pos, the types."""
    meta, tensors = gguf_info(path)
    names = {n for n, _, _ in tensors}
    tied = "output.weight" not in names
    w, types = 0, {}
    for name, t, n in tensors:
        be, bb = GGML_TYPES[t]
        b = n // be * bb
        types[GGML_NAMES.get(t, str(t))] = types.get(GGML_NAMES.get(t, str(t)), 0) + b
        if name == "token_embd.weight" and not tied:
            continue
        w += b
    arch = meta.get("general.architecture", "llama")
    layers = meta.get(f"{arch}.block_count", 0)
    heads = meta.get(f"{arch}.attention.head_count", 1)
    kv = meta.get(f"{arch}.attention.head_count_kv", heads)
    hd = meta.get(f"{arch}.attention.key_length", meta.get(f"{arch}.embedding_length", 0) // max(heads, 1))
    kv_bytes = 2 * layers * pos * kv * hd * 4
    return w, kv_bytes, types


def run(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: {p.stderr[-2000:]}")
    return p.stdout + p.stderr


def smelt_tg(a, so, vulkan, threads=None, pp=0):
    """Median decode tokens/s (pp: prefill tokens/s of pp ids) and the steps on the device."""
    n_prompt, n_gen = (pp, 1) if pp else (a.prompt, a.tg + 1)
    ids = ",".join(str(i % 200 + 1) for i in range(n_prompt))
    cmd = [a.smelt, "run", so, "--prompt-ids", ids, "--ignore-eos", "-n", str(n_gen), "--temp", "0", "--ctx",
           str(n_prompt + n_gen + 8)]
    if vulkan:
        cmd += ["--target", "vulkan"]
    if threads:
        cmd += ["--threads", str(threads)]
    env = dict(os.environ, SMELT_VK_VERBOSE="1")
    rates, on = [], ""
    for _ in range(a.runs):
        out = run(cmd, env)
        if pp:
            m = re.search(r"prompt: (\d+) tokens in ([0-9.]+) ms", out)
        else:
            m = re.search(r"generation: \d+ tokens, (\d+) decode steps in ([0-9.]+) ms", out)
        rates.append(int(m.group(1)) * 1000.0 / float(m.group(2)))
        d = re.search(r"vulkan: (\d+) steps on the device", out)
        on = d.group(1) if d else ("CPU (no Vulkan device)" if "running on the CPU" in out else on)
    return statistics.median(rates), on


def smelt_profile(a, so):
    """The last decode step's device time per kind of dispatch (ms), and in all."""
    ids = ",".join(str(i % 200 + 1) for i in range(a.prompt))
    out = run([a.smelt, "run", so, "--prompt-ids", ids, "--ignore-eos", "-n", str(a.tg + 1), "--temp", "0", "--ctx",
               str(a.prompt + a.tg + 8), "--target", "vulkan", "--profile"])
    kinds, total = {}, 0.0
    for m in re.finditer(r"^[ \t]+([0-9.]+) ms[ \t]+step \d+[ \t]*(\S*)[ \t]*$", out, re.M):
        k = re.sub(r"^blk\.\d+\.", "", m.group(2))
        kinds[k] = kinds.get(k, 0.0) + float(m.group(1))
        total += float(m.group(1))
    return sorted(kinds.items(), key=lambda kv: -kv[1])[:12], total


def llama_tg(a, gguf):
    out = run([a.llama_bench, "-m", gguf, "-p", "0", "-n", str(a.tg), "-ngl", "99", "-r", str(a.runs), "-o", "json"])
    res = json.loads(out[out.index("["):out.rindex("]") + 1])
    return float(res[0]["avg_ts"]), res[0].get("backends", "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smelt", required=True)
    ap.add_argument("--gguf", nargs="+", default=[".cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"])
    ap.add_argument("--work", default="/tmp/smelt_llm_decode")
    ap.add_argument("--tg", type=int, default=128)
    ap.add_argument("--prompt", type=int, default=16)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pp", type=int, default=512)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--peak-gbs", type=float, default=0)
    ap.add_argument("--llama-bench")
    ap.add_argument("--cpu-threads", type=int, default=0)
    ap.add_argument("--out")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    dev = [ln for ln in run([a.smelt, "devices"]).splitlines() if re.match(r"\d+: ", ln)]
    gpu = [ln for ln in dev if "(discrete" in ln or "(integrated" in ln]  # what --target vulkan picks
    dev_name = (gpu or dev or ["?"])[0].split(": ", 1)[-1]
    peak, peak_src = a.peak_gbs, "--peak-gbs"
    if not peak:
        peak, peak_src = next(((p, f"{k} (from the device name)") for k, p in PEAKS if k in dev_name), (0, "unknown"))
    rows = []
    for gguf in a.gguf:
        base = os.path.splitext(os.path.basename(gguf))[0]
        so = os.path.join(a.work, base + ".vk.so")
        run([a.smelt, "compile", gguf, "--target", "cpu,vulkan", "-o", so])
        wb, kvb, types = decode_bytes(gguf, a.prompt + a.tg // 2)
        tg, on = smelt_tg(a, so, True)
        row = {"model": base, "types": ", ".join(f"{k} {v / 2**20:.1f} MiB" for k, v in sorted(types.items())),
               "weights_mib": wb / 2**20, "kv_mib": kvb / 2**20, "tg": tg, "on": on}
        row["gbs"] = tg * (wb + kvb) / 1e9
        row["frac"] = row["gbs"] / peak if peak else None
        if a.pp:
            row["pp"], _ = smelt_tg(a, so, True, pp=a.pp)
        if a.profile:
            row["profile"], row["device_ms"] = smelt_profile(a, so)
        if a.cpu_threads:
            row["cpu_tg"], _ = smelt_tg(a, so, False, a.cpu_threads)
        if a.llama_bench:
            row["llama_tg"], row["llama_backend"] = llama_tg(a, gguf)
        rows.append(row)
        print(json.dumps(row), flush=True)
    lines = [f"Device: {dev_name}; peak bandwidth {peak:.0f} GB/s ({peak_src}). Decode: prompt of {a.prompt} ids, "
             f"{a.tg} greedy decode steps (--ignore-eos), median of {a.runs} runs.", "",
             "| model | weights read / token | KV cache read / token (mean) | smelt Vulkan tg (tokens/s) | "
             "GB/s | of peak |" + (f" smelt Vulkan pp{a.pp} |" if a.pp else "") + (" smelt CPU tg |" if a.cpu_threads else "") +
             (" llama.cpp tg | smelt / llama.cpp |" if a.llama_bench else ""),
             "| --- | ---: | ---: | ---: | ---: | ---: |" + (" ---: |" if a.pp else "") + (" ---: |" if a.cpu_threads else "") +
             (" ---: | ---: |" if a.llama_bench else "")]
    for r in rows:
        frac = f"{100 * r['frac']:.1f}%" if r["frac"] is not None else "?"
        s = (f"| {r['model']} | {r['weights_mib']:.1f} MiB | {r['kv_mib']:.2f} MiB | {r['tg']:.1f} | {r['gbs']:.0f} | "
             f"{frac} |")
        if a.pp:
            s += f" {r['pp']:.0f} |"
        if a.cpu_threads:
            s += f" {r['cpu_tg']:.1f} ({a.cpu_threads} threads) |"
        if a.llama_bench:
            s += f" {r['llama_tg']:.1f} ({r['llama_backend']}) | {r['tg'] / r['llama_tg']:.2f}x |"
        lines.append(s)
    for r in rows:
        if "profile" in r:
            lines += ["", f"{r['model']}: the last decode step's dispatches, {r['device_ms']:.3f} ms on the device "
                      f"against {1000 / r['tg']:.3f} ms per decode step:", "", "| dispatches | ms |", "| --- | ---: |"]
            lines += [f"| {k or '?'} | {v:.3f} |" for k, v in r["profile"]]
    lines += ["", "Steps on the device: " + "; ".join(f"{r['model']}: {r['on']}" for r in rows),
              "Command: " + " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:])]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        open(a.out, "w").write(text)


if __name__ == "__main__":
    main()
