/**
 * arac-oracle on the bundled sample through the real bench: the labeling
 * rule's plan reproduces the reference (its probes fall back to the whole
 * frame only when no level matches), while computing less than every tile.
 */
import path from 'node:path';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { silentLogger } from '../../src/core/log.js';
import { computeLevels, loadModelPack } from '../../src/model/manifest.js';
import { runBench } from '../../src/eval/bench.js';
import { readVideoFrames } from '../../src/eval/frame-reader.js';
import { FrameProcessor } from '../../src/eval/processor.js';
import { loadPackController } from '../../src/importance/cgg.js';
import { InferencePool } from '../../src/inference/pool.js';
import { parseStrategy } from '../../src/strategy/registry.js';
import { PACK_DIR, ROOT } from '../helpers/pack.js';
import { tilesOf } from '../helpers/plan.js';

describe('arac-oracle on samples/parade.mp4', () => {
  let tmp: string | undefined;
  /** `strategy` against `full` on the first frames of the sample, scored at the tracker's operating point. */
  const benchSample = async (strategy: string, maxFrames: number) => {
    tmp ??= await mkdtemp(path.join(os.tmpdir(), 'neulens-oracle-'));
    return runBench({ videos: [path.join(ROOT, 'samples/parade.mp4')], strategies: [parseStrategy('full'), parseStrategy(strategy)], minScore: 0.5, packDir: PACK_DIR, cacheDir: tmp, log: silentLogger, maxFrames });
  };
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('matches the reference at F1 >= 0.97 and skips work', async () => {
    const res = await benchSample('arac-oracle', 20);
    const oracle = res.reports.find((r) => r.strategy === 'arac-oracle')!;
    expect(oracle.processed).toBe(20);
    expect(oracle.f1_vs_reference).toBeGreaterThanOrEqual(0.97);
    // The parade holds still between cuts: most tiles keep what they showed.
    expect(oracle.work_fraction).toBeLessThan(0.8);
    const plans = res.runs.find((r) => r.strategy === 'arac-oracle')!.frames;
    expect(plans.some((f) => f.workFraction < 1)).toBe(true);
  }, 120_000);

  it('under a budget, arac and the oracle spend about what it allows, and buy what matters', async () => {
    const res = await benchSample('arac:budget=0.3', 40);
    const arac = res.reports.find((r) => r.strategy === 'arac:budget=0.3')!;
    expect(arac.processed).toBe(40);
    // Start-up runs two whole frames on credit; after that the bucket holds the mean to the budget.
    expect(arac.work_fraction).toBeLessThan(0.3 + 2 / 40 + 0.05);
    expect(arac.work_fraction).toBeGreaterThan(0.1);
    const oracle = (await benchSample('arac-oracle:budget=0.3', 40)).reports.find((r) => r.strategy === 'arac-oracle:budget=0.3')!;
    expect(oracle.work_fraction).toBeLessThan(0.3 + 0.05);
    // Far below full cost, still most of the reference: the parade is slow.
    expect(arac.f1_vs_reference).toBeGreaterThan(0.8);
    expect(oracle.f1_vs_reference).toBeGreaterThan(0.8);
  }, 180_000);

  it('arac-cgg: the learnt controller decides tiles live and stays close to the reference', async () => {
    const res = await benchSample('arac-cgg', 30);
    const report = res.reports.find((r) => r.strategy === 'arac-cgg')!;
    expect(report.processed).toBe(30);
    expect(report.f1_vs_reference).toBeGreaterThanOrEqual(0.9);
    // The plans, frame by frame through the same pipeline.
    const pack = await loadModelPack(PACK_DIR);
    const controller = (await loadPackController(pack))!;
    const pool = await InferencePool.open({ packDir: PACK_DIR, provider: 'cpu', workers: 1, models: 'arac', verifyChecksums: false, detect: { minScore: 0.05, nmsIou: 0.6, maxDetections: 100 } });
    const proc = await FrameProcessor.open({ id: 'cgg', strategy: parseStrategy('arac-cgg'), input: { width: 512, height: 384 }, sloFps: 25, pool, info: { computeLevels: computeLevels(pack), controller }, tracker: {}, log: silentLogger });
    const reasons: string[] = [];
    try {
      for await (const f of readVideoFrames(path.join(ROOT, 'samples/parade.mp4'), { width: 512, height: 384 }, 'cgg')) {
        if (f.seq >= 30) break;
        reasons.push(tilesOf((await proc.process(f))?.result).reasons ?? '');
      }
    } finally {
      await proc.close();
      await pool.close();
    }
    // Warm-up and whole-frame refresh frames compute everything without asking it; on the
    // others, 'q' is a tile skipped on its word, 'l' one computed on it, 't' a new track,
    // and the change and idle rules ('c', 'i') never decide.
    const asked = reasons.filter((r) => /[ql]/.test(r));
    expect(asked.length).toBeGreaterThan(10);
    expect(asked.join('')).toMatch(/q/);
    for (const r of asked) expect(r).not.toMatch(/[ci]/);
  }, 120_000);

  it('neulens label writes one line of tile levels per frame', async () => {
    tmp ??= await mkdtemp(path.join(os.tmpdir(), 'neulens-oracle-'));
    const out = path.join(tmp, 'labels.jsonl');
    expect(await main(['label', path.join(ROOT, 'samples/parade.mp4'), '--frames', '5', '--grid', '3x3', '--out', out])).toBe(0);
    const lines = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { seq: number; grid: number[]; levels: number[] });
    expect(lines.map((l) => l.seq)).toEqual([0, 1, 2, 3, 4]);
    for (const l of lines) {
      expect(l.grid).toEqual([3, 3]);
      expect(l.levels).toHaveLength(9);
      for (const v of l.levels) expect([0, 0.25, 0.5, 0.75, 1]).toContain(v);
    }
    expect(await main(['label', path.join(ROOT, 'samples/parade.mp4')])).toBe(2); // no --out
  }, 120_000);

  it('neulens label --patches writes the controller input of each line, under the live regime with --whole-every', async () => {
    tmp ??= await mkdtemp(path.join(os.tmpdir(), 'neulens-oracle-'));
    const out = path.join(tmp, 'p.jsonl');
    const patches = path.join(tmp, 'p.u8');
    expect(await main(['label', path.join(ROOT, 'samples/parade.mp4'), '--frames', '3', '--grid', '3x3', '--whole-every', '2', '--out', out, '--patches', patches])).toBe(0);
    const bytes = await readFile(patches);
    const per = 9 * 3 * 28 * 28;
    expect(bytes.length).toBe(3 * per);
    // Plane 1 (change since last computed): frame 0 has no reference, so it all counts; frame 0
    // ran whole (--whole-every), so frame 1 compares with it and barely changed.
    const changeOf = (frame: number) => {
      let sum = 0;
      for (let t = 0; t < 9; t++) for (let i = 0; i < 784; i++) sum += bytes[frame * per + t * 3 * 784 + 784 + i]!;
      return sum / (9 * 784);
    };
    expect(changeOf(0)).toBeGreaterThan(40);
    expect(changeOf(1)).toBeLessThan(changeOf(0) / 4);
    expect(await main(['label', path.join(ROOT, 'samples/parade.mp4'), '--out', out, '--whole-every', '0'])).toBe(2);
    // A path that cannot be written is a usage error before any work, not a crash.
    const blocker = path.join(tmp, 'a-file');
    await writeFile(blocker, 'x');
    expect(await main(['label', path.join(ROOT, 'samples/parade.mp4'), '--out', out, '--patches', path.join(blocker, 'p.u8')])).toBe(2);
  }, 120_000);
});
