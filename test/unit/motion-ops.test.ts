import { describe, expect, it } from 'vitest';
import { downscaleLuma, labelComponents, maskFractionInRect, mergeBoxes } from '../../src/importance/motion-ops.js';

function grid(rows: string[]): { m: Uint8Array; w: number; h: number } {
  const w = rows[0]!.length;
  const h = rows.length;
  const m = new Uint8Array(w * h);
  rows.forEach((r, y) => [...r].forEach((c, x) => (m[y * w + x] = c === '#' ? 1 : 0)));
  return { m, w, h };
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
    downscaleLuma(rgb, w, h, 2, out);
    expect([...out]).toEqual([255, 76]);
  });

  it('gives the same cells on the unrolled and the general paths', () => {
    const w = 37;
    const h = 25;
    const rgb = new Uint8Array(w * h * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 97 + ((i / 7) | 0)) & 255;
    for (const f of [1, 2, 3, 4, 5]) {
      const sw = Math.floor(w / f);
      const sh = Math.floor(h / f);
      const out = new Uint8Array(sw * sh);
      downscaleLuma(rgb, w, h, f, out);
      const want = new Uint8Array(sw * sh);
      for (let sy = 0; sy < sh; sy++) {
        for (let sx = 0; sx < sw; sx++) {
          let acc = 0;
          for (let y = sy * f; y < sy * f + f; y++) {
            for (let x = sx * f; x < sx * f + f; x++) {
              const i = (y * w + x) * 3;
              acc += rgb[i]! * 77 + rgb[i + 1]! * 150 + rgb[i + 2]! * 29;
            }
          }
          want[sy * sw + sx] = Math.floor(acc / (256 * f * f));
        }
      }
      expect([...out], `factor ${f}`).toEqual([...want]);
    }
  });
});

describe('labelComponents', () => {
  it('joins diagonals at reach 1 (8-connectivity) and measures extents', () => {
    const { m, w, h } = grid(['#.....', '.#..##', '......', '....#.']);
    const labels = new Int32Array(w * h);
    const comps = labelComponents(m, w, h, 1, labels, new Int32Array(w * h));
    expect(comps.map((c) => [c.count, c.minX, c.minY, c.maxX, c.maxY])).toEqual([
      [2, 0, 0, 1, 1],
      [2, 4, 1, 5, 1],
      [1, 4, 3, 4, 3],
    ]);
    expect(labels[0]).toBe(1);
    expect(labels[w + 4]).toBe(2);
    expect(labels[2]).toBe(0);
  });

  it('joins across gaps of reach - 1 cells, as dilation by (reach - 1) / 2 would', () => {
    // Gap of two empty cells: joined at reach 3 (dilation r=1 makes the blobs touch), not at reach 2.
    const { m, w, h } = grid(['#..#....#']);
    const lab = new Int32Array(w * h);
    const st = new Int32Array(w * h);
    expect(labelComponents(m, w, h, 2, lab, st)).toHaveLength(3);
    const joined = labelComponents(m, w, h, 3, lab, st);
    expect(joined.map((c) => [c.count, c.minX, c.maxX])).toEqual([
      [2, 0, 3],
      [1, 8, 8],
    ]);
  });

  it('handles a frame-sized blob without recursion', () => {
    const w = 400;
    const h = 300;
    const m = new Uint8Array(w * h).fill(1);
    const comps = labelComponents(m, w, h, 3, new Int32Array(w * h), new Int32Array(w * h));
    expect(comps).toHaveLength(1);
    expect(comps[0]!.count).toBe(w * h);
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
