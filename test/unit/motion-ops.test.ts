import { describe, expect, it } from 'vitest';
import { dilate, downscaleLuma, labelComponents, maskFractionInRect, mergeBoxes } from '../../src/importance/motion-ops.js';

function grid(rows: string[]): { m: Uint8Array; w: number; h: number } {
  const w = rows[0]!.length;
  const h = rows.length;
  const m = new Uint8Array(w * h);
  rows.forEach((r, y) => [...r].forEach((c, x) => (m[y * w + x] = c === '#' ? 1 : 0)));
  return { m, w, h };
}

function show(m: Uint8Array, w: number, h: number): string[] {
  const out: string[] = [];
  for (let y = 0; y < h; y++) out.push([...m.subarray(y * w, y * w + w)].map((v) => (v ? '#' : '.')).join(''));
  return out;
}

describe('downscaleLuma', () => {
  it('averages each block to BT.601 luma and ignores leftover pixels', () => {
    const w = 5;
    const h = 2;
    const rgb = new Uint8Array(w * h * 3);
    // Left 2x2 block pure white, right 2x2 block pure red, fifth column (leftover) white.
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 3;
        if (x < 2 || x === 4) rgb.fill(255, i, i + 3);
        else rgb[i] = 255;
      }
    }
    const out = new Uint8Array(2);
    downscaleLuma(rgb, w, h, 2, out, new Int32Array(6));
    expect([...out]).toEqual([255, 76]);
  });
});

describe('dilate', () => {
  it('grows by a square of radius r and clips at the borders', () => {
    const { m, w, h } = grid(['#....', '.....', '....#']);
    const out = new Uint8Array(w * h);
    dilate(m, w, h, 1, new Uint8Array(w * h), out);
    expect(show(out, w, h)).toEqual(['##...', '##.##', '...##']);
    dilate(m, w, h, 0, new Uint8Array(w * h), out);
    expect(show(out, w, h)).toEqual(['#....', '.....', '....#']);
  });
});

describe('labelComponents', () => {
  it('joins diagonals (8-connectivity) and measures extents on raw pixels', () => {
    const { m, w, h } = grid(['#.....', '.#..##', '......', '....#.']);
    const labels = new Int32Array(w * h);
    const comps = labelComponents(m, m, w, h, labels, new Int32Array(w * h));
    expect(comps.map((c) => [c.rawCount, c.minX, c.minY, c.maxX, c.maxY])).toEqual([
      [2, 0, 0, 1, 1],
      [2, 4, 1, 5, 1],
      [1, 4, 3, 4, 3],
    ]);
  });

  it('handles a frame-sized blob without recursion', () => {
    const w = 400;
    const h = 300;
    const m = new Uint8Array(w * h).fill(1);
    const comps = labelComponents(m, m, w, h, new Int32Array(w * h), new Int32Array(w * h));
    expect(comps).toHaveLength(1);
    expect(comps[0]!.rawCount).toBe(w * h);
  });
});

describe('mergeBoxes', () => {
  it('merges overlapping and near boxes transitively and keeps distant ones', () => {
    const merged = mergeBoxes(
      [
        { x: 0, y: 0, w: 10, h: 10 },
        { x: 30, y: 0, w: 10, h: 10 },
        { x: 12, y: 0, w: 10, h: 10 }, // gap 2 to the first, then gap 8 to the second via the union
        { x: 100, y: 100, w: 5, h: 5 },
      ],
      2,
    );
    expect(merged).toEqual([
      { x: 0, y: 0, w: 22, h: 10 },
      { x: 30, y: 0, w: 10, h: 10 },
      { x: 100, y: 100, w: 5, h: 5 },
    ]);
    expect(mergeBoxes(merged, 8)).toHaveLength(2);
    expect(mergeBoxes([], 2)).toEqual([]);
  });
});

describe('maskFractionInRect', () => {
  it('counts cells whose centres fall inside, with a one-cell fallback for tiny rects', () => {
    const { m, w, h } = grid(['##..', '##..', '....', '....']);
    expect(maskFractionInRect(m, w, h, 4, { x: 0, y: 0, w: 8, h: 8 })).toBe(1);
    expect(maskFractionInRect(m, w, h, 4, { x: 0, y: 0, w: 16, h: 16 })).toBe(0.25);
    expect(maskFractionInRect(m, w, h, 4, { x: 5, y: 5, w: 1, h: 1 })).toBe(1);
    expect(maskFractionInRect(m, w, h, 4, { x: 100, y: 0, w: 10, h: 10 })).toBe(0);
    expect(maskFractionInRect(m, w, h, 4, { x: 0, y: 0, w: 0, h: 10 })).toBe(0);
  });
});
