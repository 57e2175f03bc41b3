/**
 * The refresh bound, end to end: with motion off (so nothing but the refresh
 * rule can reach an idle tile), a person who appears in a tile that has been
 * skipped for a long time is detected within the configured number of
 * frames, through the real pipeline (strategy, inference pool, tracker).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeLevels, loadModelPack } from '../../src/model/manifest.js';
import { silentLogger } from '../../src/core/log.js';
import type { Frame } from '../../src/core/types.js';
import { FrameProcessor } from '../../src/eval/processor.js';
import { InferencePool } from '../../src/inference/pool.js';
import { readStill } from '../../src/ingest/still.js';
import { AracAdaptiveStrategy, DEFAULT_ADAPTIVE } from '../../src/strategy/arac-adaptive.js';
import { IMAGES, PACK_DIR } from '../helpers/pack.js';

const W = 512;
const H = 384;
const APPEARS = 25; // frame index at which the person appears (off the refresh cycle of either bound)
const S = 96; // the person's square, inside the bottom-right tile of the 4x4 grid (128x96)

describe('arac refresh bound', () => {
  let pool: InferencePool;
  let person: Awaited<ReturnType<typeof readStill>>;
  beforeAll(async () => {
    pool = await InferencePool.open({ packDir: PACK_DIR, provider: 'cpu', threads: 2, workers: 1, models: 'arac', verifyChecksums: false, detect: { minScore: 0.35, nmsIou: 0.6, maxDetections: 100 } });
    person = await readStill(path.join(IMAGES, 'astronaut.png'), { width: S, height: S });
  });
  afterAll(async () => {
    await pool?.close();
  });

  /** A flat grey scene; from APPEARS on, the astronaut pasted into the bottom-right tile. */
  function frame(seq: number): Frame {
    const data = new Uint8Array(W * H * 3).fill(118);
    if (seq >= APPEARS) {
      for (let y = 0; y < S; y++) data.set(person.data.subarray(y * S * 3, (y + 1) * S * 3), ((H - S + y) * W + (W - 112)) * 3);
    }
    return { cameraId: 'refresh', seq, ptsMs: seq * 100, captureWallMs: Date.now(), width: W, height: H, srcWidth: W, srcHeight: H, data };
  }

  for (const [bound, budget] of [[4], [12], [12, 0.1]] as Array<[number, number?]>) {
    it(`finds a person appearing in long-skipped tiles within ${bound} frames${budget ? ` under a budget of ${budget}` : ''}`, async () => {
      const pack = await loadModelPack(PACK_DIR);
      const strategy = new AracAdaptiveStrategy({ ...DEFAULT_ADAPTIVE, motion: false, refreshFrames: bound, refreshMs: 1e9, ...(budget ? { budget } : {}) });
      const proc = await FrameProcessor.open({ id: `refresh-${bound}-${budget ?? 'none'}`, strategy, input: { width: W, height: H }, sloFps: 10, pool, info: { computeLevels: computeLevels(pack) }, tracker: {}, log: silentLogger });
      const found: number[] = [];
      const work: number[] = [];
      try {
        for (let seq = 0; seq < APPEARS + 2 * bound; seq++) {
          const r = await proc.process(frame(seq));
          expect(r, `frame ${seq}`).toBeDefined();
          work.push(r!.result.workFraction);
          if (r!.detections.some((d) => d.label === 'person' && d.score >= 0.5)) found.push(seq);
        }
      } finally {
        await proc.close();
      }
      // Nothing before it appears; then found no later than the bound allows.
      expect(found.filter((s) => s < APPEARS)).toEqual([]);
      const first = found[0];
      expect(first, `found in frames ${found.join(',')}`).toBeDefined();
      expect(first! - APPEARS).toBeLessThan(bound);
      // The scene was idle: once warm, most frames computed only the refresh quota, not the frame.
      const idle = work.slice(bound, APPEARS);
      expect(idle.filter((w) => w < 0.5).length).toBeGreaterThan(idle.length / 2);
      if (budget) {
        // The bound holds from the bucket: about one whole frame per bound, plus start-up, on average.
        const mean = work.reduce((a, w) => a + w, 0) / work.length;
        expect(mean).toBeLessThan(budget + 2 / bound + 2 / work.length);
      }
    }, 120_000);
  }
});
