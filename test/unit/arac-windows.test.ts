/** Window planning for the windowed ARAC path (pure geometry). */
import { describe, expect, it } from 'vitest';
import { makeTiles } from '../../src/arac/geometry.js';
import { area, canonicalSizes, canonicalWindow, mergeWindows, planLevelWindows, planWindowed, touching } from '../../src/arac/windows.js';

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

describe('canonical windows (batching)', () => {
  const t288 = makeTiles(512, 288, { cols: 4, rows: 4 });
  const g = (canonical: boolean) => ({ width: 512, height: 288, halo: 64, callFraction: 0.04, canonical });

  it('canonical sizes: quarters of each side, on 32-px cells, the side itself last', () => {
    expect(canonicalSizes(512)).toEqual([128, 256, 384, 512]);
    expect(canonicalSizes(288)).toEqual([96, 160, 224, 288]);
    expect(canonicalSizes(384)).toEqual([96, 192, 288, 384]);
  });

  it('a window grows to the smallest canonical shape holding it, about its middle, inside the frame, on 32-px cells', () => {
    expect(canonicalWindow({ x: 64, y: 32, w: 256, h: 192 }, 512, 288)).toEqual({ x: 64, y: 32, w: 256, h: 224 });
    expect(canonicalWindow({ x: 192, y: 96, w: 192, h: 128 }, 512, 288)).toEqual({ x: 160, y: 96, w: 256, h: 160 });
    // At the frame's edge it grows inwards.
    expect(canonicalWindow({ x: 0, y: 0, w: 192, h: 160 }, 512, 288)).toEqual({ x: 0, y: 0, w: 256, h: 160 });
    expect(canonicalWindow({ x: 352, y: 192, w: 160, h: 96 }, 512, 288)).toEqual({ x: 256, y: 192, w: 256, h: 96 });
    for (const r of [{ x: 32, y: 32, w: 96, h: 64 }, { x: 288, y: 64, w: 224, h: 224 }, { x: 0, y: 0, w: 512, h: 288 }]) {
      const c = canonicalWindow(r, 512, 288);
      for (const v of [c.x, c.y, c.w, c.h]) expect(v % 32).toBe(0);
      expect(c.x <= r.x && c.y <= r.y && c.x + c.w >= r.x + r.w && c.y + c.h >= r.y + r.h).toBe(true);
      expect(c.x >= 0 && c.y >= 0 && c.x + c.w <= 512 && c.y + c.h <= 288).toBe(true);
    }
  });

  it('planned windows of any single active tile come in few shapes, and keep the same tiles', () => {
    const shapes = new Set<string>();
    const exactShapes = new Set<string>();
    for (let i = 0; i < 16; i++) {
      const levels = Array<number>(16).fill(1);
      levels[i] = 0;
      const exact = planWindowed(levels, t288, g(false))[0]!.windows;
      const canon = planWindowed(levels, t288, g(true))[0]!.windows;
      expect(canon.map((w) => w.keep.map((t) => t.index))).toEqual(exact.map((w) => w.keep.map((t) => t.index)));
      for (const w of canon) shapes.add(`${w.rect.w}x${w.rect.h}`);
      for (const w of exact) exactShapes.add(`${w.rect.w}x${w.rect.h}`);
    }
    // Sixteen windows of six sizes as planned; two canonical shapes (the top and bottom rows, and the rows between).
    expect(exactShapes.size).toBe(6);
    expect([...shapes].sort()).toEqual(['256x160', '256x224']);
  });

  it('a window grown to the frame keeps what a frame window keeps: every tile not at another level', () => {
    const levels = Array<number>(16).fill(1);
    levels[5] = 0;
    levels[6] = 0;
    levels[9] = 0;
    levels[10] = 0; // the centre block: 384x288 with its context, canonically 384x288 -- not the frame
    expect(planWindowed(levels, t288, g(true))[0]!.windows[0]!.rect).toEqual({ x: 64, y: 0, w: 384, h: 288 });
    levels[7] = 0; // now 512 wide: the frame
    const [w] = planWindowed(levels, t288, g(true))[0]!.windows;
    expect(w!.rect).toEqual({ x: 0, y: 0, w: 512, h: 288 });
    expect(w!.keep).toHaveLength(16);
  });
});
