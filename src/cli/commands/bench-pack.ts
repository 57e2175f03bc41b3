/**
 * Model-pack micro-benchmark: the unsplit model against the ARAC executor at
 * c = 0 for each grid, interleaved (A B C ... A B C ...) in one process so
 * machine drift hits every variant alike; medians after warm-up.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AracExecutor, FeatureCache, headNames } from '../../detect/executor.js';
import { loadModelPack } from '../../model/manifest.js';
import { DEFAULT_PACK_DIR, PACKAGE_ROOT } from '../../core/paths.js';
import { InputError } from '../../core/errors.js';
import { toTensor, windowsToTensor } from '../../detect/preprocess.js';
import { makeTiles } from '../../arac/geometry.js';
import { DEFAULT_CALL_FRACTION, DEFAULT_WINDOW_HALO, planWindowed } from '../../arac/windows.js';
import { openModel } from '../../model/open.js';
import type { OrtRunner, WebGpuKnobs } from '../../model/ort-runner.js';
import type { ModelRunner } from '../../model/tensor.js';
import { readStill } from '../../ingest/still.js';
import { parseNumber, parseProvider, parseSize } from '../args.js';
import { EXIT, type Command } from '../command.js';
import { quantile } from '../../core/stats.js';
import { seededRandom, shuffled } from '../../core/random.js';
import { progressBar } from '../progress.js';

const usage = `usage: neulens bench-pack [--runs N] [--size WxH] [--threads T[,T...]] [--only REGEX] [--image FILE] [--provider P] [--batch B,B,...]
                          [--graph-capture] [--gpu-buffer-outputs] [--json]

Median latency of the unsplit model against the ARAC executor:
- stitched path (exact), every tile at c = 0: tiles as separate halo'd
  windows (one batched call) for grids 2x2, 3x3, 4x4, and the merged plan;
  4 of 16 tiles at c = 0 with the rest skipped (the cross-tile rest still
  runs on the whole frame);
- windowed path, 4x4 grid, the rest skipped: how latency follows the
  active tiles (1, 2, 4 in a block at a corner or the centre, 4 apart, 8)
  and 4 tiles at c = 0.5, with 64 px of context (arac's) and 32 (the
  oracle's).
Several thread counts (--threads 1,2,ort; 'ort' leaves the count to ONNX
Runtime) run every variant at each, one count after another, each row's
ratio against the unsplit model at the same count. --only keeps the
variants whose name matches (the unsplit model always runs): the sliced and
stitched variants switch sessions, which with two threads slows them and
the calls after them, so compare thread counts on one session's variants
(--only '^windowed [0-9/]+ c0[ ,]'). Default: 2 threads, 60 runs after 5
warm-up runs. --provider webgpu|cuda times the same variants on a GPU
(--threads then only sizes ONNX Runtime's CPU fallback).

--batch 1,2,4,...: instead, what batching across cameras buys: the unsplit
model, and the canonical windows of one active tile (interior and corner)
and of a 2x2 block, each run as one call of B items (B frames or windows
of that shape, as the batcher merges them), interleaved; per call and per
item, and each item's time against the same shape at batch 1.

WebGPU's per-call knobs (issue 18; measured only on a GPU host, see
scripts/gpu-host/README.md): --gpu-buffer-outputs keeps the outputs on the
GPU (preferredOutputLocation 'gpu-buffer') and downloads them after each
call; --graph-capture (with --batch only) turns on the provider's graph
capture, which replays the first call's graph, so each shape and batch size
gets a session of its own. The CPU provider reads neither.`;

/** --threads: integers >= 1, or 'ort' (no intra-op count given: ONNX Runtime's default). */
function parseThreadList(text: string): Array<number | 'ort'> {
  return text.split(',').map((t) => (t.trim() === 'ort' ? 'ort' : parseNumber('--threads', t.trim(), { integer: true, min: 1 })));
}

/** Windowed rows: name, active tiles of the 4x4 grid (row-major), their level, the window context (px). */
const WINDOWED: ReadonlyArray<readonly [string, number[], number, number]> = [
  ['1/16 c0', [5], 0, 64],
  ['2/16 c0 adjacent', [5, 6], 0, 64],
  ['4/16 c0 corner block', [0, 1, 4, 5], 0, 64],
  ['4/16 c0 centre block', [5, 6, 9, 10], 0, 64],
  ['4/16 c0 apart', [0, 3, 12, 15], 0, 64],
  ['8/16 c0 top half', [0, 1, 2, 3, 4, 5, 6, 7], 0, 64],
  ['4/16 c0.5 centre', [5, 6, 9, 10], 0.5, 64],
  ['1/16 c0', [5], 0, 32],
  ['4/16 c0 corner block', [0, 1, 4, 5], 0, 32],
  ['4/16 c0 centre block', [5, 6, 9, 10], 0, 32],
  ['4/16 c0 apart', [0, 3, 12, 15], 0, 32],
];

export const benchPackCommand: Command = {
  name: 'bench-pack',
  summary: 'benchmark the unsplit model against ARAC at c = 0 per grid',
  usage,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        runs: { type: 'string', default: '60' },
        size: { type: 'string', default: '512x384' },
        threads: { type: 'string', default: '2' },
        only: { type: 'string' },
        provider: { type: 'string', default: 'cpu' },
        image: { type: 'string', default: path.join(PACKAGE_ROOT, 'test/fixtures/images/astronaut.png') },
        batch: { type: 'string' },
        'graph-capture': { type: 'boolean', default: false },
        'gpu-buffer-outputs': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
    });
    const runs = parseNumber('--runs', values.runs, { integer: true, min: 1 });
    const threadList = parseThreadList(values.threads);
    const provider = parseProvider('--provider', values.provider);
    let only: RegExp | undefined;
    try {
      only = values.only === undefined ? undefined : new RegExp(values.only);
    } catch (err) {
      throw new InputError(`--only: not a regular expression: ${(err as Error).message}`);
    }
    const webgpu = { graphCapture: values['graph-capture'], gpuBufferOutputs: values['gpu-buffer-outputs'] };
    // Graph capture needs one input shape per session; only --batch gives each shape its own.
    if (webgpu.graphCapture && values.batch === undefined) throw new InputError('--graph-capture needs --batch (a session per shape and batch size)');
    const pack = await loadModelPack(DEFAULT_PACK_DIR);
    const size = parseSize('--size', values.size, pack.manifest.input.sizeMultiple);
    const frame = await readStill(values.image, size);
    if (values.batch !== undefined) {
      const batches = values.batch.split(',').map((b) => parseNumber('--batch', b.trim(), { integer: true, min: 1, max: 1024 }));
      await benchBatches({ runs, threads: threadList, provider, batches, size, frame, pack, json: values.json, webgpu });
      return EXIT.ok;
    }
    const rows: Array<{ variant: string; threads: number | 'ort'; median_ms: number; p95_ms: number; ratio_vs_full: number }> = [];
    const bar = progressBar('bench-pack', threadList.length * (runs + 5));
    try {
      // One thread count at a time, on its own runner: with two threads, a call right after another
      // session's runs slower (in bench, the unsplit model 1.2-2.2x after a sliced level).
      for (const threads of threadList) {
        const { runner } = await openModel(DEFAULT_PACK_DIR, { set: 'arac', provider, verifyChecksums: false, ...(threads === 'ort' ? {} : { threads }), ...(webgpu.gpuBufferOutputs ? { webgpu: { gpuBufferOutputs: true } } : {}) });
        try {
          const variants = packVariants(runner, pack, frame, size).filter((v, i) => i === 0 || !only || only.test(v.name));
          const times = variants.map(() => [] as number[]);
          const rand = seededRandom(1);
          for (let r = 0; r < runs + 5; r++) {
            // A fresh random order each round: a call's time depends on what ran just before it
            // (ORT re-plans memory when shapes change), and a fixed cyclic order would always
            // give a variant the same predecessor.
            for (const i of shuffled(variants.length, rand)) {
              const t0 = performance.now();
              await (variants[i] as (typeof variants)[number]).run();
              if (r >= 5) times[i]!.push(performance.now() - t0);
            }
            bar.tick();
          }
          // packVariants lists the unsplit model first: each row is compared with it at the same thread count.
          const full = quantile(times[0]!, 0.5);
          const suffix = threadList.length > 1 ? ` @${threads}` : '';
          variants.forEach((v, i) => rows.push({ variant: v.name + suffix, threads, median_ms: quantile(times[i]!, 0.5), p95_ms: quantile(times[i]!, 0.95), ratio_vs_full: quantile(times[i]!, 0.5) / full }));
        } finally {
          await runner.close();
        }
      }
    } finally {
      bar.done();
    }
    if (values.json) {
      console.log(JSON.stringify({ size, provider, threads: threadList, runs, rows }, null, 2));
    } else {
      console.log(`input ${size.width}x${size.height}, provider ${provider}, ${threadList.join(' / ')} threads (one after another), ${runs} runs after 5 warm-up, interleaved`);
      console.log('variant                                   median ms   p95 ms   x full');
      for (const r of rows) console.log(`${r.variant.padEnd(41)} ${r.median_ms.toFixed(2).padStart(9)} ${r.p95_ms.toFixed(2).padStart(8)} ${r.ratio_vs_full.toFixed(2).padStart(8)}`);
    }
    return EXIT.ok;
  },
};

/** The variants timed on one runner (one thread count); the unsplit model first. */
function packVariants(runner: ModelRunner, pack: Awaited<ReturnType<typeof loadModelPack>>, frame: { data: Uint8Array }, size: { width: number; height: number }): Array<{ name: string; run: () => Promise<unknown> }> {
  const split = new AracExecutor(runner, pack, { merge: false });
  const merged = new AracExecutor(runner, pack);
  const plan = (n: number) => ({ grid: { cols: n, rows: n }, levels: Array<number>(n * n).fill(0) });
  const active = (on: readonly number[], level: number, p: 'stitched' | 'windowed') => ({ grid: { cols: 4, rows: 4 }, levels: Array.from({ length: 16 }, (_, i) => (on.includes(i) ? level : 1)), path: p });
  // Every variant starts from the RGB frame, as a camera's request does: its conversion is part of its cost.
  const tensor = () => toTensor(frame.data, size.width, size.height, pack.manifest.input);
  const rgb = { data: frame.data, ...size };
  return [
    { name: 'full (unsplit)', run: () => runner.run('full', { image: { data: tensor(), dims: [1, 3, size.height, size.width] } }, headNames(pack.manifest.decoding.strides)) },
    { name: 'arac c0 merged', run: () => merged.run(tensor(), size.width, size.height, plan(4), new FeatureCache()) },
    ...[2, 3, 4].map((n) => ({ name: `arac c0 ${n}x${n} tiles`, run: () => split.run(tensor(), size.width, size.height, plan(n), new FeatureCache()) })),
    { name: 'stitched 4/16 c0 block', run: () => merged.run(tensor(), size.width, size.height, active([5, 6, 9, 10], 0, 'stitched'), new FeatureCache()) },
    ...WINDOWED.map(([name, on, level, halo]) => ({ name: `windowed ${name}, ${halo} px`, run: () => merged.runWindowed(rgb, { ...active(on, level, 'windowed'), halo }) })),
  ];
}

/**
 * Batched calls (--batch): each shape at each batch size, one call of B
 * copies of the shape's input, in a fresh random order per round. The
 * shapes are what the batcher merges: whole frames, and arac's canonical
 * windows (src/arac/windows.ts).
 */
async function benchBatches(o: {
  runs: number;
  threads: Array<number | 'ort'>;
  provider: ReturnType<typeof parseProvider>;
  batches: number[];
  size: { width: number; height: number };
  frame: { data: Uint8Array };
  pack: Awaited<ReturnType<typeof loadModelPack>>;
  json: boolean;
  webgpu: WebGpuKnobs;
}): Promise<void> {
  const { width, height } = o.size;
  const heads = headNames(o.pack.manifest.decoding.strides);
  const tiles = makeTiles(width, height, { cols: 4, rows: 4 });
  const geometry = { width, height, halo: DEFAULT_WINDOW_HALO, callFraction: DEFAULT_CALL_FRACTION, canonical: true };
  const windowOf = (on: number[]) => {
    const levels = tiles.map((t) => (on.includes(t.index) ? 0 : 1));
    return (planWindowed(levels, tiles, geometry)[0]?.windows[0]?.rect ?? { x: 0, y: 0, w: width, h: height });
  };
  const shapes = [
    { name: 'full', rect: { x: 0, y: 0, w: width, h: height } },
    { name: '1 tile (interior)', rect: windowOf([5]) },
    { name: '1 tile (corner)', rect: windowOf([0]) },
    { name: '2x2 block (centre)', rect: windowOf([5, 6, 9, 10]) },
  ];
  const rows: Array<{ shape: string; window: string; batch: number; threads: number | 'ort'; call_ms: number; per_item_ms: number; per_item_vs_batch1: number }> = [];
  const bar = progressBar('bench-pack --batch', o.threads.length * (o.runs + 5));
  try {
    for (const threads of o.threads) {
      const open = async () => (await openModel(DEFAULT_PACK_DIR, { set: 'full', provider: o.provider, verifyChecksums: false, webgpu: o.webgpu, ...(threads === 'ort' ? {} : { threads }) })).runner;
      // Graph capture replays one shape per session: a session per variant; otherwise one for all.
      const runners: OrtRunner[] = [await open()];
      try {
        const variants = [];
        for (const s of shapes) {
          const one = windowsToTensor(o.frame.data, width, height, o.pack.manifest.input, [s.rect]);
          for (const b of o.batches) {
            const data = new Float32Array(one.length * b);
            for (let i = 0; i < b; i++) data.set(one, i * one.length);
            if (o.webgpu.graphCapture && variants.length > 0) runners.push(await open());
            const runner = runners[runners.length - 1] as OrtRunner;
            variants.push({ shape: s, batch: b, run: () => runner.run('full', { image: { data, dims: [b, 3, s.rect.h, s.rect.w] } }, heads) });
          }
        }
        const times = variants.map(() => [] as number[]);
        const rand = seededRandom(1);
        for (let r = 0; r < o.runs + 5; r++) {
          for (const i of shuffled(variants.length, rand)) {
            const t0 = performance.now();
            await (variants[i] as (typeof variants)[number]).run();
            if (r >= 5) times[i]!.push(performance.now() - t0);
          }
          bar.tick();
        }
        const base = new Map<string, number>();
        variants.forEach((v, i) => {
          const perItem = quantile(times[i]!, 0.5) / v.batch;
          if (!base.has(v.shape.name)) base.set(v.shape.name, v.batch === 1 ? perItem : NaN);
          rows.push({ shape: v.shape.name, window: `${v.shape.rect.w}x${v.shape.rect.h}`, batch: v.batch, threads, call_ms: quantile(times[i]!, 0.5), per_item_ms: perItem, per_item_vs_batch1: perItem / (base.get(v.shape.name) as number) });
        });
      } finally {
        await Promise.all(runners.map((r) => r.close()));
      }
    }
  } finally {
    bar.done();
  }
  if (o.json) {
    console.log(JSON.stringify({ size: o.size, provider: o.provider, threads: o.threads, runs: o.runs, batches: o.batches, webgpu: o.webgpu, rows }, null, 2));
    return;
  }
  const knobs = [o.webgpu.graphCapture ? 'graph capture (a session per shape and batch)' : '', o.webgpu.gpuBufferOutputs ? 'gpu-buffer outputs' : ''].filter(Boolean).join(', ');
  console.log(`input ${width}x${height}, provider ${o.provider}, ${o.threads.join(' / ')} threads (one after another), ${o.runs} runs after 5 warm-up, interleaved; batches of copies of one input${knobs ? `; ${knobs}${o.provider === 'webgpu' ? '' : ` (the ${o.provider} provider reads neither)`}` : ''}`);
  console.log('shape                  window   threads  batch   call ms  per item ms  per item x batch 1');
  for (const r of rows) console.log(`${r.shape.padEnd(22)} ${r.window.padStart(7)} ${String(r.threads).padStart(8)} ${String(r.batch).padStart(6)} ${r.call_ms.toFixed(2).padStart(9)} ${r.per_item_ms.toFixed(2).padStart(12)} ${r.per_item_vs_batch1.toFixed(2).padStart(19)}`);
}
