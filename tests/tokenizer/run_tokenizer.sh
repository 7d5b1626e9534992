#!/usr/bin/env bash
# tests/tokenizer/run_tokenizer.sh — the tokenizer suite (run by tests/run.sh):
# `smelt tokenize` against llama.cpp's test vectors (the vocab-only GGUF files
# and .inp/.out pairs that tools/deps.sh extracts into .cache/llama-vocab),
# decode round trips, special tokens, and the chat templates against jinja2
# (check_tokenizer.py).
set -u
cd "$(dirname "$0")/../.."
exec .venv/bin/python tests/tokenizer/check_tokenizer.py "${BUILD:-build}"
