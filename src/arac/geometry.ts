/**
 * Tile geometry for the ARAC split: pure functions (mirrored by
 * models/tools/geometry.py, which writes the same tiles into the manifest).
 *
 * Tiles are runs of 32-px cells (the largest stride), as equal as possible,
 * so grids need not divide the frame evenly. Each tile's window is the tile
 * grown by the halo on every side; one window size per grid so all tiles of
 * a level batch into one call. Windows may overhang the frame: the overhang
 * is zero-filled and masked out, which reproduces the unsplit network's zero
 * padding exactly (see models/tools/nanodet.py).
 */
export const CELL = 32;

export interface Tile {
  index: number;
  col: number;
  row: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Grid {
  cols: number;
  rows: number;
}

export function splitCells(nCells: number, parts: number): number[] {
  const base = Math.floor(nCells / parts);
  const extra = nCells % parts;
  return Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0));
}

export function makeTiles(width: number, height: number, grid: Grid): Tile[] {
  if (width % CELL !== 0 || height % CELL !== 0) throw new RangeError(`${width}x${height} is not a multiple of ${CELL}`);
  if (grid.cols * CELL > width || grid.rows * CELL > height) throw new RangeError(`a ${grid.cols}x${grid.rows} grid does not fit ${width}x${height} in ${CELL}-px cells`);
  const xs = splitCells(width / CELL, grid.cols);
  const ys = splitCells(height / CELL, grid.rows);
  const tiles: Tile[] = [];
  let y = 0;
  ys.forEach((th, row) => {
    let x = 0;
    xs.forEach((tw, col) => {
      tiles.push({ index: row * grid.cols + col, col, row, x: x * CELL, y: y * CELL, w: tw * CELL, h: th * CELL });
      x += tw;
    });
    y += th;
  });
  return tiles;
}

export function windowSize(tiles: readonly Tile[], halo: number): { width: number; height: number } {
  return {
    width: Math.max(...tiles.map((t) => t.w)) + 2 * halo,
    height: Math.max(...tiles.map((t) => t.h)) + 2 * halo,
  };
}

/** A window in frame pixels; it may overhang the frame (the overhang is masked). */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Each tile's window: the tile grown by the halo, all windows one size (see windowSize). */
export function tileWindows(tiles: readonly Tile[], halo: number): Rect[] {
  const win = windowSize(tiles, halo);
  return tiles.map((t) => ({ x: t.x - halo, y: t.y - halo, w: win.width, h: win.height }));
}

/**
 * One window around a set of tiles: their bounding box grown by the halo and
 * clipped to the frame (clipping only drops pixels the mask would zero).
 */
export function boundingWindow(tiles: readonly Tile[], halo: number, width: number, height: number): Rect {
  const x0 = Math.max(0, Math.min(...tiles.map((t) => t.x)) - halo);
  const y0 = Math.max(0, Math.min(...tiles.map((t) => t.y)) - halo);
  const x1 = Math.min(width, Math.max(...tiles.map((t) => t.x + t.w)) + halo);
  const y1 = Math.min(height, Math.max(...tiles.map((t) => t.y + t.h)) + halo);
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/**
 * Copy each tile's window out of a CHW float image into a batch, plus masks
 * (1 inside the frame, 0 outside). Returns [tiles,3,wh,ww] and [tiles,1,wh,ww].
 */
export function gatherWindows(
  image: Float32Array,
  width: number,
  height: number,
  tiles: readonly Tile[],
  halo: number,
  win: { width: number; height: number },
): { images: Float32Array; masks: Float32Array } {
  return gatherRects(image, width, height, tiles.map((t) => ({ x: t.x - halo, y: t.y - halo, w: win.width, h: win.height })));
}

/**
 * Copy windows (all of one size) out of a CHW float image into a batch, with
 * masks (1 inside the frame, 0 in the padding). `into`, when it has the
 * batch's length, is zeroed and reused: a window's allocation is what keeps
 * the inference worker's garbage collector busy.
 */
export function gatherRects(image: Float32Array, width: number, height: number, rects: readonly Rect[], into?: Float32Array): { images: Float32Array; masks: Float32Array } {
  const win = { width: rects[0]?.w ?? 0, height: rects[0]?.h ?? 0 };
  if (rects.some((r) => r.w !== win.width || r.h !== win.height)) throw new RangeError('gatherRects: windows in one batch must share a size');
  const plane = win.width * win.height;
  const images = into?.length === rects.length * 3 * plane ? into.fill(0) : new Float32Array(rects.length * 3 * plane);
  const masks = new Float32Array(rects.length * plane);
  const srcPlane = width * height;
  rects.forEach((t, i) => {
    const x0 = t.x;
    const y0 = t.y;
    const sx0 = Math.max(x0, 0);
    const sx1 = Math.min(x0 + win.width, width);
    const sy0 = Math.max(y0, 0);
    const sy1 = Math.min(y0 + win.height, height);
    const run = sx1 - sx0;
    for (let sy = sy0; sy < sy1; sy++) {
      const dstRow = (sy - y0) * win.width + (sx0 - x0);
      const srcRow = sy * width + sx0;
      for (let c = 0; c < 3; c++) {
        images.set(image.subarray(c * srcPlane + srcRow, c * srcPlane + srcRow + run), (i * 3 + c) * plane + dstRow);
      }
      masks.fill(1, i * plane + dstRow, i * plane + dstRow + run);
    }
  });
  return { images, masks };
}
