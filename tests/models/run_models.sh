#!/usr/bin/env bash
# tests/models/run_models.sh — real exported models (ResNet-50, MobileNetV2,
# ViT-B/16, BERT-base, GPT-2) through smelt against onnxruntime (run by
# tests/run.sh with BUILD set). Exports them first into build/models/ where
# missing; see tests/models/run_models.py.
set -u
cd "$(dirname "$0")/../.."
exec .venv/bin/python tests/models/run_models.py --smelt "${BUILD:-build}/smelt" -j "$(nproc)"
