/**
 * The pixel kernels behind MotionDetector, kept pure (caller-owned buffers in,
 * results out) so each one can be tested and timed alone. All of them work at
 * the detector's small scale, where one cell stands for `factor` x `factor`
 * input pixels.
 */
import type { Box } from '../core/types.js';

/**
 * Box-filter downscale of packed RGB24 to luma by an integer factor. Channels
 * are summed per block and weighted once per cell (BT.601 in 8-bit fixed
 * point), which is cheaper than converting each input pixel. Input rows and
 * columns past the last whole block are ignored. `out` needs
 * floor(width/factor) * floor(height/factor) bytes.
 */
export function downscaleLuma(rgb: Uint8Array, width: number, height: number, factor: number, out: Uint8Array): void {
  // V8 does not unroll the tiny per-block loops; the hand-unrolled paths for the
  // factors that detector sizes produce (288 -> 2, 384 -> 3) run about twice as fast.
  if (factor === 2) downscale2(rgb, width, height, out);
  else if (factor === 3) downscale3(rgb, width, height, out);
  else downscaleAny(rgb, width, height, factor, out);
}

function downscaleAny(rgb: Uint8Array, width: number, height: number, factor: number, out: Uint8Array): void {
  const sw = Math.floor(width / factor);
  const sh = Math.floor(height / factor);
  // 256 * factor^2: the fixed-point weights sum to 256 and each cell holds factor^2 pixels.
  const div = 256 * factor * factor;
  const stride = width * 3;
  const step = factor * 3;
  for (let sy = 0; sy < sh; sy++) {
    const rowBase = sy * factor * stride;
    const o = sy * sw;
    for (let sx = 0; sx < sw; sx++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let base = rowBase + sx * step;
      for (let dy = 0; dy < factor; dy++) {
        let p = base;
        for (let dx = 0; dx < factor; dx++) {
          r += rgb[p]!;
          g += rgb[p + 1]!;
          b += rgb[p + 2]!;
          p += 3;
        }
        base += stride;
      }
      out[o + sx] = ((r * 77 + g * 150 + b * 29) / div) | 0;
    }
  }
}

function downscale2(rgb: Uint8Array, width: number, height: number, out: Uint8Array): void {
  const sw = width >> 1;
  const sh = height >> 1;
  const stride = width * 3;
  for (let sy = 0; sy < sh; sy++) {
    let p = sy * 2 * stride;
    let q = p + stride;
    const o = sy * sw;
    for (let sx = 0; sx < sw; sx++) {
      const r = rgb[p]! + rgb[p + 3]! + rgb[q]! + rgb[q + 3]!;
      const g = rgb[p + 1]! + rgb[p + 4]! + rgb[q + 1]! + rgb[q + 4]!;
      const b = rgb[p + 2]! + rgb[p + 5]! + rgb[q + 2]! + rgb[q + 5]!;
      out[o + sx] = (r * 77 + g * 150 + b * 29) >> 10;
      p += 6;
      q += 6;
    }
  }
}

function downscale3(rgb: Uint8Array, width: number, height: number, out: Uint8Array): void {
  const sw = Math.floor(width / 3);
  const sh = Math.floor(height / 3);
  const stride = width * 3;
  for (let sy = 0; sy < sh; sy++) {
    let p = sy * 3 * stride;
    let q = p + stride;
    let u = q + stride;
    const o = sy * sw;
    for (let sx = 0; sx < sw; sx++) {
      const r = rgb[p]! + rgb[p + 3]! + rgb[p + 6]! + rgb[q]! + rgb[q + 3]! + rgb[q + 6]! + rgb[u]! + rgb[u + 3]! + rgb[u + 6]!;
      const g =
        rgb[p + 1]! + rgb[p + 4]! + rgb[p + 7]! + rgb[q + 1]! + rgb[q + 4]! + rgb[q + 7]! + rgb[u + 1]! + rgb[u + 4]! + rgb[u + 7]!;
      const b =
        rgb[p + 2]! + rgb[p + 5]! + rgb[p + 8]! + rgb[q + 2]! + rgb[q + 5]! + rgb[q + 8]! + rgb[u + 2]! + rgb[u + 5]! + rgb[u + 8]!;
      out[o + sx] = ((r * 77 + g * 150 + b * 29) / 2304) | 0;
      p += 9;
      q += 9;
      u += 9;
    }
  }
}

/** One blob of motion cells, joined across gaps of up to `reach - 1` cells. */
export interface Component {
  /** Label written into the `labels` array, 1-based. */
  label: number;
  /** Motion cells in the blob. */
  count: number;
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

/**
 * Labels groups of motion cells where any two cells within Chebyshev distance
 * `reach` are joined. reach 1 is plain 8-connectivity; reach 2r+1 gives the
 * same groups as dilating by a (2r+1)^2 square and then labelling, but costs
 * nothing where there is no motion, and extents stay on the real cells instead
 * of the dilated ones. Uses an explicit stack (no recursion, so a frame-sized
 * blob cannot overflow the call stack). `labels` is overwritten; `stack`
 * needs w*h entries.
 */
export function labelComponents(
  mask: Uint8Array,
  w: number,
  h: number,
  reach: number,
  labels: Int32Array,
  stack: Int32Array,
): Component[] {
  const n = w * h;
  labels.fill(0, 0, n);
  const comps: Component[] = [];
  for (let start = 0; start < n; start++) {
    if (mask[start] === 0 || labels[start] !== 0) continue;
    const label = comps.length + 1;
    const c: Component = { label, count: 0, minX: w, minY: h, maxX: -1, maxY: -1 };
    let top = 0;
    stack[top++] = start;
    labels[start] = label;
    while (top > 0) {
      const i = stack[--top]!;
      const y = (i / w) | 0;
      const x = i - y * w;
      c.count++;
      if (x < c.minX) c.minX = x;
      if (x > c.maxX) c.maxX = x;
      if (y < c.minY) c.minY = y;
      if (y > c.maxY) c.maxY = y;
      const y0 = Math.max(0, y - reach);
      const y1 = Math.min(h - 1, y + reach);
      const x0 = Math.max(0, x - reach);
      const x1 = Math.min(w - 1, x + reach);
      for (let ny = y0; ny <= y1; ny++) {
        const row = ny * w;
        for (let nx = x0; nx <= x1; nx++) {
          const j = row + nx;
          if (mask[j] !== 0 && labels[j] === 0) {
            labels[j] = label;
            stack[top++] = j;
          }
        }
      }
    }
    comps.push(c);
  }
  return comps;
}

/**
 * Merges boxes that overlap or whose gap is at most `gap` on both axes,
 * repeating until no pair qualifies (a merge can make a box reach a third).
 * Pure: returns new boxes, sorted top-to-bottom then left-to-right.
 */
export function mergeBoxes(boxes: readonly Box[], gap: number): Box[] {
  const out = boxes.map((b) => ({ ...b }));
  let merged = true;
  while (merged) {
    merged = false;
    for (let i = 0; i < out.length && !merged; i++) {
      for (let j = i + 1; j < out.length; j++) {
        const a = out[i]!;
        const b = out[j]!;
        const gx = Math.max(a.x, b.x) - Math.min(a.x + a.w, b.x + b.w);
        const gy = Math.max(a.y, b.y) - Math.min(a.y + a.h, b.y + b.h);
        if (gx <= gap && gy <= gap) {
          const x0 = Math.min(a.x, b.x);
          const y0 = Math.min(a.y, b.y);
          out[i] = { x: x0, y: y0, w: Math.max(a.x + a.w, b.x + b.w) - x0, h: Math.max(a.y + a.h, b.y + b.h) - y0 };
          out.splice(j, 1);
          merged = true;
          break;
        }
      }
    }
  }
  return out.sort((a, b) => a.y - b.y || a.x - b.x);
}

/**
 * Share (0..1) of small-scale mask cells inside `rect` (input-frame pixels)
 * that are motion. A cell counts as inside when its centre is; a rectangle
 * smaller than a cell falls back to the cell under its centre. 0 for a
 * rectangle entirely outside the mask.
 */
export function maskFractionInRect(mask: Uint8Array, mw: number, mh: number, factor: number, rect: Box): number {
  if (mw === 0 || mh === 0 || !(rect.w > 0) || !(rect.h > 0)) return 0;
  let x0 = Math.ceil(rect.x / factor - 0.5);
  let x1 = Math.ceil((rect.x + rect.w) / factor - 0.5);
  let y0 = Math.ceil(rect.y / factor - 0.5);
  let y1 = Math.ceil((rect.y + rect.h) / factor - 0.5);
  if (x1 <= x0) {
    x0 = Math.floor((rect.x + rect.w / 2) / factor);
    x1 = x0 + 1;
  }
  if (y1 <= y0) {
    y0 = Math.floor((rect.y + rect.h / 2) / factor);
    y1 = y0 + 1;
  }
  x0 = Math.max(0, x0);
  y0 = Math.max(0, y0);
  x1 = Math.min(mw, x1);
  y1 = Math.min(mh, y1);
  if (x1 <= x0 || y1 <= y0) return 0;
  let on = 0;
  for (let y = y0; y < y1; y++) {
    const row = y * mw;
    for (let x = x0; x < x1; x++) on += mask[row + x]!;
  }
  return on / ((x1 - x0) * (y1 - y0));
}
