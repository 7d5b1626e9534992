"""tests/models/half_ref.py — the oracle of the --precision cases of
run_models.py: onnxruntime (float32) on the model with every float32
weight rounded to f16 or bf16 (numpy's rounding; f16 saturating at its
largest finite value, as smelt's --precision does, so that a mask constant
of -3.4e38 stays finite).

What it separates: in half precision a model's output moves by the
rounding of its weights and by the rounding of its activations. The first
is what this reference computes, independently of smelt; the second is of
the same order (one rounding to the half's unit roundoff per stored
tensor, as for the weights) and model-dependent (random-weight ResNet-50
amplifies it to a few percent of its largest logit, BERT to tenths of a
percent). run_models.py therefore accepts a half-precision output when
its distance to this reference is within ACT_FACTOR times the distance of
this reference to the float32 one, plus FLOOR units of the half's
roundoff of the largest output (a kernel reading the wrong element or
losing the f32 accumulation is off by the size of the output itself).
"""
import numpy as np

# the activations' rounding may move the output up to this many times as far
# as the weights' rounding does (measured: 0.9x to 2.3x on four of the models, GPT-2 the most)
ACT_FACTOR = 3.0
# plus this many unit roundoffs of the largest |output|
FLOOR = 4
UNIT = {"f16": 2.0 ** -11, "bf16": 2.0 ** -8}


def rounded(x, half):
    x = np.asarray(x, np.float32)
    if half == "f16":
        return np.clip(x, -65504, 65504).astype(np.float16).astype(np.float32)
    b = x.view(np.uint32).astype(np.uint64)
    r = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) << 16  # to nearest even
    r = np.where(np.isnan(x), b | 0x400000, r)
    return (r & 0xFFFFFFFF).astype(np.uint32).view(np.float32)


def outputs(model_path, feeds, out_names, half):
    """onnxruntime's outputs of model_path with its float32 initializers and
    Constant tensors rounded to `half` ("f16" or "bf16")."""
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    m = onnx.load(model_path)
    tensors = list(m.graph.initializer)
    for n in m.graph.node:
        if n.op_type == "Constant":
            tensors += [a.t for a in n.attribute if a.name == "value"]
    for t in tensors:
        if t.data_type == onnx.TensorProto.FLOAT:
            t.CopyFrom(numpy_helper.from_array(rounded(numpy_helper.to_array(t), half), t.name))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return dict(zip(out_names, sess.run(out_names, feeds)))


def check(name, got, ref_w, ref32, half):
    """None when got (smelt's half-precision output) is within the bound of
    the module docstring, else the reason."""
    g, w, r = (np.asarray(a, np.float64) for a in (got, ref_w, ref32))
    if g.shape != r.shape:
        return f"output '{name}': shape {g.shape}, expected {r.shape}"
    scale = float(np.abs(r).max()) if r.size else 0.0
    bound = ACT_FACTOR * float(np.abs(w - r).max(initial=0)) + FLOOR * UNIT[half] * scale
    err = np.abs(g - w)
    err[np.isnan(err)] = np.inf
    worst = float(err.max(initial=0))
    if worst > bound:
        i = np.unravel_index(int(np.argmax(err)), err.shape)
        return (f"output '{name}': {half} off by {worst:.3g} (bound {bound:.3g}; at {list(i)}: "
                f"{g[i]:.6g}, weight-rounded reference {w[i]:.6g})")
    return None
