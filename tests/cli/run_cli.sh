#!/usr/bin/env bash
# tests/cli/run_cli.sh — the command-line tests (run by tests/run.sh).
set -u
cd "$(dirname "$0")/../.."
exec .venv/bin/python tests/cli/cli_test.py
