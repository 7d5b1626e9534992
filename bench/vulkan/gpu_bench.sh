#!/usr/bin/env bash
# bench/vulkan/gpu_bench.sh — gpu_bench.py on the device machine: unpacks
# the Vulkan loader (.gl, bench/vulkan/README.md), LLVM's libraries and
# ld.lld-16 (carried in DIR: lib.tar.xz, lld.xz, with the smelt binary
# built here), then runs the benchmark with the tables written to OUT.
#   bash bench/vulkan/gpu_bench.sh DIR OUT [gpu_bench.py options]
set -u
dir=$1 out=$2
shift 2
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
mkdir -p /tmp/smelt-libs && tar xJf "$dir/lib.tar.xz" -C /tmp/smelt-libs
xz -dc "$dir/lld.xz" > /usr/local/bin/ld.lld-16 && chmod +x /usr/local/bin/ld.lld-16
export LD_LIBRARY_PATH=/tmp/smelt-libs/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if ! "$dir/smelt" devices >/dev/null 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv
"$dir/smelt" devices
PYTHONUNBUFFERED=1 python3 "$(dirname "$0")/gpu_bench.py" --smelt "$dir/smelt" --work /tmp/gb --out "$out/tables.md" "$@"
