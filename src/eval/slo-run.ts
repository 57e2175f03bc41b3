/**
 * One serve-slo run: N cameras served at once by one in-process service
 * (the real ingest, pipeline, inference pool and WebSocket hub), each a
 * looping clip paced as a live camera at a frame-rate SLO, measured by a
 * real WebSocket client on loopback. A frame meets its SLO when its
 * detections are published within one frame interval of capture; a frame
 * the gate or DEMUX dropped misses it.
 *
 * Beside it, per camera, F1 against the offline reference (the unsplit model
 * on every frame of its clip), over what the client saw at every frame
 * (src/eval/live-score.ts); and for the run, where the machine's time went:
 * the inference workers (busy share, time per frame; batched: the model
 * calls and their items), the main thread and the decoders (CPU), so that a
 * sweep over N can say what stops it.
 */
import path from 'node:path';
import { availableParallelism } from 'node:os';
import { WebSocket } from 'ws';
import { parseConfig } from '../config/index.js';
import { InputError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { DEFAULT_PACK_DIR, PACKAGE_ROOT } from '../core/paths.js';
import { quantile } from '../core/stats.js';
import type { Detection } from '../core/types.js';
import type { WorkerStats } from '../inference/pool.js';
import type { Provider } from '../model/tensor.js';
import type { ServerMessage } from '../serve/protocol.js';
import { NeulensService } from '../service/service.js';
import { formatSpec } from '../strategy/spec.js';
import { parseStrategy } from '../strategy/registry.js';
import { scoreLive, type ReceivedFrame } from './live-score.js';
import { cpuBetween, sampleCpu, type CpuUse } from './proc-cpu.js';

/** A mode: a strategy, and optionally cross-camera batching (`full@batch=32`). */
export interface SloMode {
  /** As written back: the strategy's text form, then `@batch=N` when batched. */
  name: string;
  strategy: string;
  batch?: number;
}

/** `strategy[@batch=N]`: any strategy spec, with an optional batch cap (model.batch.maxSize). */
export function parseSloMode(text: string, flag = '--modes'): SloMode {
  const [spec, ...opts] = text.trim().split('@');
  const strategy = formatSpec(parseStrategy((spec ?? '').trim(), flag));
  let batch: number | undefined;
  for (const o of opts) {
    const m = /^batch=(\d+)$/.exec(o.trim());
    if (!m) throw new InputError(`${flag}: '@${o}' in '${text}': the only mode option is @batch=N (N >= 1)`);
    batch = Number(m[1]);
    if (!(batch >= 1 && batch <= 1024)) throw new InputError(`${flag}: batch ${m[1]} in '${text}' must be in 1..1024`);
  }
  return { strategy, ...(batch !== undefined && batch > 1 ? { batch } : {}), name: batch !== undefined && batch > 1 ? `${strategy}@batch=${batch}` : strategy };
}

export interface CameraSlo {
  camera: string;
  clip: string;
  framesIn: number;
  /** Frames in per second over the window, and the SLO's rate: a decoder that falls behind shows here. */
  fpsIn: number;
  sloFps: number;
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

/** Where the run's time went (see the module comment). */
export interface SloResources {
  cpu: CpuUse;
  cores: number;
  /** Frames processed over the window, all cameras. */
  framesProcessed: number;
  /** The busiest inference worker's share of the window spent holding work (1 = never idle). */
  workerBusy: number;
  /** Worker time per processed frame, ms (hand-over to answer, batches shared out). */
  workerMsPerFrame: number;
  /** Batched: time in model calls per processed frame, ms, and mean items per call. */
  callMsPerFrame?: number;
  itemsPerCall?: number;
  /** Batched: the calls' fixed part per processed frame, ms. */
  overheadMsPerFrame?: number;
}

export interface ModeSlo {
  mode: string;
  cameras: number;
  cameraResults: CameraSlo[];
  minAttainment: number;
  medianAttainment: number;
  meanF1: number;
  minF1: number;
  /** The lowest camera's frames in over its SLO rate times the window. */
  minInputRatio: number;
  resources: SloResources;
}

/** A clip's offline reference: the unsplit model on every frame at the service's input size. */
export interface ClipReference {
  frames: Detection[][];
  fps: number;
}

export interface SloRunOptions {
  mode: SloMode;
  clips: readonly string[];
  refs: ReadonlyMap<string, ClipReference>;
  minScore: number;
  cameras: number;
  fps: number;
  warmupS: number;
  seconds: number;
  provider: Provider;
  threads?: number;
  workers?: number;
  /** model.batch.timeoutMs for batched modes. */
  batchTimeoutMs: number;
  /** Called once a second while it runs (a progress bar). */
  tick?: (note: string) => void;
}

function sloConfig(o: SloRunOptions) {
  const cams = Array.from({ length: o.cameras }, (_, i) => `  - { id: cam${i + 1}, url: ${JSON.stringify(o.clips[i % o.clips.length])}, loop: true, pace: source, fps: ${o.fps} }`).join('\n');
  const batch = o.mode.batch ? `, batch: { maxSize: ${o.mode.batch}, timeoutMs: ${o.batchTimeoutMs} }` : '';
  const yaml = `
server: { host: 127.0.0.1, port: 0 }
model: { pack: ${JSON.stringify(DEFAULT_PACK_DIR)}, strategy: ${JSON.stringify(o.mode.strategy)}, provider: ${o.provider}, minScore: 0.35${o.threads ? `, threads: ${o.threads}` : ''}${o.workers ? `, workers: ${o.workers}` : ''}${batch} }
tracker: { enabled: true }
cameras:
${cams}
logging: { level: error }
`;
  return parseConfig(yaml, 'serve-slo', {}, { baseDir: PACKAGE_ROOT });
}

async function seconds(n: number, tick: ((note: string) => void) | undefined, note: string): Promise<void> {
  for (let s = 0; s < n; s++) {
    await new Promise((r) => setTimeout(r, 1000));
    tick?.(note);
  }
}

function workerDelta(a: readonly WorkerStats[], b: readonly WorkerStats[]) {
  return b.map((w) => {
    const p = a.find((x) => x.worker === w.worker);
    return {
      busyMs: w.busyMs - (p?.busyMs ?? 0),
      calls: (w.batcher?.calls ?? 0) - (p?.batcher?.calls ?? 0),
      items: (w.batcher?.items ?? 0) - (p?.batcher?.items ?? 0),
      callMs: (w.batcher?.busyMs ?? 0) - (p?.batcher?.busyMs ?? 0),
      overheadMs: (w.batcher?.overheadMs ?? 0) - (p?.batcher?.overheadMs ?? 0),
    };
  });
}

export async function runSloMode(o: SloRunOptions): Promise<ModeSlo> {
  const service = await NeulensService.start(sloConfig(o), { log: createLogger('error') });
  const intervalMs = 1000 / o.fps;
  const window = new Map<string, number[]>(); // camera -> latencies received inside the window
  const seen = new Map<string, ReceivedFrame[]>(); // camera -> what the client received inside the window
  let measuring = false;
  const ws = new WebSocket(service.url, { perMessageDeflate: false });
  try {
    ws.on('message', (data) => {
      if (!measuring) return;
      const msg = JSON.parse((data as Buffer).toString('utf8')) as ServerMessage;
      if (msg.type !== 'frame') return;
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
    await seconds(o.warmupS, o.tick, `${o.mode.name} x${o.cameras} warm-up`);
    const before = new Map(service.stats().map((s) => [s.camera, s]));
    const workersBefore = service.workerStats();
    const cpu0 = sampleCpu();
    measuring = true;
    const t0 = Date.now();
    await seconds(o.seconds, o.tick, `${o.mode.name} x${o.cameras}`);
    measuring = false;
    const cpu = cpuBetween(cpu0, sampleCpu());
    const workers = workerDelta(workersBefore, service.workerStats());
    const elapsedS = (Date.now() - t0) / 1000;
    const cameraResults = service.stats().map((s, i): CameraSlo => {
      const b = before.get(s.camera);
      const framesIn = (s.framesIn ?? 0) - (b?.framesIn ?? 0);
      const all = window.get(s.camera) ?? [];
      const lat = all.filter(Number.isFinite);
      // A clip slower than F sends its own rate (the cap drops, never repeats): its SLO is its own interval.
      const deadlineMs = s.sloFps ? 1000 / s.sloFps : intervalMs;
      const onTime = lat.filter((l) => l <= deadlineMs).length;
      const clip = o.clips[i % o.clips.length] as string;
      const ref = o.refs.get(clip) as ClipReference;
      const score = scoreLive({ received: seen.get(s.camera) ?? [], intervalMs: deadlineMs, reference: ref.frames, clipFps: ref.fps, minScore: o.minScore });
      return {
        camera: s.camera,
        clip: path.basename(clip),
        framesIn,
        fpsIn: framesIn / elapsedS,
        sloFps: s.sloFps ?? o.fps,
        deadlineMs,
        onTime,
        demuxDropped: all.length - lat.length,
        attainment: framesIn > 0 ? Math.min(1, onTime / framesIn) : 0,
        processedFps: ((s.processed ?? 0) - (b?.processed ?? 0)) / elapsedS,
        inferenceMs: s.inferenceMs,
        latencyP50: lat.length ? quantile(lat, 0.5) : NaN,
        latencyP95: lat.length ? quantile(lat, 0.95) : NaN,
        f1: score.f1,
        scoredFrames: score.slots,
      };
    });
    const framesProcessed = cameraResults.reduce((a, c) => a + c.processedFps * elapsedS, 0);
    const per = (ms: number) => ms / Math.max(1, framesProcessed);
    const batched = workers.some((w) => w.calls > 0);
    const calls = workers.reduce((a, w) => a + w.calls, 0);
    const resources: SloResources = {
      cpu,
      cores: availableParallelism(),
      framesProcessed,
      // A hand-over that began before the window counts whole when it ends inside it: at most 1.
      workerBusy: Math.min(1, Math.max(0, ...workers.map((w) => w.busyMs / (cpu.wallS * 1000)))),
      workerMsPerFrame: per(workers.reduce((a, w) => a + w.busyMs, 0)),
      ...(batched
        ? {
            callMsPerFrame: per(workers.reduce((a, w) => a + w.callMs, 0)),
            itemsPerCall: workers.reduce((a, w) => a + w.items, 0) / Math.max(1, calls),
            overheadMsPerFrame: per(workers.reduce((a, w) => a + w.overheadMs, 0)),
          }
        : {}),
    };
    const att = cameraResults.map((c) => c.attainment);
    const f1 = cameraResults.map((c) => c.f1);
    return {
      mode: o.mode.name,
      cameras: o.cameras,
      cameraResults,
      minAttainment: Math.min(...att),
      medianAttainment: quantile(att, 0.5),
      meanF1: f1.reduce((a, v) => a + v, 0) / Math.max(1, f1.length),
      minF1: Math.min(...f1),
      minInputRatio: Math.min(...cameraResults.map((c) => c.fpsIn / c.sloFps)),
      resources,
    };
  } finally {
    ws.terminate();
    await service.close();
  }
}

/** A run holds its SLO when every camera met it for at least `target` of its frames, and got its frames (decoding kept up). */
export function holds(r: ModeSlo, target: number): boolean {
  return r.minAttainment >= target && r.minInputRatio >= 0.95;
}

export interface Limit {
  /**
   * What is nearest to saturation: the device (the inference worker's time
   * in model calls: the GPU, or the CPU running the model), the inference
   * worker's own JavaScript (preprocessing, decoding), the decoders, the
   * main thread, or the host's CPU as a whole.
   */
  by: 'device' | 'inference worker' | 'decode' | 'main thread' | 'host CPU';
  /** The busiest worker's share of the time holding work (its model calls and its own work). */
  worker: number;
  /** Batched: the share of the time in model calls (the device's own load); unbatched, the worker's. */
  device: number;
  /** The main thread's share of one core. */
  mainThread: number;
  /** The decoders and the process over the host's cores. */
  hostCpu: number;
}

/**
 * What limits a run: the part nearest saturation. The inference worker
 * (its model calls run on its thread, so a GPU call holds it too) counts as
 * the device when most of its busy time is in model calls, else as the
 * worker's own work; the host's CPU is named 'decode' when the decoders use
 * more of it than the process does.
 */
export function limitOf(r: ModeSlo): Limit {
  const x = r.resources;
  const c = x.cpu;
  const worker = x.workerBusy;
  const device = x.callMsPerFrame !== undefined && x.workerMsPerFrame > 0 ? worker * Math.min(1, x.callMsPerFrame / x.workerMsPerFrame) : worker;
  const mainThread = c.mainThreadCores;
  const hostCpu = (c.processCores + c.childrenCores) / x.cores;
  const parts: Array<[Limit['by'], number]> = [
    [device >= worker / 2 ? 'device' : 'inference worker', worker],
    ['main thread', Number.isFinite(mainThread) ? mainThread : 0],
    [c.childrenCores >= c.processCores ? 'decode' : 'host CPU', Number.isFinite(hostCpu) ? hostCpu : 0],
  ];
  parts.sort((a, b) => b[1] - a[1]);
  return { by: (parts[0] as [Limit['by'], number])[0], worker, device, mainThread, hostCpu };
}
