/**
 * ARAC split exactness and skipping, on the real pack through onnxruntime:
 * with every tile at c = 0 the stitched network equals the unsplit one; a
 * skipped tile reuses the features of the last frame that computed it.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AracExecutor, FeatureCache } from '../../src/detect/executor.js';
import { DEFAULT_DETECT, Detector } from '../../src/detect/detector.js';
import { toTensor } from '../../src/detect/preprocess.js';
import { readStill } from '../../src/ingest/still.js';
import { IMAGES, maxAbsDiff, openPack } from '../helpers/pack.js';

describe('ARAC executor on the real pack', () => {
  let ctx: Awaited<ReturnType<typeof openPack>>;
  beforeAll(async () => {
    ctx = await openPack();
  });
  afterAll(async () => {
    await ctx?.runner.close();
  });

  const sizes = [
    { width: 512, height: 384, image: 'astronaut.png' },
    { width: 512, height: 288, image: 'coffee.png' },
  ];
  for (const s of sizes) {
    for (const [cols, rows] of [[2, 2], [3, 3], [4, 4]] as const) {
      it(`${s.width}x${s.height} grid ${cols}x${rows}: every tile at c=0 equals the unsplit model (max |diff| <= 1e-4)`, async () => {
        const frame = await readStill(path.join(IMAGES, s.image), s);
        const full = await ctx.detector.detect(frame);
        // No merging: each tile really runs as its own halo'd window.
        const exec = new AracExecutor(ctx.runner, ctx.pack, { merge: false });
        ctx.runner.calls = [];
        const image = toTensor(frame.data, s.width, s.height, ctx.pack.manifest.input);
        const r = await exec.run(image, s.width, s.height, { grid: { cols, rows }, levels: Array(cols * rows).fill(0) }, new FeatureCache());
        expect(ctx.runner.calls.map((c) => [c.model, c.batch])).toEqual([['front:0', cols * rows], ['rest', 1]]);
        r.heads.forEach((h, i) => {
          expect(maxAbsDiff(h.cls, full.heads[i]!.cls)).toBeLessThanOrEqual(1e-4);
          expect(maxAbsDiff(h.reg, full.heads[i]!.reg)).toBeLessThanOrEqual(1e-4);
        });
        expect(r.stats.workFraction).toBeCloseTo(1, 6);
      });
    }
  }

  it('merged uniform c=0 plan: one call to the unsplit model, which also refills the cache', async () => {
    const frame = await readStill(path.join(IMAGES, 'astronaut.png'), { width: 512, height: 384 });
    const full = await ctx.detector.detect(frame);
    ctx.runner.calls = [];
    const r = await ctx.detector.detect(frame, { kind: 'arac', plan: { grid: { cols: 4, rows: 4 }, levels: Array(16).fill(0) }, cache: new FeatureCache() });
    expect(ctx.runner.calls.map((c) => [c.model, c.batch])).toEqual([['full', 1]]);
    expect(r.arac?.calls[0]?.kind).toBe('frame');
    r.heads.forEach((h, i) => expect(maxAbsDiff(h.cls, full.heads[i]!.cls)).toBeLessThanOrEqual(1e-4));
    expect(r.detections.map((d) => [d.label, d.score])).toEqual(full.detections.map((d) => [d.label, d.score]));
  });

  it('all tiles at c=1 right after a computed frame return that frame\'s detections; a mixed frame recomputes only its c=0 tiles', async () => {
    const size = { width: 512, height: 384 };
    const a = await readStill(path.join(IMAGES, 'astronaut.png'), size);
    const b = await readStill(path.join(IMAGES, 'coffee.png'), size);
    const cache = new FeatureCache();
    const grid = { cols: 3, rows: 3 };
    // Windows stay per tile here (merge off), so the test sees exactly the tiles it asked for.
    const detector = new Detector(ctx.runner, ctx.pack, DEFAULT_DETECT, { merge: false });

    const first = await detector.detect(a, { kind: 'arac', plan: { grid, levels: Array(9).fill(0) }, cache });
    expect(first.detections.some((d) => d.label === 'person')).toBe(true);

    ctx.runner.calls = [];
    const skipped = await detector.detect(b, { kind: 'arac', plan: { grid, levels: Array(9).fill(1) }, cache });
    // Same detections as frame a (boxes differ only by the two sources' pixel scales).
    skipped.heads.forEach((h, i) => expect(maxAbsDiff(h.cls, first.heads[i]!.cls)).toBe(0));
    expect(skipped.detections.map((d) => [d.label, d.score])).toEqual(first.detections.map((d) => [d.label, d.score]));
    expect(detector.postprocess(skipped.heads, a)).toEqual(first.detections);
    expect(ctx.runner.calls.map((c) => c.model)).toEqual(['rest']);
    expect(skipped.arac?.computedTiles).toBe(0);
    expect(skipped.arac?.workFraction).toBe(0);

    // Mixed: three tiles of the new image recomputed, six reused.
    const levels = [0, 1, 1, 1, 0, 1, 1, 1, 0];
    ctx.runner.calls = [];
    const mixed = await detector.detect(b, { kind: 'arac', plan: { grid, levels }, cache });
    expect(ctx.runner.calls.map((c) => [c.model, c.batch])).toEqual([['front:0', 3], ['rest', 1]]);
    expect(mixed.arac?.computedTiles).toBe(3);
    expect(mixed.arac?.calls).toEqual([{ level: 0, batch: 3, tiles: [0, 4, 8], kind: 'tiles' }]);
    expect(mixed.arac?.workFraction).toBeCloseTo(3 / 9, 2);

    // Once every tile has been recomputed on b, the result is b's own.
    const rest = levels.map((l) => (l === 0 ? 1 : 0));
    await detector.detect(b, { kind: 'arac', plan: { grid, levels: rest }, cache });
    const settled = await detector.detect(b, { kind: 'arac', plan: { grid, levels: Array(9).fill(1) }, cache });
    const direct = await detector.detect(b);
    settled.heads.forEach((h, i) => expect(maxAbsDiff(h.cls, direct.heads[i]!.cls)).toBeLessThanOrEqual(1e-4));
  });

  it('merging: neighbouring active tiles share one window; the stitched result equals per-tile windows', async () => {
    const frame = await readStill(path.join(IMAGES, 'astronaut.png'), { width: 512, height: 384 });
    const grid = { cols: 4, rows: 4 };
    const levels = Array.from({ length: 16 }, (_, i) => ([5, 6, 9, 10].includes(i) ? 0 : 1)); // the centre 2x2 block
    const image = toTensor(frame.data, 512, 384, ctx.pack.manifest.input);
    const warm = () => {
      const c = new FeatureCache();
      return new AracExecutor(ctx.runner, ctx.pack).run(image, 512, 384, { grid, levels: Array(16).fill(0) }, c).then(() => c);
    };
    const [cacheA, cacheB] = [await warm(), await warm()];
    ctx.runner.calls = [];
    const merged = await new AracExecutor(ctx.runner, ctx.pack).run(image, 512, 384, { grid, levels }, cacheA);
    expect(merged.stats.calls.map((c) => [c.kind, c.batch])).toEqual([['bbox', 1]]);
    const split = await new AracExecutor(ctx.runner, ctx.pack, { merge: false }).run(image, 512, 384, { grid, levels }, cacheB);
    expect(split.stats.calls.map((c) => [c.kind, c.batch])).toEqual([['tiles', 4]]);
    // Both recompute the same four tiles with full halos: the same features, the same outputs.
    merged.heads.forEach((h, i) => expect(maxAbsDiff(h.cls, split.heads[i]!.cls)).toBeLessThanOrEqual(1e-4));
    expect(merged.stats.computedTiles).toBe(4);
  });

  it('a cold cache with every tile skipped runs on zero features without failing', async () => {
    const frame = await readStill(path.join(IMAGES, 'coffee.png'), { width: 512, height: 384 });
    const r = await ctx.detector.detect(frame, { kind: 'arac', plan: { grid: { cols: 2, rows: 2 }, levels: [1, 1, 1, 1] }, cache: new FeatureCache() });
    expect(r.arac?.computedTiles).toBe(0);
    expect(Array.isArray(r.detections)).toBe(true);
    expect(r.detections.every((d) => d.score < 0.99)).toBe(true);
  });
});
