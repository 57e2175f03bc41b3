#!/usr/bin/env bash
# Second device run: the CPU side only, on two cores of the GPU host pinned with taskset (a quiet
# 2-core box, unlike the shared development machine): realtime traffic, the unpaced dev-clip bench
# and 8 live cameras. Decoding goes through the OpenCV stand-in for ffmpeg (run.sh), pinned too.
set -u
cd "$(dirname "$0")/.."
L=$OUT/log2.txt
. .devnode/setup.sh
export OPENCV_FOR_THREADS_NUM=1
{ lscpu | grep -E 'Model name|^CPU\(s\)|Thread|MHz'; taskset -c 0,1 node -e 'console.log("availableParallelism", require("os").availableParallelism())'; } 2>&1 | tee -a "$L"
P="taskset -c 0,1 node bin/neulens.js"
C=.devnode/clips
step realtime traffic, 2 pinned cores
timeout 100 $P bench $C/traffic.mp4 --realtime --strategies full,arac --json $OUT/realtime-2core.json 2>&1 | tail -4 | tee -a "$L"
step realtime traffic again
timeout 100 $P bench $C/traffic.mp4 --realtime --strategies arac,full 2>&1 | tail -4 | tee -a "$L"
step unpaced dev clips, 2 pinned cores
timeout 200 $P bench $C/pets09.mp4 $C/traffic.mp4 --gt $C/pets09-gt.txt, --strategies full,downscale,skip-track,motion-regions,arac-c0,arac \
  --json $OUT/bench-2core.json --plot $OUT/bench-2core.svg 2>&1 | tail -16 | tee -a "$L"
step serve-slo 8 cameras, 2 pinned cores
timeout 150 $P serve-slo --clips $C/pets09.mp4,$C/traffic.mp4 --seconds 20 --warmup 5 2>&1 | tail -24 | tee -a "$L"
step done
