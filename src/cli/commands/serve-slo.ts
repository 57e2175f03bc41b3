/**
 * Multi-camera SLO benchmark: N cameras served at once by one in-process
 * service (the real ingest, pipeline, inference pool and WebSocket hub), each
 * a looping clip paced as a live camera at a frame-rate SLO, measured by a
 * real WebSocket client on loopback. A frame meets its SLO when its
 * detections are published within one frame interval of capture; a frame
 * the gate or DEMUX dropped misses it. Every mode runs its own service, one
 * after the other, on the same cameras.
 *
 * Accuracy beside it: each camera's F1 against the offline reference (the
 * unsplit model on every frame of its clip, as `bench` computes and caches
 * it), over what the client saw at every frame of the measured window
 * (src/eval/live-score.ts): a frame the service dropped shows the boxes
 * before it.
 */
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { parseConfig } from '../../config/index.js';
import { InputError } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { DEFAULT_PACK_DIR, PACKAGE_ROOT } from '../../core/paths.js';
import { quantile } from '../../core/stats.js';
import { NeulensService } from '../../service/service.js';
import type { ServerMessage } from '../../serve/protocol.js';
import { runBench } from '../../eval/bench.js';
import { scoreLive, type ReceivedFrame } from '../../eval/live-score.js';
import { silentLogger } from '../../core/log.js';
import type { Detection } from '../../core/types.js';
import { formatSpec } from '../../strategy/spec.js';
import { parseStrategy } from '../../strategy/registry.js';
import { parseNumber } from '../args.js';
import { EXIT, type Command } from '../command.js';
import { progressBar, tickFor, type Progress } from '../progress.js';

const usage = `usage: neulens serve-slo [--clips A,B,...] [--cameras N] [--fps F] [--modes arac,full] [--seconds S] [--warmup W] [--threads T] [--workers W] [--min-score X] [--json]

Serves N cameras at once (the clips, cycled; default samples/parade.mp4),
each paced as a live camera and capped at F fps (default 8 cameras at
10 fps), once per mode (default arac, then full), and reports each camera's
SLO attainment: the share of its frames whose detections were published
within one frame interval of capture: 1/F s, or the clip's own interval
when it sends fewer than F frames a second (the cap drops frames, it never
repeats them; the 'deadline' column). Default 20 s measured after
5 s of warm-up per mode. --threads and --workers set model.threads and
model.workers (default: the service's own defaults). A mode is any strategy
(arac:budget=0.35, skip-track:3, ...; separate modes with ';' when one has
a comma). Each camera's F1 is scored against the offline reference (the
unsplit model on every frame of its clip, computed once and cached in
.cache/neulens) at --min-score (default 0.5), over what the client saw at
each frame: a dropped frame shows the boxes before it.`;

export interface CameraSlo {
  camera: string;
  clip: string;
  framesIn: number;
  /** The camera's deadline, ms: one interval at its SLO rate (the service's sloFps). */
  deadlineMs: number;
  /** Frame messages published within one frame interval of capture (DEMUX-dropped frames excluded). */
  onTime: number;
  /** Frames DEMUX dropped (no plan fit the budget): published as tracker predictions, counted as misses. */
  demuxDropped: number;
  attainment: number;
  processedFps: number;
  inferenceMs: number;
  latencyP50: number;
  latencyP95: number;
  /** F1 against the offline reference over the window's frames (IoU 0.5), and how many frames it scored. */
  f1: number;
  scoredFrames: number;
}

export interface ModeSlo {
  mode: string;
  cameras: CameraSlo[];
  minAttainment: number;
  medianAttainment: number;
  meanF1: number;
}

/** A clip's offline reference: the unsplit model on every frame at the service's input size. */
interface ClipReference {
  frames: Detection[][];
  fps: number;
}

/** model.threads / model.workers for the served config; absent: the service's defaults. */
interface PoolShape {
  threads?: number;
  workers?: number;
}

function sloConfig(mode: string, clips: readonly string[], n: number, fps: number, pool: PoolShape) {
  const cams = Array.from({ length: n }, (_, i) => `  - { id: cam${i + 1}, url: ${JSON.stringify(clips[i % clips.length])}, loop: true, pace: source, fps: ${fps} }`).join('\n');
  const yaml = `
server: { host: 127.0.0.1, port: 0 }
model: { pack: ${JSON.stringify(DEFAULT_PACK_DIR)}, strategy: ${JSON.stringify(mode)}, provider: cpu, minScore: 0.35${pool.threads ? `, threads: ${pool.threads}` : ''}${pool.workers ? `, workers: ${pool.workers}` : ''} }
tracker: { enabled: true }
cameras:
${cams}
logging: { level: error }
`;
  return parseConfig(yaml, 'serve-slo', {}, { baseDir: PACKAGE_ROOT });
}

async function runMode(mode: string, clips: readonly string[], refs: ReadonlyMap<string, ClipReference>, minScore: number, n: number, fps: number, warmup: number, seconds: number, pool: PoolShape, bar: Progress): Promise<ModeSlo> {
  const service = await NeulensService.start(sloConfig(mode, clips, n, fps, pool), { log: createLogger('error') });
  const intervalMs = 1000 / fps;
  const window = new Map<string, number[]>(); // camera -> latencies received inside the window
  const seen = new Map<string, ReceivedFrame[]>(); // camera -> what the client received inside the window
  let measuring = false;
  const ws = new WebSocket(service.url, { perMessageDeflate: false });
  try {
    ws.on('message', (data) => {
      const msg = JSON.parse((data as Buffer).toString('utf8')) as ServerMessage;
      if (msg.type !== 'frame' || !measuring) return;
      const list = window.get(msg.camera) ?? [];
      // A frame DEMUX dropped (tracker predictions stand in for it) misses its SLO.
      list.push(msg.plan?.kind === 'tiles' && msg.plan.dropped === true ? Infinity : msg.latencyMs);
      window.set(msg.camera, list);
      const got = seen.get(msg.camera) ?? [];
      got.push({ ptsMs: msg.ptsMs, boxes: msg.boxes.map((b) => ({ x: b.x, y: b.y, w: b.w, h: b.h, classId: b.classId, label: b.label, score: b.score })) });
      seen.set(msg.camera, got);
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ type: 'subscribe', cameras: '*' }));
    await tickFor(warmup, bar, `${mode} warm-up`);
    const before = new Map(service.stats().map((s) => [s.camera, s]));
    measuring = true;
    const t0 = Date.now();
    await tickFor(seconds, bar, `${mode}, ${n} cameras`);
    measuring = false;
    const elapsedS = (Date.now() - t0) / 1000;
    const cameras = service.stats().map((s, i): CameraSlo => {
      const b = before.get(s.camera);
      const framesIn = (s.framesIn ?? 0) - (b?.framesIn ?? 0);
      const all = window.get(s.camera) ?? [];
      const lat = all.filter(Number.isFinite);
      // A clip slower than F sends its own rate (the cap drops, never repeats): its SLO is its own interval.
      const deadlineMs = s.sloFps ? 1000 / s.sloFps : intervalMs;
      const onTime = lat.filter((l) => l <= deadlineMs).length;
      const demuxDropped = all.length - lat.length;
      const clip = clips[i % clips.length] as string;
      const ref = refs.get(clip) as ClipReference;
      const score = scoreLive({ received: seen.get(s.camera) ?? [], intervalMs: deadlineMs, reference: ref.frames, clipFps: ref.fps, minScore });
      return {
        camera: s.camera,
        clip: path.basename(clip),
        framesIn,
        deadlineMs,
        onTime,
        demuxDropped,
        attainment: framesIn > 0 ? Math.min(1, onTime / framesIn) : 0,
        processedFps: ((s.processed ?? 0) - (b?.processed ?? 0)) / elapsedS,
        inferenceMs: s.inferenceMs,
        latencyP50: lat.length ? quantile(lat, 0.5) : NaN,
        latencyP95: lat.length ? quantile(lat, 0.95) : NaN,
        f1: score.f1,
        scoredFrames: score.slots,
      };
    });
    const att = cameras.map((c) => c.attainment);
    return { mode, cameras, minAttainment: Math.min(...att), medianAttainment: quantile(att, 0.5), meanF1: cameras.reduce((a, c) => a + c.f1, 0) / Math.max(1, cameras.length) };
  } finally {
    ws.terminate();
    await service.close();
  }
}

export const serveSloCommand: Command = {
  name: 'serve-slo',
  summary: 'serve N live cameras at once and measure each one\'s frame-rate SLO attainment per mode',
  usage,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        clips: { type: 'string', default: path.join(PACKAGE_ROOT, 'samples/parade.mp4') },
        cameras: { type: 'string', default: '8' },
        fps: { type: 'string', default: '10' },
        modes: { type: 'string', default: 'arac,full' },
        seconds: { type: 'string', default: '20' },
        warmup: { type: 'string', default: '5' },
        threads: { type: 'string' },
        workers: { type: 'string' },
        'min-score': { type: 'string', default: '0.5' },
        json: { type: 'boolean', default: false },
      },
    });
    const clips = values.clips.split(',').map((c) => path.resolve(c));
    for (const c of clips) if (!existsSync(c)) throw new InputError(`--clips: no such file: ${c}`);
    const n = parseNumber('--cameras', values.cameras, { integer: true, min: 1, max: 64 });
    const fps = parseNumber('--fps', values.fps, { min: 0.1, max: 240 });
    const seconds = parseNumber('--seconds', values.seconds, { integer: true, min: 1, max: 3600 });
    const warmup = parseNumber('--warmup', values.warmup, { integer: true, min: 0, max: 600 });
    const pool: PoolShape = {
      ...(values.threads ? { threads: parseNumber('--threads', values.threads, { integer: true, min: 1, max: 256 }) } : {}),
      ...(values.workers ? { workers: parseNumber('--workers', values.workers, { integer: true, min: 1, max: 64 }) } : {}),
    };
    const minScore = parseNumber('--min-score', values['min-score'], { min: 0, max: 1 });
    const modes = (values.modes.includes(';') ? values.modes.split(';') : values.modes.split(',')).map((m) => formatSpec(parseStrategy(m.trim(), '--modes')));

    const loadBefore = loadavg();
    // The offline reference per clip (cached after the first run), before any service starts.
    const refs = new Map<string, ClipReference>();
    const refBar = progressBar('reference', 1);
    try {
      for (const clip of new Set(clips)) {
        const r = await runBench({ videos: [clip], strategies: [{ name: 'full' }], minScore, packDir: DEFAULT_PACK_DIR, cacheDir: path.resolve('.cache/neulens'), log: silentLogger, onProgress: (done, total, note) => refBar.set(done, total, note) });
        const run = r.runs[0];
        if (!run) throw new InputError(`--clips: ${clip}: no frames for the reference`);
        refs.set(clip, { frames: run.frames.map((f) => f.detections), fps: run.fps });
      }
    } finally {
      refBar.done();
    }
    const bar = progressBar('serve-slo', modes.length * (warmup + seconds));
    const results: ModeSlo[] = [];
    try {
      for (const m of modes) results.push(await runMode(m, clips, refs, minScore, n, fps, warmup, seconds, pool, bar));
    } finally {
      bar.done();
    }
    if (values.json) {
      console.log(JSON.stringify({ cameras: n, fps, seconds, warmup, ...pool, cpus: availableParallelism(), loadavg: { before: loadBefore, after: loadavg() }, modes: results }, null, 2));
      return EXIT.ok;
    }
    const shape = [pool.workers ? `${pool.workers} workers` : '', pool.threads ? `${pool.threads} threads` : ''].filter(Boolean).join(', ');
    console.log(`serve-slo: ${n} cameras at ${fps} fps (SLO: published within one frame interval of capture, at most ${(1000 / fps).toFixed(0)} ms), ${seconds} s after ${warmup} s warm-up, ${availableParallelism()} CPUs${shape ? `, ${shape}` : ''}`);
    const w = Math.max(5, ...results.map((r) => r.mode.length));
    console.log(`${'mode'.padEnd(w)} camera  clip                          in  deadline  on time  demux-drop  SLO      fps   det ms  e2e p50  e2e p95  F1 vs ref`);
    for (const r of results) {
      for (const c of r.cameras) {
        console.log(
          `${r.mode.padEnd(w)} ${c.camera.padEnd(7)} ${c.clip.slice(0, 28).padEnd(28)} ${String(c.framesIn).padStart(4)} ${c.deadlineMs.toFixed(0).padStart(9)} ${String(c.onTime).padStart(8)} ${String(c.demuxDropped).padStart(11)} ${(100 * c.attainment).toFixed(1).padStart(5)}% ${c.processedFps.toFixed(1).padStart(5)} ${c.inferenceMs.toFixed(1).padStart(8)} ${c.latencyP50.toFixed(0).padStart(8)} ${c.latencyP95.toFixed(0).padStart(8)}  ${c.f1.toFixed(3).padStart(9)}`,
        );
      }
      console.log(`${r.mode}: SLO attainment min ${(100 * r.minAttainment).toFixed(1)}%, median ${(100 * r.medianAttainment).toFixed(1)}%; mean F1 vs reference ${r.meanF1.toFixed(3)} (min score ${minScore})`);
    }
    return EXIT.ok;
  },
};
