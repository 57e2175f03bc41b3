#!/usr/bin/env bash
# Builds the git-ignored carry folder .devnode/ for a device run on an offline GPU host (no Node,
# no ffmpeg, no registry): a stripped Node binary, the production node_modules with onnxruntime-node
# trimmed to Linux x64, the OpenCV stand-in for ffmpeg, the run scripts and the development clips.
# Run from the repository root after `npm ci && npm run build`; then carry .devnode, dist and .gl
# (the Vulkan loader debs, see README.md here) and run `bash .devnode/run4.sh` (or run.sh .. run3.sh).
# For run4.sh: CLIPS=0 bash scripts/gpu-host/pack.sh (the carry must stay under 64 MiB).
set -euo pipefail
DATA=${DATA:-../shared/data}
here=scripts/gpu-host
mkdir -p .devnode/clips
cp "$(command -v node)" /tmp/node-stripped && strip --strip-all /tmp/node-stripped
xz -T2 -9 -c /tmp/node-stripped > .devnode/node.xz
npm ls --omit=dev --all --parseable 2>/dev/null | sed "s|^$PWD/||" | grep node_modules | grep -v '@ffmpeg-installer/linux-x64' | sort -u > /tmp/prod-modules.txt
tar cf - --exclude='node_modules/onnxruntime-node/bin/napi-v6/darwin' --exclude='node_modules/onnxruntime-node/bin/napi-v6/win32' \
  --exclude='node_modules/onnxruntime-node/bin/napi-v6/linux/arm64' --exclude='*.ts' --exclude='*.map' --exclude='node_modules/zod/src' \
  -T /tmp/prod-modules.txt | xz -T2 -9 > .devnode/mods.tar.xz
cp "$here/ffmpeg" "$here/setup.sh" "$here"/run*.sh .devnode/ && chmod +x .devnode/ffmpeg
# The development clips (runs 1-3, 4.7 MB); run4.sh needs none of them (it serves samples/parade.mp4,
# which the working tree carries): CLIPS=0, or no ../shared/data, leaves them out.
rm -f .devnode/clips/*
if [ "${CLIPS:-1}" != 0 ] && [ -d "$DATA" ]; then
  cp "$DATA/pets09-s3-mf1/PETS09-S3-MF1_derived.mp4" .devnode/clips/pets09.mp4
  cp "$DATA/pets09-s3-mf1/gt/gt.txt" .devnode/clips/pets09-gt.txt
  cp "$DATA/degirum-traffic/Traffic.mp4" .devnode/clips/traffic.mp4
fi
du -sh .devnode dist
