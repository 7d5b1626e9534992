#!/usr/bin/env python3
"""bench/vulkan/gpu_bench.py — smelt on a Vulkan GPU against PyTorch (cuBLAS,
cuDNN) on the same GPU, in one run: square MatMul TFLOP/s in f32 and f16
(smelt --precision f16 against torch.matmul on half tensors), and
ResNet-50 (batch 1 and 32) and BERT-base (batch 1, sequence 128) latency
and throughput, smelt f32 and f16 against PyTorch eager f32 and f16, each
smelt output checked (f32: against PyTorch's float32 result; f16: the bound
of tests/models/half_ref.py, onnxruntime on the f16-rounded weights).

Runs where PyTorch with CUDA, onnxruntime and a Vulkan driver are (the
device machine of bench/vulkan/README.md, driven by gpu_bench.sh): the
models are made there with random weights (torchvision / transformers),
exported to ONNX, and compiled and run by `smelt run --target vulkan`
(the compiler included, so LLVM's libraries must be on LD_LIBRARY_PATH).
smelt's GEMM time is the MatMul dispatch's device time (`--profile`
timestamps of the last of 5 runs; with --precision f16 the inputs' and
output's conversions are separate dispatches, not counted);
a model's latency is the median of `--repeat` runs of the whole model
(inputs copied to the device each run) and its device time the sum of its
dispatches. PyTorch's is the median of CUDA-event-timed runs after
warm-up, eager mode, TF32 off.

  python3 bench/vulkan/gpu_bench.py --smelt build/smelt --work /tmp/gb [--out T.md]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "..", "tests", "models"), HERE]  # half_ref (or a copy beside this file)


def smelt_run(a, model, inputs, outdir, repeat, precision=None, extra=(), env=None):
    cmd = [a.smelt, "run", model, "--target", "vulkan", "--repeat", str(repeat), "--profile", "-o", outdir, *extra]
    if precision:
        cmd += ["--precision", precision]
    for name, path in inputs:
        cmd += ["-i", f"{name}={path}"]
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if r.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr[-2000:]}")
    text = r.stdout + r.stderr
    lat = float(re.search(r"latency: median ([0-9.]+) ms", text).group(1))
    dev = float(re.search(r"([0-9.]+) ms\s+total on the device", text).group(1))
    steps = [float(x) for x in re.findall(r"^\s+([0-9.]+) ms\s+step", text, re.M)]
    n_cpu = text.count("(cpu)")
    return {"latency": lat, "device": dev, "max_step": max(steps) if steps else dev, "wall": time.time() - t0,
            "log": text, "cpu_steps": n_cpu}


def torch_time(fn, repeat, warm=3):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        torch.cuda.synchronize()
        times.append(s.elapsed_time(e))
    return statistics.median(times)


def rel_err(got, ref):
    ref = np.asarray(ref, np.float64)
    return float(np.abs(np.asarray(got, np.float64) - ref).max() / max(np.abs(ref).max(), 1e-30))


def export(model, args, names, path):
    if os.path.exists(path):
        return
    kw = dict(input_names=names, opset_version=17)
    try:
        torch.onnx.export(model, args, path, dynamo=False, **kw)
    except TypeError:
        torch.onnx.export(model, args, path, **kw)


def bench_gemm(a, rows):
    """f32: a float32 MatMul model; f16: the same in float16 (f16 inputs and
    output in memory, the sum in f32), as cuBLAS's hgemm under torch.matmul."""
    import onnx
    from onnx import TensorProto, helper
    for n in a.gemm:
        rng = np.random.default_rng(n)
        A = rng.uniform(-1, 1, (n, n)).astype(np.float32)
        B = rng.uniform(-1, 1, (n, n)).astype(np.float32)
        ta, tb = torch.from_numpy(A).cuda(), torch.from_numpy(B).cuda()
        ha, hb = ta.half(), tb.half()
        flop = 2.0 * n ** 3
        t32 = torch_time(lambda: ta @ tb, 20)
        t16 = torch_time(lambda: ha @ hb, 20)
        for prec, et, npt, tt, r in (("f32", TensorProto.FLOAT, np.float32, t32, (ta.double() @ tb.double())),
                                     ("f16", TensorProto.FLOAT16, np.float16, t16, (ha.double() @ hb.double()))):
            path = os.path.join(a.work, f"matmul{n}_{prec}.onnx")
            g = helper.make_graph([helper.make_node("MatMul", ["A", "B"], ["C"])], "mm",
                                  [helper.make_tensor_value_info(x, et, [n, n]) for x in "AB"],
                                  [helper.make_tensor_value_info("C", et, [n, n])])
            onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)
            pa, pb = os.path.join(a.work, f"A{n}_{prec}.npy"), os.path.join(a.work, f"B{n}_{prec}.npy")
            np.save(pa, A.astype(npt))
            np.save(pb, B.astype(npt))
            # f16: on cooperative matrices where the device has them, and on the plain tiles
            for label, env in ((prec, None),) + (((f"{prec}, no coop", {"SMELT_VK_NO_COOP": "1"}),) if prec == "f16" else ()):
                out = os.path.join(a.work, f"mm{n}{prec}{'x' if env else ''}")
                try:
                    s = smelt_run(a, path, [("A", pa), ("B", pb)], out, 5, env=env)
                except RuntimeError as e:
                    print("FAILED", e, flush=True)
                    continue
                err = rel_err(np.load(os.path.join(out, "C.npy")), r.cpu().numpy())
                ms = s["max_step"]
                rows.append(("gemm", f"MatMul {n}^3 {label}", ms, flop / ms / 1e9, tt, flop / tt / 1e9, err,
                             "cuBLAS hgemm" if prec == "f16" else "cuBLAS sgemm, TF32 off"))
                print(rows[-1], flush=True)


def bench_model(a, rows, label, model, args, names, batch):
    import half_ref
    path = os.path.join(a.work, label.replace(" ", "_") + ".onnx")
    export(model, args, names, path)
    inputs, feeds = [], {}
    for name, t in zip(names, args):
        p = os.path.join(a.work, f"{label.replace(' ', '_')}_{name}.npy")
        np.save(p, t.cpu().numpy())
        inputs.append((name, p))
        feeds[name] = t.cpu().numpy()
    with torch.no_grad():
        ref = model(*args)
        ref = ref[0] if isinstance(ref, (tuple, list)) else getattr(ref, "last_hidden_state", ref)
        ref = ref.float().cpu().numpy()
        t32 = torch_time(lambda: model(*args), a.repeat)
        m16 = model.half()
        args16 = tuple(x.half() if x.is_floating_point() else x for x in args)
        t16 = torch_time(lambda: m16(*args16), a.repeat)
        model.float()
    res = {}
    for prec in a.precisions:
        out = os.path.join(a.work, label.replace(" ", "_") + f"_{prec}")
        try:
            s = smelt_run(a, path, inputs, out, a.repeat, None if prec == "f32" else prec)
        except RuntimeError as e:
            print("FAILED", label, prec, e, flush=True)
            continue
        outs = sorted(f for f in os.listdir(out) if f.endswith(".npy"))
        got = np.load(os.path.join(out, outs[0]))
        err = rel_err(got, ref)
        check = "-"
        if prec != "f32":
            import onnx
            on = [o.name for o in onnx.load(path, load_external_data=False).graph.output]
            w = half_ref.outputs(path, feeds, on[:1], prec)[on[0]]
            check = half_ref.check(on[0], got, w, ref, prec) or "pass"
        res[prec] = (s, err, check)
        print(label, prec, f"latency {s['latency']:.3f} ms, device {s['device']:.3f} ms, rel err {err:.2e}, "
              f"half_ref: {check}, CPU steps {s['cpu_steps']}", flush=True)
    rows.append(("model", label, res, t32, t16, batch))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smelt", default="build/smelt")
    ap.add_argument("--work", default="/tmp/gpu_bench")
    ap.add_argument("--out", help="write the markdown tables here")
    ap.add_argument("--gemm", type=int, nargs="*", default=[4096, 8192])
    ap.add_argument("--models", nargs="*", default=["resnet50", "bert"])
    ap.add_argument("--precisions", nargs="*", default=["f32", "f16"])
    ap.add_argument("--repeat", type=int, default=20)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.cuda.get_device_name(0)
    devices = subprocess.run([a.smelt, "devices"], capture_output=True, text=True).stdout.strip()
    print(dev, "\n", devices, flush=True)
    rows = []
    bench_gemm(a, rows)
    if "resnet50" in a.models:
        import torchvision
        torch.manual_seed(0)
        m = torchvision.models.resnet50(weights=None).eval().cuda()
        for b in (1, 32):
            bench_model(a, rows, f"ResNet-50 b{b}", m, (torch.rand(b, 3, 224, 224, device="cuda"),), ["x"], b)
    if "bert" in a.models:
        from transformers import BertConfig, BertModel
        torch.manual_seed(0)
        m = BertModel(BertConfig(), add_pooling_layer=False).eval().cuda()
        ids = torch.randint(0, 30522, (1, 128), device="cuda")
        mask = torch.ones(1, 128, dtype=torch.int64, device="cuda")
        bench_model(a, rows, "BERT-base s128", m, (ids, mask), ["input_ids", "attention_mask"], 1)
    lines = [f"Device: {dev}", "", "```", devices, "```", "",
             "| MatMul | smelt ms (dispatch) | smelt TFLOP/s | PyTorch ms | PyTorch TFLOP/s | smelt / PyTorch |"
             " max rel err | PyTorch kernel |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        if r[0] == "gemm":
            lines.append(f"| {r[1]} | {r[2]:.3f} | {r[3]:.1f} | {r[4]:.3f} | {r[5]:.1f} | {r[3] / r[5]:.2f} | "
                         f"{r[6]:.1e} | {r[7]} |")
    lines += ["", "| model | PyTorch f32 ms | PyTorch f16 ms | smelt f32 ms (run / device) | smelt f16 ms (run / device) |"
              " PyTorch f32 / smelt f32 | PyTorch f16 / smelt f16 | smelt f16 items/s | f32 rel err | f16 check |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        if r[0] != "model":
            continue
        _, label, res, t32, t16, batch = r
        f32, f16 = res.get("f32"), res.get("f16")
        cell = lambda x: f"{x[0]['latency']:.2f} / {x[0]['device']:.2f}" if x else "failed"
        speed = lambda x, t: f"{t / x[0]['latency']:.2f}" if x else "-"
        lines.append(f"| {label} | {t32:.2f} | {t16:.2f} | {cell(f32)} | {cell(f16)} | {speed(f32, t32)} | "
                     f"{speed(f16, t16)} | {1000 * batch / f16[0]['latency'] if f16 else 0:.0f} | "
                     f"{f32[1] if f32 else float('nan'):.1e} | {f16[2] if f16 else '-'} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        open(a.out, "w").write(text)


if __name__ == "__main__":
    sys.exit(main())
