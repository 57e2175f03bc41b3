/**
 * The ONE file that imports fluent-ffmpeg (archived upstream): everything
 * else talks to `FfmpegDecoder`, so replacing the library means rewriting
 * only this file. It is also the only place in the service that owns
 * ffmpeg child processes.
 *
 * Why the stdout reader always drains: ffmpeg blocks on a full pipe, and a
 * blocked ffmpeg stops reading its RTSP socket, so the camera's buffers
 * overflow and the stream corrupts. Frames are therefore cut from stdout by
 * exact byte count (width*height*3) and handed on synchronously; dropping
 * stale frames is the pipeline's job (latest-frame-wins), not back-pressure's.
 *
 * Why the children stay in our process group (not `detached`): a signal to
 * the group (Ctrl-C in a terminal, `kill -- -PGID`, a supervisor) then
 * reaches ffmpeg too, so it cannot outlive a group-wide kill. On top of that,
 * a process 'exit' hook SIGKILLs every live child synchronously, and if we
 * die by SIGKILL ffmpeg gets EPIPE on its next write and quits.
 */
import type { ChildProcess } from 'node:child_process';
import { Writable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import { resolveFfmpegPath } from './ffmpeg-path.js';
import { FfmpegStderrScanner, type VideoStreamInfo } from './ffmpeg-stderr.js';

export interface DecoderArgs {
  inputOptions: string[];
  input: string;
  outputOptions: string[];
  /** Output frame size in bytes (width * height * 3). */
  frameBytes: number;
  /** Rate used to estimate a pts when showinfo gave none (fps cap or source rate). */
  nominalFps?: number;
}

export interface DecodedFrame {
  /** 0-based index within this ffmpeg run. */
  index: number;
  ptsMs: number;
  /** Date.now() when the last byte of the frame was read. */
  wallMs: number;
  data: Buffer;
}

export interface DecoderExit {
  /** False when ffmpeg never started (bad binary, spawn failure). */
  spawned: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Frames delivered by this run. */
  frames: number;
  /** Bytes left over that did not make a whole frame (truncated output). */
  partialBytes: number;
  /** ffmpeg's last error-looking stderr line; the library/spawn error when ffmpeg never ran. */
  errorLine: string | undefined;
  /** ffmpeg's last diagnostic stderr line, whatever it says. */
  lastLine: string | undefined;
  /** stop() was called: the exit was asked for, not a failure. */
  stopped: boolean;
}

export interface DecoderHandlers {
  onInfo?(info: VideoStreamInfo): void;
  onFrame(frame: DecodedFrame): void;
}

/** Live children, for the last-resort exit hook. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous; kill(2) is.
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });
}

/** How many ffmpeg decoders are alive right now (diagnostics, tests). */
export function liveDecoderPids(): number[] {
  return [...live].map((c) => c.pid).filter((p): p is number => p !== undefined);
}

/** Frames waiting for their showinfo pts line; beyond this they go out with an estimate. */
const MAX_PENDING = 2;

export class FfmpegDecoder {
  /** Resolves once ffmpeg has exited and its stdout/stderr are fully read. */
  readonly exited: Promise<DecoderExit>;

  private child: ChildProcess | undefined;
  private stopRequested = false;
  private graceMs = 2000;
  private settled = false;
  private libraryError: string | undefined;
  private readonly scanner = new FfmpegStderrScanner();
  private resolveExit!: (e: DecoderExit) => void;

  // Frame assembly state.
  private current: Buffer;
  private filled = 0;
  private nextIndex = 0;
  private emitted = 0;
  private readonly pending: { index: number; wallMs: number; data: Buffer }[] = [];
  private readonly ptsByIndex = new Map<number, number | undefined>();
  private lastPtsMs: number | undefined;

  // Flow control for consumers that must see every frame (unpaced replay):
  // while paused, the sink holds its write callback, so the pipe fills and
  // ffmpeg blocks. Live cameras never pause.
  private paused = false;
  private heldWrite: (() => void) | undefined;

  private constructor(
    private readonly args: DecoderArgs,
    private readonly handlers: DecoderHandlers,
  ) {
    this.current = Buffer.allocUnsafe(args.frameBytes);
    this.exited = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
  }

  /** Start ffmpeg. Never throws for runtime failures: they arrive via `exited`. */
  static spawn(args: DecoderArgs, handlers: DecoderHandlers): FfmpegDecoder {
    const d = new FfmpegDecoder(args, handlers);
    d.run();
    return d;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get streamInfo(): VideoStreamInfo | undefined {
    return this.scanner.videoInfo;
  }

  /** The probe ended before the stream showed its frame size (see FfmpegStderrScanner.probeTooShort). */
  get probeTooShort(): boolean {
    return this.scanner.probeTooShort;
  }

  /**
   * SIGTERM (ffmpeg then exits cleanly), SIGKILL after `graceMs`; resolves
   * only when the child is gone. Idempotent.
   */
  async stop(graceMs = 2000): Promise<DecoderExit> {
    // A held write would keep stdout from ever ending, and 'close' waits for it.
    this.resume();
    if (!this.stopRequested) {
      this.stopRequested = true;
      this.graceMs = graceMs;
      if (this.child) this.terminate();
      // else: 'start' terminates it as soon as it exists.
    }
    return this.exited;
  }

  private terminate(): void {
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), this.graceMs);
    void this.exited.finally(() => clearTimeout(timer));
  }

  private signal(sig: NodeJS.Signals): void {
    const c = this.child;
    if (c?.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try {
        c.kill(sig);
      } catch {
        // Raced with its exit; 'close' will settle.
      }
    }
  }

  /** Stop reading stdout after the current chunk (ffmpeg then blocks on its pipe). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const cb = this.heldWrite;
    this.heldWrite = undefined;
    cb?.();
  }

  private run(): void {
    const sink = new Writable({
      // Synchronous write + immediate callback = the pipe never backs up
      // (unless a consumer paused us on purpose).
      // A throwing consumer fails this run (reported, retried), not the process.
      write: (chunk: Buffer, _enc, cb) => {
        try {
          this.consume(chunk);
        } catch (err) {
          cb(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        if (this.paused) this.heldWrite = () => cb();
        else cb();
      },
    });
    const cmd = ffmpeg({ stdoutLines: 30 })
      // fluent-ffmpeg keeps the binary path (and its probe of formats) in
      // module-global state, so there is one ffmpeg per process, never one per camera.
      .setFfmpegPath(resolveFfmpegPath())
      .input(this.args.input)
      .inputOptions(this.args.inputOptions)
      // end:false: EOF is judged from the child's 'close', not from fluent's
      // output-stream handling, which kills ffmpeg 20 ms after stdout ends.
      .output(sink, { end: false })
      .outputOptions(this.args.outputOptions);

    cmd.on('start', () => {
      const child = (cmd as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      if (!child || child.pid === undefined) return; // spawn failed: 'error' follows
      this.child = child;
      installExitHook();
      live.add(child);
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        live.delete(child);
        this.settle(code, signal);
      });
      if (this.stopRequested) this.terminate();
    });
    cmd.on('stderr', (line: string) => this.onStderr(line));
    cmd.on('error', (err: Error) => {
      this.libraryError = err.message;
      // No child (capability probe or spawn failed): nothing else will settle.
      if (this.child === undefined) this.settle(null, null);
    });
    cmd.on('end', () => undefined);
    cmd.run();
  }

  private onStderr(line: string): void {
    const ev = this.scanner.feed(line);
    if (!ev) return;
    if (ev.kind === 'input-video') {
      this.handlers.onInfo?.(ev.info);
      this.flush(false);
    } else if (ev.kind === 'frame') {
      if (ev.frame.n >= this.emitted) this.ptsByIndex.set(ev.frame.n, ev.frame.ptsMs);
      this.flush(false);
    }
  }

  private consume(chunk: Buffer): void {
    let off = 0;
    const size = this.args.frameBytes;
    while (off < chunk.length) {
      const n = Math.min(size - this.filled, chunk.length - off);
      chunk.copy(this.current, this.filled, off, off + n);
      this.filled += n;
      off += n;
      if (this.filled === size) {
        this.pending.push({ index: this.nextIndex++, wallMs: Date.now(), data: this.current });
        this.current = Buffer.allocUnsafe(size);
        this.filled = 0;
      }
    }
    this.flush(false);
  }

  /**
   * Hand out assembled frames in order. Stdout and stderr are separate pipes
   * and Node may read a frame's bytes before the stderr line that ffmpeg
   * wrote just ahead of them; a frame waits (at most MAX_PENDING frames) for
   * its showinfo pts and for the input stream line, then goes with estimates.
   *
   * Why showinfo rather than index/fps: RTSP cameras drift, drop and restart
   * timestamps and files can be VFR; the decoder's own pts is the truth, and
   * the per-frame log line costs ~300 bytes.
   */
  private flush(force: boolean): void {
    while (this.pending.length > 0) {
      const f = this.pending[0]!;
      const ready = this.ptsByIndex.has(f.index) && this.scanner.videoInfo !== undefined;
      if (!ready && !force && this.pending.length <= MAX_PENDING) return;
      this.pending.shift();
      let pts = this.ptsByIndex.get(f.index);
      this.ptsByIndex.delete(f.index);
      if (pts === undefined) {
        const fps = this.args.nominalFps ?? this.scanner.videoInfo?.fps ?? 25;
        pts = this.lastPtsMs === undefined ? 0 : this.lastPtsMs + 1000 / fps;
      }
      this.lastPtsMs = pts;
      this.emitted = f.index + 1;
      for (const k of this.ptsByIndex.keys()) if (k < this.emitted) this.ptsByIndex.delete(k);
      this.scanner.frameDelivered();
      if (!this.stopRequested) this.handlers.onFrame({ index: f.index, ptsMs: pts, wallMs: f.wallMs, data: f.data });
    }
  }

  private settle(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.settled) return;
    this.settled = true;
    this.flush(true);
    this.resolveExit({
      spawned: this.child !== undefined,
      code,
      signal,
      frames: this.emitted,
      partialBytes: this.filled,
      // fluent's own message only when there is no ffmpeg output to quote.
      errorLine: this.scanner.errorLine() ?? (this.child ? undefined : this.libraryError?.trim()),
      lastLine: this.scanner.lastLine(),
      stopped: this.stopRequested,
    });
  }
}
