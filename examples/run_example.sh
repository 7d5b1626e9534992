#!/usr/bin/env bash
# examples/run_example.sh BUILD — the main job on the example model: import
# the ONNX model and describe it, compile it for this CPU into a shared
# object and run that on an image (timed), then check it against the
# reference interpreter.
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
echo "== smelt compile examples/tiny_cnn.onnx -o $BUILD/example/tiny_cnn.so"
"$BUILD/smelt" compile examples/tiny_cnn.onnx -o "$BUILD/example/tiny_cnn.so"
ls -l "$BUILD/example/tiny_cnn.so"
echo
echo "== smelt run $BUILD/example/tiny_cnn.so on a random image"
.venv/bin/python -c "import numpy as np; np.save('$BUILD/example/image.npy', np.random.default_rng(0).random((1, 3, 32, 32), dtype=np.float32))"
"$BUILD/smelt" run "$BUILD/example/tiny_cnn.so" -i "image=$BUILD/example/image.npy" -o "$BUILD/example/out" --repeat 20
"$BUILD/smelt" run examples/tiny_cnn.onnx --target interp -i "image=$BUILD/example/image.npy" -o "$BUILD/example/ref"
.venv/bin/python -c "
import numpy as np
p, r = np.load('$BUILD/example/out/probs.npy'), np.load('$BUILD/example/ref/probs.npy')
print('probs', p.round(4).tolist(), 'sum', float(p.sum()))
print('max difference from the reference interpreter', float(np.abs(p - r).max()))
assert np.allclose(p, r, rtol=1e-4, atol=1e-6)"
