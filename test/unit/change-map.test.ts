/** ChangeMap: change since each tile was last computed, on a small luma grid. */
import { describe, expect, it } from 'vitest';
import { ChangeMap, type LumaView } from '../../src/importance/change.js';

// A 16x12-cell luma view at factor 4: a 64x48-pixel frame; tile A = left half, tile B = right half.
const A = { x: 0, y: 0, w: 32, h: 48 };
const B = { x: 32, y: 0, w: 32, h: 48 };
const view = (fill: (x: number, y: number) => number): LumaView => {
  const data = new Uint8Array(16 * 12);
  for (let y = 0; y < 12; y++) for (let x = 0; x < 16; x++) data[y * 16 + x] = fill(x, y);
  return { data, width: 16, height: 12, factor: 4 };
};

describe('ChangeMap', () => {
  it('counts a never-computed tile as wholly changed, a just-computed one as unchanged', () => {
    const c = new ChangeMap(24);
    c.update(view(() => 100));
    expect(c.fractionIn(A)).toBe(1);
    c.commit(A);
    expect(c.fractionIn(A)).toBe(0);
    expect(c.fractionIn(B)).toBe(1);
  });

  it('accumulates slow change against the reference until the tile is computed again', () => {
    const c = new ChangeMap(24);
    c.update(view(() => 100));
    c.commit(A);
    // A 2x2-cell object brightens by 10 a frame: invisible frame to frame, but it adds up.
    const seen: number[] = [];
    for (let k = 1; k <= 4; k++) {
      c.update(view((x, y) => (x < 2 && y < 2 ? 100 + 10 * k : 100)));
      seen.push(c.fractionIn(A));
    }
    expect(seen.slice(0, 2)).toEqual([0, 0]); // +10, +20: within delta
    expect(seen[2]).toBeCloseTo(4 / 96, 6); // +30: the 4 cells of 96 in tile A
    c.commit(A);
    expect(c.fractionIn(A)).toBe(0);
  });

  it('ignores changes below delta (noise) however long they last', () => {
    const c = new ChangeMap(24);
    c.update(view(() => 100));
    c.commit(A);
    for (let k = 0; k < 20; k++) {
      c.update(view((x, y) => 100 + ((x * 7 + y * 3 + k) % 2 === 0 ? 12 : -12)));
      expect(c.fractionIn(A)).toBe(0);
    }
  });

  it('updateFrame downscales an RGB frame itself: a lighting change makes every tile changed', () => {
    const c = new ChangeMap(24);
    const frame = (v: number) => new Uint8Array(64 * 48 * 3).fill(v);
    c.updateFrame(frame(90), 64, 48, 12); // factor 4: the 16x12 grid above
    expect(c.fractionIn(A)).toBe(1);
    c.commit(A);
    c.commit(B);
    c.updateFrame(frame(95), 64, 48, 12);
    expect(c.fractionIn(A)).toBe(0);
    c.updateFrame(frame(160), 64, 48, 12);
    expect(c.fractionIn(A)).toBe(1);
    expect(c.fractionIn(B)).toBe(1);
  });
});
