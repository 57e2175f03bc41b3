#!/usr/bin/env bash
# System packages the integration tests need (a real RTSP server with TCP).
# Idempotent: skips what is already installed.
set -euo pipefail
need=()
for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
