#!/usr/bin/env bash
# tests/models/run_models.sh — real exported models (ResNet-50, MobileNetV2,
# ViT-B/16, BERT-base, GPT-2) through smelt against onnxruntime (run by
# tests/run.sh with BUILD set); exports them first into build/models/ where
# missing (tests/models/export_models.py). Under the sanitizers (build-asan)
# only the imports run (`smelt inspect`): the interpreter would take many
# minutes per model there. With a Vulkan device (lavapipe in CI) each model
# also runs with --target vulkan, contractions tiled as on a GPU, and with
# --precision f16 on it (half_ref.py: the oracle and its bound).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
extra=()
case "$BUILD" in *asan*) extra=(--inspect-only) ;; esac
if [ ${#extra[@]} -eq 0 ] && "$BUILD/smelt" devices 2>/dev/null | grep -q '^0: '; then
  extra=(--targets interp,cpu,dyn,vulkan,vulkan_f16)
  export SMELT_VK_TILE=1
fi
exec .venv/bin/python tests/models/run_models.py --smelt "$BUILD/smelt" -j "$(nproc)" "${extra[@]}"
