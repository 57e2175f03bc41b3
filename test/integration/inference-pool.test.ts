import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelPackError, InferenceError } from '../../src/core/errors.js';
import { DEFAULT_DETECT } from '../../src/detect/detector.js';
import { InferencePool, type PoolOptions } from '../../src/inference/pool.js';
import { ortNativeDir } from '../../src/model/ort-runner.js';
import { readStill } from '../../src/ingest/still.js';
import { waitFor } from '../helpers/ffmpeg-fixtures.js';
import { IMAGES, PACK_DIR } from '../helpers/pack.js';

const base: PoolOptions = { packDir: PACK_DIR, provider: 'cpu', models: 'arac', detect: DEFAULT_DETECT, verifyChecksums: false, workers: 1, threads: 1 };

describe('inference worker pool', () => {
  it('detects in a worker thread, keeps per-camera ARAC caches, closes idempotently', async () => {
    const pool = await InferencePool.open(base);
    try {
      const frame = await readStill(path.join(IMAGES, 'astronaut.png'), { width: 512, height: 384 });
      const full = await pool.detect({ cameraId: 'a', ...frame, mode: 'full' });
      expect(full.detections.map((d) => d.label)).toContain('person');
      expect(full.inferenceMs).toBeGreaterThan(0);

      const grid = { cols: 2, rows: 2 };
      const arac = await pool.detect({ cameraId: 'a', ...frame, mode: 'arac', plan: { grid, levels: [0, 0, 0, 0] } });
      expect(arac.detections.map((d) => d.label)).toEqual(full.detections.map((d) => d.label));
      expect(arac.arac?.computedTiles).toBe(4);
      // Camera a's cache now holds the astronaut; camera b's is still cold.
      const a2 = await pool.detect({ cameraId: 'a', ...frame, mode: 'arac', plan: { grid, levels: [1, 1, 1, 1] } });
      const b2 = await pool.detect({ cameraId: 'b', ...frame, mode: 'arac', plan: { grid, levels: [1, 1, 1, 1] } });
      expect(a2.detections.map((d) => d.label)).toContain('person');
      expect(b2.detections.map((d) => d.label)).not.toContain('person');
      pool.reset('a');
      const a3 = await pool.detect({ cameraId: 'a', ...frame, mode: 'arac', plan: { grid, levels: [1, 1, 1, 1] } });
      expect(a3.detections.map((d) => d.label)).not.toContain('person');
    } finally {
      await pool.close();
      await pool.close();
    }
    await expect(pool.detect({ cameraId: 'a', data: new Uint8Array(3), width: 1, height: 1, srcWidth: 1, srcHeight: 1, mode: 'full' })).rejects.toBeInstanceOf(InferenceError);
  });

  it('frame buffers handed back by the worker carry the next frame, and the caller\'s bytes stay its own', async () => {
    const pool = await InferencePool.open(base);
    try {
      const astronaut = await readStill(path.join(IMAGES, 'astronaut.png'), { width: 512, height: 384 });
      const chelsea = await readStill(path.join(IMAGES, 'chelsea.png'), { width: 512, height: 384 });
      const labels = async (f: typeof astronaut) => (await pool.detect({ cameraId: 'a', ...f, mode: 'full' })).detections.map((d) => `${d.label} ${d.score.toFixed(4)}`);
      const first = await labels(chelsea); // a fresh buffer
      const astro = await labels(astronaut); // the buffer chelsea's frame came back in
      const again = await labels(chelsea); // astronaut's, refilled
      expect(first.some((l) => l.startsWith('cat '))).toBe(true);
      expect(astro).not.toEqual(first);
      expect(again).toEqual(first);
      // The pool copies: the caller's array is neither detached nor changed.
      expect(chelsea.data.byteLength).toBe(512 * 384 * 3);
    } finally {
      await pool.close();
    }
  });

  it('close() while detections are running waits for them: every request settles, the process survives', async () => {
    const pool = await InferencePool.open(base);
    const frame = await readStill(path.join(IMAGES, 'astronaut.png'), { width: 512, height: 384 });
    // Several in flight (one running inside an ORT session, the rest queued), then close at once.
    const pending = Array.from({ length: 4 }, (_, i) => pool.detect({ cameraId: `c${i}`, ...frame, mode: 'full' }).then(
      (r) => ({ ok: true as const, labels: r.detections.map((d) => d.label) }),
      (err: unknown) => ({ ok: false as const, err }),
    ));
    await new Promise((r) => setTimeout(r, 5));
    await pool.close();
    const settled = await Promise.all(pending);
    for (const s of settled) {
      if (s.ok) expect(s.labels).toContain('person');
      else expect(s.err).toBeInstanceOf(InferenceError);
    }
    // Closed means closed.
    await expect(pool.detect({ cameraId: 'x', ...frame, mode: 'full' })).rejects.toBeInstanceOf(InferenceError);
  });

  it('backlogMs: the wait a new request would have behind its worker\'s queue', async () => {
    const pool = await InferencePool.open(base);
    try {
      const frame = await readStill(path.join(IMAGES, 'astronaut.png'), { width: 512, height: 384 });
      // Nothing timed yet, nothing queued: no wait.
      expect(pool.backlogMs('a')).toBe(0);
      await pool.detect({ cameraId: 'a', ...frame, mode: 'full' });
      expect(pool.backlogMs('a')).toBe(0);
      // Three requests at once: one in flight, two queued behind it.
      const burst = [0, 1, 2].map(() => pool.detect({ cameraId: 'a', ...frame, mode: 'full' }));
      const waiting = pool.backlogMs('a');
      const b = pool.backlogMs('b'); // the same (only) worker
      await Promise.all(burst);
      expect(waiting).toBeGreaterThan(0);
      expect(b).toBeGreaterThan(0);
      expect(pool.backlogMs('a')).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('pins cameras by weight to the worker that carries least', async () => {
    const pool = await InferencePool.open({ ...base, workers: 2 });
    try {
      // Alternating heavy and light cameras: by count, every heavy one would share a worker.
      const heavy = 512 * 384 * 10;
      const light = 512 * 288 * 10;
      const workers = ['h1', 'l1', 'h2', 'l2', 'h3', 'l3', 'h4', 'l4'].map((id) => [id, pool.pin(id, id.startsWith('h') ? heavy : light)] as const);
      const load = [0, 0];
      for (const [id, w] of workers) load[w]! += id.startsWith('h') ? heavy : light;
      expect(Math.abs(load[0]! - load[1]!)).toBeLessThanOrEqual(heavy - light);
      expect(new Set(workers.filter(([id]) => id.startsWith('h')).map(([, w]) => w)).size).toBe(2);
      // Pinned once: asking again changes nothing, and a bad weight is a typed error.
      expect(pool.workerOf('h1')).toBe(workers[0]![1]);
      expect(() => pool.pin('x', 0)).toThrow(InferenceError);
    } finally {
      await pool.close();
    }
  });

  it('a dying worker takes only its own cameras\' caches: they stay on its replacement, the others never move', async () => {
    const pool = await InferencePool.open({ ...base, workers: 2 });
    const died: Array<{ err: Error; cameras: readonly string[] }> = [];
    pool.on('died', (err: Error, cameras: readonly string[]) => died.push({ err, cameras }));
    try {
      const frame = await readStill(path.join(IMAGES, 'astronaut.png'), { width: 512, height: 384 });
      for (const [id, w] of [['a', 4], ['b', 1], ['c', 4]] as const) pool.pin(id, w);
      const where = () => ['a', 'b', 'c'].map((id) => pool.workerOf(id));
      const before = where();
      // a and c are heavy: one on each worker; b joins the lighter of them.
      expect(new Set([before[0], before[2]]).size).toBe(2);
      const grid = { cols: 2, rows: 2 };
      for (const id of ['a', 'b', 'c']) await pool.detect({ cameraId: id, ...frame, mode: 'arac', plan: { grid, levels: [0, 0, 0, 0] } });
      const victim = before[0]!;
      await pool.terminateWorker(victim);
      await waitFor(() => died.length === 1, 10_000, 'the died event');
      const mine = ['a', 'b', 'c'].filter((_, i) => before[i] === victim);
      expect([...died[0]!.cameras].sort()).toEqual(mine.sort());
      expect(where()).toEqual(before);
      // The other worker's camera runs on at once, its cache intact.
      const other = ['a', 'b', 'c'].find((_, i) => before[i] !== victim)!;
      const held = await pool.detect({ cameraId: other, ...frame, mode: 'arac', plan: { grid, levels: [1, 1, 1, 1] } });
      expect(held.detections.map((d) => d.label)).toContain('person');
      // The dead worker's camera waits for the replacement, then runs with a cold cache.
      const cold = await pool.detect({ cameraId: 'a', ...frame, mode: 'arac', plan: { grid, levels: [1, 1, 1, 1] } });
      expect(cold.detections.map((d) => d.label)).not.toContain('person');
      expect(pool.size).toBe(2);
    } finally {
      await pool.close();
    }
  });

  it('a bad input size is a typed error for that request only', async () => {
    const pool = await InferencePool.open(base);
    try {
      await expect(pool.detect({ cameraId: 'x', data: new Uint8Array(100 * 100 * 3), width: 100, height: 100, srcWidth: 100, srcHeight: 100, mode: 'full' })).rejects.toThrow(/multiple of 32/);
      const frame = await readStill(path.join(IMAGES, 'coffee.png'), { width: 512, height: 288 });
      await expect(pool.detect({ cameraId: 'y', ...frame, mode: 'full' })).resolves.toHaveProperty('detections');
    } finally {
      await pool.close();
    }
  });

  it('a broken pack rejects open() with the worker\'s typed error', async () => {
    const err = await InferencePool.open({ ...base, packDir: path.join(PACK_DIR, 'nope') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelPackError);
    expect((err as ModelPackError).code).toBe('MODEL_FILE_MISSING');
  });

  it('an unavailable execution provider is PROVIDER_UNAVAILABLE', async () => {
    const err = await InferencePool.open({ ...base, provider: 'cuda' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InferenceError);
    expect((err as InferenceError).code).toBe('PROVIDER_UNAVAILABLE');
    expect((err as Error).message).toMatch(/cuda/);
    // It says what to put where: the provider libraries of onnxruntime-node's own ONNX Runtime version, beside its library.
    const { dir, version } = ortNativeDir();
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    if (!existsSync(path.join(dir, 'libonnxruntime_providers_cuda.so'))) {
      expect((err as Error).message).toContain(`libonnxruntime_providers_cuda.so of ONNX Runtime ${version}`);
      expect((err as Error).message).toContain(`Microsoft.ML.OnnxRuntime.Gpu.Linux ${version}`);
      expect((err as Error).message).toContain(`must be placed in ${dir}`);
    } else {
      // The libraries are there but CUDA did not start: what they need is on the library path.
      expect((err as Error).message).toContain('CUDA 12 and cuDNN 9 libraries must be on the library path');
    }
  });
});
