#!/usr/bin/env bash
# The channel-sliced ARAC levels (npm run models:train-levels [-- --retrain [train_levels.py options]]).
# Trains the students only when models/tools/levels-weights.npz is missing or --retrain is given
# (needs the development data, see train_levels.py --help), then rebuilds the pack, which exports
# the levels from the weights file. Rebuilding alone (npm run models:build) never trains.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}
W=models/tools/levels-weights.npz
RETRAIN=0
if [ "${1:-}" = "--retrain" ]; then RETRAIN=1; shift; fi
if [ ! -f "$W" ] || [ "$RETRAIN" = 1 ]; then
  "$PY" models/tools/train_levels.py --out "$W" "$@"
else
  echo "using the committed $W (pass --retrain to train again)"
fi
bash models/tools/build.sh
"$PY" models/tools/eval_levels.py --weights "$W" --no-untrained || echo "(evaluation skipped: development data missing?)" >&2
