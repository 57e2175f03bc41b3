#!/usr/bin/python3
# Test-only RTSP "camera": a GStreamer RTSP server that encodes a live test
# pattern and serves it at rtsp://127.0.0.1:<port>/cam over TCP and UDP.
# Usage: rtsp-gst-server.py <port|0> [width height fps] [--file clip.mp4]
# With --file it serves that MP4's H.264 track as is (no re-encode), at its
# recorded pace, starting over at the end.
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
args = sys.argv[1:]
clip = None
if "--file" in args:
    i = args.index("--file")
    clip = args[i + 1]
    del args[i:i + 2]
port = args[0] if args else "0"
w, h, fps = (args[1:4] + ["320", "240", "10"][len(args[1:4]):])
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
if clip is None:
    factory.set_launch(
        f"( videotestsrc is-live=true pattern=ball ! video/x-raw,width={w},height={h},framerate={fps}/1 "
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps} "
        "! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )
else:
    # config-interval=-1: SPS/PPS before every keyframe, so a client joining mid-clip can decode.
    factory.set_launch(
        "( filesrc name=src ! qtdemux name=demux demux.video_0 "
        "! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )

    def configure(_factory, media):
        # Set here rather than in the launch line: no quoting rules for odd paths.
        media.get_element().get_by_name("src").set_property("location", clip)
        # Swallow the demuxer's EOS and seek back to the start instead: the
        # session stays up and the clip repeats (timestamps restart, as they
        # do when a real camera's encoder restarts).
        demux = media.get_element().get_by_name("demux")

        def rewind():
            demux.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 0)
            return False

        def on_event(_pad, info):
            if info.get_event().type == Gst.EventType.EOS:
                GLib.idle_add(rewind)
                return Gst.PadProbeReturn.DROP
            return Gst.PadProbeReturn.OK

        demux.connect("pad-added", lambda _d, pad: pad.add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, on_event))

    factory.connect("media-configure", configure)
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
