"""tests/quant/int_targets.py — integer contractions on every instruction
variant of the integer GEMM engine, end to end, against onnxruntime.

A model with a MatMulInteger (u8 activations with a zero point, constant s8
weights with per-column zero points from -100 to 100: their differences
span more than a byte, packed at compile time as i16) and a padded
ConvInteger (u8 x u8 weights with a zero point: packed as bytes), odd sizes,
is compiled for CPUs whose features select each dot instruction of
codegen/llvm/gemm.h: x86-64-v2 (SSE2 pmaddwd, 4 lanes), x86-64-v3 (AVX2
pmaddwd), x86-64-v4 (AVX-512BW pmaddwd), sapphirerapids (AVX-512 VNNI
vpdpwssd), alderlake (AVX-VNNI vpdpwssd at 8 lanes), and aarch64 (the plain-IR
form, as an executable under qemu-aarch64-static when it is installed).
Those this CPU cannot run are compiled only. Every output must equal
onnxruntime's bit for bit. The same model has the float reductions that
DynamicQuantizeLinear's scale comes from (ReduceMax / ReduceMin over every
axis, kernels with several accumulators along the innermost axis and a
remainder: 3 x 37 elements), on finite inputs and on inputs with a NaN
(the result is NaN), checked against numpy.

    .venv/bin/python tests/quant/int_targets.py --smelt build/smelt
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

# CPU name -> the /proc/cpuinfo flags it needs to run here
CPUS = {"x86-64-v2": ["sse4_2"], "x86-64-v3": ["avx2"], "x86-64-v4": ["avx512bw"],
        "sapphirerapids": ["avx512_vnni", "amx_int8"], "alderlake": ["avx_vnni"]}


def make_model(d):
    rng = np.random.default_rng(3)
    w = rng.integers(-128, 128, (37, 29)).astype(np.int8)
    cw = rng.integers(0, 256, (19, 7, 3, 3)).astype(np.uint8)
    nodes = [helper.make_node("MatMulInteger", ["A", "W", "azp", "wzp"], ["Y"]),
             helper.make_node("ConvInteger", ["X", "CW", "xzp", "cwzp"], ["Z"], pads=[1, 1, 1, 1]),
             helper.make_node("ReduceMax", ["F"], ["FMAX"], keepdims=0),
             helper.make_node("ReduceMin", ["F"], ["FMIN"], keepdims=0),
             helper.make_node("ReduceMax", ["G"], ["GMAX"], keepdims=0),
             helper.make_node("ReduceMin", ["G"], ["GMIN"], keepdims=0)]
    inits = [numpy_helper.from_array(w, "W"), numpy_helper.from_array(np.linspace(-100, 100, 29).astype(np.int8), "wzp"),
             numpy_helper.from_array(np.array(131, np.uint8), "azp"), numpy_helper.from_array(cw, "CW"),
             numpy_helper.from_array(np.array(77, np.uint8), "xzp"), numpy_helper.from_array(np.array(3, np.uint8), "cwzp")]
    g = helper.make_graph(nodes, "int_targets",
                          [helper.make_tensor_value_info("A", TensorProto.UINT8, [23, 37]),
                           helper.make_tensor_value_info("X", TensorProto.UINT8, [1, 7, 11, 13]),
                           helper.make_tensor_value_info("F", TensorProto.FLOAT, [3, 37]),
                           helper.make_tensor_value_info("G", TensorProto.FLOAT, [3, 37])],
                          [helper.make_tensor_value_info("Y", TensorProto.INT32, [23, 29]),
                           helper.make_tensor_value_info("Z", TensorProto.INT32, [1, 19, 11, 13])] +
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, []) for n in ("FMAX", "FMIN", "GMAX", "GMIN")],
                          inits)
    model = os.path.join(d, "model.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), model)
    f = rng.standard_normal((3, 37)).astype(np.float32)
    f[2, 36] = 9.5  # the extremes in the remainder of the last row
    f[2, 35] = -9.5
    g = f.copy()
    g[1, 3] = np.nan
    feeds = {"A": rng.integers(0, 256, (23, 37)).astype(np.uint8), "X": rng.integers(0, 256, (1, 7, 11, 13)).astype(np.uint8),
             "F": f, "G": g}
    for k, v in feeds.items():
        np.save(os.path.join(d, k + ".npy"), v)
    y, z = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, feeds)[:2]
    # numpy for the reductions: NaN propagates
    return model, {"Y": y, "Z": z, "FMAX": np.max(f), "FMIN": np.min(f), "GMAX": np.float32(np.nan), "GMIN": np.float32(np.nan)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smelt", default="build/smelt")
    args = ap.parse_args()
    flags = open("/proc/cpuinfo").read().split("flags", 1)[1].split("\n", 1)[0].split()
    d = tempfile.mkdtemp(prefix="smelt-int-targets-")
    model, ref = make_model(d)
    ins = [a for n in "AXFG" for a in ("-i", f"{n}=" + os.path.join(d, n + ".npy"))]
    passed = failed = skipped = 0

    def compare(label, out):
        nonlocal passed, failed
        for n, want in ref.items():
            got = np.load(os.path.join(out, n + ".npy"))
            if got.dtype == want.dtype and np.array_equal(got, want, equal_nan=True):
                passed += 1
            else:
                failed += 1
                print(f"FAIL {label}: {n} differs from the reference ({int(np.sum(got != want))} elements)")

    runs = [(cpu, ["--cpu", cpu], all(f in flags for f in need)) for cpu, need in CPUS.items()]
    for cpu, cflags, can_run in runs:
        art = os.path.join(d, cpu + ".so")
        r = subprocess.run([args.smelt, "compile", model, "-o", art] + cflags, capture_output=True, text=True)
        if r.returncode:
            failed += 1
            print(f"FAIL {cpu}: compile: {r.stderr.strip()[:300]}")
            continue
        if not can_run:
            skipped += 1
            print(f"skip {cpu}: this CPU lacks {' '.join(CPUS[cpu])}; compiled only")
            continue
        out = os.path.join(d, "out_" + cpu)
        r = subprocess.run([args.smelt, "run", art, "-o", out] + ins, capture_output=True, text=True)
        if r.returncode:
            failed += 1
            print(f"FAIL {cpu}: run: {r.stderr.strip()[:300]}")
            continue
        compare(cpu, out)
    arm = os.path.join(d, "arm")
    r = subprocess.run([args.smelt, "compile", model, "-o", arm, "--emit", "exe", "--target", "aarch64-linux-gnu"],
                       capture_output=True, text=True)
    qemu = shutil.which("qemu-aarch64-static")
    if r.returncode:
        failed += 1
        print(f"FAIL aarch64: compile: {r.stderr.strip()[:300]}")
    elif not qemu:
        skipped += 1
        print("skip aarch64: qemu-aarch64-static is not installed; compiled only")
    else:
        out = os.path.join(d, "out_arm")
        r = subprocess.run([qemu, arm, "-o", out] + ins, capture_output=True, text=True)
        if r.returncode:
            failed += 1
            print(f"FAIL aarch64 under qemu: {r.stderr.strip()[:300]}")
        else:
            compare("aarch64", out)
    shutil.rmtree(d, ignore_errors=True)
    print(f"int-targets: {passed} passed, {failed} failed, {skipped} skipped")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
