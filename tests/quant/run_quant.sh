#!/usr/bin/env bash
# tests/quant/run_quant.sh — onnxruntime-quantized ResNet-50 and BERT-base
# (QDQ, QOperator, dynamic; made by tests/quant/make_quantized.py into
# build/models/) through smelt against onnxruntime: every integer step
# within one unit, whole models within onnxruntime's own spread
# (tests/quant/run_quant.py). Run by tests/run.sh with BUILD set. Under the
# sanitizers (build-asan) only the QOperator ResNet-50 runs, compiled: the
# instrumented compiler and interpreter would take many minutes.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
extra=()
case "$BUILD" in *asan*) extra=(--only resnet50_qop --targets cpu) ;; esac
exec .venv/bin/python tests/quant/run_quant.py --smelt "$BUILD/smelt" "${extra[@]}"
