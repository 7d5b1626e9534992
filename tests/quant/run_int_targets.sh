#!/usr/bin/env bash
# tests/quant/run_int_targets.sh — integer contractions compiled for each
# instruction variant of the integer GEMM engine (x86 levels, VNNI CPUs,
# aarch64 under qemu) against onnxruntime, bit for bit
# (tests/quant/int_targets.py). Run by tests/run.sh with BUILD set.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
exec .venv/bin/python tests/quant/int_targets.py --smelt "$BUILD/smelt"
