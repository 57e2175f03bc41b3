/**
 * arac-oracle on the bundled sample through the real bench: the labeling
 * rule's plan reproduces the reference (its probes fall back to the whole
 * frame only when no level matches), while computing less than every tile.
 */
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
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
});
