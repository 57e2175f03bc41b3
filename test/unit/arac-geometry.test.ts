import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { gatherRects, gatherWindows, makeTiles, splitCells, windowSize } from '../../src/arac/geometry.js';
import type { Manifest } from '../../src/model/manifest.js';
import { PACK_DIR } from '../helpers/pack.js';

describe('tile geometry', () => {
  it.each([
    [16, 4, [4, 4, 4, 4]],
    [16, 3, [6, 5, 5]],
    [9, 4, [3, 2, 2, 2]],
    [12, 3, [4, 4, 4]],
  ])('splitCells(%i, %i) = %j', (n, k, want) => {
    expect(splitCells(n, k)).toEqual(want);
  });

  it('tiles cover the frame exactly, sides multiples of 32', () => {
    for (const [w, h] of [[512, 384], [512, 288], [416, 416]] as const) {
      for (const grid of [{ cols: 2, rows: 2 }, { cols: 3, rows: 3 }, { cols: 4, rows: 4 }, { cols: 4, rows: 3 }]) {
        const tiles = makeTiles(w, h, grid);
        expect(tiles).toHaveLength(grid.cols * grid.rows);
        expect(tiles.reduce((a, t) => a + t.w * t.h, 0)).toBe(w * h);
        for (const t of tiles) {
          expect(t.w % 32).toBe(0);
          expect(t.h % 32).toBe(0);
          expect(t.x + t.w).toBeLessThanOrEqual(w);
          expect(t.y + t.h).toBeLessThanOrEqual(h);
        }
      }
    }
  });

  it('rejects sizes that are not multiples of 32 and grids finer than a cell', () => {
    expect(() => makeTiles(500, 384, { cols: 2, rows: 2 })).toThrow(/multiple of 32/);
    expect(() => makeTiles(64, 64, { cols: 3, rows: 1 })).toThrow(/does not fit/);
  });

  it('matches the tiles the Python tool wrote into the manifest', () => {
    const m = JSON.parse(readFileSync(path.join(PACK_DIR, 'manifest.json'), 'utf8')) as Manifest;
    expect(m.arac.grids.length).toBeGreaterThanOrEqual(3);
    for (const g of m.arac.grids) {
      for (const s of g.sizes) {
        const tiles = makeTiles(s.width, s.height, g);
        expect(tiles).toEqual(s.tiles);
        expect(windowSize(tiles, m.arac.split.halo)).toEqual(s.window);
      }
    }
  });

  it('halo covers the split receptive field', () => {
    const m = JSON.parse(readFileSync(path.join(PACK_DIR, 'manifest.json'), 'utf8')) as Manifest;
    const { receptiveField, halo, stride } = m.arac.split;
    expect(halo).toBeGreaterThanOrEqual((receptiveField - 1) / 2);
    expect(halo % stride).toBe(0);
  });

  it('gathers windows with zero fill and a mask outside the frame', () => {
    // 64x64 single-channel-per-plane image whose value encodes the pixel index.
    const w = 64, h = 64;
    const img = new Float32Array(3 * w * h).map((_, i) => (i % (w * h)) + 1);
    const tiles = makeTiles(w, h, { cols: 2, rows: 2 });
    const win = windowSize(tiles, 8);
    expect(win).toEqual({ width: 48, height: 48 });
    const { images, masks } = gatherWindows(img, w, h, tiles, 8, win);
    const plane = win.width * win.height;
    // Tile 0's window starts at (-8,-8): its first 8 rows/cols are outside.
    expect(masks[0]).toBe(0);
    expect(images[0]).toBe(0);
    expect(masks[8 * win.width + 8]).toBe(1);
    expect(images[8 * win.width + 8]).toBe(1); // pixel (0,0)
    // Tile 3 (x=32,y=32) window starts at (24,24): pixel (24,24) is index 24*64+24.
    expect(images[3 * 3 * plane]).toBe(24 * 64 + 24 + 1);
    expect(masks[3 * plane + 47 * win.width + 47]).toBe(0); // (71,71) is outside
    expect(masks[3 * plane + 39 * win.width + 39]).toBe(1); // (63,63) inside
  });
});

describe('window planning (merge)', () => {
  it('adjacent tiles share one bounding window; four corners become the whole frame; two far corners stay apart', async () => {
    const { planWindows } = await import('../../src/detect/executor.js');
    const tiles = makeTiles(512, 384, { cols: 4, rows: 4 });
    const pick = (ix: number[]) => ix.map((i) => tiles[i]!);
    const centre = planWindows(pick([5, 6, 9, 10]), tiles, 512, 384, 64, true);
    expect(centre.kind).toBe('bbox');
    expect(centre.windows).toEqual([{ x: 64, y: 32, w: 384, h: 320 }]);
    expect(centre.keep).toEqual([{ x: 128, y: 96, w: 256, h: 192 }]);
    expect(centre.computed.map((t) => t.index)).toEqual([5, 6, 9, 10]);
    // Four corners: 4 windows of 256x224 outweigh the 512x384 frame.
    expect(planWindows(pick([0, 3, 12, 15]), tiles, 512, 384, 64, true).kind).toBe('frame');
    // Two opposite corners: 2 x 256x224 beat both the frame and their bounding box.
    expect(planWindows(pick([0, 15]), tiles, 512, 384, 64, true).kind).toBe('tiles');
    const big = makeTiles(1024, 768, { cols: 4, rows: 4 });
    const corners = planWindows([big[0]!, big[15]!], big, 1024, 768, 64, true);
    expect(corners.kind).toBe('tiles');
    expect(corners.windows).toHaveLength(2);
    expect(planWindows(pick([0, 15]), tiles, 512, 384, 64, false).kind).toBe('tiles');
  });
});

describe('gatherRects buffer reuse', () => {
  // A 4x3 CHW image whose values name their position; windows hang over the frame's edges.
  const image = Float32Array.from({ length: 3 * 12 }, (_, i) => i + 1);
  const rects = [
    { x: -1, y: -1, w: 3, h: 3 },
    { x: 2, y: 1, w: 3, h: 3 },
  ];

  it('a reused buffer of the right length is zeroed and refilled: the same batch as a fresh one', () => {
    const fresh = gatherRects(image, 4, 3, rects);
    const dirty = new Float32Array(fresh.images.length).fill(-7);
    const again = gatherRects(image, 4, 3, rects, dirty);
    expect(again.images).toBe(dirty);
    expect([...again.images]).toEqual([...fresh.images]);
    expect([...again.masks]).toEqual([...fresh.masks]);
    // The padding really is padding: the first window's top-left pixel lies outside the frame.
    expect(again.images[0]).toBe(0);
  });

  it('a buffer of another length is left alone', () => {
    const other = new Float32Array(5).fill(-7);
    const r = gatherRects(image, 4, 3, rects, other);
    expect(r.images).not.toBe(other);
    expect([...other]).toEqual([-7, -7, -7, -7, -7]);
  });
});
