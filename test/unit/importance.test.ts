import { describe, expect, it } from 'vitest';
import { makeTiles } from '../../src/arac/geometry.js';
import { InputError } from '../../src/core/errors.js';
import type { Box } from '../../src/core/types.js';
import { boxGap, tileImportance, trackRegion, type ImportanceInput, type MotionInput } from '../../src/importance/importance.js';
import { checkLevels, levelAtMost, middleLevel, nextLevel } from '../../src/importance/levels.js';
import type { PredictedTrack } from '../../src/track/tracker.js';

// 512x384 detector input, 4x4 grid: tiles are 128x96. Source is twice the size.
const W = 512;
const H = 384;
const tiles = makeTiles(W, H, { cols: 4, rows: 4 });
const scale = { sx: 2, sy: 2 };

function track(box: Box, o: Partial<PredictedTrack> = {}): PredictedTrack {
  return {
    trackId: 1,
    classId: 0,
    label: 'person',
    confirmed: true,
    box,
    velocity: { vx: 0, vy: 0 },
    sigma: { cx: 1, cy: 1, w: 1, h: 1 },
    msSinceUpdate: 0,
    ageMs: 1000,
    stillMs: 0,
    stationary: false,
    hits: 5,
    score: 0.9,
    // By default the object has moved a whole box width since the camera last showed it.
    lastBox: { ...box, x: box.x - box.w },
    ...o,
  };
}

/** Motion given as boxes (input px); the fraction is the exact covered share (boxes must not overlap). */
function motionFrom(boxes: Box[], unreliable = false): MotionInput {
  return {
    boxes,
    unreliable,
    fractionIn: (r) => {
      let on = 0;
      for (const b of boxes) {
        const w = Math.min(r.x + r.w, b.x + b.w) - Math.max(r.x, b.x);
        const h = Math.min(r.y + r.h, b.y + b.h) - Math.max(r.y, b.y);
        if (w > 0 && h > 0) on += w * h;
      }
      return on / (r.w * r.h);
    },
  };
}

function run(partial: Partial<ImportanceInput>) {
  return tileImportance({ tiles, frame: { width: W, height: H }, scale, tracks: [], levels: [0], ...partial });
}

const at = (col: number, row: number) => row * 4 + col;

describe('levels', () => {
  it('validates and steps through the available levels', () => {
    expect(checkLevels([0, 0.5])).toEqual([0, 0.5]);
    // Levels come from the model pack, not from a config key: an InputError naming where they came from.
    expect(() => checkLevels([])).toThrow(InputError);
    expect(() => checkLevels([0.5, 0], 'demux levels')).toThrow(/^demux levels: levels must be strictly increasing/);
    expect(() => checkLevels([0, 1])).toThrow(InputError);
    expect(levelAtMost([0, 0.25, 0.5], 0.3)).toBe(0.25);
    expect(levelAtMost([0.25, 0.5], 0.1)).toBe(0.25);
    expect(middleLevel([0])).toBe(0);
    expect(middleLevel([0, 0.5])).toBe(0.5);
    expect(middleLevel([0, 0.25, 0.5, 0.75])).toBe(0.5);
    expect(middleLevel([0, 0.25, 0.5])).toBe(0.25);
    expect(nextLevel([0, 0.5], 0)).toBe(0.5);
    expect(nextLevel([0, 0.5], 0.5)).toBe(1);
  });
});

describe('tileImportance', () => {
  it('skips every tile of an empty scene with full confidence', () => {
    const d = run({});
    expect(d).toHaveLength(16);
    for (const t of d) expect(t).toEqual({ level: 1, confidence: 1, reason: 'idle' });
  });

  it('converts source boxes to input pixels and marks the tile holding the track', () => {
    // Source (300,220,40,40) -> input (150,110,20,20): tile col 1, row 1.
    const d = run({ tracks: [track({ x: 300, y: 220, w: 40, h: 40 })] });
    const marked = d.flatMap((t, i) => (t.level === 0 ? [i] : []));
    expect(marked).toEqual([at(1, 1)]);
    expect(d[at(1, 1)]!.reason).toBe('track');
    // Idle tiles next to the track are less sure than far ones.
    expect(d[at(2, 1)]!.confidence).toBeLessThan(d[at(3, 3)]!.confidence);
    expect(d[at(3, 3)]!.confidence).toBe(1);
  });

  it('marks every tile the grown region touches, including via sigma and margin', () => {
    // Input (120,90,16,12): within 8 px (margin) of the col 0/1 and row 0/1 borders.
    const d = run({ tracks: [track({ x: 240, y: 180, w: 32, h: 24 })] });
    expect(d.flatMap((t, i) => (t.reason === 'track' ? [i] : []))).toEqual([at(0, 0), at(1, 0), at(0, 1), at(1, 1)]);
    // A large sigma widens the region into the next column.
    const wide = run({ tracks: [track({ x: 300, y: 220, w: 40, h: 40 }, { sigma: { cx: 100, cy: 1, w: 1, h: 1 } })] });
    expect(wide[at(2, 1)]!.reason).toBe('track');
    expect(wide[at(0, 1)]!.reason).toBe('track');
  });

  it('sweeps the region forward along the velocity (lookahead)', () => {
    // Input box ends at x=240; 1200 px/s source x 50 ms = 60 source px = 30 input px -> past 256.
    const t = track({ x: 440, y: 220, w: 40, h: 40 }, { velocity: { vx: 1200, vy: 0 } });
    expect(run({ tracks: [t], options: { marginPx: 0 } })[at(2, 1)]!.reason).toBe('track');
    expect(run({ tracks: [t], options: { marginPx: 0, lookaheadMs: 0 } })[at(2, 1)]!.reason).toBe('idle');
    // Only forward: the region grows in the direction of travel, not behind.
    const r = trackRegion(t, scale, { nSigma: 0, lookaheadMs: 50, marginPx: 0 });
    expect(r).toEqual({ x: 220, y: 110, w: 50, h: 20 });
  });

  it('uses the cheapest level not above trackLevel', () => {
    const tr = [track({ x: 300, y: 220, w: 40, h: 40 })];
    expect(run({ tracks: tr, levels: [0, 0.25, 0.5], options: { trackLevel: 0.3 } })[at(1, 1)]!.level).toBe(0.25);
    expect(run({ tracks: tr, levels: [0, 0.25, 0.5] })[at(1, 1)]!.level).toBe(0);
  });

  it('gives moving tiles without a track the middle level, or full width when there is none', () => {
    const motion = motionFrom([{ x: 300, y: 200, w: 40, h: 40 }]); // inside tile (2,2)
    expect(run({ motion })[at(2, 2)]).toMatchObject({ level: 0, reason: 'motion' });
    expect(run({ motion, levels: [0, 0.5] })[at(2, 2)]).toMatchObject({ level: 0.5, reason: 'motion' });
    expect(run({ motion, levels: [0, 0.25, 0.5, 0.75] })[at(2, 2)]!.level).toBe(0.5);
    // A track wins over motion in the same tile.
    expect(run({ motion, tracks: [track({ x: 620, y: 420, w: 40, h: 40 })] })[at(2, 2)]!.reason).toBe('track');
  });

  it('leaves a tile idle below the motion threshold, with lowered confidence', () => {
    const motion = motionFrom([{ x: 300, y: 200, w: 8, h: 8 }]); // 64 / 12288 = 0.5 % of the tile
    const d = run({ motion })[at(2, 2)]!;
    expect(d.reason).toBe('idle');
    expect(d.level).toBe(1);
    expect(d.confidence).toBeLessThan(1);
    expect(d.confidence).toBeGreaterThanOrEqual(0.5);
  });

  it('keeps confidence in bands: track <= 0.25 < motion < 0.5 <= idle', () => {
    const d = run({
      tracks: [track({ x: 40, y: 40, w: 60, h: 60 })],
      motion: motionFrom([{ x: 400, y: 300, w: 60, h: 60 }]),
      refresh: new Set([at(3, 0)]),
    });
    for (const t of d) {
      if (t.reason === 'track') expect(t.confidence).toBeLessThanOrEqual(0.25);
      if (t.reason === 'motion') expect(t.confidence).toBeLessThan(0.5);
      if (t.reason === 'idle' || t.reason === 'refresh') expect(t.confidence).toBeGreaterThanOrEqual(0.5);
    }
    // Confidence rises with distance from the track along the first row.
    const row = [1, 2, 3].map((c) => d[at(c, 0)]!.confidence);
    expect(row[0]!).toBeLessThanOrEqual(row[1]!);
    expect(row[1]!).toBeLessThanOrEqual(row[2]!);
    // A tile fully covered by a track is less safe to cheapen than one it grazes.
    const big = run({ tracks: [track({ x: 256, y: 192, w: 256, h: 192 }, { sigma: { cx: 0, cy: 0, w: 0, h: 0 } })], options: { marginPx: 4 } });
    expect(big[at(1, 1)]!.confidence).toBeLessThan(big[at(0, 0)]!.confidence);
  });

  it('forces refresh tiles to the refresh level but never downgrades a busier reason', () => {
    const d = run({ tracks: [track({ x: 300, y: 220, w: 40, h: 40 })], refresh: new Set([at(1, 1), at(3, 3)]), levels: [0, 0.5], options: { refreshLevel: 0.5 } });
    expect(d[at(3, 3)]).toMatchObject({ level: 0.5, reason: 'refresh', forced: true });
    // Still marked as forced, so DEMUX keeps it computed as long as it can.
    expect(d[at(1, 1)]).toMatchObject({ level: 0, reason: 'track', forced: true });
    expect(d[at(0, 0)]!.forced).toBeUndefined();
  });

  it('treats every non-track tile as moving while the motion map is unreliable', () => {
    const d = run({ motion: motionFrom([], true), levels: [0, 0.5] });
    for (const t of d) expect(t).toMatchObject({ level: 0.5, reason: 'motion' });
  });

  it('ignores tentative, weak, diverged and off-frame tracks when told to', () => {
    const tentative = track({ x: 300, y: 220, w: 40, h: 40 }, { confirmed: false });
    expect(run({ tracks: [tentative] })[at(1, 1)]!.reason).toBe('track');
    expect(run({ tracks: [tentative], options: { includeTentative: false } })[at(1, 1)]!.reason).toBe('idle');
    expect(run({ tracks: [track({ x: 300, y: 220, w: 40, h: 40 }, { score: 0.2 })], options: { minTrackScore: 0.3 } })[at(1, 1)]!.reason).toBe('idle');
    const nan = track({ x: NaN, y: 220, w: 40, h: 40 });
    const gone = track({ x: 5000, y: 5000, w: 40, h: 40 });
    expect(run({ tracks: [nan, gone] }).every((t) => t.reason === 'idle')).toBe(true);
  });

  it('a settled track (still where the camera last showed it) marks nothing, and explains its own motion', () => {
    // Source (300,220,40,40) -> input (150,110,20,20) in tile (1,1); the motion is the object itself.
    const box = { x: 300, y: 220, w: 40, h: 40 };
    const motion = motionFrom([{ x: 150, y: 110, w: 20, h: 20 }]);
    const settled = run({ tracks: [track(box, { lastBox: { ...box, x: 302 }, msSinceUpdate: 100 })], motion });
    expect(settled[at(1, 1)]).toMatchObject({ level: 1, reason: 'settled' });
    expect(settled.filter((t) => t.level === 0)).toEqual([]);
    // The same object having moved since it was shown: an ordinary track.
    const moved = run({ tracks: [track(box, { lastBox: { ...box, x: 340 }, msSinceUpdate: 100 })], motion });
    expect(moved[at(1, 1)]).toMatchObject({ level: 0, reason: 'track' });
    // Not measured for longer than settledMaxMs: recomputed before the tracker ages it out.
    const old = run({ tracks: [track(box, { lastBox: box, msSinceUpdate: 600 })], motion });
    expect(old[at(1, 1)]).toMatchObject({ level: 0, reason: 'track' });
    // Tentative tracks never settle: a new object is the one most likely to be lost.
    const fresh = run({ tracks: [track(box, { lastBox: box, confirmed: false })], motion });
    expect(fresh[at(1, 1)]).toMatchObject({ level: 0, reason: 'track' });
  });

  it('motion outside a settled track still counts', () => {
    const box = { x: 300, y: 220, w: 40, h: 40 }; // input (150,110,20,20), tile (1,1)
    // Another mover in the same tile, far from the settled region.
    const motion = motionFrom([{ x: 150, y: 110, w: 20, h: 20 }, { x: 220, y: 170, w: 30, h: 14 }]);
    const d = run({ tracks: [track(box, { lastBox: box })], motion, levels: [0, 0.5] });
    expect(d[at(1, 1)]).toMatchObject({ level: 0.5, reason: 'motion' });
  });

  it('with a change map, untracked tiles are computed by their change since last computed, not by motion', () => {
    const changedTile = at(2, 2);
    const change = { fractionIn: (r: Box) => (r.x === tiles[changedTile]!.x && r.y === tiles[changedTile]!.y ? 0.05 : 0) };
    // Motion everywhere: ignored when the change map is given (it only says where pixels move, not whether held boxes are still right).
    const motion = motionFrom([{ x: 0, y: 0, w: W, h: H }]);
    const d = run({ motion, change });
    expect(d.flatMap((t, i) => (t.level === 0 ? [i] : []))).toEqual([changedTile]);
    expect(d[changedTile]!.reason).toBe('change');
    // Below the threshold: skipped.
    expect(run({ change: { fractionIn: () => 0.005 } }).every((t) => t.level === 1)).toBe(true);
    // An unreliable motion map (lighting change) still recomputes everything.
    const dark = run({ motion: motionFrom([], true), change: { fractionIn: () => 0 } });
    expect(dark.every((t) => t.level === 0)).toBe(true);
  });

  it('rejects bad options with a typed error naming the option (not a config key: no YAML has one)', () => {
    expect(() => run({ options: { motionThreshold: 0 } })).toThrow(/importance option motionThreshold/);
    expect(() => run({ options: { trackLevel: 1 } })).toThrow(InputError);
    expect(() => run({ options: { motionFull: 0.01 } })).toThrow(/motionFull/);
  });

  it('measures gaps between boxes', () => {
    expect(boxGap({ x: 0, y: 0, w: 10, h: 10 }, { x: 13, y: 14, w: 5, h: 5 })).toBe(5);
    expect(boxGap({ x: 0, y: 0, w: 10, h: 10 }, { x: 5, y: 5, w: 10, h: 10 })).toBe(0);
  });
});
