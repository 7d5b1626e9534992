#!/usr/bin/env bash
# tests/gguf/run_generate.sh — LLM generation against llama.cpp's goldens
# (tests/gguf/goldens, made by make_goldens.py): compiles the tiny GGUF
# models of make_models.py and checks greedy continuations, logits and the
# KV cache (check_generate.py).
set -u
cd "$(dirname "$0")/../.."
exec .venv/bin/python tests/gguf/check_generate.py "${BUILD:-build}"
