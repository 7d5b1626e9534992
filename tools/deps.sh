#!/usr/bin/env bash
# tools/deps.sh — install everything smelt needs to build and test, on Debian 12.
#
# Installs only what is missing: Debian packages (LLVM 16 C API, lld, clang,
# the aarch64 cross libc and qemu-user for cross-compiled executables,
# Vulkan loader and Mesa's lavapipe, SPIRV-Tools, cJSON, zlib, the ONNX 1.12
# test data, PyTorch 1.13 and torchvision 0.14 for the model tests), a Python
# venv in .venv with the test oracles (numpy, onnx, onnxruntime, gguf), and a second
# venv .venv-torch on Debian's python3 that sees Debian's torch and adds
# transformers (tests/models exports its models there). Safe to run again;
# the Makefile runs it through a stamp file.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(build-essential pkg-config python3 python3-venv
  llvm-16-dev lld-16 clang-16 libvulkan-dev mesa-vulkan-drivers vulkan-tools
  spirv-tools libcjson-dev zlib1g-dev libonnx-testdata libopenblas-dev
  # cross-linking aarch64 executables (clang-16 + lld with the aarch64 libc,
  # crt files and libgcc) and running them in the tests (qemu-aarch64-static)
  libc6-dev-arm64-cross libgcc-12-dev-arm64-cross qemu-user-static)
# the runtime reads the manifest with cJSON: aarch64 executables link the
# arm64 build of it (Debian multiarch, the arm64 architecture added below);
# the tests run them under qemu with multiarch's loader and libc (libc6:arm64)
APT_CROSS=(libcjson-dev:arm64 libc6:arm64)
# the model tests' exporter, without its recommends (libtorch-dev, ffmpeg's python3-av)
APT_NORECOMMENDS=(python3-torch python3-torchvision)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
updated=0
apt_install_missing() { # [apt-get option...] -- package...
  local opts=() missing=() p
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done
  shift
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "deps: installing ${missing[*]}"
  if [ "$updated" -eq 0 ]; then $SUDO apt-get update -qq; updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${opts[@]}" "${missing[@]}"
}
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "deps: adding the arm64 architecture (multiarch) for cross-linked executables"
  $SUDO dpkg --add-architecture arm64
fi
apt_install_missing -- "${APT_PACKAGES[@]}" "${APT_CROSS[@]}"
apt_install_missing --no-install-recommends -- "${APT_NORECOMMENDS[@]}"

# Python oracles, pinned: onnx 1.22.0 is the newest wheel that ships
# onnx/backend/test/data/node (1.23 dropped the node cases); gguf (ggml's own
# Python package) writes and reads the GGUF test models (tests/gguf).
PY_REQS=(numpy==2.3.5 onnx==1.22.0 onnxruntime==1.24.4 gguf==0.19.0)
VENV=.venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
want="${PY_REQS[*]}"
if [ ! -f "$VENV/.reqs" ] || [ "$(cat "$VENV/.reqs")" != "$want" ]; then
  echo "deps: installing Python oracles into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PY_REQS[@]}"
  echo "$want" > "$VENV/.reqs"
fi

# The model exporter (tests/models/export_models.py): Debian's torch is built
# for Debian's /usr/bin/python3 and numpy 1.24, so it gets its own venv that
# sees the system packages; transformers 4.40 is a release that still
# supports torch 1.13. "numpy<2" keeps pip from replacing Debian's numpy.
TORCH_REQS=(transformers==4.40.2 "numpy<2")
TVENV=.venv-torch
if [ ! -x "$TVENV/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$TVENV"
fi
want="${TORCH_REQS[*]}"
if [ ! -f "$TVENV/.reqs" ] || [ "$(cat "$TVENV/.reqs")" != "$want" ]; then
  echo "deps: installing the model exporter into $TVENV"
  "$TVENV/bin/pip" install -q --disable-pip-version-check "${TORCH_REQS[@]}"
  echo "$want" > "$TVENV/.reqs"
fi
