/**
 * Replay and benchmark runner. Unpaced, every strategy takes its turn on
 * each block of 16 decoded frames, in a random order per block, so machine
 * drift hits all alike, and nothing is dropped. Realtime (`--realtime`),
 * each strategy replays the video at its own frame rate through the live
 * pipeline, gate and all, so drops and deadlines are real.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { take } from 'rxjs';
import { Camera, type CameraResult } from '../camera/camera.js';
import { CameraSource } from '../ingest/camera-source.js';
import type { Logger } from '../core/log.js';
import { seededRandom, shuffled } from '../core/random.js';
import type { Detection, Frame } from '../core/types.js';
import { CalibrationCache } from '../demux/calibrate.js';
import { loadPackController } from '../importance/cgg.js';
import { InferencePool } from '../inference/pool.js';
import { probeSize } from '../ingest/still.js';
import { chooseInputSize, nativeInputSize } from '../model/input-size.js';
import { computeLevels, loadModelPack, type ModelPack } from '../model/manifest.js';
import type { Provider } from '../model/tensor.js';
import { createStrategy } from '../strategy/registry.js';
import { formatSpec, type StrategySpec } from '../strategy/spec.js';
import type { StreamInfo, TilesPlan } from '../strategy/types.js';
import { readVideoFrames } from './frame-reader.js';
import { parseMotGt } from './labels.js';
import { FrameProcessor } from './processor.js';
import { fileSha256, loadReference, saveReference, type ReferenceKey } from './reference.js';
import { buildReport, withRatios, type FrameRecord, type Report, type RunRecord } from './report.js';

/** Frames each strategy runs in a row in an unpaced bench (see benchVideo). */
const BENCH_BLOCK = 16;

/** Detections below this never leave the detector in evaluation runs (the tracker's low stage needs them). */
export const SCORE_FLOOR = 0.1;

export interface BenchOptions {
  videos: string[];
  strategies: StrategySpec[];
  realtime?: boolean;
  minScore: number;
  /** MOT ground truth per video (same order as videos; undefined entries = none). */
  gt?: Array<string | undefined>;
  packDir: string;
  provider?: Provider;
  threads?: number;
  /** Detector input size: a fixed size, 'native' (the source's, see nativeInputSize), or by default the pack's working size nearest the source's aspect. */
  inputSize?: { width: number; height: number } | 'native';
  /** With inputSize 'native': cap on the longer side. Default NATIVE_MAX_SIDE. */
  maxSide?: number;
  /** Only the first N frames of each video (quick runs, tests). */
  maxFrames?: number;
  cacheDir: string;
  log: Logger;
  onProgress?: (done: number, total: number, note: string) => void;
}

export interface BenchResult {
  reports: Report[];
  runs: RunRecord[];
  referenceFrom: Array<'cache' | 'computed'>;
}

function record(r: CameraResult | undefined, seq: number, e2eMs: number): FrameRecord {
  if (!r) return { seq, published: false, detections: [], detectorMs: 0, e2eMs: 0, workFraction: 0 };
  const tiles: TilesPlan | undefined = r.result.plan?.kind === 'tiles' ? r.result.plan : undefined;
  return {
    seq,
    published: true,
    detections: r.detections,
    detectorMs: r.result.detectorMs,
    e2eMs,
    workFraction: r.result.workFraction,
    ...(tiles?.overheadMs !== undefined ? { controlMs: tiles.overheadMs } : {}),
    ...(tiles?.dropped ? { demuxDropped: true } : {}),
  };
}

async function countFrames(video: string, size: { width: number; height: number }, max: number): Promise<number> {
  let n = 0;
  for await (const _ of readVideoFrames(video, size, 'count')) if (++n >= max) break;
  return n;
}

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const pack = await loadModelPack(o.packDir);
  const controller = await loadPackController(pack);
  const base: PackBasics = { computeLevels: computeLevels(pack), ...(controller ? { controller } : {}) };
  const needsArac = o.strategies.some((s) => createStrategy(s).models === 'arac');
  const pool = await InferencePool.open({
    packDir: o.packDir,
    provider: o.provider ?? 'cpu',
    ...(o.threads ? { threads: o.threads } : {}),
    workers: 1,
    models: needsArac ? 'arac' : 'full',
    verifyChecksums: false,
    detect: { minScore: SCORE_FLOOR, nmsIou: 0.6, maxDetections: 100 },
  });
  const result: BenchResult = { reports: [], runs: [], referenceFrom: [] };
  try {
    for (const [vi, video] of o.videos.entries()) {
      const gtFile = o.gt?.[vi];
      const gt = gtFile ? parseMotGt(await readFile(gtFile, 'utf8'), gtFile) : undefined;
      const { runs, refFrom } = await benchVideo(o, pack, base, pool, video, vi);
      const reference = refFrom.frames;
      result.referenceFrom.push(refFrom.from);
      const reports = runs.map((run) => buildReport(run, reference, { minScore: o.minScore, ...(gt ? { gt } : {}) }));
      const full = reports.find((r) => r.strategy === 'full');
      result.reports.push(...reports.map((r) => withRatios(r, full)));
      result.runs.push(...runs);
    }
  } finally {
    await pool.close();
  }
  return result;
}

/** What every camera of a bench knows about the pack. */
type PackBasics = Pick<StreamInfo, 'computeLevels' | 'controller'>;

async function benchVideo(o: BenchOptions, pack: ModelPack, base: PackBasics, pool: InferencePool, video: string, vi: number): Promise<{ runs: RunRecord[]; refFrom: { frames: Detection[][]; from: 'cache' | 'computed' } }> {
  const src = await probeSize(video);
  const fps = src.fps ?? 25;
  const size =
    o.inputSize === 'native'
      ? nativeInputSize(src.width, src.height, pack.manifest.input.sizeMultiple, o.maxSide)
      : (o.inputSize ?? chooseInputSize(pack.manifest, src.width, src.height));
  const maxFrames = o.maxFrames ?? Infinity;
  const key: ReferenceKey = { videoSha: await fileSha256(video), modelSha: pack.file('full').sha256, width: size.width, height: size.height, scoreFloor: SCORE_FLOOR, frames: Number.isFinite(maxFrames) ? maxFrames : 'all' };
  const cached = await loadReference(o.cacheDir, key);
  const name = path.basename(video);

  // Unpaced: strategies (plus the reference if it is neither cached nor requested) take turns per frame.
  const hasFull = o.strategies.some((sp) => sp.name === 'full');
  const wantRef = !cached && !(hasFull && !o.realtime);
  const unpaced: Array<{ label: string; spec: StrategySpec }> = o.realtime ? [] : o.strategies.map((spec) => ({ label: formatSpec(spec), spec }));
  if (wantRef) unpaced.push({ label: 'full#reference', spec: { name: 'full' } });
  // One start-up calibration per video shape, shared by the strategies that price plans, as live cameras share theirs.
  const info = { ...base, minScore: o.minScore, calibration: new CalibrationCache() };
  const procs: FrameProcessor[] = [];
  for (const u of unpaced) procs.push(await FrameProcessor.open({ id: `${vi}:${u.label}`, strategy: u.spec, input: size, sloFps: fps, pool, info, tracker: {}, log: o.log }));
  const frames: FrameRecord[][] = unpaced.map(() => []);
  const busy = unpaced.map(() => 0);
  let total = cached?.length ?? 0;
  if (procs.length > 0) {
    if (!total) total = await countFrames(video, size, maxFrames);
    const rand = seededRandom(1 + vi);
    let block: Frame[] = [];
    let seq = 0;
    // Blocks of frames, each strategy running a whole block in turn, in a fresh random order per
    // block. A call's time depends on what ran just before it: with two intra-op threads the
    // unsplit model ran 1.2-2.2x slower right after a sliced level (three other sessions) than
    // right after itself, so frame-by-frame turns charged each strategy for its predecessor.
    // Within a block a strategy follows itself, as it does live; the random order spreads the
    // block's first call and the machine's drift over all strategies alike.
    const runBlock = async () => {
      for (const i of shuffled(procs.length, rand)) {
        const p = procs[i] as FrameProcessor;
        for (const frame of block) {
          const t0 = performance.now();
          const r = await p.process(frame);
          busy[i] = (busy[i] as number) + performance.now() - t0;
          (frames[i] as FrameRecord[]).push(record(r, frame.seq, r ? performance.now() - r.startedMs : 0));
        }
      }
      block = [];
    };
    try {
      for await (const frame of readVideoFrames(video, size, `bench-${vi}`)) {
        if (seq >= maxFrames) break;
        block.push({ ...frame, seq });
        seq++;
        if (block.length >= BENCH_BLOCK) await runBlock();
        o.onProgress?.(seq, total, `${name} (${unpaced.length} strategies)`);
      }
      await runBlock();
    } finally {
      await Promise.all(procs.map((p) => p.close()));
    }
  }

  let reference = cached;
  let from: 'cache' | 'computed' = 'cache';
  if (!reference) {
    const idx = unpaced.findIndex((u) => u.label === (wantRef ? 'full#reference' : 'full'));
    reference = (frames[idx] as FrameRecord[]).map((f) => f.detections);
    from = 'computed';
    await saveReference(o.cacheDir, key, reference);
  }

  const runs: RunRecord[] = unpaced
    .map((u, i) => ({ strategy: u.label, video, input: size, fps, realtime: false, frames: frames[i] as FrameRecord[], busyMs: busy[i] as number, wallMs: busy[i] as number }))
    .filter((r) => !r.strategy.endsWith('#reference'));

  if (o.realtime) {
    for (const spec of o.strategies) runs.push(await realtimeRun(o, pool, base, video, vi, spec, size, fps, reference.length));
  }
  return { runs, refFrom: { frames: reference, from } };
}

/** The live path: source-paced ffmpeg, the latest-frame gate, real drops and deadlines. */
async function realtimeRun(o: BenchOptions, pool: InferencePool, base: PackBasics, video: string, vi: number, spec: StrategySpec, size: { width: number; height: number }, fps: number, total: number): Promise<RunRecord> {
  const label = formatSpec(spec);
  const frames: FrameRecord[] = Array.from({ length: total }, (_, seq) => record(undefined, seq, 0));
  let first = Infinity;
  let last = 0;
  // The frames the reference covers (--frames), then the end: the rest would not be scored.
  const source = new CameraSource({ cameraId: `rt-${vi}`, url: video, width: size.width, height: size.height, pace: 'source', loop: false });
  // A live camera's start-up (DEMUX calibration) happens before its stream starts (Camera.open), here too.
  const camera = await Camera.open({
    id: `${vi}:${label}:rt`,
    frames: { feed: source.frames$.pipe(take(total)), paced: true },
    strategy: spec,
    input: size,
    sloFps: fps,
    pool,
    info: { ...base, calibration: new CalibrationCache() },
    tracker: {},
    log: o.log,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const failed = source.status$.subscribe((st) => {
        if (st.state === 'offline') reject(new Error(`${video}: ${st.error ?? 'decoding failed'}`));
      });
      camera.results$.subscribe({
        next: (r) => {
          const now = Date.now();
          first = Math.min(first, r.frame.captureWallMs);
          last = now;
          if (r.frame.seq < frames.length) frames[r.frame.seq] = record(r, r.frame.seq, now - r.frame.captureWallMs);
          o.onProgress?.(r.frame.seq + 1, total, `${path.basename(video)} ${label} realtime`);
        },
        complete: () => {
          failed.unsubscribe();
          resolve();
        },
        error: reject,
      });
      source.start();
    });
  } finally {
    await camera.close();
    await source.close();
  }
  return { strategy: label, video, input: size, fps, realtime: true, frames, busyMs: last - first, wallMs: last - first };
}
