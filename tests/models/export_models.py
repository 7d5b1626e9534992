"""tests/models/export_models.py — real exported models and their reference outputs.

Builds five well-known models with fixed random weights (torch.manual_seed;
nothing is downloaded): torchvision's ResNet-50, MobileNetV2 and ViT-B/16,
and Hugging Face's BERT-base and GPT-2 (with its LM head) made from their
default configs. Each is exported with torch.onnx at opset 17 with a dynamic
batch (and sequence, for the text models) axis, and written with a fixed
input and onnxruntime's outputs into the cache folder:

    CACHE/NAME/model.onnx
    CACHE/NAME/inputs/INPUT.npy       one per graph input, named as in the graph
    CACHE/NAME/expected/OUTPUT.npy    onnxruntime's outputs, in graph order
    CACHE/NAME/stamp                  what made them (this file's hash, versions)

The inputs are small where the reference interpreter is slow (64x64 images,
ViT at 32x32 with its B/16 width and depth, 16 tokens) but the architectures
are the real ones. BatchNorm statistics are calibrated on random images in
training mode, so that activations have the scale of a trained network.

The script runs in two interpreters: the driver (in .venv, with onnxruntime)
calls itself with --export in .venv-torch (Debian's torch 1.13 and
torchvision 0.14, transformers from PyPI; see tools/deps.sh) for each model
whose cache entry is missing or was made by another version of this file.

    .venv/bin/python tests/models/export_models.py [--cache build/models] [--only NAME] [--force]
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TORCH_PYTHON = os.path.join(ROOT, ".venv-torch", "bin", "python")
OPSET = 17
# bench/run.py exports the same models at benchmark sizes into another cache
# by setting these (the stamp records them)
SEQ = int(os.environ.get("SMELT_EXPORT_SEQ", 16))
IMAGE = int(os.environ.get("SMELT_EXPORT_IMAGE", 64))
VIT_SIZE = 32
MODELS = ["mobilenet_v2", "resnet50", "vit_b_16", "bert_base", "gpt2"]


# ---------------------------------------------------------------- export side
# (runs in .venv-torch; imports torch lazily so that the driver needs none)

def calibrate_batchnorm(torch, model, shape):
    """Random affine BatchNorm parameters and running statistics measured on
    random inputs, as a trained network would have."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    if not bns:
        return
    with torch.no_grad():
        for bn in bns:
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.normal_(0.0, 0.1)
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the calibration batches
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(8, *shape[1:]))
    model.eval()


def jitter_constant_parameters(torch, model):
    """Parameters that their initializer filled with one value (zero biases,
    LayerNorm weights of one, ViT's class token) get noise, so that a bias
    or scale applied to the wrong axis shows in the output."""
    with torch.no_grad():
        for p in model.parameters():
            if p.numel() > 1 and bool((p == p.reshape(-1)[0]).all()):
                p.add_(torch.randn_like(p) * 0.05)


def build_vision(name):
    import torch
    import torchvision

    if name == "resnet50":
        model, shape = torchvision.models.resnet50(weights=None), (1, 3, IMAGE, IMAGE)
    elif name == "mobilenet_v2":
        model, shape = torchvision.models.mobilenet_v2(weights=None), (1, 3, IMAGE, IMAGE)
    elif name == "vit_b_16":
        # B/16 width and depth (768 wide, 12 layers, 12 heads), 32x32 images: 4 patches + class token
        model, shape = torchvision.models.vit_b_16(weights=None, image_size=VIT_SIZE), (1, 3, VIT_SIZE, VIT_SIZE)
    else:
        raise KeyError(name)
    calibrate_batchnorm(torch, model, shape)
    image = torch.randn(*shape)
    return model, {"image": image}, ["logits"], {"image": {0: "batch"}, "logits": {0: "batch"}}


def build_text(name):
    import torch
    import transformers

    ids = torch.randint(0, 1000, (1, SEQ), dtype=torch.int64)
    mask = torch.ones(1, SEQ, dtype=torch.int64)
    mask[0, -2:] = 0  # two padding positions: the mask path matters
    axes = {"batch": 0, "seq": 1}
    if name == "bert_base":
        config = transformers.BertConfig()  # bert-base-uncased: 12 layers, 768 wide, 12 heads
        model = transformers.BertModel(config, add_pooling_layer=True)
        types = torch.zeros(1, SEQ, dtype=torch.int64)
        types[0, SEQ // 2:] = 1
        inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        outputs = ["last_hidden_state", "pooler_output"]

        class Wrap(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, input_ids, attention_mask, token_type_ids):
                o = self.m(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids, return_dict=False)
                return o[0], o[1]
    elif name == "gpt2":
        config = transformers.GPT2Config(use_cache=False)  # gpt2: 12 layers, 768 wide, 12 heads
        model = transformers.GPT2LMHeadModel(config)
        inputs = {"input_ids": ids, "attention_mask": mask}
        outputs = ["logits"]

        class Wrap(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, input_ids, attention_mask):
                return self.m(input_ids=input_ids, attention_mask=attention_mask,
                              use_cache=False, return_dict=False)[0]
    else:
        raise KeyError(name)
    model.eval()
    dyn = {k: {0: "batch", 1: "seq"} for k in inputs}
    for o in outputs:
        dyn[o] = {0: "batch", 1: "seq"} if o != "pooler_output" else {0: "batch"}
    return Wrap(model).eval(), inputs, outputs, dyn


def export(name, outdir):
    import numpy as np
    import torch

    torch.manual_seed(0)
    build = build_text if name in ("bert_base", "gpt2") else build_vision
    model, inputs, outputs, dyn = build(name)
    jitter_constant_parameters(torch, model)
    os.makedirs(os.path.join(outdir, "inputs"), exist_ok=True)
    # not under no_grad: with gradients on, nn.MultiheadAttention (ViT) takes
    # its composite path instead of the fused op that has no ONNX export
    torch.onnx.export(model, tuple(inputs.values()), os.path.join(outdir, "model.onnx"),
                      input_names=list(inputs), output_names=outputs, dynamic_axes=dyn,
                      opset_version=OPSET, do_constant_folding=True)
    for k, v in inputs.items():
        np.save(os.path.join(outdir, "inputs", k + ".npy"), v.numpy())


# ---------------------------------------------------------------- driver side

def stamp_text():
    with open(os.path.abspath(__file__), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    return f"export_models.py {digest} opset {OPSET} image {IMAGE} seq {SEQ}\n"


def output_file(outdir, name):
    """The file smelt run writes for an output (its name with / \\ : and
    control characters replaced)."""
    clean = "".join("_" if c in "/\\:" or ord(c) < 32 else c for c in name)
    return os.path.join(outdir, clean + ".npy")


def load_case(cache, name):
    """model path, [(input name, file)], [(output name, expected file)]."""
    d = os.path.join(cache, name)
    meta = json.load(open(os.path.join(d, "meta.json")))
    ins = [(n, os.path.join(d, "inputs", n + ".npy")) for n in meta["inputs"]]
    outs = [(n, output_file(os.path.join(d, "expected"), n)) for n in meta["outputs"]]
    return os.path.join(d, "model.onnx"), ins, outs


def reference(d):
    import numpy as np
    import onnx
    import onnxruntime as ort

    model = onnx.load(os.path.join(d, "model.onnx"), load_external_data=False)
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    inits = {i.name for i in model.graph.initializer}
    in_names = [x.name for x in model.graph.input if x.name not in inits]
    out_names = [x.name for x in model.graph.output]
    feeds = {n: np.load(os.path.join(d, "inputs", n + ".npy")) for n in in_names}
    sess = ort.InferenceSession(os.path.join(d, "model.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(out_names, feeds)
    os.makedirs(os.path.join(d, "expected"), exist_ok=True)
    for n, v in zip(out_names, got):
        np.save(output_file(os.path.join(d, "expected"), n), v)
    ops = sorted({n.op_type for n in model.graph.node})
    meta = {"inputs": in_names, "outputs": out_names, "opset": opset, "ops": ops,
            "shapes": {n: list(v.shape) for n, v in zip(out_names, got)}}
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


def ensure(cache, name, force=False):
    """Exports NAME into CACHE unless an entry made by this file is there.
    Returns None or an error message."""
    d = os.path.join(cache, name)
    want = stamp_text()
    stamp = os.path.join(d, "stamp")
    if not force and os.path.exists(stamp) and open(stamp).read() == want:
        return None
    if not os.path.exists(TORCH_PYTHON):
        return f"export: {TORCH_PYTHON} is missing (run tools/deps.sh)"
    tmp = d + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    t = time.time()
    r = subprocess.run([TORCH_PYTHON, os.path.abspath(__file__), "--export", name, tmp],
                       capture_output=True, text=True)
    if r.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        last = [l for l in r.stderr.strip().splitlines() if l.strip()][-1:] or ["no message"]
        return f"export: torch.onnx failed: {last[0]}"
    try:
        reference(tmp)
    except Exception as e:
        shutil.rmtree(tmp, ignore_errors=True)
        return f"export: onnxruntime failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    with open(os.path.join(tmp, "stamp"), "w") as f:
        f.write(want)
    shutil.rmtree(d, ignore_errors=True)
    os.rename(tmp, d)
    print(f"exported {name} in {time.time() - t:.0f} s", file=sys.stderr)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=os.path.join(ROOT, "build", "models"))
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--export", nargs=2, metavar=("NAME", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.export:
        export(*args.export)
        return
    bad = 0
    for name in args.only or MODELS:
        err = ensure(args.cache, name, args.force)
        if err:
            print(f"{name}: {err}")
            bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
