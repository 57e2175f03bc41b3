/** Window planning for the windowed ARAC path (pure geometry). */
import { describe, expect, it } from 'vitest';
import { makeTiles } from '../../src/arac/geometry.js';
import { area, mergeWindows, planLevelWindows, touching } from '../../src/arac/windows.js';

// 512x384 in a 4x4 grid: tiles of 128x96 (four 32-px cells by three).
const tiles = makeTiles(512, 384, { cols: 4, rows: 4 });
const pick = (ix: number[]) => ix.map((i) => tiles[i]!);

describe('mergeWindows', () => {
  it('one interior tile: the tile grown by the halo on every side', () => {
    expect(mergeWindows(pick([5]), 32, 512, 384, 0).map((w) => w.rect)).toEqual([{ x: 96, y: 64, w: 192, h: 160 }]);
  });

  it('clips the context at the frame edge instead of padding it', () => {
    expect(mergeWindows(pick([0]), 32, 512, 384, 0).map((w) => w.rect)).toEqual([{ x: 0, y: 0, w: 160, h: 128 }]);
  });

  it('touching tiles (an edge or only a corner) always share one window', () => {
    const edge = mergeWindows(pick([5, 6]), 32, 512, 384, 0);
    expect(edge.map((w) => w.rect)).toEqual([{ x: 96, y: 64, w: 320, h: 160 }]);
    const corner = mergeWindows(pick([5, 10]), 32, 512, 384, 0);
    expect(corner).toHaveLength(1);
    expect(corner[0]!.rect).toEqual({ x: 96, y: 64, w: 320, h: 256 });
  });

  it('far-apart tiles stay apart unless a call costs more than the pixels merging adds', () => {
    // Tiles 0 and 15: apart 160x128 each (40960 px); together the whole frame (196608 px).
    expect(mergeWindows(pick([0, 15]), 32, 512, 384, 0)).toHaveLength(2);
    expect(mergeWindows(pick([0, 15]), 32, 512, 384, 200_000)).toHaveLength(1);
  });

  it('tiles two apart merge when the gap is smaller than their separate halos plus a call', () => {
    // Tiles 4 and 6 (row 1, columns 0 and 2): apart 160x160 + 192x160; merged 416x160, 10240 px more than apart.
    expect(mergeWindows(pick([4, 6]), 32, 512, 384, 0)).toHaveLength(2);
    const merged = mergeWindows(pick([4, 6]), 32, 512, 384, 10_240);
    expect(merged).toHaveLength(1);
    expect(area(merged[0]!.rect)).toBe(416 * 160);
  });

  it('every window is aligned to 32-px cells, so each stride maps cells one to one', () => {
    for (const w of mergeWindows(pick([0, 3, 5, 10, 12, 15]), 32, 512, 384, 4000)) {
      for (const v of [w.rect.x, w.rect.y, w.rect.w, w.rect.h]) expect(v % 32).toBe(0);
    }
  });
});

describe('touching', () => {
  it('edge and corner neighbours touch, tiles a column apart do not', () => {
    expect(touching(pick([0]), pick([1]))).toBe(true);
    expect(touching(pick([0]), pick([5]))).toBe(true);
    expect(touching(pick([0]), pick([2]))).toBe(false);
  });
});

describe('planLevelWindows', () => {
  it('keeps its own tiles plus skipped tiles inside its core, never tiles planned at another level', () => {
    // Level-0 tiles 5 and 10 share a window whose core spans tiles 5, 6, 9, 10.
    const levels = Array<number>(16).fill(1);
    levels[5] = 0;
    levels[10] = 0;
    levels[6] = 0.5; // another compute level: not this window's to overwrite
    const [w] = planLevelWindows(pick([5, 10]), tiles, levels, 512, 384, 32, 0);
    expect(w!.keep.map((t) => t.index)).toEqual([5, 9, 10]);
  });
});
