/**
 * arac on a batched pool (model.batch): its windows grow to canonical shapes
 * (calibrated under their own key), and DEMUX prices plans with what each
 * frame is charged (DetectReply.deviceMs), not with the wall time a frame
 * spent waiting for the other cameras of its batch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strategyContext } from '../../src/camera/camera.js';
import type { Frame } from '../../src/core/types.js';
import type { TilePlan } from '../../src/arac/plan.js';
import { CalibrationCache } from '../../src/demux/calibrate.js';
import { InferencePool } from '../../src/inference/pool.js';
import { computeLevels, loadModelPack } from '../../src/model/manifest.js';
import { AracAdaptiveStrategy, DEFAULT_ADAPTIVE } from '../../src/strategy/arac-adaptive.js';
import type { StrategyContext, StreamInfo } from '../../src/strategy/types.js';
import { PACK_DIR } from '../helpers/pack.js';
import { tilesOf } from '../helpers/plan.js';

const W = 512;
const H = 288;
/** What a frame would seem to cost if the strategy read the wall time of a long batch. */
const BATCH_WAIT_MS = 400;

describe('arac on a batched pool', () => {
  let pool: InferencePool;
  beforeAll(async () => {
    pool = await InferencePool.open({ packDir: PACK_DIR, provider: 'cpu', threads: 2, workers: 1, models: 'arac', verifyChecksums: false, detect: { minScore: 0.35, nmsIou: 0.6, maxDetections: 100 }, batch: { maxSize: 8, timeoutMs: 0 } });
  });
  afterAll(async () => {
    await pool.close();
  });

  it('runs canonical windows, calibrated apart, and prices plans with the charged time, not the batch\'s wall time', async () => {
    const pack = await loadModelPack(PACK_DIR);
    const done: string[] = [];
    const info: StreamInfo = { computeLevels: computeLevels(pack), frameIntervalMs: 100, paced: false, calibration: new CalibrationCache((key) => done.push(key)), batched: true };
    const base = strategyContext('batched-a', pool, info);
    const plans: TilePlan[] = [];
    const charged: number[] = [];
    // Every reply says the frame waited BATCH_WAIT_MS in its batch (as with many cameras on a slow device).
    const ctx: StrategyContext = {
      ...base,
      detect: async (image, mode, plan, opts) => {
        if (plan) plans.push(plan);
        const r = await base.detect(image, mode, plan, opts);
        expect(r.deviceMs).toBeGreaterThan(0);
        if (!opts?.scratch) charged.push(r.deviceMs!);
        return { ...r, inferenceMs: r.inferenceMs + BATCH_WAIT_MS };
      },
    };
    const s = new AracAdaptiveStrategy(DEFAULT_ADAPTIVE);
    await s.prepare({ width: W, height: H }, ctx);
    expect(done).toEqual([`4x4@${W}x${H}/windowed:64:canonical:0`]);
    expect(plans.length).toBeGreaterThan(0);
    for (const p of plans) expect(p.canonical).toBe(true);

    const frame = (seq: number): Frame => ({ cameraId: 'batched-a', seq, ptsMs: seq * 100, captureWallMs: Date.now(), width: W, height: H, srcWidth: W, srcHeight: H, data: new Uint8Array(W * H * 3).fill(60 + seq) });
    let last = 0;
    for (let seq = 0; seq < 8; seq++) {
      const r = await s.process(frame(seq), ctx);
      const p = tilesOf(r);
      if (p.predictedMs !== undefined) last = p.predictedMs;
    }
    // The whole frames of the warm-up were priced near what they were charged, far below the batch's wall time.
    expect(charged.length).toBeGreaterThan(0);
    expect(last).toBeGreaterThan(0);
    expect(last).toBeLessThan(BATCH_WAIT_MS / 2);
    expect(last).toBeLessThan(3 * Math.max(...charged));
  }, 120_000);
});
