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
echo
echo "== smelt run examples/tiny_cnn.onnx on a random image"
.venv/bin/python -c "import numpy as np; np.save('$BUILD/example/image.npy', np.random.default_rng(0).random((1, 3, 32, 32), dtype=np.float32))"
"$BUILD/smelt" run examples/tiny_cnn.onnx -i "image=$BUILD/example/image.npy" -o "$BUILD/example/out"
.venv/bin/python -c "import numpy as np; p = np.load('$BUILD/example/out/probs.npy'); print('probs', p.round(4).tolist(), 'sum', float(p.sum()))"
