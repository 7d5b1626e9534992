#!/usr/bin/env bash
# tests/onnx/run_conformance.sh — the ONNX conformance suite on the
# reference interpreter (run by tests/run.sh with BUILD set).
set -u
cd "$(dirname "$0")/../.."
exec .venv/bin/python tests/onnx/conformance.py --smelt "${BUILD:-build}/smelt" -j "$(nproc)"
