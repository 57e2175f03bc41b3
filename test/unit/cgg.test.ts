/** The compression controller (CGG): architecture by hand, its input planes, the shipped weights. */
import { describe, expect, it } from 'vitest';
import { makeTiles } from '../../src/arac/geometry.js';
import { loadModelPack } from '../../src/model/manifest.js';
import { ModelPackError } from '../../src/core/errors.js';
import type { Box } from '../../src/core/types.js';
import { DEFAULT_PACK_DIR } from '../../src/core/paths.js';
import { ChangeMap } from '../../src/importance/change.js';
import { Cgg, CGG_SIZE, cggInput, loadPackController, trackPrime, type CggSpec } from '../../src/importance/cgg.js';
import { tileImportance } from '../../src/importance/importance.js';
import type { PredictedTrack } from '../../src/track/tracker.js';

const PLANE = CGG_SIZE * CGG_SIZE;
const b64 = (v: number[]) => Buffer.from(new Float32Array(v).buffer).toString('base64');

/**
 * One conv channel that reads only the centre tap of plane 2, so conv output
 * (oy, ox) = plane2[4 oy][4 ox] (7x7), max-pooled 2 (ceil) to 4x4; logit 0 =
 * the sum of the pooled features, logit 1 (skip) = 0.
 */
function handSpec(over: Partial<CggSpec> = {}): CggSpec {
  const convW = new Array<number>(3 * 49).fill(0);
  convW[2 * 49 + 3 * 7 + 3] = 1;
  return {
    format: 'neulens-cgg/1',
    inputSize: 28,
    planes: ['luma', 'change', 'track'],
    conv: { out: 1, kernel: 7, stride: 4, pad: 3 },
    pool: { kernel: 2 },
    levels: [0, 1],
    skipThreshold: 0.5,
    weights: { convW: b64(convW), convB: b64([0]), fcW: b64([...new Array<number>(16).fill(1), ...new Array<number>(16).fill(0)]), fcB: b64([0, 0]) },
    ...over,
  };
}

describe('Cgg', () => {
  it('computes conv 7x7/4 -> ReLU -> max-pool 2 -> FC as worked out by hand', () => {
    const cgg = new Cgg(handSpec());
    const x = new Float32Array(2 * 3 * PLANE);
    // Tile 0: plane 2 is 1 on rows and columns 0..7 -> conv samples (0|4, 0|4) are 1 -> one pooled cell.
    for (let j = 0; j < 8; j++) for (let i = 0; i < 8; i++) x[2 * PLANE + j * 28 + i] = 1;
    // Tile 1: plane 2 is 2 at (24, 24) (conv output 6,6: the last, partial pool window) and -5
    // at (12, 12) (ReLU clips it); planes 0 and 1 are ignored by the weights.
    x[3 * PLANE + 2 * PLANE + 24 * 28 + 24] = 2;
    x[3 * PLANE + 2 * PLANE + 12 * 28 + 12] = -5;
    x.fill(7, 3 * PLANE, 5 * PLANE);
    const logits = cgg.forward(x, 2);
    expect([...logits]).toEqual([1, 0, 2, 0]);
    const p = cgg.skipProbabilities(x, 2);
    expect(p[0]).toBeCloseTo(1 / (1 + Math.E), 6);
    expect(p[1]).toBeCloseTo(1 / (1 + Math.E ** 2), 6);
    // Without evidence a tile is skipped without running the network.
    expect(cgg.skipProbabilities(x, 2, [false, true])).toEqual([1, p[1]]);
  });

  it('refuses a malformed controller with a ModelPackError naming the field', () => {
    expect(() => new Cgg(handSpec({ weights: { ...handSpec().weights, convW: b64([1, 2, 3]) } }), 'x.json')).toThrow(/x\.json weights\.convW: has 3 values, the architecture needs 147/);
    expect(() => new Cgg(handSpec({ levels: [0, 0.5] }))).toThrow(ModelPackError);
    expect(() => new Cgg(handSpec({ skipThreshold: 1 }))).toThrow(/skipThreshold/);
    expect(() => new Cgg(handSpec({ inputSize: 32 }))).toThrow(/inputSize/);
    expect(() => new Cgg(handSpec({ weights: { ...handSpec().weights, fcB: b64([0, NaN]) } }))).toThrow(/non-finite/);
    expect(() => new Cgg(handSpec({ weights: { ...handSpec().weights, convB: 'AAA' } }))).toThrow(/weights\.convB: must be base64 of little-endian float32/);
    expect(() => new Cgg({ ...handSpec(), weights: undefined } as unknown as CggSpec)).toThrow(ModelPackError);
    expect(() => new Cgg({ ...handSpec(), conv: 7 } as unknown as CggSpec)).toThrow(/needs planes and levels/);
  });

  it('the shipped controller loads from the pack and reproduces the training framework on its check vector', async () => {
    const pack = await loadModelPack(DEFAULT_PACK_DIR);
    const cgg = await loadPackController(pack);
    expect(cgg).toBeDefined();
    const check = cgg!.spec.check!;
    const input = new Float32Array(Buffer.from(check.input, 'base64').buffer.slice(0));
    expect(input.length).toBe(3 * PLANE);
    const logits = cgg!.forward(input, 1);
    expect(logits.length).toBe(pack.manifest.controller!.levels.length);
    check.logits.forEach((v, i) => expect(logits[i]).toBeCloseTo(v, 4));
    expect(cgg!.levels.at(-1)).toBe(1);
  });
});

function track(box: Box, o: Partial<PredictedTrack> = {}): PredictedTrack {
  return { trackId: 1, classId: 0, label: 'person', confirmed: true, box, velocity: { vx: 0, vy: 0 }, sigma: { cx: 1, cy: 1, w: 1, h: 1 }, msSinceUpdate: 0, ageMs: 1000, stillMs: 0, stationary: false, hits: 5, score: 0.9, lastBox: box, ...o };
}

describe('cggInput', () => {
  // 112x56 input, two 56x56 tiles (by hand: makeTiles wants multiples of 32), so one sample =
  // 2 input pixels; the change map at factor 1.
  const tiles = [0, 1].map((i) => ({ index: i, col: i, row: 0, x: 56 * i, y: 0, w: 56, h: 56 }));
  const rgb = (fill: (x: number, y: number) => number) => {
    const d = new Uint8Array(112 * 56 * 3);
    for (let y = 0; y < 56; y++) for (let x = 0; x < 112; x++) d.fill(fill(x, y), (y * 112 + x) * 3, (y * 112 + x) * 3 + 3);
    return d;
  };

  it('plane 0 is luma now, plane 1 the change above noise since the tile was last computed', () => {
    const change = new ChangeMap(24);
    change.updateFrame(rgb(() => 100), 112, 56, 56);
    change.commit(tiles[0]!);
    // Noise (+10 everywhere) is no evidence; the right tile, never computed, is.
    change.updateFrame(rgb(() => 110), 112, 56, 56);
    const quiet = cggInput(tiles, change, [], { sx: 1, sy: 1 });
    expect(quiet.evidence).toEqual([false, true]);
    expect(quiet.x.subarray(PLANE, 2 * PLANE).every((v) => v === 0)).toBe(true);
    // The left tile's top-left 10x10 pixels brighten to 200.
    change.updateFrame(rgb((x, y) => (x < 10 && y < 10 ? 200 : 100)), 112, 56, 56);
    const { x, evidence } = cggInput(tiles, change, [], { sx: 1, sy: 1 });
    expect(evidence).toEqual([true, true]);
    expect(x[0]).toBeCloseTo(200 / 255, 2);
    expect(x[PLANE]).toBeCloseTo(100 / 255, 2); // |200 - 100|
    expect(x[PLANE + 10]).toBe(0); // sample 10 sits at pixel 21: unchanged
    expect(x[3 * PLANE + PLANE]).toBeCloseTo(100 / 255, 2); // never computed: differs by its own value
  });

  it('plane 2 is each track box valued 1 - IoU(predicted, last shown), 1 while tentative', () => {
    const change = new ChangeMap();
    change.updateFrame(rgb(() => 0), 112, 56, 56);
    const still = track({ x: 0, y: 0, w: 20, h: 20 });
    const moved = track({ x: 60, y: 0, w: 20, h: 20 }, { lastBox: { x: 70, y: 0, w: 20, h: 20 } });
    const fresh = track({ x: 0, y: 30, w: 20, h: 20 }, { confirmed: false });
    expect(trackPrime(still)).toBe(0);
    expect(trackPrime(moved)).toBeCloseTo(1 - 200 / 600, 6);
    expect(trackPrime(fresh)).toBe(1);
    // Source pixels at twice the input's: boxes halve.
    const twice = (b: Box): Box => ({ x: b.x * 2, y: b.y * 2, w: b.w * 2, h: b.h * 2 });
    const { x, evidence } = cggInput(tiles, change, [still, moved, fresh].map((t) => ({ ...t, box: twice(t.box), lastBox: twice(t.lastBox) })), { sx: 2, sy: 2 });
    expect(evidence).toEqual([true, true]);
    expect(cggInput(tiles, change, [{ ...still, box: twice(still.box), lastBox: twice(still.lastBox) }], { sx: 2, sy: 2 }).evidence).toEqual([false, false]);
    const prime = (tile: number, i: number, j: number) => x[tile * 3 * PLANE + 2 * PLANE + j * 28 + i];
    expect(prime(0, 2, 2)).toBe(0); // the still track marks nothing
    expect(prime(0, 2, 20)).toBe(1); // the tentative one (pixels 0..20, 30..50 -> samples 0..9, 15..24)
    expect(prime(0, 12, 20)).toBe(0);
    expect(prime(1, 2, 2)).toBeCloseTo(2 / 3, 6); // the moved one, in the right tile (pixels 60..80)
    expect(prime(1, 12, 2)).toBe(0);
  });
});

describe('importance with a learnt controller', () => {
  const tiles = makeTiles(512, 384, { cols: 4, rows: 4 });
  const run = (skip: number[], o: { learntTracks?: boolean; tracks?: PredictedTrack[]; refresh?: Set<number> } = {}) =>
    tileImportance({
      tiles,
      frame: { width: 512, height: 384 },
      scale: { sx: 1, sy: 1 },
      tracks: o.tracks ?? [],
      levels: [0],
      learnt: { skip, threshold: 0.6 },
      ...(o.refresh ? { refresh: o.refresh } : {}),
      options: { learntTracks: o.learntTracks ?? false },
    });
  const skip = tiles.map((t) => (t.index === 5 ? 0.2 : t.index === 6 ? 0.6 : 0.95));

  it('skips what it is sure of, computes the rest, with P(skip) as the confidence', () => {
    const d = run(skip);
    expect(d[5]).toEqual({ level: 0, confidence: 0.2, reason: 'learnt' });
    expect(d[6]).toEqual({ level: 1, confidence: 0.6, reason: 'quiet' });
    expect(d[0]).toEqual({ level: 1, confidence: 0.95, reason: 'quiet' });
  });

  it('leaves tracked tiles to the track rule unless learntTracks, and refresh still forces', () => {
    // A moving track in tile 0 (128x96 tiles).
    const t = track({ x: 20, y: 20, w: 40, h: 40 }, { lastBox: { x: 60, y: 20, w: 40, h: 40 } });
    expect(run(skip, { tracks: [t] })[0]?.reason).toBe('track');
    expect(run(skip, { tracks: [t], learntTracks: true })[0]).toMatchObject({ level: 1, reason: 'quiet' });
    expect(run(skip, { refresh: new Set([3]) })[3]).toMatchObject({ level: 0, reason: 'refresh', forced: true });
  });
});
