#!/usr/bin/env python3
"""tests/gguf/make_q4k_golden.py — llama.cpp's q4_k quantization of the
quantizer test inputs (check_gguf.quant_inputs), the oracle of smelt's q4_k
quantizer (runtime/ggml_quant_k.c), written to tests/gguf/goldens/q4_k_quant.npz
and committed: gguf-py has no q4_k quantizer and CI has no llama.cpp.

llama.cpp's ggml_quantize_chunk (no importance matrix: quantize_row_q4_K_ref)
is called through ctypes from the llama-cpp-python install of
/work/llama-venv (see make_goldens.py for how that venv is built). The file
holds, per input label, the sha256 of the f32 input bytes (the test refuses
inputs that changed) and the raw q4_k blocks.

    .venv/bin/python tests/gguf/make_q4k_golden.py [LIBDIR]   (LIBDIR: llama_cpp/lib of /work/llama-venv)
"""
import ctypes
import glob
import hashlib
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from check_gguf import quant_inputs  # noqa: E402

GGML_TYPE_Q4_K = 12
BLOCK_BYTES = 144


def main():
    libdir = sys.argv[1] if len(sys.argv) > 1 else glob.glob(
        "/work/llama-venv/lib/python3*/site-packages/llama_cpp/lib")[0]
    lib = ctypes.CDLL(os.path.join(libdir, "libggml-base.so"))
    f = lib.ggml_quantize_chunk
    f.restype = ctypes.c_size_t
    f.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
                  ctypes.c_void_p]
    out = {}
    for label, x in quant_inputs():
        x = np.ascontiguousarray(x, np.float32)
        rows = x.size // 256
        q = np.zeros(rows * BLOCK_BYTES, np.uint8)
        n = f(GGML_TYPE_Q4_K, x.ctypes.data, q.ctypes.data, 0, rows, 256, None)
        assert n == q.size, (n, q.size)
        out[label] = q
        out[label + "_sha256"] = np.frombuffer(hashlib.sha256(x.tobytes()).hexdigest().encode(), np.uint8)
    path = os.path.join(HERE, "goldens", "q4_k_quant.npz")
    np.savez_compressed(path, **out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
