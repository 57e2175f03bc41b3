/**
 * A snapshot's pixels (pure, packed RGB24): the event's box drawn on its
 * frame, and the crop around it. The box is drawn inside its own edges, so
 * every pixel of the outline lies within the box, and in one colour that
 * natural scenes rarely show (a test finds it in the decoded JPEG).
 */
import type { Box } from '../core/types.js';

/** The outline's colour: pure magenta. */
export const BOX_COLOUR: readonly [number, number, number] = [255, 0, 255];

/** An integer rectangle in picture pixels. */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A source-pixel box in a picture of `width` x `height` made from a `srcWidth` x `srcHeight` source, clipped to it; null when nothing is left. */
export function boxInPicture(box: Box, width: number, height: number, srcWidth: number, srcHeight: number): Rect | null {
  const sx = width / srcWidth;
  const sy = height / srcHeight;
  const x0 = Math.max(0, Math.round(box.x * sx));
  const y0 = Math.max(0, Math.round(box.y * sy));
  const x1 = Math.min(width, Math.round((box.x + box.w) * sx));
  const y1 = Math.min(height, Math.round((box.y + box.h) * sy));
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, w: x1 - x0, h: y1 - y0 } : null;
}

/**
 * Outline thickness for a picture: 3 px up to 640 wide, more for larger ones.
 * JPEG halves the colour's resolution (4:2:0), so a 1-px line would come
 * back as a grey smear; three pixels keep a core of the colour.
 */
export function lineWidth(width: number): number {
  return Math.max(3, Math.round(width / 200));
}

/** Draws `r`'s outline, `thickness` px wide inside it, into `rgb` (in place). */
export function drawOutline(rgb: Uint8Array, width: number, height: number, r: Rect, thickness: number, colour: readonly [number, number, number] = BOX_COLOUR): void {
  const t = Math.max(1, Math.min(thickness, Math.ceil(r.w / 2), Math.ceil(r.h / 2)));
  const fill = (x0: number, y0: number, x1: number, y1: number): void => {
    for (let y = Math.max(0, y0); y < Math.min(height, y1); y++) {
      let i = (y * width + Math.max(0, x0)) * 3;
      for (let x = Math.max(0, x0); x < Math.min(width, x1); x++, i += 3) {
        rgb[i] = colour[0];
        rgb[i + 1] = colour[1];
        rgb[i + 2] = colour[2];
      }
    }
  };
  fill(r.x, r.y, r.x + r.w, r.y + t); // top
  fill(r.x, r.y + r.h - t, r.x + r.w, r.y + r.h); // bottom
  fill(r.x, r.y + t, r.x + t, r.y + r.h - t); // left
  fill(r.x + r.w - t, r.y + t, r.x + r.w, r.y + r.h - t); // right
}

/**
 * The crop around a box: the box grown by a quarter of its size on each
 * side (the object with some of its surroundings), at least 32 px a side,
 * within the picture.
 */
export function cropAround(r: Rect, width: number, height: number): Rect {
  const grow = (lo: number, len: number, max: number): [number, number] => {
    const pad = Math.max(Math.round(len / 4), Math.ceil((32 - len) / 2), 0);
    const a = Math.max(0, lo - pad);
    const b = Math.min(max, lo + len + pad);
    return [a, b];
  };
  const [x0, x1] = grow(r.x, r.w, width);
  const [y0, y1] = grow(r.y, r.h, height);
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/** The pixels of `r` as their own packed RGB24 picture. */
export function cropPixels(rgb: Uint8Array, width: number, r: Rect): Buffer {
  const out = Buffer.allocUnsafe(r.w * r.h * 3);
  for (let y = 0; y < r.h; y++) {
    const from = ((r.y + y) * width + r.x) * 3;
    out.set(rgb.subarray(from, from + r.w * 3), y * r.w * 3);
  }
  return out;
}
