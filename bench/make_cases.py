"""Make ONNX cases (model.onnx + test_data_set_0 with numpy's outputs) for
timing contractions with `build/tests/test_cg_llvm --bench N DIR`.

    python bench/make_cases.py OUTDIR
writes OUTDIR/matmul_1024, matmul_2048, conv_64x56 (ResNet-50's 3x3 64->64
at 56x56, with bias and ReLU) and prints numpy/OpenBLAS single-thread
timings of the same products (run with OPENBLAS_NUM_THREADS=1).
"""
import os
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save(out, name, graph, inputs, outputs):
    d = os.path.join(out, name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, os.path.join(d, "model.onnx"))
    for i, x in enumerate(inputs):
        with open(os.path.join(d, "test_data_set_0", f"input_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(x).SerializeToString())
    for i, x in enumerate(outputs):
        with open(os.path.join(d, "test_data_set_0", f"output_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(x).SerializeToString())


def best(fn, n=5):
    t = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)


def matmul(out, n, rng):
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    g = helper.make_graph([helper.make_node("MatMul", ["A", "B"], ["Y"])], f"matmul{n}",
                          [helper.make_tensor_value_info("A", TensorProto.FLOAT, [n, n]),
                           helper.make_tensor_value_info("B", TensorProto.FLOAT, [n, n])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [n, n])])
    y = (a.astype(np.float64) @ b.astype(np.float64)).astype(np.float32)
    save(out, f"matmul_{n}", g, [a, b], [y])
    t = best(lambda: a @ b)
    print(f"numpy matmul {n}: {t * 1e3:.2f} ms, {2 * n ** 3 / t / 1e9:.1f} GFLOP/s")


def conv(out, rng):
    x = rng.standard_normal((1, 64, 56, 56), dtype=np.float32)
    w = (rng.standard_normal((64, 64, 3, 3), dtype=np.float32) * 0.05).astype(np.float32)
    bias = rng.standard_normal(64, dtype=np.float32)
    g = helper.make_graph([helper.make_node("Conv", ["X", "W", "B"], ["C"], pads=[1, 1, 1, 1]),
                           helper.make_node("Relu", ["C"], ["Y"])], "conv",
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 64, 56, 56])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 64, 56, 56])],
                          initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(bias, "B")])
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.stack([xp[0, :, i:i + 56, j:j + 56] for i in range(3) for j in range(3)], 1)  # ci, 9, 56, 56
    wm = w.astype(np.float64).reshape(64, 64 * 9)
    y = np.maximum(wm @ cols.reshape(64 * 9, 56 * 56) + bias[:, None], 0).reshape(1, 64, 56, 56)
    save(out, "conv_64x56", g, [x], [y.astype(np.float32)])
    c32 = cols.astype(np.float32).reshape(576, 3136)
    w32 = w.reshape(64, 576)
    t = best(lambda: w32 @ c32)
    print(f"numpy im2col-GEMM of the conv (64x576 @ 576x3136): {t * 1e3:.3f} ms, "
          f"{2 * 64 * 576 * 3136 / t / 1e9:.1f} GFLOP/s")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/smelt_bench"
    rng = np.random.default_rng(0)
    for n in (1024, 2048):
        matmul(out, n, rng)
    conv(out, rng)


if __name__ == "__main__":
    main()
