#!/usr/bin/env bash
# Third device run: WebGPU again on the build whose calls fetch only the head outputs.
set -u
cd "$(dirname "$0")/.."
L=$OUT/log3.txt
. .devnode/setup.sh
nvidia-smi --query-gpu=name --format=csv,noheader | tee -a "$L"
N="node bin/neulens.js"
C=.devnode/clips
step bench-pack webgpu windowed
timeout 60 $N bench-pack --provider webgpu --runs 20 --only '^windowed [0-9/]+ c0[ ,]' 2>&1 | grep -v 'VerifyEachNode' | tee -a "$L"
step bench webgpu dev clips
timeout 120 $N bench $C/pets09.mp4 $C/traffic.mp4 --frames 200 --provider webgpu --strategies full,skip-track,arac-c0,arac \
  --json $OUT/bench-webgpu-final.json 2>&1 | grep -E '^(strategy|full|skip|arac)' | tee -a "$L"
step done
