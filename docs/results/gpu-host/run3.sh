#!/usr/bin/env bash
# Third device run: WebGPU again on this stop's final build (calls fetch only the head outputs now).
set -u
cd "$(dirname "$0")/.."
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
mkdir -p /tmp/n && xz -dc .devnode/node.xz > /tmp/n/node && chmod +x /tmp/n/node
tar xJf .devnode/mods.tar.xz -C .
export PATH=/tmp/n:$PATH FFMPEG_PATH=$PWD/.devnode/ffmpeg
L=$OUT/log3.txt
step() { echo "=== $* ($(date +%T))" | tee -a "$L"; }
nvidia-smi --query-gpu=name --format=csv,noheader | tee -a "$L"
N="node bin/neulens.js"
C=.devnode/clips
step bench-pack webgpu windowed
timeout 60 $N bench-pack --provider webgpu --runs 20 --only '^windowed [0-9/]+ c0[ ,]' 2>&1 | grep -v 'VerifyEachNode' | tee -a "$L"
step bench webgpu dev clips
timeout 120 $N bench $C/pets09.mp4 $C/traffic.mp4 --frames 200 --provider webgpu --strategies full,skip-track,arac-c0,arac \
  --json $OUT/bench-webgpu-final.json 2>&1 | grep -E '^(strategy|full|skip|arac)' | tee -a "$L"
step done
