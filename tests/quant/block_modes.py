"""tests/quant/block_modes.py — the cases of `--quantize q8_0|q4_0|q4_k`
(weight-only ggml block formats through MatMulGGML / GatherGGML), run by
run_quant.py.

    blocks/small/MODE/TARGET  a small graph (Gather from a 50x256 table,
        MatMul K=256, Gemm transB K=96 with bias, MatMul K=80) with
        --quantize-all --quantize-min 0, on cpu (compiled artifact), interp
        and, where `smelt devices` lists one, vulkan (MatMulGGML's SPIR-V
        kernels, codegen/spirv/spv_ggml.c, multiply the dequantized weights
        with f32 activations, as llama.cpp's Vulkan backend does: its
        oracle below has no q8 activations). q8_0 / q4_0: against numpy over gguf-py's own
        quantization: the table and each weight (as rows [N, K]) quantized
        by gguf.quants.quantize and dequantized, the activations of each
        quantized contraction quantized to q8_0 as ggml's x86 code does
        (q8_activations; ggml multiplies q4_0 and q8_0 weights with q8_0
        activations), products in float64; within 1e-5 of the output's
        largest magnitude (the sums are float32 in smelt and ggml: ~3e-7
        relative seen). K=80 is no multiple of 32, so that
        MatMul stays float, and `quantize-report` must say why. q4_k: gguf-py
        has no q4_k quantizer (its bytes are checked against llama.cpp in
        tests/gguf); cosine with the float graph >= 0.99 and cpu, interp
        (and vulkan) within 1e-3 of each other (vulkan: plus what q8_K
        activations alone move the output, measured in numpy on the float
        weights, q8k_shift, as check_generate.py's gelu_f16_shift); K=96
        and K=80 stay float.
    blocks/bert_base/MODE     `smelt compile --quantize MODE` of BERT-base
        (default skip rules: first / last contraction and tables under 4096
        elements stay float), run, against the float outputs of onnxruntime:
        artifact size / model.onnx size and cosine per output within
        BOUNDS. q4_0 carries the issue's bound (<= 0.3x the float weights,
        cosine >= 0.98); the artifact holds every weight, so its size is
        compared with the model's. q8_0 (8.5 bits a weight: 0.266x at best):
        <= 0.29x, cosine >= 0.999 (each weight within 1/254 of its block's
        largest, ~30x finer than q4_0, whose loss is ~0.017). q4_k (4.5 bits,
        as q4_0): <= 0.2x, cosine >= 0.985 and at least q4_0's on the same
        output (the fitted per-sub-block scale and min of q4_k exist to
        lose less than q4_0's absmax scale).
"""
import os
import subprocess

import numpy as np

BLOCK_MODES = ["q8_0", "q4_0", "q4_k"]
# mode: (largest artifact / model.onnx size ratio, least cosine per output)
BOUNDS = {"q8_0": (0.29, 0.999), "q4_0": (0.30, 0.98), "q4_k": (0.20, 0.985)}
SMALL_ATOL_REL = 1e-5  # against the numpy oracle (q8_0, q4_0)
SMALL_SPREAD_REL = 1e-3  # q4_k: between targets
SMALL_MIN_COSINE = 0.99


def cosine(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


def make_small(path, rng):
    """The small graph and its float weights."""
    import onnx
    from onnx import TensorProto as T, helper as h, numpy_helper as nh
    w = {"E": rng.standard_normal((50, 256)), "W1": rng.standard_normal((256, 96)) / 16,
         "W2": rng.standard_normal((80, 96)) / 10, "b2": rng.standard_normal(80),
         "W3": rng.standard_normal((80, 64)) / 9}
    w = {k: v.astype(np.float32) for k, v in w.items()}
    nodes = [h.make_node("Gather", ["E", "ids"], ["e"], name="embed"),
             h.make_node("MatMul", ["e", "W1"], ["a"], name="mm1"),
             h.make_node("Gemm", ["a", "W2", "b2"], ["b"], name="gemm2", transB=1),
             h.make_node("MatMul", ["b", "W3"], ["y"], name="mm3")]
    g = h.make_graph(nodes, "blocks", [h.make_tensor_value_info("ids", T.INT64, [5])],
                     [h.make_tensor_value_info("y", T.FLOAT, [5, 64])],
                     [nh.from_array(v, k) for k, v in w.items()])
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]), path)
    return w


def gguf_round(a, qt):
    """a (rows of a multiple of the block) quantized by gguf-py and back."""
    import gguf
    return gguf.quants.dequantize(gguf.quants.quantize(np.ascontiguousarray(a, np.float32), qt), qt).astype(np.float64)


def q8_activations(x):
    """x quantized per block of 32 as ggml's x86 quantize_row_q8_0 does (d =
    amax / 127 stored as f16, q = round half to even of x * (127 / amax), in
    f32) and back. Not gguf-py's q8_0, which multiplies by 1 / d: the values
    after a q4_0 table sit on a grid where x * 127 / amax is often an exact
    tie, and the two roundings then differ."""
    b = np.asarray(x, np.float32).reshape(-1, 32)
    amax = np.abs(b).max(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        iscale = np.where(amax > 0, np.float32(127) / amax, np.float32(0)).astype(np.float32)
    q = np.rint(b * iscale)
    d = (amax / np.float32(127)).astype(np.float16).astype(np.float64)
    return (q * d).reshape(np.shape(x))


def q8k_activations(x):
    """x quantized per block of 256 as ggml's quantize_row_q8_K does (the
    signed value of largest magnitude m, iscale = -127 / m, q = round(iscale
    x) at most 127, x = q / iscale) and back."""
    b = np.asarray(x, np.float32).reshape(-1, 256)
    m = b[np.arange(len(b)), np.abs(b).argmax(axis=1)][:, None]
    with np.errstate(divide="ignore"):
        iscale = np.where(m != 0, np.float32(-127) / m, np.float32(0)).astype(np.float32)
    q = np.minimum(np.rint(b * iscale), 127)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(iscale != 0, q / iscale, 0).reshape(np.shape(x)).astype(np.float64)


def q8k_shift(w, ids):
    """How far q8_K activations alone move the small graph's output under
    q4_k (mm1, K=256, is the one quantized contraction), on the float weights."""
    e = w["E"][ids].astype(np.float64)
    da = (q8k_activations(e) - e) @ w["W1"]
    return float(np.abs((da @ w["W2"].T) @ w["W3"]).max())


def small_want(w, ids, mode, q8=True):
    """The small graph as ggml computes it, over gguf-py's quantization
    (q8: activations quantized as ggml's CPU code does; else f32)."""
    import gguf
    qt = {"q8_0": gguf.GGMLQuantizationType.Q8_0, "q4_0": gguf.GGMLQuantizationType.Q4_0}[mode]
    act = q8_activations if q8 else (lambda x: x)
    e = gguf_round(w["E"], qt)[ids]
    a = act(e) @ gguf_round(w["W1"].T, qt).T
    b = act(a) @ gguf_round(w["W2"], qt).T + w["b2"]
    return b @ w["W3"].astype(np.float64)  # K=80: float


def small_case(exe, mode, targets, tmp, run_smelt, log):
    rng = np.random.default_rng(7)
    model = os.path.join(tmp, "small.onnx")
    w = make_small(model, rng)
    ids = np.array([3, 0, 49, 17, 3], np.int64)
    np.save(os.path.join(tmp, "ids.npy"), ids)
    extra = ["--quantize", mode, "--quantize-all", "--quantize-min", "0"]
    got = {}
    for target in targets:
        out = os.path.join(tmp, "out_" + target)
        err = run_smelt(exe, model, {"ids": os.path.join(tmp, "ids.npy")}, out, target, tmp, extra)
        if err:
            return f"{target}: {err}"
        got[target] = np.load(os.path.join(out, "y.npy")).astype(np.float64)
    rep = subprocess.run([exe, "quantize-report", model, "--mode", mode, "-i", tmp, *extra[2:]],
                         capture_output=True, text=True)
    kept = [line.strip() for line in rep.stdout.splitlines() if "kept float:" in line]
    want_kept = ["mm3: K is no multiple of 32"] if mode != "q4_k" else \
        ["gemm2: K is no multiple of 256", "mm3: K is no multiple of 256"]
    if rep.returncode or [k.split("kept float: ")[1] for k in kept] != want_kept:
        return f"quantize-report says {kept or rep.stderr.strip()[:200]}, expected {want_kept}"
    ref = got[targets[0]]
    if mode != "q4_k":
        for t, y in got.items():
            want = small_want(w, ids, mode, q8=t != "vulkan")
            tol = SMALL_ATOL_REL * np.abs(want).max()
            err = np.abs(y - want).max()
            log(f"    {t}: max abs error vs gguf-py + numpy {err:.3g} (bound {tol:.3g})")
            if err > tol:
                return f"{t}: max abs error {err:.3g} > {tol:.3g}"
        return None
    f = ((w["E"][ids].astype(np.float64) @ w["W1"]) @ w["W2"].T + w["b2"]) @ w["W3"]
    tol = SMALL_SPREAD_REL * np.abs(ref).max()
    for t, y in got.items():
        c, spread = cosine(y, f), np.abs(y - ref).max()
        tol_t = tol + (q8k_shift(w, ids) if t == "vulkan" else 0.0)
        log(f"    {t}: cosine with float {c:.6f}, max abs difference from {targets[0]} {spread:.3g} (bound {tol_t:.3g})")
        if c < SMALL_MIN_COSINE or spread > tol_t:
            return f"{t}: cosine {c:.6f} (bound {SMALL_MIN_COSINE}) or spread {spread:.3g} (bound {tol_t:.3g})"
    return None


def vulkan_available(exe):
    r = subprocess.run([exe, "devices"], capture_output=True, text=True)
    return r.returncode == 0 and any(line.startswith("0:") for line in r.stdout.splitlines())


def bert_case(exe, cache, mode, tmp, load_case, output_file, run_smelt, log, cosines):
    """cosines: {(mode, output): cosine} of the modes run so far (q4_k is
    compared with q4_0's)."""
    model, inputs, outputs = load_case(cache, "bert_base")
    outdir = os.path.join(tmp, "out")
    err = run_smelt(exe, model, dict(inputs), outdir, "cpu", tmp, ["--quantize", mode])
    if err:
        return err
    ratio = os.path.getsize(os.path.join(tmp, "model.so")) / os.path.getsize(model)
    max_ratio, min_cos = BOUNDS[mode]
    log(f"    size: artifact / model.onnx {ratio:.3f} (bound {max_ratio})")
    if ratio > max_ratio:
        return f"artifact {ratio:.3f}x the model, expected <= {max_ratio}"
    for n, fp32_path in outputs:
        c = cosine(np.load(output_file(outdir, n)), np.load(fp32_path))
        cosines[(mode, n)] = c
        log(f"    {n}: cosine with onnxruntime f32 {c:.6f} (bound {min_cos})")
        if c < min_cos:
            return f"output '{n}': cosine {c:.6f} below {min_cos}"
        if mode == "q4_k" and ("q4_0", n) in cosines and c < cosines[("q4_0", n)]:
            return f"output '{n}': q4_k cosine {c:.6f} below q4_0's {cosines[('q4_0', n)]:.6f}"
    return None
