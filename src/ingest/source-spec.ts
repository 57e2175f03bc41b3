/**
 * What one camera is and how to treat it when it misbehaves. `resolveSourceSpec`
 * fills the documented defaults and rejects nonsense up front, so the running
 * CameraSource never has to second-guess its spec.
 */
import { fileURLToPath } from 'node:url';
import { InputError } from '../core/errors.js';
import { DEFAULT_BACKOFF, type BackoffPolicy, validateBackoffPolicy } from './backoff.js';

export interface SourceSpec {
  /** Stable id, carried on every Frame and status event. */
  cameraId: string;
  /** `rtsp://` / `rtsps://`, `http(s)://`, `file://…`, or a plain file path. */
  url: string;
  /** Detector input size: ffmpeg stretch-scales every frame to width x height. */
  width: number;
  height: number;
  /** Files only: restart at the end forever (default false). */
  loop?: boolean;
  /** Files only: 'source' = real time (-re, default), 'fast' = as fast as decoding allows. */
  pace?: 'source' | 'fast';
  /** RTSP only: RTP transport (default 'tcp': survives NAT and loss better than UDP). */
  transport?: 'tcp' | 'udp';
  /** Optional output rate cap (at most this many frames a second, never more than the source sends); default: the source's own rate. */
  fps?: number;
  /** No frame for this long (connecting included) = stalled: kill and reconnect. Default 10 000. */
  stallTimeoutMs?: number;
  /** Reconnect backoff. Default 500 ms doubling to 10 s, ±20 % jitter. */
  reconnect?: BackoffPolicy;
  /** The source's own frame size when known (probed at start-up): used when a run's banner does not say it. */
  sourceSize?: { width: number; height: number };
}

export type SourceKind = 'rtsp' | 'http' | 'file';

export interface ResolvedSourceSpec {
  cameraId: string;
  url: string;
  kind: SourceKind;
  /** What ffmpeg is given after -i (a file URL becomes a path). */
  input: string;
  width: number;
  height: number;
  loop: boolean;
  pace: 'source' | 'fast';
  transport: 'tcp' | 'udp';
  fps: number | undefined;
  stallTimeoutMs: number;
  reconnect: BackoffPolicy;
  sourceSize: { width: number; height: number } | undefined;
}

export const SOURCE_DEFAULTS = Object.freeze({
  loop: false,
  pace: 'source' as const,
  transport: 'tcp' as const,
  stallTimeoutMs: 10_000,
  reconnect: DEFAULT_BACKOFF,
});

/** Largest accepted detector input side; anything bigger is a config typo. */
const MAX_SIDE = 8192;

export function classifySource(url: string): { kind: SourceKind; input: string } | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return url.trim() ? { kind: 'file', input: url } : undefined;
  if (scheme === 'rtsp' || scheme === 'rtsps') return { kind: 'rtsp', input: url };
  if (scheme === 'http' || scheme === 'https') return { kind: 'http', input: url };
  if (scheme === 'file') {
    try {
      return { kind: 'file', input: fileURLToPath(url) };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Apply defaults; throws InputError naming the camera and the bad field. */
export function resolveSourceSpec(spec: SourceSpec): ResolvedSourceSpec {
  const id = spec.cameraId;
  const bad = (field: string, why: string): never => {
    throw new InputError(`camera ${id || '(no id)'}: ${field} ${why}`);
  };
  if (typeof id !== 'string' || id.trim() === '') bad('cameraId', 'must be a non-empty string');
  const cls = classifySource(spec.url);
  if (!cls) bad('url', `"${spec.url}" is not an rtsp://, http(s)://, file:// URL or a file path`);
  const { kind, input } = cls!;
  for (const [field, v] of [['width', spec.width], ['height', spec.height]] as const) {
    if (!Number.isInteger(v) || v < 2 || v > MAX_SIDE) bad(field, `must be an integer in [2, ${MAX_SIDE}] (got ${v})`);
  }
  if (spec.fps !== undefined && !(Number.isFinite(spec.fps) && spec.fps > 0 && spec.fps <= 240)) {
    bad('fps', `must be in (0, 240] (got ${spec.fps})`);
  }
  const stall = spec.stallTimeoutMs ?? SOURCE_DEFAULTS.stallTimeoutMs;
  if (!(Number.isFinite(stall) && stall >= 100)) bad('stallTimeoutMs', `must be >= 100 (got ${stall})`);
  const reconnect = { ...(spec.reconnect ?? SOURCE_DEFAULTS.reconnect) };
  const why = validateBackoffPolicy(reconnect);
  if (why) bad('reconnect', why);
  if (spec.pace !== undefined && spec.pace !== 'source' && spec.pace !== 'fast') bad('pace', `must be 'source' or 'fast'`);
  if (spec.transport !== undefined && spec.transport !== 'tcp' && spec.transport !== 'udp') {
    bad('transport', `must be 'tcp' or 'udp'`);
  }
  return {
    cameraId: id,
    url: spec.url,
    kind,
    input,
    width: spec.width,
    height: spec.height,
    loop: spec.loop ?? SOURCE_DEFAULTS.loop,
    pace: spec.pace ?? SOURCE_DEFAULTS.pace,
    transport: spec.transport ?? SOURCE_DEFAULTS.transport,
    fps: spec.fps,
    stallTimeoutMs: stall,
    reconnect,
    sourceSize: spec.sourceSize,
  };
}

/**
 * The ffmpeg command line for one decode run, as input options, input and
 * output options (pure, so the flags can be checked without spawning).
 *
 * Output: the first video stream only, stretch-scaled to width x height in
 * ffmpeg (scaling there is far cheaper than in JS), packed rgb24 on stdout.
 * `showinfo` goes LAST in the chain so its frame numbers are output frame
 * numbers (after the fps cap); `-vsync passthrough` stops ffmpeg from
 * duplicating/dropping frames after the filter (rawvideo would otherwise get
 * constant-rate sync), which would break the 1:1 line-to-frame pairing.
 * `-flush_packets 1` writes each frame out whole instead of leaving its tail
 * in ffmpeg's I/O buffer until the next frame comes.
 *
 * The rate cap keeps the first frame of each 1/fps-second slot of the
 * frame's timestamp (`select`), not ffmpeg's `fps` filter: that one makes a
 * constant rate, so a 7 fps camera capped at 10 came out at 10 with every
 * third frame a duplicate (PETS09: 153 frames from 107), each one a detector
 * run on nothing new. A slot that differs, rather than a later one, keeps a
 * stream whose timestamps jump back from stalling; frames without a
 * timestamp pass.
 *
 * A file paced at its source rate gets `realtime` after the scaler: `-re`
 * paces the reading, but the decoder's reordering makes frames come out
 * 24-39 ms apart at 30 fps and flushes its last few at once at the end of
 * the file. `realtime` holds each frame until its pts is due, so the frames
 * arrive the way a camera sends them: 32-35 ms apart (5th-95th percentile,
 * DeGirum traffic, Debian's ffmpeg 5.1), only the last one early.
 */
/** The `select` filter that keeps at most `fps` frames a second (see buildFfmpegArgs). */
export function rateCap(fps: number): string {
  const slot = (t: string) => `floor(${t}*${fps})`;
  return `select=isnan(t)+isnan(prev_selected_t)+not(eq(${slot('t')}\\,${slot('prev_selected_t')}))`;
}

export interface RunOptions {
  /** The ffmpeg's major version (resolveFfmpegMajor); undefined = a current one. */
  ffmpegMajor?: number;
  /**
   * Live sources: 'fast' probes half a second of the stream before decoding,
   * 'full' ffmpeg's default (up to 5 s). Default 'fast'; CameraSource falls
   * back to 'full' for a stream whose size half a second did not show.
   */
  probe?: 'fast' | 'full';
}

/** Half a second of stream, in ffmpeg's microseconds and bytes (see buildFfmpegArgs). */
export const FAST_PROBE = { analyzeDurationUs: 500_000, probeSizeBytes: 500_000 };

/**
 * A live input's socket read timeout: long enough for a network hiccup, short
 * enough that an ffmpeg orphaned by a SIGKILLed service exits by itself when
 * its camera is frozen. ffmpeg gives up after several reads time out (a 1 s
 * timeout ended it in 4.4 s, 3 s in 12.5 s, on a SIGSTOPped RTSP server).
 */
export function readTimeoutUs(stallTimeoutMs: number): number {
  return Math.round(Math.min(5000, Math.max(1000, stallTimeoutMs / 4)) * 1000);
}

export function buildFfmpegArgs(s: ResolvedSourceSpec, run: RunOptions = {}): { inputOptions: string[]; input: string; outputOptions: string[] } {
  const inputOptions = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info'];
  if (s.kind === 'file') {
    if (s.pace === 'source') inputOptions.push('-re');
    if (s.loop) inputOptions.push('-stream_loop', '-1');
  } else {
    // Live: low_delay makes the decoder output each frame as soon as it can.
    // Deliberately NOT `-fflags nobuffer`: it only discards the packets read
    // while probing the stream, which delays the first frame to the next
    // keyframe (measured +1 s on RTSP) and loses short HTTP streams entirely.
    const timeout = String(readTimeoutUs(s.stallTimeoutMs));
    if (s.kind === 'rtsp') {
      inputOptions.push('-rtsp_transport', s.transport);
      // 4.x calls the socket timeout -stimeout (its -timeout means "listen"); 5.0 renamed it -timeout.
      inputOptions.push(run.ffmpegMajor !== undefined && run.ffmpegMajor < 5 ? '-stimeout' : '-timeout', timeout);
    } else {
      inputOptions.push('-rw_timeout', timeout);
    }
    // Probing: ffmpeg's default reads up to 5 s of a stream before it decodes, and it took
    // 3.0-3.1 s from connect to the first frame on a live RTSP camera (both ffmpeg 4.1 and 5.1);
    // half a second of it took 1.0-1.1 s. The SDP (RTSP) or the first keyframe usually tells the
    // frame size at once; a stream that needs longer gets the default on its next attempt.
    if ((run.probe ?? 'fast') === 'fast') inputOptions.push('-analyzeduration', String(FAST_PROBE.analyzeDurationUs), '-probesize', String(FAST_PROBE.probeSizeBytes));
    inputOptions.push('-flags', 'low_delay');
  }
  const filters = [
    ...(s.fps !== undefined ? [rateCap(s.fps)] : []),
    `scale=${s.width}:${s.height}`,
    ...(s.kind === 'file' && s.pace === 'source' ? ['realtime'] : []),
    'showinfo',
  ];
  const outputOptions = [
    '-map', '0:v:0', '-an', '-sn', '-dn',
    '-vf', filters.join(','),
    '-pix_fmt', 'rgb24', '-c:v', 'rawvideo',
    '-vsync', 'passthrough',
    '-flush_packets', '1',
    '-f', 'rawvideo',
  ];
  return { inputOptions, input: s.input, outputOptions };
}
