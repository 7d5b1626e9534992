#!/usr/bin/env bash
# tests/onnx/run_conformance.sh — the ONNX conformance suite compiled for
# this CPU (`smelt run --target cpu`; run by tests/run.sh with BUILD set).
# Under the sanitizers (build-asan) only the wheel's node cases run: the
# compiler runs instrumented there, and the whole-model cases take minutes.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
extra=()
case "$BUILD" in *asan*) extra=(--filter onnx-1.22.0/node/) ;; esac
exec .venv/bin/python tests/onnx/conformance.py --smelt "$BUILD/smelt" --target cpu -j "$(nproc)" --max-gflops 2.5 "${extra[@]}"
