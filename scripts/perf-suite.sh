#!/usr/bin/env bash
# The performance issue's measurements, in one go, into docs/results/perf/
# (each file starts with the command that made it and the date):
#   latency-vs-work      where a small plan's time goes (scripts/latency-vs-work.mjs)
#   curves-default       one bench run per development clip at the pack's default size:
#   curves-native        the same at native size (longer side <= 1280):
#                        the baselines, arac unbudgeted and at several budgets,
#                        arac-cgg (the learnt controller) at 0.35,
#                        and the budgeted oracle (the yardstick) at 0.35 and 0.5
#   realtime-traffic     replay --realtime of the 30 fps clip, budgeted arac, 3 runs
#   serve-slo            8 cameras x 10 fps, budgeted arac and full, 3 runs
# Usage: bash scripts/perf-suite.sh [part...]   (default: all; needs `npm run build`
# and ../shared/data). About an hour on the 2-core development machine; run it
# on a quiet machine: other load moves every time in it.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=docs/results/perf
mkdir -p "$OUT"
D=../shared/data
CLIPS=("$D/pets09-s3-mf1/PETS09-S3-MF1_derived.mp4" "$D/degirum-traffic/Traffic.mp4" "$D/intel-car-detection/car-detection.mp4" "$D/intel-one-by-one-person-detection/one-by-one-person-detection.mp4" "$D/street-pedestrians/pedestrians.mp4" "$D/bgslibrary-highway/video02.avi")
# Short names for the result files (the clip's file name is not repeated in the project).
NAMES=(pets09 traffic carpark one-by-one pedestrians highway)
BUDGETS=(0.2 0.35 0.5 0.7)
STRATS="full,skip-track:3,downscale:2,arac"
for b in "${BUDGETS[@]}"; do STRATS+=",arac:budget=$b"; done
STRATS+=",arac-cgg:budget=0.35"
for b in 0.35 0.5; do STRATS+=",arac-oracle:budget=$b"; done
STRATS=${STRATS_OVERRIDE:-$STRATS}
FRAMES=${FRAMES:-300}
# Native size costs 2-5x a frame: fewer budgets and frames (override with NATIVE_STRATS / NATIVE_FRAMES)
NATIVE_STRATS=${NATIVE_STRATS:-full,skip-track:3,downscale:2,arac,arac:budget=0.35,arac:budget=0.5,arac-cgg:budget=0.35,arac-oracle:budget=0.35,arac-oracle:budget=0.5}
NATIVE_FRAMES=${NATIVE_FRAMES:-150}
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(latency curves-default curves-native realtime serve-slo)

header() { echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"; echo "# $*"; }

for part in "${parts[@]}"; do
  case "$part" in
    latency)
      { header node scripts/latency-vs-work.mjs "$OUT/latency-vs-work.svg" 8; node scripts/latency-vs-work.mjs "$OUT/latency-vs-work.svg" 8; } > "$OUT/latency-vs-work.txt"
      ;;
    curves-default|curves-native)
      # one bench run per clip, as the targets are stated (and each clip's
      # figures land as soon as it is done)
      size=(); strats="$STRATS"; frames="$FRAMES"; tag=${part#curves-}
      if [ "$tag" = native ]; then size=(--size native); strats="$NATIVE_STRATS"; frames="$NATIVE_FRAMES"; fi
      for i in "${!CLIPS[@]}"; do
        clip=${CLIPS[$i]}
        name=${NAMES[$i]}
        cmd=(node bin/neulens.js bench "$clip" "${size[@]}" --strategies "$strats" --frames "$frames" --json "$OUT/$tag-$name.json" --plot "$OUT/$tag-$name.svg")
        { header "${cmd[*]}"; "${cmd[@]}"; } > "$OUT/$tag-$name.txt"
      done
      ;;
    realtime)
      : > "$OUT/realtime-traffic.txt"
      for run in 1 2 3; do
        cmd=(node bin/neulens.js replay "$D/degirum-traffic/Traffic.mp4" --realtime --strategy "arac:budget=${RT_BUDGET:-0.5}")
        { header "run $run: ${cmd[*]}"; "${cmd[@]}"; } >> "$OUT/realtime-traffic.txt"
      done
      ;;
    serve-slo)
      : > "$OUT/serve-slo.txt"
      for run in 1 2 3; do
        cmd=(node bin/neulens.js serve-slo --cameras 8 --fps 10 --modes "arac:budget=${SLO_BUDGET:-0.5};full" --clips "$D/degirum-traffic/Traffic.mp4,$D/pets09-s3-mf1/PETS09-S3-MF1_derived.mp4,$D/intel-car-detection/car-detection.mp4,$D/intel-one-by-one-person-detection/one-by-one-person-detection.mp4")
        { header "run $run: ${cmd[*]}"; "${cmd[@]}"; } >> "$OUT/serve-slo.txt"
      done
      ;;
    *) echo "unknown part: $part (latency curves-default curves-native realtime serve-slo)" >&2; exit 2 ;;
  esac
done
