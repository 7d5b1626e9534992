#!/usr/bin/env bash
# tests/onnx/run_conformance_interp.sh — the ONNX conformance suite on the
# reference interpreter, the second backend and the oracle (run by
# tests/run.sh with BUILD set). Under the sanitizers (build-asan) the
# whole-model "light" cases are left out: they take minutes there and
# exercise the same kernels as the node cases.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
extra=()
case "$BUILD" in *asan*) extra=(--exclude /light/) ;; esac
exec .venv/bin/python tests/onnx/conformance.py --smelt "$BUILD/smelt" --target interp -j "$(nproc)" --max-gflops 2.5 "${extra[@]}"
