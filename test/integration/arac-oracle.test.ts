/**
 * arac-oracle on the bundled sample through the real bench: the labeling
 * rule's plan reproduces the reference (its probes fall back to the whole
 * frame only when no level matches), while computing less than every tile.
 */
import path from 'node:path';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { silentLogger } from '../../src/core/log.js';
import { runBench } from '../../src/eval/bench.js';
import { PACK_DIR, ROOT } from '../helpers/pack.js';

describe('arac-oracle on samples/parade.mp4', () => {
  let tmp: string | undefined;
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('matches the reference at F1 >= 0.97 and skips work', async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'neulens-oracle-'));
    const res = await runBench({
      videos: [path.join(ROOT, 'samples/parade.mp4')],
      strategies: ['full', 'arac-oracle'],
      minScore: 0.5,
      packDir: PACK_DIR,
      cacheDir: tmp,
      log: silentLogger,
      maxFrames: 20,
    });
    const oracle = res.reports.find((r) => r.strategy === 'arac-oracle')!;
    expect(oracle.processed).toBe(20);
    expect(oracle.f1_vs_reference).toBeGreaterThanOrEqual(0.97);
    // The parade holds still between cuts: most tiles keep what they showed.
    expect(oracle.work_fraction).toBeLessThan(0.8);
    const plans = res.runs.find((r) => r.strategy === 'arac-oracle')!.frames;
    expect(plans.some((f) => f.workFraction < 1)).toBe(true);
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
});
