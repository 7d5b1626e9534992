"""tests/models/run_models.py — real exported models through smelt, against onnxruntime.

For each model of export_models.py (exported into the cache first where
missing or stale) two cases run:

    inspect/NAME   `smelt inspect model.onnx` succeeds (the model imports and
                   every shape infers)
    run/NAME       `smelt run model.onnx -i NAME=FILE ... -o DIR` on the
                   reference interpreter writes every output with onnxruntime's
                   dtype and shape, values within rtol 1e-3, atol 1e-4
    cpu/NAME       the same, compiled for this CPU (`--target cpu`)
    dyn/NAME       cpu/NAME with `--no-specialize`: the graph is compiled for
                   any batch and sequence length (its shape computations,
                   Shape -> Gather -> Concat -> Reshape, stay symbolic), then
                   run on the shipped inputs
    vulkan/NAME    the kernels as SPIR-V on the first Vulkan device
                   (`--target vulkan`; lavapipe in CI)
    vulkan-f16/NAME
                   vulkan/NAME with `--precision f16 --no-specialize` (the
                   integer inputs of BERT and GPT-2 would otherwise fold the
                   whole model at compile time), within the bound of
                   half_ref.py of onnxruntime on the f16-rounded weights
                   (vulkan_bf16 likewise in bf16, on request)

tests/models/expected_failures.txt lists the cases known to fail, one per
line with the reason (the first line of smelt's error). As in the ONNX
conformance suite, a listed case that passes is a failure (remove it from the
list), and so is one that crashes, times out or cannot be exported. The last line is
`models: N passed, N failed, N skipped` (skipped = expected failures).

    .venv/bin/python tests/models/run_models.py [--smelt build/smelt] [-j 2]
        [--cache build/models] [--only NAME] [--targets interp,cpu,dyn] [--inspect-only]
        [--update-expected]

--inspect-only runs the inspect cases alone (sanitizer builds, where the
interpreter would take many minutes per model).
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_models  # noqa: E402
import half_ref  # noqa: E402

ROOT = export_models.ROOT
RTOL, ATOL = 1e-3, 1e-4
TIMEOUT_S = 300
# the slowest first, so that two workers finish together
ORDER = ["gpt2", "bert_base", "resnet50", "vit_b_16", "mobilenet_v2"]


def first_error_line(stderr):
    """The first line of smelt's error; for the import and lowering reports,
    which list one node a line, the sorted set of ops they name."""
    lines = [l.strip() for l in stderr.strip().splitlines() if l.strip()]
    if not lines:
        return "no message"
    if lines[0].endswith("unsupported operators:"):
        ops = sorted({m for l in lines[1:] for m in re.findall(r": (\S+) \([^)]*\)$", l)})
        return "unsupported operators: " + ", ".join(ops)
    if lines[0].endswith("ops without a lowering to kernels:"):
        ops = sorted({m for l in lines[1:] for m in re.findall(r"no lowering for (\w+)", l)})
        return "no lowering for " + ", ".join(ops)
    return lines[0]


def short_reason(msg):
    """A reason without the cache path."""
    msg = re.sub(r"\S*model\.onnx: ", "", msg)
    return msg[:300]


def compare(name, got, want):
    if got.dtype != want.dtype:
        return f"output '{name}': dtype {got.dtype}, expected {want.dtype}"
    if got.shape != want.shape:
        return f"output '{name}': shape {got.shape}, expected {want.shape}"
    if want.dtype.kind in "fc":
        g, w = got.astype(np.float64), want.astype(np.float64)
        bad = ~np.isclose(g, w, rtol=RTOL, atol=ATOL, equal_nan=True)
        if bad.any():
            err = np.abs(g - w)
            err[np.isnan(err)] = np.inf
            i = np.unravel_index(int(np.argmax(np.where(bad, err, -1))), w.shape)
            return (f"output '{name}': {int(bad.sum())} of {w.size} values differ "
                    f"(worst at {list(i)}: {g[i]:.6g}, expected {w[i]:.6g})")
    elif not np.array_equal(got, want):
        return f"output '{name}': {int(np.sum(got != want))} of {want.size} elements differ"
    return None


def smelt_cmd(smelt, args, timeout):
    """(status, reason, seconds, CPU seconds) of one smelt command. The CPU
    time is the one to compare: the machine may be shared."""
    with tempfile.TemporaryFile() as err:
        t = time.time()
        p = subprocess.Popen([smelt, *args], stdout=subprocess.DEVNULL, stderr=err)
        killed = []
        timer = threading.Timer(timeout, lambda: (killed.append(1), p.kill()))
        timer.start()
        _, status, ru = os.wait4(p.pid, 0)
        timer.cancel()
        p.returncode = rc = os.waitstatus_to_exitcode(status)
        dt, cpu = time.time() - t, ru.ru_utime + ru.ru_stime
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    if killed:
        return "fail", f"timed out after {timeout} s", dt, cpu
    if rc == 0:
        return "pass", "", dt, cpu
    if rc < 0 or rc > 2:
        return "fail", f"crashed (exit {rc}): {first_error_line(stderr)}", dt, cpu
    return "fail", short_reason(first_error_line(stderr)), dt, cpu


CASE_OF_TARGET = {"interp": "run", "cpu": "cpu", "dyn": "dyn", "vulkan": "vulkan",
                  "vulkan_f16": "vulkan-f16", "vulkan_bf16": "vulkan-bf16"}
# the smelt run options of each target
RUN_ARGS = {"interp": ["--target", "interp"], "cpu": ["--target", "cpu"],
            "dyn": ["--target", "cpu", "--no-specialize"], "vulkan": ["--target", "vulkan"],
            "vulkan_f16": ["--target", "vulkan", "--precision", "f16", "--no-specialize"],
            "vulkan_bf16": ["--target", "vulkan", "--precision", "bf16", "--no-specialize"]}
# targets whose outputs are checked against half_ref (the half they store)
HALF_OF_TARGET = {"vulkan_f16": "f16", "vulkan_bf16": "bf16"}


def run_model(name, smelt, cache, err, targets):
    """{case id: (status, reason, seconds)} for one model (err: the export's error)."""
    cids = [f"inspect/{name}"] + [f"{CASE_OF_TARGET[t]}/{name}" for t in targets]
    if err:
        return {cid: ("fail", err, 0.0, 0.0) for cid in cids}
    model, inputs, outputs = export_models.load_case(cache, name)
    res = {f"inspect/{name}": smelt_cmd(smelt, ["inspect", model], 60)}
    for target in targets:
        res[f"{CASE_OF_TARGET[target]}/{name}"] = run_on(smelt, model, inputs, outputs, target)
    return res


def run_on(smelt, model, inputs, outputs, target):
    """(status, reason, seconds, CPU seconds) of the model on one target."""
    tmp = tempfile.mkdtemp(prefix="smelt-models-")
    try:
        args = ["run", model, *RUN_ARGS[target], "-o", tmp]
        for n, path in inputs:
            args += ["-i", f"{n}={path}"]
        status, reason, dt, cpu = smelt_cmd(smelt, args, TIMEOUT_S)
        half = HALF_OF_TARGET.get(target)
        if status == "pass" and half:
            feeds = {n: np.load(p) for n, p in inputs}
            ref_w = half_ref.outputs(model, feeds, [n for n, _ in outputs], half)
            for n, want_path in outputs:
                got_path = export_models.output_file(tmp, n)
                e = (half_ref.check(n, np.load(got_path), ref_w[n], np.load(want_path), half)
                     if os.path.exists(got_path) else f"output '{n}' was not written")
                if e:
                    status, reason = "fail", e
                    break
        elif status == "pass":
            for n, want_path in outputs:
                got_path = export_models.output_file(tmp, n)
                if not os.path.exists(got_path):
                    status, reason = "fail", f"output '{n}' was not written"
                    break
                e = compare(n, np.load(got_path), np.load(want_path))
                if e:
                    status, reason = "fail", e
                    break
        return status, reason, dt, cpu
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def read_expected(path):
    xfail = {}
    if os.path.exists(path):
        for line in open(path):
            line = line.rstrip("\n")
            if line.strip() and not line.startswith("#"):
                case, _, reason = line.partition(" ")
                xfail[case] = reason.strip()
    return xfail


def write_expected(path, results):
    lines = [
        "# tests/models/expected_failures.txt — model cases known to fail, with the reason.",
        "# One line per case: CASE REASON. A listed case that passes fails the run: remove it.",
        "# Regenerate with: .venv/bin/python tests/models/run_models.py --update-expected",
    ]
    for cid in sorted(results):
        status, reason = results[cid][:2]
        if status != "pass":
            lines.append(f"{cid} {reason}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smelt", default=os.path.join(ROOT, "build", "smelt"))
    ap.add_argument("--cache", default=os.path.join(ROOT, "build", "models"))
    ap.add_argument("-j", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--expected", default=os.path.join(ROOT, "tests", "models", "expected_failures.txt"))
    ap.add_argument("--targets", default="interp,cpu,dyn", help="comma-separated: interp, cpu, dyn, vulkan, vulkan_f16, vulkan_bf16")
    ap.add_argument("--inspect-only", action="store_true")
    ap.add_argument("--update-expected", action="store_true")
    args = ap.parse_args()
    targets = [] if args.inspect_only else [t for t in args.targets.split(",") if t]
    if any(t not in CASE_OF_TARGET for t in targets):
        sys.exit(f"--targets: unknown target in {args.targets!r} (interp, cpu, dyn, vulkan, vulkan_f16, vulkan_bf16)")
    if args.update_expected and (args.only or args.inspect_only):
        sys.exit("--update-expected needs the full run (no --only, no --inspect-only)")

    if not os.access(args.smelt, os.X_OK):
        print(f"FAIL {args.smelt} is not built")
        print("models: 0 passed, 1 failed, 0 skipped")
        sys.exit(1)
    start = time.time()
    # exports run one at a time (each takes the memory of a whole model)
    names = [n for n in ORDER if not args.only or n in args.only]
    errors = {n: export_models.ensure(args.cache, n) for n in names}
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.j) as pool:
        for r in pool.map(lambda n: run_model(n, args.smelt, args.cache, errors[n], targets), names):
            results.update(r)
    elapsed = time.time() - start

    xfail = read_expected(args.expected)
    passed = failed = skipped = 0
    for name in names:
        for cid in [f"inspect/{name}"] + [f"{CASE_OF_TARGET[t]}/{name}" for t in targets]:
            if cid not in results:
                continue
            status, reason, dt, cpu = results[cid]
            timing = f" ({dt:.1f} s, {cpu:.1f} s CPU)" if not cid.startswith("inspect/") and status == "pass" else ""
            if status == "pass":
                if cid in xfail and not args.update_expected:
                    print(f"FAIL {cid}: passes now{timing}; remove it from expected_failures.txt")
                    failed += 1
                else:
                    print(f"pass {cid}{timing}")
                    passed += 1
            elif cid in xfail and not args.update_expected and not reason.startswith(("crashed", "timed out", "export:")):
                print(f"xfail {cid}: {reason}")
                skipped += 1
            else:
                print(f"FAIL {cid}: {reason}")
                failed += 1
    if args.update_expected:
        write_expected(args.expected, results)
    print(f"({elapsed:.0f} s)")
    print(f"models: {passed} passed, {failed} failed, {skipped} skipped")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
