"""bench/quant.py — quantized models: smelt against onnxruntime, in one run on this machine.

For ResNet-50 (1x3x224x224) and BERT-base (batch 1, sequence 128), as
bench/run.py exports them (tests/models/export_models.py, cached in
build/bench-models), and onnxruntime's own quantized versions of them made
by tests/quant/make_quantized.py (the same calls: quantize_dynamic, and
quantize_static in QDQ form, calibrated on a fixed set), it measures in the
same run, at each thread count, the median latency of:

  smelt fp32          `smelt compile model.onnx`
  smelt MODE          `smelt compile model.onnx --quantize MODE` for each
                      MODE of --modes (default int8; a mode the smelt binary
                      rejects is skipped, saying so)
  ort fp32            onnxruntime on model.onnx
  ort dyn / ort qdq   onnxruntime on its own quantized models
  smelt(ort dyn/qdq)  smelt compiling onnxruntime's quantized models

and the ratios smelt MODE / smelt fp32 (the issue's target: <= 0.6 for
int8) and smelt / onnxruntime on the same quantized model or against
onnxruntime's dynamic-quantized one (target <= 1.0), plus the model and
artifact sizes. MobileNetV2 can be added with --only (its onnxruntime
quantized forms are not made: make_quantized.py quantizes ResNet-50 and
BERT-base only). With --doc it writes the tables into the "## Quantized
models" section of docs/performance.md (other sections are kept); it
refuses when the 1-minute load average is above 0.5 (a shared machine
gives no figures worth recording) unless --force.

    .venv/bin/python bench/quant.py [--repeat 20] [--threads 1,2] [--only resnet50,bert_base]
        [--modes int8,q4_0] [--doc docs/performance.md]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
import run  # noqa: E402  (sets the benchmark sizes before export_models is imported)

sys.path.insert(0, os.path.join(run.ROOT, "tests", "quant"))
import make_quantized  # noqa: E402

ORT_VARIANTS = {"resnet50": ["dyn", "qdq"], "bert_base": ["dyn", "qdq"], "mobilenet_v2": []}


def compile_artifact(smelt, model, artifact, flags):
    """(compile seconds, artifact bytes), or (None, reason) when smelt refuses."""
    t = time.perf_counter()
    r = subprocess.run([smelt, "compile", model, "-o", artifact] + flags, capture_output=True, text=True)
    if r.returncode:
        return None, (r.stderr.strip().splitlines() or ["no message"])[0]
    return time.perf_counter() - t, os.path.getsize(artifact)


def mb(n):
    return f"{n / 1e6:.1f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smelt", default=os.path.join(run.ROOT, "build", "smelt"))
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--only", default="resnet50,bert_base")
    ap.add_argument("--modes", default="int8", help="--quantize modes of smelt, comma-separated")
    ap.add_argument("--cache", default=os.path.join(run.ROOT, "build", "bench-models"))
    ap.add_argument("--doc", default="")
    ap.add_argument("--force", action="store_true", help="write --doc even on a loaded machine")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    modes = [m for m in args.modes.split(",") if m]
    load = os.getloadavg()[0]
    print(f"load average (1 min) at start: {load:.2f}", flush=True)
    if args.doc and load > 0.5 and not args.force:
        sys.exit(f"--doc: load average {load:.2f} > 0.5: figures from a loaded machine are not recorded (--force)")
    tmp = tempfile.mkdtemp(prefix="smelt-qbench-")
    lat, sizes, notes = [], [], []
    for name in args.only.split(","):
        if name not in run.MODELS:
            sys.exit(f"unknown model {name} (one of {', '.join(run.MODELS)})")
        err = run.export_models.ensure(args.cache, name)
        if err:
            sys.exit(f"{name}: {err}")
        d = os.path.join(tmp, name)
        os.makedirs(d)
        inputs = run.make_inputs(name, d)
        fp32 = os.path.join(args.cache, name, "model.onnx")
        # (label, onnx model, smelt flags, run onnxruntime on it too)
        configs = [("fp32", fp32, [], True)] + [(m, fp32, ["--quantize", m], False) for m in modes]
        for v in ORT_VARIANTS[name]:
            err = make_quantized.ensure(args.cache, f"{name}_{v}")
            if err:
                notes.append(f"{name}: onnxruntime's {v} model not made: {err}")
                continue
            configs.append((f"ort {v}", os.path.join(args.cache, f"{name}_{v}", "model.onnx"), [], True))
        row = {}
        for label, model, flags, with_ort in configs:
            art = os.path.join(d, label.replace(" ", "_") + ".so")
            ct, size = compile_artifact(args.smelt, model, art, flags)
            if ct is None:
                notes.append(f"{name}: smelt {label} skipped: {size}")
                print(notes[-1], flush=True)
                continue
            sizes.append((name, label, os.path.getsize(model), size, ct))
            for t in threads:
                sm, _ = run.smelt_latency(args.smelt, art, inputs, t, args.repeat, os.path.join(d, "out"))
                row[(label, "smelt", t)] = sm
                if with_ort:
                    row[(label, "ort", t)] = run.ort_latency(model, inputs, t, args.repeat)
                print(f"{name} {label} threads={t}: smelt {sm:.2f} ms" +
                      (f", onnxruntime {row[(label, 'ort', t)]:.2f} ms" if with_ort else ""), flush=True)
        lat.append((name, row))
    print_and_doc(args, lat, sizes, notes, modes, threads, load)


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"


def ms(x):
    return f"{x:.2f}" if x is not None else "-"


def tables(lat, sizes, notes, modes, threads):
    out = ["| model | threads | config | smelt ms | onnxruntime ms | smelt / ort | smelt / smelt fp32 | smelt / ort dyn |",
           "|---|---|---|---|---|---|---|---|"]
    for name, row in lat:
        labels = []
        for (label, who, t) in row:
            if label not in labels:
                labels.append(label)
        for t in threads:
            base = row.get(("fp32", "smelt", t))
            dyn = row.get(("ort dyn", "ort", t))
            for label in labels:
                sm, o = row.get((label, "smelt", t)), row.get((label, "ort", t))
                out.append(f"| {name} | {t} | {label} | {ms(sm)} | {ms(o)} | {ratio(sm, o)} | "
                           f"{ratio(sm, base) if label != 'fp32' else '-'} | {ratio(sm, dyn)} |")
    out += ["", "| model | config | model MB | artifact MB | compile s |", "|---|---|---|---|---|"]
    for name, label, msize, asize, ct in sizes:
        out.append(f"| {name} | {label} | {mb(msize)} | {mb(asize)} | {ct:.1f} |")
    if notes:
        out += [""] + [f"- {n}" for n in notes]
    return out


def print_and_doc(args, lat, sizes, notes, modes, threads, load):
    body = tables(lat, sizes, notes, modes, threads)
    print("\n".join(body))
    end_load = os.getloadavg()[0]
    print(f"load average (1 min) at the end: {end_load:.2f}")
    if not args.doc:
        return
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    section = ["## Quantized models", "",
               f"Measured by `.venv/bin/python bench/quant.py {' '.join(sys.argv[1:])}` on {cpu} "
               f"({os.cpu_count()} cores, load average {load:.2f} at the start). Config: fp32 = the float "
               "model; a --quantize mode = smelt quantizing it; ort dyn / ort qdq = onnxruntime's own "
               "quantize_dynamic / quantize_static (QDQ) models (tests/quant/make_quantized.py), run by both. "
               "Medians after warm-up; ratios below 1.0: smelt is faster. Targets (issue 7): int8 <= 0.6x "
               "smelt fp32 and <= 1.0x onnxruntime on its own quantized model.", ""] + body
    lines = open(args.doc).read().splitlines() if os.path.exists(args.doc) else ["# Performance"]
    out, skip, done = [], False, False
    for line in lines:
        if line.startswith("## "):
            skip = line.strip() == "## Quantized models"
            if skip and not done:
                out += section + [""]
                done = True
        if not skip:
            out.append(line)
    if not done:
        out += [""] + section
    with open(args.doc, "w") as f:
        f.write("\n".join(out).rstrip("\n") + "\n")


if __name__ == "__main__":
    main()
