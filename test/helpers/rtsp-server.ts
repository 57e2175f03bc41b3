/**
 * A real RTSP camera for tests: GStreamer's RTSP server (Debian packages
 * installed by .ci/setup-system.sh) encoding a live H.264 test pattern at
 * rtsp://127.0.0.1:<port>/cam, serving both TCP-interleaved and UDP pulls.
 * With `file` it serves an MP4's H.264 track instead, at its recorded pace,
 * in a loop (real scenes for end-to-end detection tests).
 *
 * Killing the server process is the "camera goes away" event (the TCP
 * session dies exactly as when a camera reboots); starting it again on the
 * same port is "the camera comes back".
 *
 * GStreamer rather than npm rtsp-streaming-server: the latter answers TCP
 * SETUP with 461/501, and real cameras are pulled over TCP.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./rtsp-gst-server.py', import.meta.url));

const availability = new Map<string, string | undefined>();
const PATTERN_ELEMENTS = ['videotestsrc', 'x264enc', 'rtph264pay'];
const FILE_ELEMENTS = ['filesrc', 'qtdemux', 'h264parse', 'rtph264pay'];

/** undefined when the GStreamer RTSP server can run here (serving MP4 files too with `{ file: true }`), else why not. */
export function gstRtspUnavailableReason(o: { file?: boolean } = {}): string | undefined {
  const elements = o.file ? FILE_ELEMENTS : PATTERN_ELEMENTS;
  const key = elements.join(',');
  if (availability.has(key)) return availability.get(key);
  const probe = spawnSync(
    PYTHON,
    [
      '-c',
      [
        'import gi',
        "gi.require_version('Gst','1.0')",
        "gi.require_version('GstRtspServer','1.0')",
        'from gi.repository import Gst, GstRtspServer',
        'Gst.init(None)',
        `missing=[e for e in (${elements.map((e) => `'${e}'`).join(',')}) if Gst.ElementFactory.find(e) is None]`,
        "assert not missing, 'missing GStreamer elements: ' + ', '.join(missing)",
      ].join('\n'),
    ],
    { encoding: 'utf8', timeout: 20_000 },
  );
  const reason =
    probe.status === 0
      ? undefined
      : `GStreamer RTSP server unavailable (${PYTHON}): ${(probe.stderr || String(probe.error)).trim().split('\n').at(-1)}`;
  availability.set(key, reason);
  return reason;
}

export interface GstRtspServer {
  port: number;
  /** rtsp://127.0.0.1:<port>/cam */
  url: string;
  pid: number | undefined;
  /** Kill the server (default SIGKILL: the camera vanishes without goodbye) and wait for exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface GstRtspOptions {
  /** 0 = any free port. */
  port?: number;
  width?: number;
  height?: number;
  fps?: number;
  /** Serve this MP4's H.264 track (looped, at its own pace) instead of the test pattern; width/height/fps are then ignored. */
  file?: string;
}

/** Start the server; resolves once it listens. */
export function startGstRtspServer(o: GstRtspOptions = {}): Promise<GstRtspServer> {
  const args = [SCRIPT, String(o.port ?? 0), String(o.width ?? 320), String(o.height ?? 240), String(o.fps ?? 10), ...(o.file ? ['--file', o.file] : [])];
  // stdin is a pipe held open by us: the server quits when it closes (our death).
  const child: ChildProcess = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const stop = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop().then(() => reject(new Error(`RTSP server did not start in 20 s: ${stderr}`)));
    }, 20_000);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        const port = Number(m[1]);
        resolve({ port, url: `rtsp://127.0.0.1:${port}/cam`, pid: child.pid, stop });
      }
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`RTSP server exited (${code}) before listening: ${out}${stderr}`));
    });
  });
}
