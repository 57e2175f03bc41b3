/** Which ARAC tiles a camera's masks rule out (src/arac/mask.ts), and how a plan keeps them skipped. */
import { describe, expect, it } from 'vitest';
import { makeTiles } from '../../src/arac/geometry.js';
import { forceSkip, maskedTiles, skipMasked, unmaskedDue } from '../../src/arac/mask.js';
import type { Polygon } from '../../src/core/polygon.js';

// 512x288 input from a 960x540 source (16:9): a 4x4 grid's columns are 128 input px (240 source px),
// its rows 96, 64, 64, 64 input px (0-180, 180-300, 300-420, 420-540 source px).
const tiles = makeTiles(512, 288, { cols: 4, rows: 4 });
const scale = { sx: 960 / 512, sy: 540 / 288 };
const rect = (x0: number, y0: number, x1: number, y1: number): Polygon => [
  [x0, y0],
  [x1, y0],
  [x1, y1],
  [x0, y1],
];

describe('maskedTiles', () => {
  it.each<[string, Polygon[] | undefined, number[]]>([
    ['no masks', undefined, []],
    ['an empty list', [], []],
    ['the right column exactly (edges on tile edges)', [rect(720, 0, 960, 540)], [3, 7, 11, 15]],
    ['the right column less one pixel: no tile wholly inside', [rect(721, 0, 960, 540)], []],
    ['the top row and more', [rect(0, 0, 960, 200)], [0, 1, 2, 3]],
    ['one tile in the middle', [rect(240, 180, 480, 300)], [5]],
    ['two masks, one tile each', [rect(0, 0, 240, 180), rect(720, 420, 960, 540)], [0, 15]],
    ['a tile split between two masks is not masked', [rect(0, 0, 120, 180), rect(120, 0, 240, 180)], []],
    ['the whole frame', [rect(0, 0, 960, 540)], [...Array(16).keys()]],
    [
      'a triangle over the top-left corner: the corner tile only',
      [
        [
          [0, 0],
          [600, 0],
          [0, 400],
        ],
      ],
      [0],
    ],
  ])('%s', (_name, masks, want) => {
    expect([...maskedTiles(tiles, masks, scale)].sort((a, b) => a - b)).toEqual(want);
  });
});

describe('keeping masked tiles skipped', () => {
  const masked = new Set([3, 7]);

  it('skipMasked raises masked tiles to skip and leaves the rest; the same array when nothing changes', () => {
    const levels = [0, 1, 0, 0, 1, 1, 1, 0];
    expect(skipMasked(levels, masked)).toEqual([0, 1, 0, 1, 1, 1, 1, 1]);
    const already = [0, 0, 0, 1, 0, 0, 0, 1];
    expect(skipMasked(already, masked)).toBe(already);
    expect(skipMasked(levels, new Set())).toBe(levels);
  });

  it('forceSkip: masked decisions become safe skips (confidence 1, not forced), others untouched', () => {
    const ds = Array.from({ length: 8 }, (_, i) => ({ level: 0, confidence: 0.1, reason: 'track', forced: i === 3 }));
    const out = forceSkip(ds, masked);
    expect(out[3]).toEqual({ level: 1, confidence: 1, reason: 'track', forced: false });
    expect(out[7]).toEqual({ level: 1, confidence: 1, reason: 'track', forced: false });
    expect(out.filter((_, i) => !masked.has(i))).toEqual(ds.filter((_, i) => !masked.has(i)));
  });

  it('unmaskedDue drops masked tiles from the refresh set', () => {
    expect([...unmaskedDue(new Set([0, 3, 5, 7]), masked)]).toEqual([0, 5]);
  });
});
