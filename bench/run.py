"""bench/run.py — smelt against its competitors, in one run on this machine.

For each model (ResNet-50, MobileNetV2 at 1x3x224x224; BERT-base at batch 1,
sequence 128; made by tests/models/export_models.py into build/models) it
measures, in the same run:

  compile    `smelt compile model.onnx -o model.so`: wall time, artifact size
  smelt      `smelt run model.so --threads T --repeat R`: the median latency
             it prints (after warm-up runs), and the first run including load
  ort        onnxruntime with every graph optimization on, intra-op threads T,
             the same inputs: median of R runs after warm-up

and the ratio smelt / ort (below 1.0 is faster than onnxruntime), at 1 and 2
threads, and sgemm (smelt's compiled MatMul against Debian's OpenBLAS, cblas_sgemm) at sizes 256-4096.
With --doc it writes the tables to docs/performance.md.

    .venv/bin/python bench/run.py [--repeat 20] [--threads 1,2] [--only resnet50]
        [--doc docs/performance.md]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

# the benchmark sizes, for the exporter (read when it is imported)
os.environ["SMELT_EXPORT_IMAGE"] = "224"
os.environ["SMELT_EXPORT_SEQ"] = "128"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "models"))
import export_models  # noqa: E402

MODELS = {  # name -> input name -> (shape, dtype, value range)
    "resnet50": {"image": ((1, 3, 224, 224), np.float32, None)},
    "mobilenet_v2": {"image": ((1, 3, 224, 224), np.float32, None)},
    "bert_base": {"input_ids": ((1, 128), np.int64, 30000),
                  "attention_mask": ((1, 128), np.int64, 1),
                  "token_type_ids": ((1, 128), np.int64, 1)},
}


def make_inputs(name, outdir):
    rng = np.random.default_rng(0)
    paths = {}
    for inp, (shape, dtype, hi) in MODELS[name].items():
        if hi is None:
            x = rng.standard_normal(shape).astype(dtype)
        elif inp == "attention_mask":
            x = np.ones(shape, dtype)
        else:
            x = rng.integers(0, hi + 1, shape).astype(dtype)
        paths[inp] = os.path.join(outdir, inp + ".npy")
        np.save(paths[inp], x)
    return paths


def ort_latency(model, inputs, threads, repeat):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    feed = {k: np.load(v) for k, v in inputs.items()}
    for _ in range(3):
        s.run(None, feed)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        s.run(None, feed)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def smelt_latency(smelt, artifact, inputs, threads, repeat, outdir):
    cmd = [smelt, "run", artifact, "--threads", str(threads), "--repeat", str(repeat), "-o", outdir]
    for k, v in inputs.items():
        cmd += ["-i", f"{k}={v}"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()}")
    med = re.search(r"median ([0-9.]+) ms", r.stdout + r.stderr)
    first = re.search(r"first run: ([0-9.]+) ms", r.stdout + r.stderr)
    if not med:
        raise RuntimeError(f"no median in: {r.stdout}{r.stderr}")
    return float(med.group(1)), float(first.group(1)) if first else None


def compile_model(smelt, model, artifact):
    t = time.perf_counter()
    r = subprocess.run([smelt, "compile", model, "-o", artifact], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"compile {model}: {r.stderr.strip()}")
    return time.perf_counter() - t, os.path.getsize(artifact)


SGEMM_SIZES = {256: 20, 512: 20, 1024: 10, 2048: 5, 4096: 3}  # size -> timed runs
# Debian's libopenblas (tools/deps.sh installs libopenblas-dev), called
# through ctypes' cblas_sgemm on the same .npy inputs; OPENBLAS_NUM_THREADS
# sets its threads. Not numpy's bundled OpenBLAS: the issue names Debian's.
OPENBLAS_TIMER = """
import ctypes, ctypes.util, sys, time, statistics, numpy as np
n, r = int(sys.argv[1]), int(sys.argv[2])
a, b = np.load(sys.argv[3]), np.load(sys.argv[4])
c = np.empty((n, n), np.float32)
lib = ctypes.CDLL(ctypes.util.find_library("openblas") or "libopenblas.so.0")
f = ctypes.POINTER(ctypes.c_float)
lib.cblas_sgemm.argtypes = [ctypes.c_int] * 6 + [ctypes.c_float, f, ctypes.c_int, f, ctypes.c_int,
                                                   ctypes.c_float, f, ctypes.c_int]
pa, pb, pc = (x.ctypes.data_as(f) for x in (a, b, c))
def mm():  # CblasRowMajor = 101, CblasNoTrans = 111
    lib.cblas_sgemm(101, 111, 111, n, n, n, 1.0, pa, n, pb, n, 0.0, pc, n)
mm()
assert np.allclose(c, a @ b, rtol=1e-3, atol=1e-3 * n ** 0.5)
t = []
for _ in range(r):
    s = time.perf_counter(); mm(); t.append((time.perf_counter() - s) * 1e3)
print(statistics.median(t))
"""


def sgemm_model(path):
    import onnx
    from onnx import TensorProto, helper
    g = helper.make_graph([helper.make_node("MatMul", ["A", "B"], ["C"])], "sgemm",
                          [helper.make_tensor_value_info("A", TensorProto.FLOAT, ["m", "k"]),
                           helper.make_tensor_value_info("B", TensorProto.FLOAT, ["k", "n"])],
                          [helper.make_tensor_value_info("C", TensorProto.FLOAT, ["m", "n"])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)


def run_sgemm(smelt, tmp, threads, sizes):
    """Rows (n, threads, smelt GFLOP/s, OpenBLAS GFLOP/s, ratio): smelt's
    compiled MatMul (`smelt run --target cpu --repeat`) against Debian's
    libopenblas in the same run, square row-major fp32."""
    model = os.path.join(tmp, "sgemm.onnx")
    sgemm_model(model)
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        r = SGEMM_SIZES[n]
        a, b = (os.path.join(tmp, f"{x}{n}.npy") for x in "ab")
        np.save(a, rng.standard_normal((n, n), dtype=np.float32))
        np.save(b, rng.standard_normal((n, n), dtype=np.float32))
        for t in threads:
            cmd = [smelt, "run", model, "--target", "cpu", "-i", f"A={a}", "-i", f"B={b}",
                   "--threads", str(t), "--repeat", str(r)]
            out = subprocess.run(cmd, capture_output=True, text=True)
            med = re.search(r"median ([0-9.]+) ms", out.stdout)
            if not med:
                raise RuntimeError(f"sgemm {n}: {out.stderr.strip()}")
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(t))
            ob = subprocess.run([sys.executable, "-c", OPENBLAS_TIMER, str(n), str(r), a, b],
                                capture_output=True, text=True, env=env, check=True)
            gf = 2 * n ** 3 / 1e6
            sm, ref = gf / float(med.group(1)), gf / float(ob.stdout)
            rows.append((n, t, sm, ref, sm / ref))
            print(f"sgemm {n} threads={t}: smelt {sm:.1f} GFLOP/s, OpenBLAS {ref:.1f} GFLOP/s, "
                  f"ratio {sm / ref:.2f}", flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smelt", default=os.path.join(ROOT, "build", "smelt"))
    ap.add_argument("--build", default="build")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--only", default="")
    ap.add_argument("--cache", default=os.path.join(ROOT, "build", "bench-models"))
    ap.add_argument("--doc", default="")
    ap.add_argument("--sgemm", default=",".join(map(str, SGEMM_SIZES)), help="sizes; empty: none")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    names = [n for n in MODELS if not args.only or n in args.only.split(",")] if args.only != "none" else []
    tmp = tempfile.mkdtemp(prefix="smelt-bench-")
    rows, comp = [], []
    for name in names:
        err = export_models.ensure(args.cache, name)
        if err:
            sys.exit(f"{name}: {err}")
        model = os.path.join(args.cache, name, "model.onnx")
        d = os.path.join(tmp, name)
        os.makedirs(d)
        inputs = make_inputs(name, d)
        artifact = os.path.join(d, "model.so")
        ct, size = compile_model(args.smelt, model, artifact)
        firsts = []
        for t in threads:
            sm, first = smelt_latency(args.smelt, artifact, inputs, t, args.repeat, os.path.join(d, "out"))
            ort_ms = ort_latency(model, inputs, t, args.repeat)
            rows.append((name, t, sm, ort_ms, sm / ort_ms))
            firsts.append((first, sm))
            print(f"{name} threads={t}: smelt {sm:.2f} ms, onnxruntime {ort_ms:.2f} ms, ratio {sm / ort_ms:.2f}",
                  flush=True)
        first, steady = firsts[0]
        comp.append((name, ct, size, first, steady))
        print(f"{name}: compile {ct:.1f} s, artifact {size / 1e6:.1f} MB, first run incl. load "
              f"{first if first is not None else float('nan'):.1f} ms", flush=True)
    sizes = [int(x) for x in args.sgemm.split(",") if x]
    sg = run_sgemm(args.smelt, tmp, threads, sizes) if sizes else []
    if args.doc:
        write_doc(args.doc, rows, comp, sg, " ".join(sys.argv[1:]), threads)


def write_doc(path, rows, comp, sgemm, argv, threads):
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    out = ["# Performance", "",
           f"Measured by `.venv/bin/python bench/run.py {argv}` on {cpu} ({os.cpu_count()} cores). "
           "Latency is the median of the runs after warm-up; ratio = smelt / onnxruntime "
           "(below 1.0: smelt is faster). onnxruntime has every graph optimization on.", "",
           "## Batch-1 latency", "",
           "| model | threads | smelt ms | onnxruntime ms | ratio |", "|---|---|---|---|---|"]
    for name, t, sm, o, r in rows:
        out.append(f"| {name} | {t} | {sm:.2f} | {o:.2f} | {r:.2f} |")
    out += ["", "## Compile time, artifact size, first run", "",
            "| model | compile s | artifact MB | load + first run ms | steady run ms | first / steady |",
            "|---|---|---|---|---|---|"]
    for name, ct, size, first, steady in comp:
        fr = f"{first:.1f}" if first is not None else "-"
        ratio = f"{first / steady:.2f}" if first is not None else "-"
        out.append(f"| {name} | {ct:.1f} | {size / 1e6:.1f} | {fr} | {steady:.1f} | {ratio} |")
    if sgemm:
        out += ["", "## sgemm against OpenBLAS", "",
                "smelt's compiled MatMul (square, row-major fp32, `smelt run --target cpu --repeat`) "
                "against Debian's libopenblas (cblas_sgemm through ctypes), medians; ratio = smelt / OpenBLAS "
                "GFLOP/s (above 1.0: smelt is faster).", "",
                "| n | threads | smelt GFLOP/s | OpenBLAS GFLOP/s | ratio |", "|---|---|---|---|---|"]
        for n, t, sm, ref, r in sgemm:
            out.append(f"| {n} | {t} | {sm:.1f} | {ref:.1f} | {r:.2f} |")
    # sections written by hand after the generated ones (## Runtime size,
    # ## Gaps ...) are kept
    generated = {"## Batch-1 latency", "## Compile time, artifact size, first run", "## sgemm against OpenBLAS"}
    kept, keep = [], False
    if os.path.exists(path):
        for line in open(path).read().splitlines():
            if line.startswith("## "):
                keep = line.strip() not in generated
            if keep:
                kept.append(line)
    if kept:
        out += [""] + kept
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
