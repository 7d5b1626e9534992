#!/usr/bin/env python3
"""tests/quant/calibrate_check.py — `--quantize int8 --calibrate DIR`
(static int8) against onnxruntime's quantize_static on the same model and
calibration samples (QDQ, per-channel QInt8 weights, QUInt8 activations,
MinMax):

  scales    every activation smelt quantizes gets the scale and zero point
            onnxruntime's QuantizeLinear of that tensor has (scale within
            float rounding, 2e-7 relative; zero point equal), read from
            `smelt convert`'s IR text and the QDQ model's initializers;
  outputs   the compiled static-int8 model's output against onnxruntime's
            float output: cosine >= 0.999, and no further from it than
            onnxruntime's own static QDQ model is (+0.001);
  errors    a missing folder, a sample folder without the input's .npy, and
            --calibrate without --quantize int8 exit 1 naming what is wrong.

The model (two 3x3 Convs with ReLU, global pooling, a MatMul) and the
samples are made here with fixed seeds.
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from checks import Checks  # noqa: E402

check = Checks()

def make_model(path, rng):
    w1 = rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32)
    w2 = rng.normal(0, 0.2, (16, 8, 3, 3)).astype(np.float32)
    w3 = rng.normal(0, 0.3, (16, 10)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "W1"], ["c1"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "W2"], ["c2"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c2"], ["r2"]),
             helper.make_node("GlobalAveragePool", ["r2"], ["g"]), helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("MatMul", ["f", "W3"], ["y"])]
    g = helper.make_graph(nodes, "calibrate", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
                          [numpy_helper.from_array(w, n) for w, n in ((w1, "W1"), (w2, "W2"), (w3, "W3"))])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)


class Reader(CalibrationDataReader):
    def __init__(self, files):
        self.it = iter([{"x": np.load(f)} for f in files])

    def get_next(self):
        return next(self.it, None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smelt", default="build/smelt")
    a = ap.parse_args()
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory(prefix="smelt-calib-") as tmp:
        model, cal = os.path.join(tmp, "m.onnx"), os.path.join(tmp, "cal")
        make_model(model, rng)
        os.makedirs(cal)
        for i in range(4):
            np.save(os.path.join(cal, f"s{i}.npy"), rng.uniform(-1, 2, (1, 3, 16, 16)).astype(np.float32))
        files = sorted(glob.glob(os.path.join(cal, "*.npy")))
        qdq = os.path.join(tmp, "ort_qdq.onnx")
        quantize_static(model, qdq, Reader(files), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
        qm = onnx.load(qdq)
        init = {i.name: numpy_helper.to_array(i) for i in qm.graph.initializer}
        ort_q = {n.input[0]: (float(init[n.input[1]]), int(init[n.input[2]])) for n in qm.graph.node
                 if n.op_type == "QuantizeLinear"}
        opts = ["--quantize", "int8", "--quantize-all", "--quantize-min", "0", "--calibrate", cal]

        # scales: smelt's IR after quantization
        ir = os.path.join(tmp, "q.ir")
        r = subprocess.run([a.smelt, "convert", model, "-o", ir] + opts, capture_output=True, text=True)
        check(r.returncode == 0, f"convert --calibrate: {r.stderr[-400:]}")
        text = open(ir).read() if r.returncode == 0 else ""
        consts = dict(re.findall(r"const %(\S+): \S+ = \[([-0-9.e]+)\]", text))
        quantized = re.findall(r"= QuantizeLinear\(%(\S+), %(\S+), %(\S+)\)", text)
        check(len(quantized) == 3, f"three activations quantized statically, got {quantized}")
        check("DynamicQuantizeLinear" not in text, "no DynamicQuantizeLinear left with --calibrate")
        for x, s, z in quantized:
            mine = (float(consts.get(s, "nan")), int(float(consts.get(z, "-1"))))
            theirs = ort_q.get(x)
            check(theirs is not None and abs(mine[0] - theirs[0]) <= 2e-7 * theirs[0] and mine[1] == theirs[1],
                  f"{x}: smelt scale/zero point {mine}, onnxruntime {theirs}")

        # outputs: the compiled model on a fresh input
        xin = rng.uniform(-1, 2, (1, 3, 16, 16)).astype(np.float32)
        xf = os.path.join(tmp, "x.npy")
        np.save(xf, xin)
        out = os.path.join(tmp, "out")
        r = subprocess.run([a.smelt, "run", model, "--target", "cpu", "-i", xf, "-o", out] + opts,
                           capture_output=True, text=True)
        check(r.returncode == 0, f"run --calibrate: {r.stderr[-400:]}")
        ref = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {"x": xin})[0].ravel()
        theirs = ort.InferenceSession(qdq, providers=["CPUExecutionProvider"]).run(None, {"x": xin})[0].ravel()

        def cos(u, v):
            return float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))
        if r.returncode == 0:
            mine = np.load(os.path.join(out, "y.npy")).ravel()
            cm, ct = cos(mine, ref), cos(theirs, ref)
            print(f"static int8 cosine to float: smelt {cm:.6f}, onnxruntime's QDQ {ct:.6f}")
            check(cm >= 0.999 and cm >= ct - 0.001, f"static int8 output cosine {cm:.6f} (onnxruntime's QDQ {ct:.6f})")

        # errors
        def fails(args, what, needle):
            r = subprocess.run([a.smelt] + args, capture_output=True, text=True)
            check(r.returncode == 1 and needle in r.stderr, f"{what}: exit {r.returncode}, {r.stderr[-300:]!r}")
        fails(["convert", model, "-o", ir, "--quantize", "int8", "--calibrate", os.path.join(tmp, "nope")],
              "a missing folder", "nope")
        bad = os.path.join(tmp, "bad")
        os.makedirs(os.path.join(bad, "s0"))
        np.save(os.path.join(bad, "s0", "other.npy"), xin)
        fails(["convert", model, "-o", ir, "--quantize", "int8", "--calibrate", bad], "a sample without x.npy",
              os.path.join(bad, "s0", "x.npy"))
        fails(["convert", model, "-o", ir, "--quantize", "f16", "--calibrate", cal], "--calibrate with f16", "int8")
    return check.summary("calibrate")


if __name__ == "__main__":
    sys.exit(main())
