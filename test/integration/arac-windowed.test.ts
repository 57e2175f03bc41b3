/**
 * The windowed ARAC path on the real pack: the whole network runs on
 * context windows around the active tiles (one call per window size and
 * level), skipped tiles show their cached detections, and a plan with every
 * tile at c = 0 is the unsplit model itself.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeatureCache, type TilePlan } from '../../src/detect/executor.js';
import { makeTiles } from '../../src/arac/geometry.js';
import { bucketByTile } from '../../src/arac/labeling.js';
import { DEFAULT_DETECT, Detector } from '../../src/detect/detector.js';
import { readStill } from '../../src/ingest/still.js';
import { IMAGES, openPack } from '../helpers/pack.js';

const grid = { cols: 4, rows: 4 };
const plan = (levels: number[]): TilePlan => ({ grid, levels, path: 'windowed' });
const only = (on: Record<number, number>) => plan(Array.from({ length: 16 }, (_, i) => on[i] ?? 1));
/** What the detector decodes: the six head outputs, not the stitched feature map. */
const HEADS = ['cls_s8', 'reg_s8', 'cls_s16', 'reg_s16', 'cls_s32', 'reg_s32'];

describe('ARAC windowed path on the real pack', () => {
  let ctx: Awaited<ReturnType<typeof openPack>>;
  // 32 px of context, so the window sizes below are easy to check by hand.
  let detector: Detector;
  beforeAll(async () => {
    ctx = await openPack();
    detector = new Detector(ctx.runner, ctx.pack, DEFAULT_DETECT, { windowHalo: 32 });
  });
  afterAll(async () => {
    await ctx?.runner.close();
  });

  it('every tile at c = 0 is one unsplit call on the whole frame, with the unsplit detections', async () => {
    const frame = await readStill(path.join(IMAGES, 'astronaut.png'), { width: 512, height: 384 });
    ctx.runner.calls = [];
    const reference = await ctx.detector.detect(frame);
    expect(ctx.runner.calls).toEqual([{ model: 'full', batch: 1, dims: [1, 3, 384, 512], outputs: HEADS }]);
    ctx.runner.calls = [];
    const r = await detector.detect(frame, { kind: 'arac', plan: plan(Array<number>(16).fill(0)), cache: new FeatureCache() });
    // Only the heads come back: the stitched feature map is the stitched path's alone.
    expect(ctx.runner.calls).toEqual([{ model: 'full', batch: 1, dims: [1, 3, 384, 512], outputs: HEADS }]);
    expect(r.arac?.calls).toEqual([{ level: 0, batch: 1, tiles: [...Array(16).keys()], kind: 'frame' }]);
    expect(r.detections.map((d) => [d.label, d.x, d.y, d.w, d.h])).toEqual(reference.detections.map((d) => [d.label, d.x, d.y, d.w, d.h]));
  });

  it('a mixed frame runs each level on its own context windows: c = 0 through the unsplit model, c > 0 as front + rest', async () => {
    const frame = await readStill(path.join(IMAGES, 'astronaut.png'), { width: 512, height: 384 });
    const cache = new FeatureCache();
    ctx.runner.calls = [];
    // Tile 0 at c = 0 (a 160x128 corner window), tile 15 at c = 0.5 (the opposite corner), the rest skipped.
    const r = await detector.detect(frame, { kind: 'arac', plan: only({ 0: 0, 15: 0.5 }), cache });
    expect(ctx.runner.calls.map((c) => [c.model, c.dims.join('x')])).toEqual([
      ['full', '1x3x128x160'],
      ['front:0.5', '1x3x128x160'],
      ['rest', '1x128x16x20'],
    ]);
    // The unsplit window returns its heads only; the front's features feed the rest.
    expect(ctx.runner.calls.map((c) => c.outputs)).toEqual([HEADS, undefined, undefined]);
    expect(r.arac?.calls.map((c) => [c.level, c.kind, c.tiles])).toEqual([
      [0, 'window', [0]],
      [0.5, 'window', [15]],
    ]);
    expect(r.arac?.computedTiles).toBe(2);
    // Two 160x128 windows of a 512x384 frame: about a fifth of the unsplit model's work.
    expect(r.arac?.workFraction).toBeGreaterThan(0.1);
    expect(r.arac?.workFraction).toBeLessThan(0.21);
  });

  it('a plan may carry its own context; one that is not a multiple of 32 is refused', async () => {
    const frame = await readStill(path.join(IMAGES, 'coffee.png'), { width: 512, height: 384 });
    ctx.runner.calls = [];
    await detector.detect(frame, { kind: 'arac', plan: { ...only({ 5: 0 }), halo: 64 }, cache: new FeatureCache() });
    expect(ctx.runner.calls.map((c) => c.dims.join('x'))).toEqual(['1x3x224x256']);
    await expect(detector.detect(frame, { kind: 'arac', plan: { ...only({ 5: 0 }), halo: 40 }, cache: new FeatureCache() })).rejects.toThrow(/multiple of 32/);
  });

  it('windows of one size and level batch into one call', async () => {
    const frame = await readStill(path.join(IMAGES, 'coffee.png'), { width: 512, height: 384 });
    ctx.runner.calls = [];
    // Tiles 0 and 3 (top corners) do not touch and do not pay to merge; both windows are 160x128.
    const r = await detector.detect(frame, { kind: 'arac', plan: only({ 0: 0, 3: 0 }), cache: new FeatureCache() });
    expect(ctx.runner.calls).toHaveLength(1);
    expect(ctx.runner.calls[0]).toMatchObject({ model: 'full', batch: 2, dims: [2, 3, 128, 160], outputs: HEADS });
    expect(r.arac?.calls).toEqual([{ level: 0, batch: 2, tiles: [0, 3], kind: 'window' }]);
  });

  it('overlapping windowed calls each run on their own frame (the batch buffer is reused only by a lone call)', async () => {
    const astronaut = await readStill(path.join(IMAGES, 'astronaut.png'), { width: 512, height: 384 });
    const coffee = await readStill(path.join(IMAGES, 'coffee.png'), { width: 512, height: 384 });
    // Opposite corner tiles: two 160x128 windows, one batched call, on each frame.
    const blocks = only({ 0: 0, 3: 0, 12: 0, 15: 0 });
    const boxes = (r: { detections: Array<{ label: string; x: number; y: number; w: number; h: number }> }) => r.detections.map((d) => [d.label, d.x, d.y, d.w, d.h]);
    const alone = [await detector.detect(astronaut, { kind: 'arac', plan: blocks, cache: new FeatureCache() }), await detector.detect(coffee, { kind: 'arac', plan: blocks, cache: new FeatureCache() })];
    expect(boxes(alone[0]!)).not.toEqual(boxes(alone[1]!));
    expect(alone.map((a) => a.arac?.calls.map((c) => [c.kind, c.batch]))).toEqual([[['window', 4]], [['window', 4]]]);
    const together = await Promise.all([detector.detect(astronaut, { kind: 'arac', plan: blocks, cache: new FeatureCache() }), detector.detect(coffee, { kind: 'arac', plan: blocks, cache: new FeatureCache() })]);
    expect(together.map(boxes)).toEqual(alone.map(boxes));
  });

  it('skipped tiles show what they showed when last computed; computed tiles show the new frame', async () => {
    const astronaut = await readStill(path.join(IMAGES, 'astronaut.png'), { width: 512, height: 384 });
    // One camera: every frame has the same source size (the cached boxes are in model-input pixels).
    const coffee = { ...(await readStill(path.join(IMAGES, 'coffee.png'), { width: 512, height: 384 })), srcWidth: astronaut.srcWidth, srcHeight: astronaut.srcHeight };
    const tiles = makeTiles(512, 384, grid);
    const rects = tiles.map((t) => ({ x: (t.x * astronaut.srcWidth) / 512, y: (t.y * astronaut.srcHeight) / 384, w: (t.w * astronaut.srcWidth) / 512, h: (t.h * astronaut.srcHeight) / 384 }));
    const cache = new FeatureCache();
    const first = await detector.detect(astronaut, { kind: 'arac', plan: plan(Array<number>(16).fill(0)), cache });
    const before = bucketByTile(first.detections, rects, 0);
    expect(before.flat().length).toBeGreaterThan(0);

    // Nothing computed: no model runs and the frame shows the astronaut again.
    ctx.runner.calls = [];
    const idle = await detector.detect(coffee, { kind: 'arac', plan: only({}), cache });
    expect(ctx.runner.calls).toEqual([]);
    expect(idle.detections.map(({ stale: _stale, ...d }) => d)).toEqual(first.detections);
    // Held over, not measured: the tracker must not take them as new observations.
    expect(idle.detections.every((d) => d.stale === true)).toBe(true);

    // The left half computed on the coffee image; the right half keeps the astronaut's detections.
    const left = Object.fromEntries(tiles.filter((t) => t.col < 2).map((t) => [t.index, 0]));
    const mixed = await detector.detect(coffee, { kind: 'arac', plan: only(left), cache });
    const after = bucketByTile(mixed.detections, rects, 0);
    const coffeeWhole = bucketByTile((await ctx.detector.detect(coffee)).detections, rects, 0);
    for (const t of tiles) {
      const labels = (after[t.index] ?? []).map((d) => d.label).sort();
      if (t.col >= 2) expect(labels, `tile ${t.index} (skipped)`).toEqual((before[t.index] ?? []).map((d) => d.label).sort());
      else expect(labels.length, `tile ${t.index} (computed)`).toBeLessThanOrEqual((coffeeWhole[t.index] ?? []).length + 1);
    }
    expect(mixed.detections.some((d) => d.label === 'cup')).toBe(true);
  });
});
