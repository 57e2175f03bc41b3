#!/usr/bin/env bash
# The Debian packages the tests need, owned here (run it alone on a fresh
# machine, or from .ci/run): a GStreamer RTSP server (TCP and UDP pulls) for
# the RTSP tests, Chromium for the viewer's browser test (driven by
# playwright-core, which downloads no browser of its own), a Mosquitto
# MQTT broker for the MQTT tests, a NATS server (JetStream) for the fleet
# tests, and a C/C++ toolchain for `npm ci` itself: better-sqlite3 (the
# event history) compiles its addon with node-gyp when no prebuilt binary
# can be downloaded (its host is not the npm registry). Extra package names
# on the command line are installed too.
# Idempotent: installs only what is missing. Servers are not started here:
# each test starts its own on a free loopback port.
set -euo pipefail
packages=(
  # RTSP camera for the ingest and service tests (test/helpers/rtsp-gst-server.py, run by /usr/bin/python3)
  gir1.2-gst-rtsp-server-1.0 python3-gi
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  # headless browser for the viewer test (test/e2e/viewer.test.ts, /usr/bin/chromium)
  chromium
  # MQTT broker for the event tests (test/helpers/mosquitto.ts starts one per test on a loopback port;
  # mosquitto_passwd, in the same package, writes the auth test's password file); the clients to watch by hand
  mosquitto mosquitto-clients
  # NATS server with JetStream for the fleet tests (test/helpers/nats.ts starts /usr/sbin/nats-server -js per test on a loopback port)
  nats-server
  # better-sqlite3's addon, built from source by node-gyp (package.json allowScripts runs its install script);
  # node-gyp finds Node's headers beside the node binary (Debian's and NodeSource's nodejs ship /usr/include/node)
  g++ make python3
)
need=()
for p in "${packages[@]}" "$@"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
