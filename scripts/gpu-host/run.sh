#!/usr/bin/env bash
# One device run (GPU host, no Node, no ffmpeg): unpack the Vulkan loader, Node and the trimmed
# production node_modules, then time the project's own benches on WebGPU and on the host CPU.
# Every step has its own timeout and writes under $OUT as it goes, so a late failure keeps the rest.
set -u
cd "$(dirname "$0")/.."
L=$OUT/log.txt
. .devnode/setup.sh
{ nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; node --version; nproc; python3 -c 'import cv2; print("cv2", cv2.__version__)'; } 2>&1 | tee -a "$L"
N="node bin/neulens.js"
C=.devnode/clips
step bench-pack webgpu
timeout 100 $N bench-pack --provider webgpu --runs 30 2>&1 | grep -v '^\s*$' | tee -a "$L"
step bench-pack cpu 16 and 4 threads
timeout 70 $N bench-pack --provider cpu --threads 16,4 --runs 30 2>&1 | tee -a "$L"
step bench webgpu dev clips
timeout 180 $N bench $C/pets09.mp4 $C/traffic.mp4 --gt $C/pets09-gt.txt, --frames 200 --provider webgpu \
  --strategies full,downscale,skip-track,motion-regions,arac-c0,arac,arac-uniform-0.5 \
  --json $OUT/bench-webgpu.json --plot $OUT/bench-webgpu.svg 2>&1 | tail -20 | tee -a "$L"
step realtime traffic webgpu
timeout 80 $N bench $C/traffic.mp4 --provider webgpu --realtime --strategies full,arac --json $OUT/realtime-webgpu.json 2>&1 | tail -5 | tee -a "$L"
step oracle webgpu
timeout 120 $N bench $C/pets09.mp4 $C/traffic.mp4 --frames 100 --provider webgpu --strategies full,arac,arac-oracle \
  --json $OUT/oracle-webgpu.json 2>&1 | tail -8 | tee -a "$L"
step done
