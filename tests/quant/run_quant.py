"""tests/quant/run_quant.py — onnxruntime-quantized models through smelt, against onnxruntime.

The models are those of make_quantized.py (ResNet-50 and BERT-base in QDQ,
QOperator and dynamic-quantization form, made by onnxruntime.quantization
and made first where missing). Cases per model:

    nodes/NAME/TARGET  every integer step of the model, fed onnxruntime's own
                       values of its inputs (one graph holding them all, so
                       one compile): each QuantizeLinear, QLinearConv,
                       QLinearMatMul, MatMulInteger, ConvInteger and
                       DynamicQuantizeLinear node, and each QDQ group
                       (DequantizeLinear -> Conv / MatMul -> QuantizeLinear,
                       which smelt fuses into one integer kernel as
                       onnxruntime does). Quantized outputs within 1 unit of
                       onnxruntime's, i32 sums equal, float outputs (dynamic
                       scales) within 1e-6 relative. The number of
                       quantized elements that are not bit-equal is printed.
    modes/BASE/MODE    `smelt compile --quantize MODE` of the float model
                       (cpu): f16 / bf16 (all contraction weights, with
                       --quantize-all --quantize-min 0) against onnxruntime
                       running the model whose weights numpy rounded to
                       f16 / bf16 (rtol 1e-3, atol 1e-4 of the output's
                       magnitude); int8 against the float outputs: BERT
                       cosine >= 0.99 on every output, ResNet-50 cosine at
                       least onnxruntime's own dynamic quantization's minus
                       0.01 (the test ResNet has random weights: untrained,
                       its logits move far under any 8-bit quantization, so
                       top-1 agreement is printed, not bounded); artifact at
                       least SIZE_RATIO smaller.
    model/NAME/TARGET  the whole model on the fixed input: each float output's
                       max abs error against onnxruntime (default graph
                       optimizations) at most twice onnxruntime's own
                       spread: the larger of its disagreement between
                       optimization levels (the same model run with
                       ORT_DISABLE_ALL, which executes the QDQ and integer
                       groups unfused) and of the change when the scales of
                       the float LayerNormalizations move one ulp (float
                       noise at the ulp level, as two implementations of a
                       float op have); and at least 1e-4 of the output's
                       largest magnitude; cosine similarity >= 0.99.

    blocks/...         `--quantize q8_0|q4_0|q4_k` (ggml block formats,
                       weight only): see block_modes.py for the cases
                       and their bounds.

TARGET is cpu (`smelt compile`, then the artifact is run) or interp (the
reference interpreter; ResNet-50's node cases only unless --all-interp, to
keep the suite within a few minutes). Why whole-model bounds are looser than one unit:
where a float op (LayerNormalization, Softmax, Erf, Add) computes a value
an ulp away from onnxruntime's, the next QuantizeLinear may round it to the
neighbouring step; the node cases show that each integer step agrees, and
BERT's twelve layers of random weights then amplify such a step. ResNet-50
matches to float rounding.

    .venv/bin/python tests/quant/run_quant.py [--smelt build/smelt] [--cache build/models]
        [--only NAME] [--targets cpu,interp]

The last line is `quant: N passed, N failed`.
"""
import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import block_modes  # noqa: E402
import make_quantized  # noqa: E402
from make_quantized import export_models  # noqa: E402

ROOT = export_models.ROOT
INT_OPS = {"QuantizeLinear", "QLinearConv", "QLinearMatMul", "MatMulInteger", "ConvInteger", "DynamicQuantizeLinear"}
GROUP_OPS = {"DequantizeLinear", "Conv", "MatMul"}  # members of a QDQ group, walked back from its QuantizeLinear
MIN_COSINE = 0.99
FLOOR_REL = 1e-4   # the least whole-model bound, relative to the output's largest magnitude
SPREAD_FACTOR = 2  # times onnxruntime's disagreement with itself
MAX_INPUTS = 200   # smelt run takes at most 256 inputs: the node graph is split
TIMEOUT_S = 600


def log(msg):
    print(msg, flush=True)


def smelt(args, timeout=TIMEOUT_S):
    t = time.time()
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout} s", time.time() - t
    if r.returncode != 0:
        lines = [l for l in r.stderr.strip().splitlines() if l.strip()] or [f"exit {r.returncode}"]
        return lines[0][:300], time.time() - t
    return None, time.time() - t


def run_smelt(exe, model, feeds, outdir, target, tmp, extra=()):
    """Runs model on feeds ({name: file}) into outdir; None or an error."""
    ins = [a for n, f in feeds.items() for a in ("-i", f"{n}={f}")]
    if target == "cpu":
        so = os.path.join(tmp, "model.so")
        err, _ = smelt([exe, "compile", model, "-o", so, *extra])
        if err:
            return "compile: " + err
        err, _ = smelt([exe, "run", so, *ins, "-o", outdir])
    else:
        err, _ = smelt([exe, "run", model, "--target", target, "--no-specialize", *extra, *ins, "-o", outdir])
    return err


def clean(name):
    return "".join("_" if c in "/\\:" or ord(c) < 32 else c for c in name)


# ---------------------------------------------------------------- node cases

def node_groups(model):
    """[(outputs, nodes, inputs)] per integer step: the node (or the QDQ
    group ending in it), the tensors it produces, the activations it reads."""
    import onnx
    inits = {i.name for i in model.graph.initializer}
    prod = {o: n for n in model.graph.node for o in n.output}
    groups = []
    for n in model.graph.node:
        if n.op_type not in INT_OPS:
            continue
        members, inputs, todo = [n], [], list(n.input)
        if n.op_type == "QuantizeLinear" and n.input[0] in prod and prod[n.input[0]].op_type in ("Conv", "MatMul"):
            todo = list(n.input[1:])
            c = prod[n.input[0]]
            members.insert(0, c)
            for i in c.input:
                if i in prod and prod[i].op_type == "DequantizeLinear":
                    members.insert(0, prod[i])
                    todo += list(prod[i].input)
                else:
                    todo.append(i)
        for i in todo:
            if i and i not in inits and i not in inputs:
                if i in prod and prod[i].op_type == "Constant":
                    members.insert(0, prod[i])
                else:
                    inputs.append(i)
        groups.append(([o for o in n.output if o], members, inputs))
    del onnx
    return groups


def build_nodes_model(path, groups, out_path):
    """One graph with every group, each reading its activations as graph
    inputs g<k>_NAME and writing g<k>_NAME outputs. Returns the list of
    (graph input, original tensor) and (graph output, original tensor)."""
    import onnx
    from onnx import helper
    model = onnx.load(path)
    inits = {i.name for i in model.graph.initializer}
    nodes, ins, outs = [], [], []
    for k, (gouts, members, ginputs) in enumerate(groups):
        local = {}
        for m in members:
            for o in m.output:
                if o:
                    local[o] = f"g{k}_{o}"
        for i in ginputs:
            local[i] = f"g{k}_{i}"
            ins.append((local[i], i))
        for m in members:
            c = onnx.NodeProto()
            c.CopyFrom(m)
            c.name = f"g{k}_{m.name}"
            c.input[:] = [local.get(i, i) if i not in inits else i for i in m.input]
            c.output[:] = [local.get(o, o) for o in m.output]
            nodes.append(c)
        outs += [(local[o], o) for o in gouts]
    g = helper.make_graph(nodes, "quant_nodes", [helper.make_empty_tensor_value_info(n) for n, _ in ins],
                          [helper.make_empty_tensor_value_info(n) for n, _ in outs], list(model.graph.initializer))
    m = helper.make_model(g, opset_imports=model.opset_import, ir_version=model.ir_version)
    onnx.save(m, out_path)
    return ins, outs


def intermediates(path, feeds, names):
    """onnxruntime's values of the named tensors of the full model."""
    import onnx
    import onnxruntime as ort
    model = onnx.load(path)
    have = {o.name for o in model.graph.output}
    for n in names:
        if n not in have:
            model.graph.output.append(onnx.ValueInfoProto(name=n))
            have.add(n)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return dict(zip(names, sess.run(names, feeds)))


def typed_inputs(model_path, ins, values):
    """Sets each graph input's type from its value (the importer needs it)."""
    import onnx
    from onnx import helper
    m = onnx.load(model_path)
    m.graph.ClearField("input")
    for n, orig in ins:
        v = values[orig]
        m.graph.input.append(helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape))
    onnx.save(m, model_path)


def compare_quant(got, want):
    """(error or None, count of non-equal elements)."""
    if got.dtype != want.dtype or got.shape != want.shape:
        return f"{got.dtype}{list(got.shape)}, expected {want.dtype}{list(want.shape)}", 0
    if want.dtype.kind == "f":
        bad = ~np.isclose(got, want, rtol=1e-6, atol=0)
        return (f"{int(bad.sum())} values differ" if bad.any() else None), int(bad.sum())
    diff = np.abs(got.astype(np.int64) - want.astype(np.int64))
    limit = 0 if want.dtype == np.int32 else 1
    if diff.max(initial=0) > limit:
        return f"{int((diff > limit).sum())} of {want.size} elements off by more than {limit} (max {diff.max()})", 0
    return None, int((diff > 0).sum())


def node_case(exe, d, target, tmp):
    """None or an error; prints the statistics."""
    import onnx
    model_path = os.path.join(d, "model.onnx")
    model = onnx.load(model_path, load_external_data=False)
    groups = node_groups(model)
    meta_ins = [i.name for i in model.graph.input if i.name not in {x.name for x in model.graph.initializer}]
    feeds = {n: np.load(os.path.join(d, "inputs", n + ".npy")) for n in meta_ins}
    chunks, cur, n_in = [], [], 0
    for grp in groups:
        if cur and n_in + len(grp[2]) > MAX_INPUTS:
            chunks.append(cur)
            cur, n_in = [], 0
        cur.append(grp)
        n_in += len(grp[2])
    chunks.append(cur)
    need = sorted({i for grp in groups for i in grp[2]} | {o for grp in groups for o in grp[0]})
    values = intermediates(model_path, feeds, need)
    off, total, n_outs, worst = 0, 0, 0, None
    for c, chunk in enumerate(chunks):
        nodes_path = os.path.join(tmp, f"nodes{c}.onnx")
        ins, outs = build_nodes_model(model_path, chunk, nodes_path)
        typed_inputs(nodes_path, ins, values)
        files = {}
        for n, orig in ins:
            files[n] = os.path.join(tmp, f"in{len(files)}.npy")
            np.save(files[n], values[orig])
        outdir = os.path.join(tmp, f"out{c}")
        err = run_smelt(exe, nodes_path, files, outdir, target, tmp)
        if err:
            return err
        for n, orig in outs:
            got = np.load(os.path.join(outdir, clean(n) + ".npy"))
            e, k = compare_quant(got, values[orig])
            if e and worst is None:
                worst = f"'{orig}': {e}"
            off += k
            total += values[orig].size
        n_outs += len(outs)
    log(f"    {len(groups)} integer steps, {n_outs} outputs in {len(chunks)} graphs: "
        f"{off} of {total} elements not bit-equal")
    return worst


# ---------------------------------------------------------------- model cases

def unoptimized(model, inputs, names):
    """onnxruntime's outputs with graph optimizations off."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    return dict(zip(names, sess.run(names, {n: np.load(f) for n, f in inputs})))


def ulp_nudged(model, inputs, names, tmp):
    """onnxruntime's outputs when the f32 scale of every LayerNormalization
    moves up one ulp: how far float noise at the ulp level in a float op
    carries through this model's quantization steps."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(model)
    scales = {n.input[1] for n in m.graph.node if n.op_type == "LayerNormalization" and len(n.input) > 1}
    for init in m.graph.initializer:
        if init.name in scales and init.data_type == onnx.TensorProto.FLOAT:
            a = numpy_helper.to_array(init)
            init.CopyFrom(numpy_helper.from_array(np.nextafter(a, np.float32(np.inf)).astype(np.float32), init.name))
    path = os.path.join(tmp, "nudged.onnx")
    onnx.save(m, path)
    return ort_run(path, inputs, names)


def model_case(exe, d, target, tmp):
    model, inputs, outputs = export_models.load_case(os.path.dirname(d), os.path.basename(d))
    outdir = os.path.join(tmp, "out")
    err = run_smelt(exe, model, dict(inputs), outdir, target, tmp)
    if err:
        return err
    plain = unoptimized(model, inputs, [n for n, _ in outputs])
    nudged = ulp_nudged(model, inputs, [n for n, _ in outputs], tmp)
    for n, want_path in outputs:
        want = np.load(want_path).astype(np.float64)
        got = np.load(export_models.output_file(outdir, n)).astype(np.float64)
        if got.shape != want.shape:
            return f"output '{n}': shape {got.shape}, expected {want.shape}"
        spread = max(np.abs(plain[n].astype(np.float64) - want).max(), np.abs(nudged[n].astype(np.float64) - want).max())
        bound = max(FLOOR_REL * np.abs(want).max(), SPREAD_FACTOR * spread)
        err = np.abs(got - want).max()
        cos = float(got.ravel() @ want.ravel() / (np.linalg.norm(got) * np.linalg.norm(want) + 1e-30))
        log(f"    {n}: max abs error {err:.3g} (onnxruntime's own spread {spread:.3g}, bound {bound:.3g}), "
            f"cosine {cos:.6f}")
        if not (err <= bound and cos >= MIN_COSINE):
            return f"output '{n}': max abs error {err:.3g} (bound {bound:.3g}), cosine {cos:.6f}"
    return None


# ---------------------------------------------------------------- --quantize modes

MODES = ["f16", "bf16", "int8"]
# int8: the least size ratio model.onnx / artifact (first / last contraction and
# the embeddings stay f32); f16 / bf16: every contraction weight halves, so
# the artifact is at most SIZE_SLACK times the model less half those weights
SIZE_RATIO = {"resnet50": 3.0, "bert_base": 2.2}
SIZE_SLACK = 1.03


def round_half(a, mode):
    """f32 array rounded to f16 / bf16 (nearest even) and back."""
    a = np.asarray(a, np.float32)
    if mode == "f16":
        return a.astype(np.float16).astype(np.float32)
    u = a.view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    return u.astype(np.uint32).view(np.float32)


def half_weights_model(path, mode, out_path):
    """The model with the f32 weight initializer of every Conv / MatMul / Gemm
    rounded; returns the bytes of those weights."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    weights = {n.input[1] for n in m.graph.node if n.op_type in ("Conv", "MatMul", "Gemm") and len(n.input) > 1}
    total = 0
    for init in m.graph.initializer:
        if init.name in weights and init.data_type == onnx.TensorProto.FLOAT:
            a = numpy_helper.to_array(init)
            total += a.nbytes
            init.CopyFrom(numpy_helper.from_array(round_half(a, mode), init.name))
    onnx.save(m, out_path)
    return total


def ort_run(path, inputs, names):
    import onnxruntime as ort
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return dict(zip(names, sess.run(names, {n: np.load(f) for n, f in inputs})))


def cosine(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


def mode_case(exe, cache, base, mode, tmp):
    model, inputs, outputs = export_models.load_case(cache, base)
    outdir = os.path.join(tmp, "out")
    extra = ["--quantize", mode] + (["--quantize-all", "--quantize-min", "0"] if mode != "int8" else [])
    err = run_smelt(exe, model, dict(inputs), outdir, "cpu", tmp, extra)
    if err:
        return err
    size_q = os.path.getsize(os.path.join(tmp, "model.so"))
    size_f = sum(os.path.getsize(os.path.join(os.path.dirname(model), f)) for f in os.listdir(os.path.dirname(model))
                 if f.endswith(".onnx"))
    names = [n for n, _ in outputs]
    if mode != "int8":
        ref_path = os.path.join(tmp, "rounded.onnx")
        weight_bytes = half_weights_model(model, mode, ref_path)
        want = ort_run(ref_path, inputs, names)
    dyn = None
    if mode == "int8":
        make_quantized.ensure(cache, base + "_dyn")
        _, _, dyn_outs = export_models.load_case(cache, base + "_dyn")
        dyn = dict((n, np.load(f)) for n, f in dyn_outs)
    for n, fp32_path in outputs:
        got = np.load(export_models.output_file(outdir, n))
        fp32 = np.load(fp32_path)
        c = cosine(got, fp32)
        top1 = ""
        if got.ndim >= 2 and got.shape[-1] >= 2:
            top1 = f", top-1 agreement with f32 {np.mean(got.reshape(-1, got.shape[-1]).argmax(-1) == fp32.reshape(-1, fp32.shape[-1]).argmax(-1)):.3f}"
        if mode != "int8":
            w = want[n]
            bad = ~np.isclose(got, w, rtol=1e-3, atol=1e-4 * np.abs(w).max())
            log(f"    {n}: max abs error vs onnxruntime on rounded weights {np.abs(got - w).max():.3g}, "
                f"cosine with f32 {c:.6f}{top1}")
            if bad.any():
                return f"output '{n}': {int(bad.sum())} of {w.size} values differ from onnxruntime on rounded weights"
        else:
            c_ort = cosine(dyn[n], fp32)
            bound = 0.99 if base == "bert_base" else c_ort - 0.01
            log(f"    {n}: cosine with f32 {c:.6f} (onnxruntime quantize_dynamic: {c_ort:.6f}; bound {bound:.4f}), "
                f"max abs error {np.abs(got.astype(np.float64) - fp32).max():.3g}{top1}")
            if c < bound:
                return f"output '{n}': cosine {c:.6f} below {bound:.4f}"
    ratio = size_f / size_q
    log(f"    size: model.onnx {size_f / 1e6:.1f} MB, artifact {size_q / 1e6:.1f} MB ({ratio:.2f}x smaller)")
    if mode == "int8" and ratio < SIZE_RATIO[base]:
        return f"artifact only {ratio:.2f}x smaller than the model (expected >= {SIZE_RATIO[base]})"
    if mode != "int8" and size_q > SIZE_SLACK * (size_f - weight_bytes / 2):
        return f"artifact {size_q} bytes, expected at most {SIZE_SLACK} x {size_f - weight_bytes // 2}"
    return None


def run_case(cid, err, fn):
    """Runs fn(tmp folder) unless err; prints PASS / FAIL; True when it passed."""
    t = time.time()
    tmp = tempfile.mkdtemp(prefix="smelt-quant-")
    log(f"{cid}:")
    try:
        e = err or fn(tmp)
    except Exception as ex:  # a broken oracle is a failure, not a crash
        e = f"{type(ex).__name__}: {ex}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"FAIL {cid}: {e} ({time.time() - t:.0f} s)" if e else f"PASS {cid} ({time.time() - t:.0f} s)")
    return not e


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smelt", default=os.path.join(ROOT, "build", "smelt"))
    ap.add_argument("--cache", default=os.path.join(ROOT, "build", "models"))
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--targets", default="cpu,interp")
    ap.add_argument("--all-interp", action="store_true",
                    help="every case on the interpreter too (by default only ResNet-50's node cases run there)")
    ap.add_argument("--kinds", default="nodes,model,modes,blocks")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("-j", type=int, default=os.cpu_count() or 2, help="cases run side by side")
    args = ap.parse_args()
    # chains of cases: a chain runs in order (blocks/bert_base/q4_k compares
    # with q4_0's cosines), the chains run side by side on the machine's cores
    # (the models are made first, here, so no two cases make one)
    chains = []
    kinds = args.kinds.split(",")
    for base in make_quantized.BASES if "modes" in kinds else []:
        if args.only and not any(o.startswith(base) for o in args.only):
            continue
        err = export_models.ensure(args.cache, base)
        for mode in args.modes.split(","):
            chains.append([(f"modes/{base}/{mode}", err,
                            lambda tmp, base=base, mode=mode: mode_case(args.smelt, args.cache, base, mode, tmp))])
    if "blocks" in kinds:
        targets = ["cpu", "interp"] + (["vulkan"] if block_modes.vulkan_available(args.smelt) else [])
        cosines = {}
        bert_chain = []
        for mode in block_modes.BLOCK_MODES:
            if not args.only or "small" in args.only:
                chains.append([(f"blocks/small/{mode}", None, lambda tmp, mode=mode: block_modes.small_case(
                    args.smelt, mode, targets, tmp, run_smelt, log))])
            if not args.only or "bert_base" in args.only:
                bert_chain.append((f"blocks/bert_base/{mode}", export_models.ensure(args.cache, "bert_base"),
                                   lambda tmp, mode=mode: block_modes.bert_case(
                                       args.smelt, args.cache, mode, tmp, export_models.load_case,
                                       export_models.output_file, run_smelt, log, cosines)))
        if bert_chain:
            chains.append(bert_chain)
    for name in [n for n in (args.only or make_quantized.names()) if n not in make_quantized.BASES + ["small"]]:
        err = make_quantized.ensure(args.cache, name)
        d = os.path.join(args.cache, name)
        for kind in [k for k in kinds if k not in ("modes", "blocks")]:
            interp_ok = args.all_interp or (kind == "nodes" and "bert" not in name)
            for target in [t for t in args.targets.split(",") if t != "interp" or interp_ok]:
                case = node_case if kind == "nodes" else model_case
                chains.append([(f"{kind}/{name}/{target}", err,
                                lambda tmp, case=case, d=d, target=target: case(args.smelt, d, target, tmp))])
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.j) as pool:
        results = [ok for oks in pool.map(lambda chain: [run_case(*c) for c in chain], chains) for ok in oks]
    passed, failed = results.count(True), results.count(False)
    print(f"quant: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
