#!/usr/bin/env python3
"""bench/vulkan/gpu_bench.py — smelt on a Vulkan GPU against PyTorch (cuBLAS,
cuDNN) on the same GPU, in one run: square MatMul TFLOP/s, and ResNet-50
(batch 1 and 32) and BERT-base (batch 1, sequence 128) latency and
throughput, each smelt output checked against PyTorch's float32 result.

Runs where PyTorch with CUDA and a Vulkan driver are (the device machine of
bench/vulkan/README.md): the models are made there with random weights
(torchvision / transformers), exported to ONNX, and compiled and run by
`smelt run --target vulkan` (the compiler included, so LLVM's libraries must
be on LD_LIBRARY_PATH). smelt's latency is the median of `--repeat` runs of
the whole model (inputs copied to the device each run); its device time is
the sum of its dispatches' timestamps (`--profile`). PyTorch's is the median
of CUDA-event-timed runs after warm-up, eager mode, TF32 off.

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


def smelt_run(a, model, inputs, outdir, repeat):
    cmd = [a.smelt, "run", model, "--target", "vulkan", "--repeat", str(repeat), "--profile", "-o", outdir]
    for name, path in inputs:
        cmd += ["-i", f"{name}={path}"]
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr[-2000:]}")
    text = r.stdout + r.stderr
    lat = float(re.search(r"latency: median ([0-9.]+) ms", text).group(1))
    dev = float(re.search(r"([0-9.]+) ms\s+total on the device", text).group(1))
    n_cpu = text.count("(cpu)")
    return {"latency": lat, "device": dev, "wall": time.time() - t0, "log": text, "cpu_steps": n_cpu}


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
    import onnx
    from onnx import TensorProto, helper
    for n in a.gemm:
        path = os.path.join(a.work, f"matmul{n}.onnx")
        g = helper.make_graph([helper.make_node("MatMul", ["A", "B"], ["C"])], "mm",
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [n, n]) for x in "AB"],
                              [helper.make_tensor_value_info("C", TensorProto.FLOAT, [n, n])])
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)
        rng = np.random.default_rng(n)
        A = rng.uniform(-1, 1, (n, n)).astype(np.float32)
        B = rng.uniform(-1, 1, (n, n)).astype(np.float32)
        pa, pb = os.path.join(a.work, "A.npy"), os.path.join(a.work, "B.npy")
        np.save(pa, A)
        np.save(pb, B)
        out = os.path.join(a.work, f"mm{n}")
        s = smelt_run(a, path, [("A", pa), ("B", pb)], out, 5)
        ta, tb = torch.from_numpy(A).cuda(), torch.from_numpy(B).cuda()
        ref = (ta.double() @ tb.double()).cpu().numpy()
        err = rel_err(np.load(os.path.join(out, "C.npy")), ref)
        flop = 2.0 * n ** 3
        t32 = torch_time(lambda: ta @ tb, 20)
        ha, hb = ta.half(), tb.half()
        t16 = torch_time(lambda: ha @ hb, 20)
        rows.append(("gemm", f"MatMul {n}^3 f32", s["device"], flop / s["device"] / 1e9, t32, flop / t32 / 1e9,
                     err, f"torch f16 (cuBLAS hgemm): {t16:.3f} ms, {flop / t16 / 1e9:.1f} TFLOP/s"))
        print(rows[-1], flush=True)


def bench_model(a, rows, label, model, args, names, batch):
    path = os.path.join(a.work, label.replace(" ", "_") + ".onnx")
    export(model, args, names, path)
    inputs = []
    for name, t in zip(names, args):
        p = os.path.join(a.work, f"{label.replace(' ', '_')}_{name}.npy")
        np.save(p, t.cpu().numpy())
        inputs.append((name, p))
    out = os.path.join(a.work, label.replace(" ", "_") + "_out")
    s = smelt_run(a, path, inputs, out, a.repeat)
    with torch.no_grad():
        ref = model(*args)
        ref = ref[0] if isinstance(ref, (tuple, list)) else getattr(ref, "last_hidden_state", ref)
        outs = sorted(f for f in os.listdir(out) if f.endswith(".npy"))
        err = rel_err(np.load(os.path.join(out, outs[0])), ref.float().cpu().numpy())
        t32 = torch_time(lambda: model(*args), a.repeat)
        m16 = model.half()
        args16 = tuple(x.half() if x.is_floating_point() else x for x in args)
        t16 = torch_time(lambda: m16(*args16), a.repeat)
        model.float()
    rows.append(("model", label, s["latency"], s["device"], t32, t16, err, batch))
    print(rows[-1], "smelt steps on the CPU:", s["cpu_steps"], flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smelt", default="build/smelt")
    ap.add_argument("--work", default="/tmp/gpu_bench")
    ap.add_argument("--out", help="write the markdown tables here")
    ap.add_argument("--gemm", type=int, nargs="*", default=[4096, 8192])
    ap.add_argument("--models", nargs="*", default=["resnet50", "bert"])
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
    lines = [f"Device: {dev} (Vulkan: {devices.splitlines()[0] if devices else '?'})", "",
             "| MatMul | smelt ms | smelt TFLOP/s | cuBLAS f32 ms | cuBLAS TFLOP/s | smelt / cuBLAS | max rel err | note |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r[0] == "gemm":
            lines.append(f"| {r[1]} | {r[2]:.3f} | {r[3]:.1f} | {r[4]:.3f} | {r[5]:.1f} | {r[3] / r[5]:.2f} | {r[6]:.1e} | {r[7]} |")
    lines += ["", "| model | smelt f32 ms (run) | smelt f32 ms (device) | PyTorch f32 ms | PyTorch f16 ms |"
              " smelt / PyTorch f32 | smelt / PyTorch f16 | smelt img/s | max rel err |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r[0] == "model":
            lines.append(f"| {r[1]} | {r[2]:.2f} | {r[3]:.2f} | {r[4]:.2f} | {r[5]:.2f} | {r[2] / r[4]:.2f} | "
                         f"{r[2] / r[5]:.2f} | {1000 * r[7] / r[2]:.0f} | {r[6]:.1e} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        open(a.out, "w").write(text)


if __name__ == "__main__":
    sys.exit(main())
