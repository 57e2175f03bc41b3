/**
 * One camera: owns its ffmpeg decoder across reconnects and turns it into a
 * stream of Frames and status events.
 *
 * Why a stall watchdog: a camera that stops sending (power loss behind a
 * switch, UDP path dies, server hangs mid-handshake) usually does NOT make
 * ffmpeg exit; it just waits on a socket forever. Only "no frame for
 * stallTimeoutMs" (counted from spawn, so a hung connect is covered too)
 * detects that, so the watchdog kills the run and the normal backoff
 * reconnects.
 *
 * Failure is data, not an exception: every way a run can end (unreachable
 * URL, corrupt file, ffmpeg exiting non-zero, stall) becomes an `offline`
 * status carrying ffmpeg's error line, followed by a jittered, capped,
 * exponential backoff and a new run. Nothing is thrown after construction,
 * and nothing here is shared with other cameras except the process-exit hook.
 *
 * frames$ emits each frame synchronously as it is cut from ffmpeg's stdout and
 * keeps no buffer: the pipeline's latest-frame-wins gate decides what to drop.
 */
import { Observable, ReplaySubject, Subject } from 'rxjs';
import { NeulensError } from '../core/errors.js';
import { redactCredentials } from '../core/redact.js';
import type { CameraState, Frame } from '../core/types.js';
import { backoffDelayMs } from './backoff.js';
import { resolveFfmpegMajor, resolveFfmpegPath } from './ffmpeg-path.js';
import { FfmpegDecoder, type DecodedFrame, type DecoderExit } from './ffmpeg-process.js';
import type { VideoStreamInfo } from './ffmpeg-stderr.js';
import { buildFfmpegArgs, resolveSourceSpec, type ResolvedSourceSpec, type SourceSpec } from './source-spec.js';

export interface CameraStatus {
  cameraId: string;
  state: CameraState;
  /** Why the camera went offline (ffmpeg's error line or the watchdog's verdict). */
  error?: string;
  /** Date.now() of the transition. */
  atMs: number;
}

export interface CameraStats {
  framesIn: number;
  bytesIn: number;
  /** Runs started after the first one. */
  reconnects: number;
  lastError: string | undefined;
  state: CameraState;
  /** Frames per second over the last ~2 s (0 when no recent frame). */
  fpsIn: number;
  lastFrameWallMs: number | undefined;
}

export interface CameraSourceOptions {
  /** SIGTERM → SIGKILL grace on close/stall, ms (default 2000). */
  killGraceMs?: number;
  /** Random source for backoff jitter (default Math.random). */
  random?: () => number;
}

const FPS_WINDOW_MS = 2000;
const FPS_SAMPLES = 64;

export class CameraSource {
  readonly cameraId: string;
  readonly spec: ResolvedSourceSpec;
  /** Hot: every decoded frame, immediately. Completes after close() or a finished file. */
  readonly frames$: Observable<Frame>;
  /** Replays the latest status to late subscribers. Completes after `stopped`. */
  readonly status$: Observable<CameraStatus>;

  private readonly framesSubject = new Subject<Frame>();
  private readonly statusSubject = new ReplaySubject<CameraStatus>(1);
  private readonly killGraceMs: number;
  private readonly random: () => number;

  private state: CameraState = 'offline';
  private started = false;
  private closing: Promise<void> | undefined;
  private decoder: FfmpegDecoder | undefined;
  private stalled: FfmpegDecoder | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private seq = 0;
  private lastInfo: VideoStreamInfo | undefined;
  private readonly recentWall: number[] = [];
  private counters = { framesIn: 0, bytesIn: 0, reconnects: 0 };
  private lastError: string | undefined;
  private lastFrameWallMs: number | undefined;
  private paused = false;
  /** A short probe did not show this stream's frame size (a long GOP without parameters in its SDP): probe fully from now on. */
  private fullProbe = false;

  /** Validates the spec and finds ffmpeg; throws InputError / SourceError(FFMPEG_NOT_FOUND). */
  constructor(spec: SourceSpec, options: CameraSourceOptions = {}) {
    this.spec = resolveSourceSpec(spec);
    this.cameraId = this.spec.cameraId;
    // Fail here, at configuration time, when there is no ffmpeg at all.
    resolveFfmpegPath();
    this.killGraceMs = options.killGraceMs ?? 2000;
    this.random = options.random ?? Math.random;
    this.frames$ = this.framesSubject.asObservable();
    this.status$ = this.statusSubject.asObservable();
  }

  /** Construct and start. Resolves once the first ffmpeg run is launched (not when frames flow). */
  static async open(spec: SourceSpec, options?: CameraSourceOptions): Promise<CameraSource> {
    const cam = new CameraSource(spec, options);
    cam.start();
    return cam;
  }

  /** Launch the first run. Idempotent; throws only if called after close(). */
  start(): void {
    if (this.closing) throw new NeulensError('CLOSED', `camera ${this.cameraId}: start() after close()`);
    if (this.started) return;
    this.started = true;
    this.launch();
  }

  /** Counters and current state (`offline` before start(), `stopped` after the end). */
  stats(): CameraStats {
    return {
      ...this.counters,
      lastError: this.lastError,
      state: this.state,
      fpsIn: this.fpsIn(),
      lastFrameWallMs: this.lastFrameWallMs,
    };
  }

  /**
   * Flow control for consumers that must see every frame (unpaced replay,
   * benchmarks): ffmpeg blocks on its pipe and the stall watchdog is off
   * until resume(). A few frames already read may still arrive after pause().
   * Live serving never pauses: it drops stale frames at the gate instead.
   */
  pause(): void {
    this.paused = true;
    this.decoder?.pause();
    clearTimeout(this.watchdog);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const d = this.decoder;
    if (d) {
      d.resume();
      this.armWatchdog(d);
    }
  }

  /** Stop for good: kills ffmpeg (SIGTERM, then SIGKILL) and resolves once it has exited. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    clearTimeout(this.retryTimer);
    clearTimeout(this.watchdog);
    const d = this.decoder;
    this.decoder = undefined;
    if (d) await d.stop(this.killGraceMs);
    this.finish();
  }

  /** Terminal: status `stopped`, both streams complete. */
  private finish(): void {
    if (this.state !== 'stopped') this.setState('stopped');
    this.framesSubject.complete();
    this.statusSubject.complete();
  }

  private launch(): void {
    const { inputOptions, input, outputOptions } = buildFfmpegArgs(this.spec, { ffmpegMajor: resolveFfmpegMajor(), probe: this.fullProbe ? 'full' : 'fast' });
    this.setState('connecting');
    const decoder = FfmpegDecoder.spawn(
      {
        inputOptions,
        input,
        outputOptions,
        frameBytes: this.spec.width * this.spec.height * 3,
        ...(this.spec.fps !== undefined ? { nominalFps: this.spec.fps } : {}),
      },
      {
        onInfo: (info) => {
          this.lastInfo = info;
        },
        onFrame: (f) => this.onFrame(decoder, f),
      },
    );
    this.decoder = decoder;
    if (this.paused) decoder.pause();
    else this.armWatchdog(decoder);
    void decoder.exited.then((exit) => this.onExit(decoder, exit));
  }

  private armWatchdog(decoder: FfmpegDecoder): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      if (this.decoder !== decoder || this.closing) return;
      this.stalled = decoder;
      const what = this.state === 'online' ? 'no frame' : 'no first frame';
      this.fail(`stalled: ${what} for ${this.spec.stallTimeoutMs} ms; restarting ffmpeg`);
      void decoder.stop(this.killGraceMs);
    }, this.spec.stallTimeoutMs);
  }

  private onFrame(decoder: FfmpegDecoder, f: DecodedFrame): void {
    if (this.decoder !== decoder || this.closing) return;
    if (!this.paused) this.armWatchdog(decoder);
    if (this.state !== 'online') {
      this.attempt = 0;
      this.setState('online');
    }
    this.counters.framesIn++;
    this.counters.bytesIn += f.data.length;
    this.lastFrameWallMs = f.wallMs;
    this.recentWall.push(f.wallMs);
    if (this.recentWall.length > FPS_SAMPLES) this.recentWall.shift();
    const info = decoder.streamInfo ?? this.lastInfo;
    this.framesSubject.next({
      cameraId: this.cameraId,
      seq: this.seq++,
      ptsMs: f.ptsMs,
      captureWallMs: f.wallMs,
      width: this.spec.width,
      height: this.spec.height,
      // A run whose probe missed the size says none: then the size probed at start-up, else the input's.
      srcWidth: info?.width ?? this.spec.sourceSize?.width ?? this.spec.width,
      srcHeight: info?.height ?? this.spec.sourceSize?.height ?? this.spec.height,
      data: f.data,
    });
  }

  private onExit(decoder: FfmpegDecoder, exit: DecoderExit): void {
    if (this.decoder !== decoder) return;
    // The short probe missed this stream's frame size once: it will again, so probe fully from now on.
    if (decoder.probeTooShort) this.fullProbe = true;
    this.decoder = undefined;
    clearTimeout(this.watchdog);
    if (this.closing) return;
    if (this.stalled === decoder) {
      this.stalled = undefined;
      this.scheduleRetry();
      return;
    }
    const finite = this.spec.kind === 'file' && !this.spec.loop;
    if (finite && exit.code === 0 && exit.frames > 0) {
      this.finish();
      return;
    }
    this.fail(describeExit(this.spec, exit));
    this.scheduleRetry();
  }

  /**
   * The one door through which a run's failure leaves ingest (status events,
   * lastError): ffmpeg quotes the camera URL in its errors, credentials and all.
   */
  private fail(message: string): void {
    const safe = redactCredentials(message);
    this.lastError = safe;
    this.setState('offline', safe);
  }

  private scheduleRetry(): void {
    const delay = backoffDelayMs(this.attempt++, this.spec.reconnect, this.random);
    this.retryTimer = setTimeout(() => {
      if (this.closing) return;
      this.counters.reconnects++;
      this.launch();
    }, delay);
  }

  private setState(state: CameraState, error?: string): void {
    this.state = state;
    const ev: CameraStatus = { cameraId: this.cameraId, state, atMs: Date.now() };
    if (error !== undefined) ev.error = error;
    this.statusSubject.next(ev);
  }

  private fpsIn(): number {
    const w = this.recentWall;
    const last = w.at(-1);
    if (last === undefined || Date.now() - last > FPS_WINDOW_MS) return 0;
    const inWindow = w.filter((t) => last - t <= FPS_WINDOW_MS);
    const first = inWindow[0]!;
    return inWindow.length >= 2 && last > first ? ((inWindow.length - 1) * 1000) / (last - first) : 0;
  }
}

/** One line saying why a run ended, ffmpeg's own words included. */
export function describeExit(spec: ResolvedSourceSpec, exit: DecoderExit): string {
  const failed = !exit.spawned || exit.signal !== null || exit.code !== 0;
  // After a failure any last line helps; after a clean exit only an error line does
  // (the last line is then ffmpeg's "video:63kB audio:0kB ..." summary).
  const detail = exit.errorLine ?? (failed ? exit.lastLine : undefined);
  const why = detail ? `: ${detail}` : '';
  if (!exit.spawned) return `ffmpeg did not start${why}`;
  if (exit.signal) return `ffmpeg killed by ${exit.signal}${why}`;
  if (exit.code !== 0) return `ffmpeg exited with code ${exit.code}${why}`;
  if (exit.frames === 0) return `ffmpeg decoded no frames from ${spec.url}${why}`;
  if (spec.kind === 'file') return `file ended unexpectedly while looping${why}`;
  return `stream ended (the source closed the connection)${why}`;
}
