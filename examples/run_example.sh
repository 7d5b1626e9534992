#!/usr/bin/env bash
# examples/run_example.sh BUILD — the main job on the example model, as far
# as smelt goes today: import the ONNX model, describe it, and write and show
# its graph IR.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
mkdir -p "$BUILD/example"
echo "== smelt inspect examples/tiny_cnn.onnx"
"$BUILD/smelt" inspect examples/tiny_cnn.onnx
echo
echo "== smelt convert examples/tiny_cnn.onnx -o $BUILD/example/tiny_cnn.ir"
"$BUILD/smelt" convert examples/tiny_cnn.onnx -o "$BUILD/example/tiny_cnn.ir"
cat "$BUILD/example/tiny_cnn.ir"
