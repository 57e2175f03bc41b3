#!/usr/bin/env bash
# The compression controller (npm run models:train-cgg): labels the training videos with the
# labeling rule (neulens label, arac-oracle), labels the held-out videos the same way for the
# report, trains models/tools/train_cgg.py and installs cgg.json into the pack.
# Needs the development data (../shared/data, or NEULENS_DATA) and a built CLI (npm run build).
# About 2 min of labeling per 100 s of 25 fps video on a 2-core CPU, then ~15 s of training.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}
D=${NEULENS_DATA:-../shared/data}
OUT=${CGG_WORK:-out/cgg}
mkdir -p "$OUT"
TRAIN=("$D/pets09-s3-mf1/PETS09-S3-MF1_derived.mp4" "$D/degirum-traffic/Traffic.mp4" "$D/intel-car-detection/car-detection.mp4")
VAL=("$D/intel-one-by-one-person-detection/one-by-one-person-detection.mp4" "$D/street-pedestrians/pedestrians.mp4" "$D/bgslibrary-highway/video02.avi")
# Every 16th frame whole: the live arac's warm-up and whole-frame refresh (see neulens label --help).
node bin/neulens.js label "${TRAIN[@]}" --whole-every 16 --out "$OUT/train.jsonl" --patches "$OUT/train.u8"
node bin/neulens.js label "${VAL[@]}" --frames 200 --whole-every 16 --out "$OUT/val.jsonl" --patches "$OUT/val.u8"
"$PY" models/tools/train_cgg.py --train "$OUT/train.jsonl:$OUT/train.u8" --val "$OUT/val.jsonl:$OUT/val.u8" \
  --out models/tools/cgg.json --pack models/nanodet-g "$@"
"$PY" models/tools/plot_cgg.py --cgg models/tools/cgg.json --train "$OUT/train.jsonl:$OUT/train.u8" --val "$OUT/val.jsonl:$OUT/val.u8" \
  --out docs/results/cgg-threshold.svg
