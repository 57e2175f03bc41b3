/**
 * DEMUX start-up calibration on the real model: `prepare` times windowed
 * plans on the inference pool before the camera's frames flow, cameras of
 * the same shape share one calibration, and the first live frame is planned
 * with a fitted cost model rather than none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeLevels, loadModelPack } from '../../src/model/manifest.js';
import type { Frame } from '../../src/core/types.js';
import { CalibrationCache } from '../../src/demux/calibrate.js';
import { CostModel } from '../../src/demux/cost-model.js';
import { InferencePool } from '../../src/inference/pool.js';
import { strategyContext } from '../../src/camera/camera.js';
import { AracAdaptiveStrategy, DEFAULT_ADAPTIVE } from '../../src/strategy/arac-adaptive.js';
import type { StrategyContext, StreamInfo } from '../../src/strategy/types.js';
import { PACK_DIR } from '../helpers/pack.js';
import { tilesOf } from '../helpers/plan.js';

const W = 512;
const H = 384;

describe('DEMUX start-up calibration', () => {
  let pool: InferencePool;
  beforeAll(async () => {
    pool = await InferencePool.open({ packDir: PACK_DIR, provider: 'cpu', threads: 2, workers: 1, models: 'arac', verifyChecksums: false, detect: { minScore: 0.35, nmsIou: 0.6, maxDetections: 100 } });
  });
  afterAll(async () => {
    await pool.close();
  });

  it('prepare calibrates once per shape; the first paced frame is planned with the fitted model', async () => {
    const pack = await loadModelPack(PACK_DIR);
    const done: string[] = [];
    const cache = new CalibrationCache((key, r) => done.push(`${key} ${r.error ?? 'ok'}`));
    const info: StreamInfo = { computeLevels: computeLevels(pack), frameIntervalMs: 100, paced: true, calibration: cache };
    const counted = (key: string): StrategyContext & { calls: number } => {
      const ctx = strategyContext(key, pool, info);
      const c = { ...ctx, calls: 0 };
      c.detect = (...args) => {
        c.calls++;
        return ctx.detect(...args);
      };
      return c;
    };

    const a = new AracAdaptiveStrategy(DEFAULT_ADAPTIVE);
    const ctxA = counted('cal-a');
    await a.prepare({ width: W, height: H }, ctxA);
    expect(ctxA.calls).toBeGreaterThanOrEqual(10); // warm-up + the plan set, at least once
    expect(done).toEqual([`4x4@${W}x${H}/windowed:64:0 ok`]);
    const report = cache.done.get(`4x4@${W}x${H}/windowed:64:0`)!;
    expect(report.samples).toBeGreaterThanOrEqual(5);
    expect(Number.isFinite(report.rmseMs)).toBe(true);

    // A second camera of the same shape reuses it: no device time.
    const b = new AracAdaptiveStrategy(DEFAULT_ADAPTIVE);
    const ctxB = counted('cal-b');
    await b.prepare({ width: W, height: H }, ctxB);
    expect(ctxB.calls).toBe(0);

    // B's first frame: warm-up runs the whole frame, and DEMUX already predicts its cost.
    const frame: Frame = { cameraId: 'cal-b', seq: 0, ptsMs: 0, captureWallMs: Date.now(), width: W, height: H, srcWidth: W, srcHeight: H, data: new Uint8Array(W * H * 3).fill(90) };
    const r = await b.process(frame, ctxB);
    expect(ctxB.calls).toBe(1);
    const predicted = tilesOf(r).predictedMs;
    expect(typeof predicted).toBe('number');
    expect(predicted as number).toBeGreaterThan(0);

    // The next frame would wait behind other cameras' work for longer than its whole interval:
    // DEMUX takes the wait off its budget, so it is dropped (counted) rather than run late.
    const late = await b.process({ ...frame, seq: 1, ptsMs: 100, captureWallMs: Date.now() }, { ...ctxB, backlogMs: () => 150 });
    expect(tilesOf(late).dropped).toBe(true);
    expect(ctxB.calls).toBe(1);
    // With the worker free, the same frame runs.
    const onTime = await b.process({ ...frame, seq: 2, ptsMs: 200, captureWallMs: Date.now() }, { ...ctxB, backlogMs: () => 0 });
    expect(tilesOf(onTime).dropped).toBeUndefined();
    expect(ctxB.calls).toBe(2);
  }, 120_000);

  it('runs the whole frame when the windows a plan needs would cost more than it', async () => {
    const pack = await loadModelPack(PACK_DIR);
    const key = `4x4@${W}x${H}/windowed:64:0`;
    // A cost model seeded as if start-up calibration had measured it: ms per frame-area of windows, ms of the whole frame.
    const seeded = (perArea: number, wholeMs: number) => {
      const cache = new CalibrationCache();
      const model = new CostModel({ levels: [0], tileCount: 16, coefficients: { perTile: [perArea], merged: [wholeMs], perCall: 0.5, fixed: 0 } });
      void cache.coefficients(key, () => Promise.resolve({ model, samples: [], report: { samples: 0, rmseMs: 0, mape: 0 }, runs: 0, elapsedMs: 0 }));
      return cache;
    };
    const grey = new Uint8Array(W * H * 3).fill(90);
    // After the warm-up frames, a bright square appears inside tile 5 (row 1, col 1): only its tiles changed.
    const changed = Uint8Array.from(grey);
    for (let y = 120; y < 170; y++) for (let x = 150; x < 220; x++) changed.fill(250, (y * W + x) * 3, (y * W + x) * 3 + 3);
    const planAfterChange = async (cache: CalibrationCache, camera: string): Promise<number[]> => {
      const info: StreamInfo = { computeLevels: computeLevels(pack), frameIntervalMs: 1000, paced: true, calibration: cache };
      const ctx = strategyContext(camera, pool, info);
      const s = new AracAdaptiveStrategy(DEFAULT_ADAPTIVE);
      let last: number[] = [];
      for (let seq = 0; seq < 8; seq++) {
        const frame: Frame = { cameraId: camera, seq, ptsMs: seq * 100, captureWallMs: Date.now(), width: W, height: H, srcWidth: W, srcHeight: H, data: seq < 7 ? grey : changed };
        last = [...tilesOf(await s.process(frame, ctx)).levels];
      }
      return last;
    };
    // Windows cheap against the frame: only the changed tiles run.
    const partial = await planAfterChange(seeded(5, 40), 'whole-cheap');
    expect(partial.filter((l) => l < 1).length).toBeGreaterThan(0);
    expect(partial.filter((l) => l < 1).length).toBeLessThan(16);
    // Windows dear against the frame (100 ms per frame's worth of window area, 10 ms whole): the whole frame runs.
    expect(await planAfterChange(seeded(100, 10), 'whole-dear')).toEqual(Array(16).fill(0));
  }, 120_000);

  it('a calibration that fails leaves the camera on its prior, and is not retried every frame', async () => {
    const cache = new CalibrationCache();
    let tries = 0;
    const failing = () => {
      tries++;
      return Promise.reject(new Error('device lost'));
    };
    expect(await cache.coefficients('k', failing)).toBeUndefined();
    expect(await cache.coefficients('k', failing)).toBeUndefined();
    expect(tries).toBe(1);
    expect(cache.done.get('k')?.error).toBe('device lost');
  });
});
