#!/usr/bin/env bash
# tests/onnx/run_conformance_vulkan.sh — the ONNX conformance suite as the
# third backend: `smelt run --target vulkan`, every kernel the SPIR-V
# backend can express dispatched on the first Vulkan device (Mesa's
# lavapipe in CI), contractions tiled as on a GPU (SMELT_VK_TILE=1). Only
# the node cases of the onnx wheel run (1765, about 4 minutes on 2 cores):
# lavapipe compiles every pipeline with LLVM, which makes a case several
# times slower than on the CPU target, and the whole-model and ONNX 1.12
# cases exercise the same kernels. Expected failures: the shared list plus
# tests/onnx/expected_failures_vulkan.txt. Without a Vulkan device the suite
# is reported skipped; under the sanitizers (build-asan) it is left out
# (the compiler paths are the cpu suite's, test_spirv runs there).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
case "$BUILD" in *asan*)
  echo "conformance-vulkan: 0 passed, 0 failed, 1 skipped (not run under the sanitizers)"; exit 0 ;;
esac
if ! "$BUILD/smelt" devices 2>/dev/null | grep -q '^0: '; then
  echo "conformance-vulkan: 0 passed, 0 failed, 1 skipped (no Vulkan device)"; exit 0
fi
export SMELT_VK_TILE=1
exec .venv/bin/python tests/onnx/conformance.py --smelt "$BUILD/smelt" --target vulkan -j "$(nproc)" \
  --filter onnx-1.22.0/node/ --expected tests/onnx/expected_failures.txt \
  --expected tests/onnx/expected_failures_vulkan.txt
