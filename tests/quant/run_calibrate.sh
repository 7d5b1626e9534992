#!/usr/bin/env bash
# tests/quant/run_calibrate.sh — static int8 with --calibrate against
# onnxruntime's quantize_static (tests/quant/calibrate_check.py). Run by
# tests/run.sh with BUILD set.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
exec .venv/bin/python tests/quant/calibrate_check.py --smelt "$BUILD/smelt"
