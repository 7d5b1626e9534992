"""tests/quant/make_quantized.py — onnxruntime-quantized versions of the real models.

Takes ResNet-50 and BERT-base as tests/models/export_models.py exports them
(its cache, its small test sizes: 64x64 images, 16 tokens; exported first
where missing) and quantizes each with onnxruntime's own tool
(onnxruntime.quantization) in the three forms smelt runs natively:

    NAME_qdq   quantize_static, QuantFormat.QDQ: QuantizeLinear /
               DequantizeLinear pairs around the float ops (uint8
               activations, int8 per-channel weights, int32 biases)
    NAME_qop   quantize_static, QuantFormat.QOperator: QLinearConv /
               QLinearMatMul, restricted to the ops whose QOperator form is a
               standard ONNX op (Conv, MatMul and the Relu / MaxPool folded
               into them); the others (Add, Gemm, GlobalAveragePool) would
               become com.microsoft contrib ops
    NAME_dyn   quantize_dynamic: DynamicQuantizeLinear + MatMulInteger /
               ConvInteger + a float rescale (int8 weights; uint8 for Conv,
               whose ConvInteger onnxruntime runs only on uint8 x uint8)

The static forms are calibrated (MinMax) on a small fixed set of inputs made
with a fixed seed from the same distribution as the test input (8 images, 8
token sequences), so the same bytes come out on every run. Each variant is
written like an export_models.py entry, with the base model's inputs and
onnxruntime's outputs as the expected values:

    CACHE/NAME_VARIANT/model.onnx, inputs/*.npy, expected/*.npy, meta.json, stamp

onnxruntime runs the quantized models with its default graph optimizations,
which turn QDQ groups into its integer kernels (QLinearConv, ...): those are
the results smelt must match.

    .venv/bin/python tests/quant/make_quantized.py [--cache build/models] [--only NAME_VARIANT] [--force]
"""
import argparse
import hashlib
import os
import shutil
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models"))
import export_models  # noqa: E402

BASES = ["resnet50", "bert_base"]
VARIANTS = ["qdq", "qop", "dyn"]
CALIB_N = 8
SEQ = export_models.SEQ
IMAGE = export_models.IMAGE


def calibration_set(base):
    """CALIB_N feeds, fixed seed, the test input's distribution."""
    rng = np.random.default_rng(1234)
    feeds = []
    for _ in range(CALIB_N):
        if base == "resnet50":
            feeds.append({"image": rng.standard_normal((1, 3, IMAGE, IMAGE)).astype(np.float32)})
        else:
            mask = np.ones((1, SEQ), np.int64)
            mask[0, SEQ - 1 - int(rng.integers(0, 4)):] = 0
            types = np.zeros((1, SEQ), np.int64)
            types[0, SEQ // 2:] = 1
            feeds.append({"input_ids": rng.integers(0, 1000, (1, SEQ)).astype(np.int64),
                          "attention_mask": mask, "token_type_ids": types})
    return feeds


def quantize(base, variant, src, dst):
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic,
                                          quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(calibration_set(base))

        def get_next(self):
            return next(self.it, None)

    if variant == "dyn":
        # ConvInteger runs on uint8 x uint8 in onnxruntime; MatMulInteger takes int8 weights
        if base == "resnet50":
            quantize_dynamic(src, dst, op_types_to_quantize=["Conv"], weight_type=QuantType.QUInt8)
        else:
            quantize_dynamic(src, dst, op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8)
        return
    fmt = QuantFormat.QDQ if variant == "qdq" else QuantFormat.QOperator
    ops = None if variant == "qdq" else ["Conv", "MatMul", "Relu", "MaxPool"]
    quantize_static(src, dst, Reader(), quant_format=fmt, op_types_to_quantize=ops, per_channel=(variant == "qdq"),
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


def stamp_text(base_stamp):
    with open(os.path.abspath(__file__), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    import onnxruntime
    return f"make_quantized.py {digest} onnxruntime {onnxruntime.__version__} base {base_stamp.strip()}\n"


def ensure(cache, name, force=False):
    """Makes CACHE/NAME (NAME = BASE_VARIANT) unless an entry made by this
    file from the current base export is there. Returns None or an error."""
    base, variant = name.rsplit("_", 1)
    err = export_models.ensure(cache, base)
    if err:
        return f"{base}: {err}"
    bdir, d = os.path.join(cache, base), os.path.join(cache, name)
    want = stamp_text(open(os.path.join(bdir, "stamp")).read())
    stamp = os.path.join(d, "stamp")
    if not force and os.path.exists(stamp) and open(stamp).read() == want:
        return None
    tmp = d + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    t = time.time()
    try:
        quantize(base, variant, os.path.join(bdir, "model.onnx"), os.path.join(tmp, "model.onnx"))
        shutil.copytree(os.path.join(bdir, "inputs"), os.path.join(tmp, "inputs"))
        export_models.reference(tmp)
    except Exception as e:
        shutil.rmtree(tmp, ignore_errors=True)
        return f"onnxruntime.quantization failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    with open(os.path.join(tmp, "stamp"), "w") as f:
        f.write(want)
    shutil.rmtree(d, ignore_errors=True)
    os.rename(tmp, d)
    print(f"quantized {name} in {time.time() - t:.0f} s", file=sys.stderr)
    return None


def names():
    return [f"{b}_{v}" for b in BASES for v in VARIANTS]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=os.path.join(export_models.ROOT, "build", "models"))
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    bad = 0
    for name in args.only or names():
        err = ensure(args.cache, name, args.force)
        if err:
            print(f"{name}: {err}")
            bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
