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
import { toTensor } from '../../detect/preprocess.js';
import { openModel } from '../../model/open.js';
import type { ModelRunner } from '../../model/tensor.js';
import { readStill } from '../../ingest/still.js';
import { parseNumber, parseProvider, parseSize } from '../args.js';
import { EXIT, type Command } from '../command.js';
import { quantile } from '../../core/stats.js';
import { seededRandom, shuffled } from '../../core/random.js';
import { progressBar } from '../progress.js';

const usage = `usage: neulens bench-pack [--runs N] [--size WxH] [--threads T[,T...]] [--only REGEX] [--image FILE] [--provider P] [--json]

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
(--threads then only sizes ONNX Runtime's CPU fallback).`;

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
    const pack = await loadModelPack(DEFAULT_PACK_DIR);
    const size = parseSize('--size', values.size, pack.manifest.input.sizeMultiple);
    const frame = await readStill(values.image, size);
    const rows: Array<{ variant: string; threads: number | 'ort'; median_ms: number; p95_ms: number; ratio_vs_full: number }> = [];
    const bar = progressBar('bench-pack', threadList.length * (runs + 5));
    try {
      // One thread count at a time, on its own runner: with two threads, a call right after another
      // session's runs slower (in bench, the unsplit model 1.2-2.2x after a sliced level).
      for (const threads of threadList) {
        const { runner } = await openModel(DEFAULT_PACK_DIR, threads === 'ort' ? { set: 'arac', provider, verifyChecksums: false } : { set: 'arac', provider, threads, verifyChecksums: false });
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
