/** Pure RGB24 image operations the strategies need (resize, crop). */
import type { Box } from '../core/types.js';

/** Bilinear resize of packed RGB24 (half-pixel centres, like ffmpeg's bilinear). */
export function resizeRgb(src: Uint8Array, sw: number, sh: number, dw: number, dh: number): Uint8Array {
  const out = new Uint8Array(dw * dh * 3);
  const sx = sw / dw;
  const sy = sh / dh;
  for (let y = 0; y < dh; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), sh - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, sh - 1);
    const wy = fy - y0;
    for (let x = 0; x < dw; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), sw - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, sw - 1);
      const wx = fx - x0;
      const o = (y * dw + x) * 3;
      const a = (y0 * sw + x0) * 3;
      const b = (y0 * sw + x1) * 3;
      const c = (y1 * sw + x0) * 3;
      const d = (y1 * sw + x1) * 3;
      for (let k = 0; k < 3; k++) {
        const top = (src[a + k] as number) * (1 - wx) + (src[b + k] as number) * wx;
        const bot = (src[c + k] as number) * (1 - wx) + (src[d + k] as number) * wx;
        out[o + k] = Math.round(top * (1 - wy) + bot * wy);
      }
    }
  }
  return out;
}

/** Crop an integer rectangle (clamped to the image) out of RGB24. */
export function cropRgb(src: Uint8Array, sw: number, sh: number, r: Box): { data: Uint8Array; width: number; height: number; x: number; y: number } {
  const x = Math.max(0, Math.min(sw - 1, Math.floor(r.x)));
  const y = Math.max(0, Math.min(sh - 1, Math.floor(r.y)));
  const w = Math.max(1, Math.min(sw - x, Math.round(r.w)));
  const h = Math.max(1, Math.min(sh - y, Math.round(r.h)));
  const out = new Uint8Array(w * h * 3);
  for (let row = 0; row < h; row++) out.set(src.subarray(((y + row) * sw + x) * 3, ((y + row) * sw + x + w) * 3), row * w * 3);
  return { data: out, width: w, height: h, x, y };
}

/** Smallest multiple of m that is >= v (and >= m). */
export function ceilTo(v: number, m: number): number {
  return Math.max(m, Math.ceil(v / m) * m);
}
