#!/usr/bin/env bash
# tests/gguf/run_generate_vulkan.sh — LLM generation on Vulkan (lavapipe in
# CI) against llama.cpp's goldens (check_generate_vulkan.py).
set -u
cd "$(dirname "$0")/../.."
exec .venv/bin/python tests/gguf/check_generate_vulkan.py "${BUILD:-build}"
