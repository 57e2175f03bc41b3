/**
 * Cross-camera batching with the real model in a real worker: frames of
 * several cameras share one model call, each camera gets its own detections
 * back, and they equal what an unbatched pool gives for the same frames and
 * plans. The push timeout lets a lone camera go; a bad request fails alone.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Detection } from '../../src/core/types.js';
import { InferenceError } from '../../src/core/errors.js';
import { DEFAULT_DETECT } from '../../src/detect/detector.js';
import { InferencePool, type PoolOptions } from '../../src/inference/pool.js';
import type { DetectReply } from '../../src/inference/protocol.js';
import { readStill, type StillFrame } from '../../src/ingest/still.js';
import { IMAGES, PACK_DIR } from '../helpers/pack.js';

const base: PoolOptions = { packDir: PACK_DIR, provider: 'cpu', models: 'arac', detect: DEFAULT_DETECT, verifyChecksums: false, workers: 1, threads: 1 };
const NAMES = ['astronaut.png', 'chelsea.png', 'coffee.png', 'camera.png'];

/** Same objects, boxes within half a pixel, scores within 1e-3 (a batched convolution may sum in another order). */
function expectSameDetections(got: readonly Detection[], want: readonly Detection[]): void {
  expect(got.map((d) => d.label)).toEqual(want.map((d) => d.label));
  got.forEach((d, i) => {
    const w = want[i]!;
    for (const k of ['x', 'y', 'w', 'h'] as const) expect(Math.abs(d[k] - w[k])).toBeLessThan(0.5);
    expect(Math.abs(d.score - w.score)).toBeLessThan(1e-3);
  });
}

describe('cross-camera batching in the inference pool', () => {
  let frames: StillFrame[];
  let plain: InferencePool;
  let batched: InferencePool;

  beforeAll(async () => {
    frames = await Promise.all(NAMES.map((n) => readStill(path.join(IMAGES, n), { width: 512, height: 288 })));
    plain = await InferencePool.open(base);
    // A long push timeout: the four cameras' frames must meet because they are all in, not because of a timer.
    batched = await InferencePool.open({ ...base, batch: { maxSize: 8, timeoutMs: 5_000 } });
    for (let i = 0; i < NAMES.length; i++) batched.pin(`cam${i}`, 1);
  });

  afterAll(async () => {
    await plain?.close();
    await batched?.close();
  });

  it('four cameras\' frames run as one call; each camera gets its own detections, equal to the unbatched ones', async () => {
    const want: DetectReply[] = [];
    for (const [i, f] of frames.entries()) want.push(await plain.detect({ cameraId: `cam${i}`, ...f, mode: 'full' }));
    const before = batched.workerStats()[0]!;
    const got = await Promise.all(frames.map((f, i) => batched.detect({ cameraId: `cam${i}`, ...f, mode: 'full' })));
    got.forEach((r, i) => {
      expectSameDetections(r.detections, want[i]!.detections);
      // It shared its one call with the other three.
      expect(r.batch).toEqual({ calls: 1, meanItems: 4 });
      expect(r.deviceMs).toBeGreaterThan(0);
    });
    // The images differ, so the answers do: a mix-up would show.
    expect(new Set(got.map((r) => r.detections.map((d) => d.label).join())).size).toBeGreaterThan(2);
    const after = batched.workerStats()[0]!;
    expect(after.dispatches - before.dispatches).toBe(1);
    expect(after.requests - before.requests).toBe(4);
    expect(after.batcher!.calls - (before.batcher?.calls ?? 0)).toBe(1);
    // What the four are charged never exceeds the time the worker held them.
    expect(got.reduce((a, r) => a + r.deviceMs!, 0)).toBeLessThanOrEqual(after.busyMs - before.busyMs + 1);
  });

  it('arac windows of one canonical shape from different cameras share a call, and equal the unbatched windows', async () => {
    const grid = { cols: 4, rows: 4 };
    // One interior tile each, a different one per camera: canonically all 256x224.
    const plans = [5, 6, 9, 10].map((t) => ({ grid, path: 'windowed' as const, canonical: true, levels: Array.from({ length: 16 }, (_, i) => (i === t ? 0 : 1)) }));
    const want: DetectReply[] = [];
    for (const [i, f] of frames.entries()) want.push(await plain.detect({ cameraId: `w${i}`, ...f, mode: 'arac', plan: plans[i]!, scratch: 'empty' }));
    const got = await Promise.all(frames.map((f, i) => batched.detect({ cameraId: `cam${i}`, ...f, mode: 'arac', plan: plans[i]!, scratch: 'empty' })));
    got.forEach((r, i) => {
      expectSameDetections(r.detections, want[i]!.detections);
      expect(r.batch).toEqual({ calls: 1, meanItems: 4 });
      expect(r.arac?.calls.map((c) => c.tiles)).toEqual(want[i]!.arac?.calls.map((c) => c.tiles));
    });
  });

  it('one camera\'s failed request fails alone; the others in its batch are answered', async () => {
    const grid = { cols: 4, rows: 4 };
    const reqs = frames.map((f, i) => batched.detect({ cameraId: `cam${i}`, ...f, mode: 'arac', plan: { grid, path: 'windowed', levels: i === 1 ? [0, 1] : Array<number>(16).fill(0) }, scratch: 'empty' }));
    const settled = await Promise.allSettled(reqs);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(InferenceError);
    expect(String((settled[1] as PromiseRejectedResult).reason)).toMatch(/2 levels for a 4x4 grid/);
    const ok = settled.filter((s): s is PromiseFulfilledResult<DetectReply> => s.status === 'fulfilled').map((s) => s.value);
    // The three whole frames ran as one call of three.
    for (const r of ok) expect(r.batch).toEqual({ calls: 1, meanItems: 3 });
  });

  it('the push timeout sends a lone camera\'s frame once it runs out, and a full batch goes without it', async () => {
    const pool = await InferencePool.open({ ...base, batch: { maxSize: 8, timeoutMs: 400 } });
    try {
      pool.pin('a', 1);
      pool.pin('b', 1);
      // Only a sends: b could still join, so the batch waits for the timeout, then goes alone.
      const t0 = performance.now();
      const alone = await pool.detect({ cameraId: 'a', ...frames[0]!, mode: 'full' });
      expect(performance.now() - t0).toBeGreaterThanOrEqual(399);
      expect(alone.batch).toEqual({ calls: 1, meanItems: 1 });
      // Both send: the batch is full (every camera on the worker is in) and goes as one.
      const both = await Promise.all(['a', 'b'].map((id, i) => pool.detect({ cameraId: id, ...frames[i]!, mode: 'full' })));
      for (const r of both) expect(r.batch).toEqual({ calls: 1, meanItems: 2 });
      // A deadline closer than the timeout sends it sooner: it must be out well before 400 ms.
      const t1 = performance.now();
      await pool.detect({ cameraId: 'a', ...frames[0]!, mode: 'full', deadlineWallMs: Date.now() + 60 });
      expect(performance.now() - t1).toBeLessThan(399);
    } finally {
      await pool.close();
    }
  });
});
