/**
 * ARAC's channel-sliced levels (0 < c < 1) on the real pack through
 * onnxruntime: every level's front loads as the manifest declares it and
 * keeps the split layer's full depth; a level's tiles equal the same level on
 * the whole frame (the masking is exact at every width); a mixed-level frame
 * makes one batched call per level and returns detections in source pixels.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AracExecutor, FeatureCache } from '../../src/detect/executor.js';
import { gatherWindows, makeTiles, windowSize } from '../../src/arac/geometry.js';
import { DEFAULT_DETECT, Detector } from '../../src/detect/detector.js';
import { toTensor } from '../../src/detect/preprocess.js';
import { iou } from '../../src/core/geometry.js';
import { readStill } from '../../src/ingest/still.js';
import { IMAGES, maxAbsDiff, openPack } from '../helpers/pack.js';

describe('ARAC channel-sliced levels on the real pack', () => {
  let ctx: Awaited<ReturnType<typeof openPack>>;
  let sliced: number[];
  beforeAll(async () => {
    ctx = await openPack();
    sliced = ctx.pack.manifest.arac.levels.filter((l) => l.kind === 'compute' && l.c > 0).map((l) => l.c);
  });
  afterAll(async () => {
    await ctx?.runner.close();
  });

  it('the manifest lists three sliced compute levels, each a front file of that level', () => {
    expect(sliced).toEqual([0.25, 0.5, 0.75]);
    for (const c of sliced) {
      const lvl = ctx.pack.manifest.arac.levels.find((l) => l.c === c)!;
      const f = ctx.pack.file('front', c);
      expect(f.file).toBe(lvl.file);
      expect(f.inputs.map((i) => i.name)).toEqual(['image', 'mask']);
      expect(f.outputs).toEqual([{ name: 'features', shape: ['tiles', ctx.pack.manifest.arac.split.channels, 'fheight', 'fwidth'] }]);
      expect(lvl.widthFraction).toBeCloseTo(1 - c, 6);
    }
  });

  it('every level outputs the split layer\'s full depth (128 channels) at stride 8, for a batch of halo windows', async () => {
    const { channels, halo, stride } = ctx.pack.manifest.arac.split;
    const frame = await readStill(path.join(IMAGES, 'coffee.png'), { width: 512, height: 384 });
    const image = toTensor(frame.data, 512, 384, ctx.pack.manifest.input);
    const tiles = makeTiles(512, 384, { cols: 4, rows: 4 }).slice(0, 4);
    const win = windowSize(tiles, halo);
    const { images, masks } = gatherWindows(image, 512, 384, tiles, halo, win);
    for (const c of [0, ...sliced]) {
      const out = await ctx.runner.run(`front:${c}`, {
        image: { data: images, dims: [4, 3, win.height, win.width] },
        mask: { data: masks, dims: [4, 1, win.height, win.width] },
      });
      expect(out['features']?.dims).toEqual([4, channels, win.height / stride, win.width / stride]);
      expect(out['features']?.data.every(Number.isFinite)).toBe(true);
    }
  });

  it('a level\'s tiles (halo windows, masked at the border) equal that level run on the whole frame', async () => {
    const frame = await readStill(path.join(IMAGES, 'astronaut.png'), { width: 512, height: 384 });
    const image = toTensor(frame.data, 512, 384, ctx.pack.manifest.input);
    const grid = { cols: 3, rows: 3 };
    for (const c of sliced) {
      const plan = { grid, levels: Array<number>(9).fill(c) };
      const whole = await new AracExecutor(ctx.runner, ctx.pack).run(image, 512, 384, plan, new FeatureCache());
      expect(whole.stats.calls).toEqual([{ level: c, batch: 1, tiles: [0, 1, 2, 3, 4, 5, 6, 7, 8], kind: 'frame' }]);
      const tiled = await new AracExecutor(ctx.runner, ctx.pack, { merge: false }).run(image, 512, 384, plan, new FeatureCache());
      expect(tiled.stats.calls).toEqual([{ level: c, batch: 9, tiles: [0, 1, 2, 3, 4, 5, 6, 7, 8], kind: 'tiles' }]);
      tiled.heads.forEach((h, i) => {
        expect(maxAbsDiff(h.cls, whole.heads[i]!.cls)).toBeLessThanOrEqual(1e-4);
        expect(maxAbsDiff(h.reg, whole.heads[i]!.reg)).toBeLessThanOrEqual(1e-3);
      });
    }
  });

  it('a mixed-level 3x3 frame runs one batched call per level and finds the astronaut in source pixels', async () => {
    const frame = await readStill(path.join(IMAGES, 'astronaut.png'), { width: 512, height: 384 });
    expect([frame.srcWidth, frame.srcHeight]).not.toEqual([512, 384]);
    const reference = await ctx.detector.detect(frame);
    const person = reference.detections.find((d) => d.label === 'person');
    expect(person).toBeDefined();

    const grid = { cols: 3, rows: 3 };
    const levels = [0, 0.25, 0.5, 0.75, 1, 0.5, 0, 0.25, 0.5];
    const tilesAt = (c: number) => levels.flatMap((l, i) => (l === c ? [i] : []));
    // merge off: each level is one call batching exactly its own tiles; merge on: still one call per level.
    for (const merge of [false, true]) {
      const detector = new Detector(ctx.runner, ctx.pack, DEFAULT_DETECT, { merge });
      const cache = new FeatureCache();
      // Warm the cache so the skipped tile holds this frame's features.
      await detector.detect(frame, { kind: 'arac', plan: { grid, levels: Array<number>(9).fill(0) }, cache });
      ctx.runner.calls = [];
      const r = await detector.detect(frame, { kind: 'arac', plan: { grid, levels }, cache });

      const fronts = ctx.runner.calls.slice(0, -1);
      expect(ctx.runner.calls.at(-1)?.model).toBe('rest');
      expect(fronts.map((c) => c.model).sort()).toEqual(['front:0', 'front:0.25', 'front:0.5', 'front:0.75']);
      for (const call of r.arac?.calls ?? []) {
        const runnerCall = fronts.find((c) => c.model === `front:${call.level}`)!;
        expect(runnerCall.batch).toBe(call.batch);
        if (!merge) {
          expect(call).toEqual({ level: call.level, batch: tilesAt(call.level).length, tiles: tilesAt(call.level), kind: 'tiles' });
        } else {
          // merged windows may refresh extra tiles inside their box, never fewer than asked
          expect(call.tiles).toEqual(expect.arrayContaining(tilesAt(call.level)));
        }
      }

      for (const d of r.detections) {
        expect(d.x).toBeGreaterThanOrEqual(0);
        expect(d.y).toBeGreaterThanOrEqual(0);
        expect(d.x + d.w).toBeLessThanOrEqual(frame.srcWidth + 1e-3);
        expect(d.y + d.h).toBeLessThanOrEqual(frame.srcHeight + 1e-3);
      }
      const match = r.detections.filter((d) => d.label === 'person').map((d) => iou(d, person!));
      expect(Math.max(0, ...match), `merge ${merge}`).toBeGreaterThan(0.5);
    }
  });

  it('every tile at one sliced level still finds the astronaut (distilled students agree with c = 0)', async () => {
    const frame = await readStill(path.join(IMAGES, 'astronaut.png'), { width: 512, height: 384 });
    const person = (await ctx.detector.detect(frame)).detections.find((d) => d.label === 'person')!;
    for (const c of sliced) {
      const r = await ctx.detector.detect(frame, { kind: 'arac', plan: { grid: { cols: 2, rows: 2 }, levels: [c, c, c, c] }, cache: new FeatureCache() });
      const best = Math.max(0, ...r.detections.filter((d) => d.label === 'person').map((d) => iou(d, person)));
      expect(best, `level ${c}`).toBeGreaterThan(0.5);
    }
  });
});
