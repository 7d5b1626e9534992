"""tests/onnx/conformance.py — runs the ONNX backend test suite through smelt.

Every case of the suites below is a folder with model.onnx and
test_data_set_N/{input,output}_K.pb (or, for the "light" models, a model file
whose inputs the ONNX runner generates and an output_0.pb beside it). For
each case this script runs `smelt run model.onnx -i NAME=input_K.pb ... -o DIR`
and compares every output with the suite's own expected output: same dtype,
same shape, values within the suite's tolerances (rtol 1e-3, atol 1e-7, or
the model's own values for the light models), NaN matching NaN. Outputs of
dtypes numpy lacks (bfloat16, float8, float4, int4, int2) come with a sidecar
NAME.npy.dtype and are compared as the ml_dtypes types onnx uses for them.

Suites: the node/simple/pytorch-converted/pytorch-operator/light cases of the
pinned onnx wheel (1.22.0, in .venv) and of Debian's libonnx-testdata (ONNX
1.12). The "real" cases need downloads and are not run.

tests/onnx/expected_failures.txt lists the cases that are known to fail, one
per line with the reason. A listed case that passes is reported as a failure
too, so that the list only shrinks. The summary line is
`conformance-TARGET: N passed, N failed, N skipped` (skipped = expected
failures). TARGET is `cpu` (compiled through LLVM, the default), `interp`
(the reference interpreter) or `vulkan` (SPIR-V on a Vulkan device, Mesa's
lavapipe in CI); cpu and interp share the expected-failure list, so the
compiled path must pass every case the interpreter passes; vulkan adds its
own list (tests/onnx/expected_failures_vulkan.txt, --expected twice).

    .venv/bin/python tests/onnx/conformance.py [--smelt build/smelt] [-j 2]
        [--filter SUBSTR] [--doc docs/conformance.md] [--update-expected]
"""
import argparse
import collections
import concurrent.futures
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import ml_dtypes
import numpy as np
import onnx
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WHEEL_DATA = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
DEBIAN_DATA = "/usr/share/libonnx-testdata/data"
LIGHT_TOLERANCE = {"densenet121": 2e-3}  # from onnx/backend/test/case/model/__init__.py
TIMEOUT_S = 300


def suite_roots():
    roots = []
    for kind in ("node", "simple", "pytorch-converted", "pytorch-operator", "light"):
        roots.append((f"onnx-{onnx.__version__}/{kind}", os.path.join(WHEEL_DATA, kind), kind))
    for kind in ("node", "simple", "pytorch-converted", "pytorch-operator"):
        roots.append((f"onnx-1.12/{kind}", os.path.join(DEBIAN_DATA, kind), kind))
    return roots


def collect_cases(filt, exclude=""):
    cases = []
    for prefix, root, kind in suite_roots():
        if not os.path.isdir(root):
            continue
        if kind == "light":
            for model in sorted(glob.glob(os.path.join(root, "light_*.onnx"))):
                name = os.path.basename(model)[len("light_"):-len(".onnx")]
                cases.append({"id": f"{prefix}/{name}", "kind": kind, "model": model, "light": name})
        else:
            for d in sorted(os.listdir(root)):
                model = os.path.join(root, d, "model.onnx")
                if os.path.exists(model):
                    cases.append({"id": f"{prefix}/{d}", "kind": kind, "model": model})
    if filt:
        cases = [c for c in cases if filt in c["id"]]
    if exclude:
        cases = [c for c in cases if exclude not in c["id"]]
    return cases


def light_inputs(model, tmp):
    """The inputs the ONNX runner generates for a light model: arange / n."""
    inits = {i.name for i in model.graph.initializer}
    files = []
    for x in model.graph.input:
        if x.name in inits:
            continue
        shape = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in x.type.tensor_type.shape.dim)
        n = int(np.prod(shape))
        value = (np.arange(n).reshape(shape) / n).astype(np.float32)
        path = os.path.join(tmp, f"input_{len(files)}.pb")
        with open(path, "wb") as f:
            f.write(numpy_helper.from_array(value, x.name).SerializeToString())
        files.append((x.name, path))
    return files


def data_sets(case, model, tmp):
    """[(inputs [(name, path)], expected [path])] for a case."""
    if case["kind"] == "light":
        out = os.path.splitext(case["model"])[0] + "_output_0.pb"
        return [(light_inputs(model, tmp), [out])]
    inits = {i.name for i in model.graph.initializer}
    names = [x.name for x in model.graph.input if x.name not in inits]
    sets = []
    for ds in sorted(glob.glob(os.path.join(os.path.dirname(case["model"]), "test_data_set_*"))):
        ins = sorted(glob.glob(os.path.join(ds, "input_*.pb")), key=lambda p: int(re.findall(r"\d+", os.path.basename(p))[0]))
        outs = sorted(glob.glob(os.path.join(ds, "output_*.pb")), key=lambda p: int(re.findall(r"\d+", os.path.basename(p))[0]))
        sets.append((list(zip(names, ins)), outs))
    return sets


def load_expected(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


# smelt writes dtypes numpy lacks into a numpy container plus a sidecar
# NAME.npy.dtype naming the dtype (tools/tensor_io.c): floats as their bit
# patterns, integers as their values.
SIDECAR_DTYPES = {
    "bf16": ml_dtypes.bfloat16, "f8e4m3fn": ml_dtypes.float8_e4m3fn, "f8e4m3fnuz": ml_dtypes.float8_e4m3fnuz,
    "f8e5m2": ml_dtypes.float8_e5m2, "f8e5m2fnuz": ml_dtypes.float8_e5m2fnuz, "f8e8m0": ml_dtypes.float8_e8m0fnu,
    "f4e2m1": ml_dtypes.float4_e2m1fn, "i4": ml_dtypes.int4, "u4": ml_dtypes.uint4, "i2": ml_dtypes.int2,
    "u2": ml_dtypes.uint2,
}
ML_FLOATS = {np.dtype(t) for k, t in SIDECAR_DTYPES.items() if k[0] in "bf"}
ML_INTS = {np.dtype(t) for k, t in SIDECAR_DTYPES.items() if k[0] in "iu"}


def load_output(path):
    got = np.load(path)
    side = path + ".dtype"
    if not os.path.exists(side):
        return got
    with open(side) as f:
        name = f.read().strip()
    if name not in SIDECAR_DTYPES:
        raise ValueError(f"{side}: unknown dtype '{name}'")
    return got.astype(SIDECAR_DTYPES[name]) if name[0] in "iu" else got.view(SIDECAR_DTYPES[name])


def fix_legacy_bf16_inputs(model, inputs, tmp):
    """ONNX 1.12's suite stores bfloat16 test tensors as UINT16 bit patterns:
    give smelt a copy that says BFLOAT16."""
    types = {x.name: x.type.tensor_type.elem_type for x in model.graph.input}
    if onnx.TensorProto.BFLOAT16 not in types.values():
        return inputs
    fixed = []
    for name, path in inputs:
        t = onnx.TensorProto()
        with open(path, "rb") as f:
            t.ParseFromString(f.read())
        if types.get(name) == onnx.TensorProto.BFLOAT16 and t.data_type == onnx.TensorProto.UINT16:
            t.data_type = onnx.TensorProto.BFLOAT16
            path = os.path.join(tmp, f"bf16_{len(fixed)}.pb")
            with open(path, "wb") as f:
                f.write(t.SerializeToString())
        fixed.append((name, path))
    return fixed


def legacy_bf16_expected(model, i, want):
    """The expected-output side of fix_legacy_bf16_inputs."""
    if model.graph.output[i].type.tensor_type.elem_type == onnx.TensorProto.BFLOAT16 and want.dtype == np.uint16:
        return want.view(ml_dtypes.bfloat16)
    return want


def output_file(outdir, name):
    clean = "".join("_" if c in "/\\:" or ord(c) < 32 else c for c in name)
    return os.path.join(outdir, clean + ".npy")


def compare(name, got, want, rtol, atol):
    if got.dtype != want.dtype:
        return f"output '{name}': dtype {got.dtype}, expected {want.dtype}"
    if got.shape != want.shape:
        return f"output '{name}': shape {got.shape}, expected {want.shape}"
    if want.dtype in ML_INTS:
        got, want = got.astype(np.int64), want.astype(np.int64)
    if want.dtype.kind in "fc" or want.dtype in ML_FLOATS:
        try:
            np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True)
        except AssertionError as e:
            lines = [l for l in str(e).splitlines() if "Max" in l or "Mismatched" in l]
            return f"output '{name}': values differ ({'; '.join(l.strip() for l in lines)})"
    elif not np.array_equal(got, want):
        bad = int(np.sum(got != want))
        return f"output '{name}': {bad} of {want.size} elements differ"
    return None


def first_error_line(stderr):
    lines = [l.strip() for l in stderr.strip().splitlines() if l.strip()]
    if not lines:
        return "no message"
    # the unsupported-operator report lists nodes on the following lines
    if lines[0].endswith("unsupported operators:") and len(lines) > 1:
        return "unsupported operator: " + lines[1].split(": ", 1)[-1]
    if lines[0].endswith("ops without a lowering to kernels:") and len(lines) > 1:
        m = re.search(r"no lowering for (\w+)", lines[1])
        return f"no lowering for {m.group(1)}" if m else lines[1]
    return lines[0]


def short_reason(msg):
    """A reason without paths and node names, for grouping."""
    msg = msg.replace(ROOT + "/", "")
    msg = re.sub(r"\S*model\.onnx: ", "", msg)
    msg = re.sub(r"\S+\.onnx: ", "", msg)
    msg = re.sub(r"node '[^']*' ", "", msg)
    return msg[:200]


def model_gflops(smelt, model):
    """FLOPs of the model's contractions as `smelt inspect` counts them."""
    r = subprocess.run([smelt, "inspect", model], capture_output=True, text=True, timeout=120)
    m = re.search(r"^flops \(MatMul/Gemm/Conv\): ([0-9.e+]+)", r.stdout, re.M)
    return float(m.group(1)) / 1e9 if m else 0.0


def run_case(case, smelt, target, max_gflops, timeout):
    if case["kind"] == "light" and max_gflops:
        gf = model_gflops(smelt, case["model"])
        if gf > max_gflops:
            return ("skip", f"{gf:.1f} GFLOPs: over the test budget of {max_gflops:g} GFLOPs on the reference "
                            f"interpreter (run by `make conformance-doc`)")
    tmp = tempfile.mkdtemp(prefix="smelt-conf-")
    try:
        try:
            model = onnx.load(case["model"], load_external_data=False)
        except Exception as e:  # the suite's model must load with onnx itself
            return ("error", f"onnx cannot load the model: {e}")
        rtol, atol = 1e-3, 1e-7
        if case["kind"] == "light":
            rtol = LIGHT_TOLERANCE.get(case["light"], 1e-3)
        sets = data_sets(case, model, tmp)
        if not sets:
            return ("error", "no test data")
        for k, (inputs, outputs) in enumerate(sets):
            outdir = os.path.join(tmp, f"out{k}")
            cmd = [smelt, "run", case["model"], "--target", target, "-o", outdir]
            for name, path in fix_legacy_bf16_inputs(model, inputs, tmp):
                cmd += ["-i", f"{name}={path}"]
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                return ("fail", f"timed out after {timeout} s")
            if r.returncode != 0:
                if r.returncode < 0 or r.returncode > 2:
                    return ("fail", f"crashed (exit {r.returncode}): {first_error_line(r.stderr)}")
                return ("fail", short_reason(first_error_line(r.stderr)))
            for i, exp_path in enumerate(outputs):
                name = model.graph.output[i].name
                want = legacy_bf16_expected(model, i, load_expected(exp_path))
                path = output_file(outdir, name)
                if not os.path.exists(path):
                    return ("fail", f"output '{name}' was not written")
                err = compare(name, load_output(path), want, rtol, atol)
                if err:
                    return ("fail", err)
        return ("pass", "")
    except Exception as e:
        return ("fail", f"runner error: {type(e).__name__}: {e}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main_op(case):
    """The op a case exercises, for the per-op table."""
    try:
        m = onnx.load(case["model"], load_external_data=False)
    except Exception:
        return "?"
    if case["kind"] != "node":
        return "(model)"
    ops = [n.op_type for n in m.graph.node]
    if len(set(ops)) == 1:
        return ops[0]
    name = case["id"].split("/")[-1][len("test_"):].replace("_", "").lower()
    best = max(set(ops), key=lambda o: (name.startswith(o.lower()), len(o)))
    return best


def read_expected(path):
    xfail = {}
    if os.path.exists(path):
        for line in open(path):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            case, _, reason = line.partition(" ")
            xfail[case] = reason.strip()
    return xfail


def write_expected(path, results, old):
    """The failing cases with smelt's own message; a note after ' -- ' that a
    person added to a case's line (why it fails) is kept while it still fails."""
    lines = [
        "# tests/onnx/expected_failures.txt — ONNX conformance cases known to fail, with the reason.",
        "# One line per case: CASE REASON [-- NOTE]. A listed case that passes fails the run: remove it.",
        "# Regenerate the reasons with `make conformance-doc`; notes after ' -- ' are kept.",
    ]
    for cid in sorted(results):
        status, reason = results[cid]
        if status == "fail":
            note = old.get(cid, "").partition(" -- ")[2]
            lines.append(f"{cid} {reason}" + (f" -- {note}" if note else ""))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def write_doc(path, cases, results, ops, command, elapsed):
    per_suite = collections.OrderedDict()
    for c in cases:
        suite = c["id"].rsplit("/", 1)[0]
        s = per_suite.setdefault(suite, [0, 0])
        s[0] += 1
        s[1] += results[c["id"]][0] == "pass"
    per_op = collections.defaultdict(lambda: [0, 0, collections.Counter()])
    for c in cases:
        if c["kind"] != "node":
            continue
        e = per_op[ops[c["id"]]]
        e[0] += 1
        if results[c["id"]][0] == "pass":
            e[1] += 1
        else:
            e[2][results[c["id"]][1]] += 1
    total = len(cases)
    passed = sum(r[0] == "pass" for r in results.values())
    node_total = sum(v[0] for k, v in per_suite.items() if k.endswith("/node"))
    node_pass = sum(v[1] for k, v in per_suite.items() if k.endswith("/node"))
    out = [
        "# ONNX conformance",
        "",
        f"Made by `{command}` ({elapsed:.0f} s on this machine). Backend: the reference interpreter. "
        f"Whole models over 5 GFLOPs are left out (the interpreter would take tens of minutes); `make test` "
        f"leaves out those over 2.5 GFLOPs.",
        "",
        f"All cases: **{passed} / {total}** pass ({100.0 * passed / max(total, 1):.1f}%). "
        f"Node cases: **{node_pass} / {node_total}** ({100.0 * node_pass / max(node_total, 1):.1f}%).",
        "",
        "| suite | cases | passed | % |",
        "| --- | ---: | ---: | ---: |",
    ]
    for suite, (n, p) in per_suite.items():
        out.append(f"| {suite} | {n} | {p} | {100.0 * p / max(n, 1):.1f} |")
    out += ["", "## Node cases per op", "", "| op | cases | passed | failed | main reason |", "| --- | ---: | ---: | ---: | --- |"]
    for op in sorted(per_op):
        n, p, reasons = per_op[op]
        why = reasons.most_common(1)[0][0].replace("|", "\\|") if reasons else ""
        out.append(f"| {op} | {n} | {p} | {n - p} | {why} |")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smelt", default=os.path.join(ROOT, "build", "smelt"))
    ap.add_argument("--target", default="cpu", help="cpu (compiled, the default), interp or vulkan")
    ap.add_argument("-j", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--filter", default="")
    ap.add_argument("--exclude", default="", help="skip cases whose id contains this")
    ap.add_argument("--expected", action="append",
                    help="expected-failure list (repeatable: the union; default tests/onnx/expected_failures.txt)")
    ap.add_argument("--update-expected", action="store_true")
    ap.add_argument("--doc", default="")
    ap.add_argument("-v", action="store_true", help="print every case")
    ap.add_argument("--max-gflops", type=float, default=0,
                    help="skip whole-model cases whose contractions need more GFLOPs than this")
    ap.add_argument("--timeout", type=int, default=TIMEOUT_S, help="seconds per case")
    args = ap.parse_args()

    start = time.time()
    cases = collect_cases(args.filter, args.exclude)
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.j) as pool:
        futs = {pool.submit(run_case, c, args.smelt, args.target, args.max_gflops, args.timeout): c for c in cases}
        for f in concurrent.futures.as_completed(futs):
            results[futs[f]["id"]] = f.result()
    elapsed = time.time() - start

    lists = args.expected or [os.path.join(ROOT, "tests", "onnx", "expected_failures.txt")]
    xfail = {}
    for path in lists:
        xfail.update(read_expected(path))
    passed = failed = skipped = 0
    for c in cases:
        cid = c["id"]
        status, reason = results[cid]
        if args.v:
            print(f"{status.upper():5} {cid} {reason}")
        if status == "skip":
            skipped += 1
        elif status == "pass":
            if cid in xfail and not args.update_expected:
                print(f"FAIL {cid}: passes now; remove it from expected_failures.txt")
                failed += 1
            else:
                passed += 1
        elif cid in xfail and not args.update_expected and not reason.startswith(("crashed", "timed out")):
            skipped += 1
        else:
            print(f"FAIL {cid}: {reason}")
            failed += 1
    if args.update_expected:
        if args.filter or args.exclude:
            sys.exit("--update-expected needs the full run (no --filter / --exclude)")
        if len(lists) != 1:
            sys.exit("--update-expected needs one --expected list")
        write_expected(lists[0], results, xfail)
    if args.doc:
        ops = {c["id"]: main_op(c) for c in cases if c["kind"] == "node"}
        cmd = "make conformance-doc"
        write_doc(args.doc, cases, results, ops, cmd, elapsed)
    total_pass = sum(r[0] == "pass" for r in results.values())
    for c in cases:
        if results[c["id"]][0] == "skip":
            print(f"skipped {c['id']}: {results[c['id']][1]}")
    print(f"({total_pass} of {len(cases)} cases pass in {elapsed:.0f} s)")
    print(f"conformance-{args.target}: {passed} passed, {failed} failed, {skipped} skipped")
    sys.exit(1 if failed and not args.update_expected else 0)


if __name__ == "__main__":
    main()
