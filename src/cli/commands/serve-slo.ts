/**
 * Multi-camera SLO benchmark (src/eval/slo-run.ts does one run): N cameras
 * served at once, once per mode, each camera's SLO attainment and F1 against
 * the offline reference. With --sweep, N goes up a list per mode (1, 2, 4,
 * ... 128): each N is a fresh service, a mode stops at the first N that
 * misses the target, and the report ends with, per mode, the largest N
 * that held it and what stopped it there (the device, decoding or the main
 * thread). --budget-s keeps a sweep inside a fixed time (a GPU host's).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { InputError } from '../../core/errors.js';
import { DEFAULT_PACK_DIR, PACKAGE_ROOT } from '../../core/paths.js';
import { silentLogger } from '../../core/log.js';
import { runBench } from '../../eval/bench.js';
import { holds, limitOf, parseSloMode, runSloMode, type ClipReference, type ModeSlo, type SloMode } from '../../eval/slo-run.js';
import { nextRun, sweepOutcome, type SweepOrder } from '../../eval/sweep-plan.js';
import { BATCH_DEFAULTS } from '../../config/schema.js';
import type { Provider } from '../../model/tensor.js';
import { parseNumber, parseProvider } from '../args.js';
import { EXIT, type Command } from '../command.js';
import { progressBar } from '../progress.js';

const usage = `usage: neulens serve-slo [--clips A,B,...] [--cameras N | --sweep 1,2,4,...] [--fps F] [--modes "arac;full"] [--seconds S] [--warmup W]
                         [--provider cpu|webgpu|cuda] [--threads T] [--workers W] [--batch-timeout MS] [--target 0.99]
                         [--order linear|search] [--budget-s S]
                         [--min-score X] [--per-camera] [--json] [--json-out FILE]

Serves N cameras at once (the clips, cycled; default samples/parade.mp4, a
960x540 10 fps clip, so 512x288 input), each paced as a live camera and
capped at F fps (default 8 cameras at 10 fps), once per mode (default arac,
then full), and reports each camera's SLO attainment: the share of its
frames whose detections were published within one frame interval of
capture: 1/F s, or the clip's own interval when it sends fewer than F
frames a second (the cap drops frames, it never repeats them; the
'deadline' column). Default 20 s measured after 5 s of warm-up per run.
--threads and --workers set model.threads and model.workers (default: the
service's own). A mode is any strategy (arac:budget=0.35, skip-track:3,
...), with '@batch=N' for cross-camera batching (model.batch.maxSize N,
timeoutMs --batch-timeout, default ${BATCH_DEFAULTS.timeoutMs}); separate modes with ';'
when one has a comma. Each camera's F1 is scored against the offline
reference (the unsplit model on every frame of its clip, on --provider,
computed once and cached in .cache/neulens) at --min-score (default 0.5),
over what the client saw at each frame: a dropped frame shows the boxes
before it.

--sweep N1,N2,...: every mode at each camera count in turn, a fresh service
each; a mode stops after its first count that does not hold the SLO (every
camera on time for at least --target of its frames, default 0.99, and fed
at least 95 % of its frame rate). --order search: a binary search per mode
for its largest count first (3 runs for 1..128 in powers of two), then the
counts it skipped, smallest first, while --budget-s allows. Per count: attainment (min, median), F1
(mean, min), worker time per frame (batched: model-call time, items per
call, their fixed part), the CPU of the decoders, the main thread and the
whole process, and the part nearest saturation. Then, per mode, the
largest count that held, and what limits it there. --budget-s S skips the
runs that would end after S seconds (and says so).`;

interface SweepRow {
  result: ModeSlo;
  held: boolean;
}

function pct(v: number): string {
  return Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : '-';
}

function fixed(v: number | undefined, d = 1): string {
  return v !== undefined && Number.isFinite(v) ? v.toFixed(d) : '-';
}

function printCameras(r: ModeSlo, minScore: number): void {
  const w = Math.max(5, r.mode.length);
  console.log(`${'mode'.padEnd(w)} camera  clip                          in  deadline  on time  demux-drop  SLO      fps   det ms  e2e p50  e2e p95  F1 vs ref`);
  for (const c of r.cameraResults) {
    console.log(
      `${r.mode.padEnd(w)} ${c.camera.padEnd(7)} ${c.clip.slice(0, 28).padEnd(28)} ${String(c.framesIn).padStart(4)} ${c.deadlineMs.toFixed(0).padStart(9)} ${String(c.onTime).padStart(8)} ${String(c.demuxDropped).padStart(11)} ${(100 * c.attainment).toFixed(1).padStart(5)}% ${c.processedFps.toFixed(1).padStart(5)} ${c.inferenceMs.toFixed(1).padStart(8)} ${c.latencyP50.toFixed(0).padStart(8)} ${c.latencyP95.toFixed(0).padStart(8)}  ${c.f1.toFixed(3).padStart(9)}`,
    );
  }
  console.log(`${r.mode}: SLO attainment min ${pct(r.minAttainment)}, median ${pct(r.medianAttainment)}; mean F1 vs reference ${r.meanF1.toFixed(3)} (min score ${minScore})`);
}

const SWEEP_HEADER = 'mode                      N  held  SLO min  SLO med  in min   F1 mean  F1 min  worker ms/f  busy   call ms/f  items/call  fixed ms/f  decode cores  main thread  process cores  limit (load)';

function sweepLine(r: ModeSlo, held: boolean): string {
  const x = r.resources;
  const l = limitOf(r);
  const load = l.by === 'device' || l.by === 'inference worker' ? l.worker : l.by === 'main thread' ? l.mainThread : l.hostCpu;
  return [
    r.mode.slice(0, 24).padEnd(24),
    String(r.cameras).padStart(4),
    (held ? 'yes' : 'no').padStart(5),
    pct(r.minAttainment).padStart(8),
    pct(r.medianAttainment).padStart(8),
    pct(r.minInputRatio).padStart(7),
    r.meanF1.toFixed(3).padStart(8),
    r.minF1.toFixed(3).padStart(7),
    fixed(x.workerMsPerFrame, 2).padStart(12),
    pct(x.workerBusy).padStart(6),
    fixed(x.callMsPerFrame, 2).padStart(11),
    fixed(x.itemsPerCall, 1).padStart(11),
    fixed(x.overheadMsPerFrame, 2).padStart(11),
    fixed(x.cpu.childrenCores, 2).padStart(13),
    pct(x.cpu.mainThreadCores).padStart(12),
    fixed(x.cpu.processCores, 2).padStart(14),
    `  ${l.by} (${pct(load)})`,
  ].join(' ');
}

export const serveSloCommand: Command = {
  name: 'serve-slo',
  summary: 'serve N live cameras at once (or a sweep of N) and measure each one\'s frame-rate SLO attainment and F1 per mode',
  usage,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        clips: { type: 'string', default: path.join(PACKAGE_ROOT, 'samples/parade.mp4') },
        cameras: { type: 'string', default: '8' },
        sweep: { type: 'string' },
        fps: { type: 'string', default: '10' },
        modes: { type: 'string', default: 'arac,full' },
        seconds: { type: 'string', default: '20' },
        warmup: { type: 'string', default: '5' },
        provider: { type: 'string', default: 'cpu' },
        threads: { type: 'string' },
        workers: { type: 'string' },
        'batch-timeout': { type: 'string', default: String(BATCH_DEFAULTS.timeoutMs) },
        target: { type: 'string', default: '0.99' },
        'budget-s': { type: 'string' },
        order: { type: 'string', default: 'linear' },
        'min-score': { type: 'string', default: '0.5' },
        'per-camera': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        'json-out': { type: 'string' },
      },
    });
    const clips = values.clips.split(',').map((c) => path.resolve(c));
    for (const c of clips) if (!existsSync(c)) throw new InputError(`--clips: no such file: ${c}`);
    const counts = values.sweep
      ? values.sweep.split(',').map((v) => parseNumber('--sweep', v, { integer: true, min: 1, max: 1024 }))
      : [parseNumber('--cameras', values.cameras, { integer: true, min: 1, max: 1024 })];
    const fps = parseNumber('--fps', values.fps, { min: 0.1, max: 240 });
    const seconds = parseNumber('--seconds', values.seconds, { integer: true, min: 1, max: 3600 });
    const warmup = parseNumber('--warmup', values.warmup, { integer: true, min: 0, max: 600 });
    const provider: Provider = parseProvider('--provider', values.provider);
    const threads = values.threads ? parseNumber('--threads', values.threads, { integer: true, min: 1, max: 256 }) : undefined;
    const workers = values.workers ? parseNumber('--workers', values.workers, { integer: true, min: 1, max: 64 }) : undefined;
    const batchTimeoutMs = parseNumber('--batch-timeout', values['batch-timeout'], { min: 0, max: 1000 });
    const target = parseNumber('--target', values.target, { min: 0, max: 1 });
    const budgetS = values['budget-s'] ? parseNumber('--budget-s', values['budget-s'], { min: 1 }) : Infinity;
    const minScore = parseNumber('--min-score', values['min-score'], { min: 0, max: 1 });
    if (values.order !== 'linear' && values.order !== 'search') throw new InputError(`--order must be linear or search, got '${values.order}'`);
    const modes: SloMode[] = (values.modes.includes(';') ? values.modes.split(';') : values.modes.split(',')).map((m) => parseSloMode(m));
    const twice = modes.find((m, i) => modes.findIndex((x) => x.name === m.name) !== i);
    if (twice) throw new InputError(`--modes: '${twice.name}' is listed twice (to repeat runs, run the command again)`);
    const t0 = Date.now();
    const loadBefore = loadavg();

    // The offline reference per clip (cached after the first run), before any service starts.
    const refs = new Map<string, ClipReference>();
    const refBar = progressBar('reference', 1);
    try {
      for (const clip of new Set(clips)) {
        const r = await runBench({ videos: [clip], strategies: [{ name: 'full' }], minScore, packDir: DEFAULT_PACK_DIR, cacheDir: path.resolve('.cache/neulens'), provider, ...(threads ? { threads } : {}), log: silentLogger, onProgress: (done, total, note) => refBar.set(done, total, note) });
        const run = r.runs[0];
        if (!run) throw new InputError(`--clips: ${clip}: no frames for the reference`);
        refs.set(clip, { frames: run.frames.map((f) => f.detections), fps: run.fps });
      }
    } finally {
      refBar.done();
    }

    const perRun = warmup + seconds;
    const bar = progressBar('serve-slo', modes.length * counts.length * perRun);
    const rows = new Map<string, SweepRow[]>();
    const skipped: string[] = [];
    // Start-up and shutdown of a service, learnt from the runs so far (model load, calibration, ffmpeg).
    let overheadS = 10;
    // The order of the runs (src/eval/sweep-plan.ts): count by count, or a binary search per mode first.
    const order: SweepOrder = values.order === 'search' ? 'search' : 'linear';
    const done = new Map<string, Map<number, boolean>>(modes.map((m) => [m.name, new Map()]));
    for (const mode of modes) rows.set(mode.name, []);
    // One count (--cameras) is a sweep of one, run linearly.
    const pick = () => nextRun(values.sweep ? order : 'linear', counts, modes.map((m) => m.name), done);
    try {
      for (;;) {
        const next = pick();
        if (!next) break;
        const mode = modes.find((m) => m.name === next.mode) as SloMode;
        if ((Date.now() - t0) / 1000 + perRun + overheadS > budgetS) {
          // Out of time: what is left is listed, not run.
          for (;;) {
            const rest = pick();
            if (!rest) break;
            skipped.push(`${rest.mode} x${rest.count}`);
            done.get(rest.mode)?.set(rest.count, false);
          }
          break;
        }
        const started = Date.now();
        const result = await runSloMode({ mode, clips, refs, minScore, cameras: next.count, fps, warmupS: warmup, seconds, provider, ...(threads ? { threads } : {}), ...(workers ? { workers } : {}), batchTimeoutMs, tick: (note) => bar.tick(1, note) });
        overheadS = Math.max(overheadS * 0.5, (Date.now() - started) / 1000 - perRun);
        const held = holds(result, target);
        (rows.get(mode.name) as SweepRow[]).push({ result, held });
        done.get(mode.name)?.set(next.count, held);
      }
    } finally {
      bar.done();
    }
    for (const list of rows.values()) list.sort((a, b) => a.result.cameras - b.result.cameras);

    const summary = [...rows].map(([mode, list]) => {
      const o = sweepOutcome(new Map(list.map((r) => [r.result.cameras, r.held])));
      const at = (n: number | undefined) => list.find((r) => r.result.cameras === n)?.result;
      const best = at(o.largestHeld);
      const miss = at(o.firstMissed);
      // What limits it: measured at the largest count that held and at the first that did not.
      return { mode, largestHeld: o.largestHeld, limitAtLargest: best ? limitOf(best) : undefined, firstMissed: o.firstMissed, limitAtFirstMissed: miss ? limitOf(miss) : undefined };
    });
    const out = {
      date: new Date().toISOString(),
      fps,
      seconds,
      warmup,
      provider,
      target,
      ...(threads ? { threads } : {}),
      ...(workers ? { workers } : {}),
      batchTimeoutMs,
      cpus: availableParallelism(),
      loadavg: { before: loadBefore, after: loadavg() },
      clips: clips.map((c) => path.basename(c)),
      runs: [...rows.values()].flat().map((r) => ({ ...r.result, held: r.held, limit: limitOf(r.result) })),
      summary,
      skipped,
    };
    if (values['json-out']) writeFileSync(values['json-out'], `${JSON.stringify(out, null, 2)}\n`);
    if (values.json) {
      console.log(JSON.stringify(out, null, 2));
      return EXIT.ok;
    }
    const shape = [provider, workers ? `${workers} workers` : '', threads ? `${threads} threads` : ''].filter(Boolean).join(', ');
    console.log(`serve-slo: ${counts.join(', ')} cameras at ${fps} fps (SLO: published within one frame interval of capture, at most ${(1000 / fps).toFixed(0)} ms), ${seconds} s after ${warmup} s warm-up per run, ${availableParallelism()} CPUs, ${shape}`);
    if (!values.sweep || values['per-camera']) {
      for (const list of rows.values()) for (const r of list) printCameras(r.result, minScore);
    }
    if (values.sweep) {
      console.log(SWEEP_HEADER);
      for (const list of rows.values()) for (const r of list) console.log(sweepLine(r.result, r.held));
      console.log(`held: every camera on time for >= ${pct(target)} of its frames and fed >= 95 % of its rate; busy: the busiest worker's share of the time; cores: CPU over the window (1 = one core)`);
      for (const s of summary) {
        const l = s.limitAtFirstMissed ?? s.limitAtLargest;
        const why = l ? `; limit: ${l.by} (inference worker ${pct(l.worker)} busy, ${pct(l.device)} in model calls; main thread ${pct(l.mainThread)} of a core; host CPU ${pct(l.hostCpu)})${s.firstMissed ? ` at ${s.firstMissed} cameras` : ' at the largest count run'}` : '';
        console.log(`${s.mode}: largest N holding ${pct(target)} SLO: ${s.largestHeld}${s.firstMissed ? `, missed at ${s.firstMissed}` : ''}${why}`);
      }
      if (skipped.length) console.log(`skipped (--budget-s ${budgetS}): ${skipped.join(', ')}`);
    }
    return EXIT.ok;
  },
};
