#!/usr/bin/env bash
# tests/gguf/run_gguf.sh — the GGUF suite (run by tests/run.sh): writes the
# test models with the gguf Python package (make_models.py, into BUILD/gguf)
# and checks smelt's reader, dequantizers, quantizers and `smelt inspect`
# against it (check_gguf.py).
set -u
cd "$(dirname "$0")/../.."
exec .venv/bin/python tests/gguf/check_gguf.py "${BUILD:-build}"
