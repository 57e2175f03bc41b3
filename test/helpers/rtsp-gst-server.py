#!/usr/bin/python3
# Test-only RTSP "camera": a GStreamer RTSP server that encodes a live test
# pattern and serves it at rtsp://127.0.0.1:<port>/cam over TCP and UDP.
# Usage: rtsp-gst-server.py <port|0> [width height fps]
# Prints "PORT <n>" on stdout once it listens; exits on SIGTERM/SIGINT and
# when its stdin closes, so it cannot outlive a test runner that died.
import os
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)
port = sys.argv[1] if len(sys.argv) > 1 else "0"
w, h, fps = (sys.argv[2:5] + ["320", "240", "10"][len(sys.argv[2:5]):])
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    f"( videotestsrc is-live=true pattern=ball ! video/x-raw,width={w},height={h},framerate={fps}/1 "
    f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps} "
    "! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1 )"
)
factory.set_shared(True)
server.get_mount_points().add_factory("/cam", factory)
if server.attach(None) == 0:
    print("ERROR attach failed", flush=True)
    sys.exit(2)
print(f"PORT {server.get_bound_port()}", flush=True)
loop = GLib.MainLoop()
for sig in (signal.SIGTERM, signal.SIGINT):
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)


def on_stdin(_fd, _cond):
    if not os.read(0, 4096):
        loop.quit()
        return False
    return True


GLib.unix_fd_add_full(GLib.PRIORITY_DEFAULT, 0, GLib.IOCondition.IN | GLib.IOCondition.HUP, on_stdin)
loop.run()
