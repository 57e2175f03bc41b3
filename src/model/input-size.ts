import type { Manifest } from './manifest.js';

/**
 * The pack's working size whose aspect ratio is closest to the source's
 * (log-ratio distance, so 4:3 vs 16:9 is symmetric); ties go to the smaller (faster) one.
 */
export function chooseInputSize(m: Manifest, srcWidth: number, srcHeight: number): { width: number; height: number } {
  const target = Math.log(srcWidth / srcHeight);
  let best = m.input.workingSizes[0] as { width: number; height: number };
  let bestD = Infinity;
  for (const s of m.input.workingSizes) {
    const d = Math.abs(Math.log(s.width / s.height) - target);
    if (d < bestD - 1e-9 || (Math.abs(d - bestD) <= 1e-9 && s.width * s.height < best.width * best.height)) {
      best = s;
      bestD = d;
    }
  }
  return { width: best.width, height: best.height };
}

/** Default cap on the longer side of a native input size (see nativeInputSize). */
export const NATIVE_MAX_SIDE = 1280;

/**
 * The source's own size as a model input: each side rounded to the nearest
 * multiple of `multiple` (the model's largest stride), after scaling down so
 * that the longer side is at most `maxSide`. Real cameras send 720p-1080p, and
 * that is where small objects live; the pack's working sizes (512 wide) halve
 * or quarter them.
 */
export function nativeInputSize(srcWidth: number, srcHeight: number, multiple: number, maxSide = NATIVE_MAX_SIDE): { width: number; height: number } {
  const scale = Math.min(1, maxSide / Math.max(srcWidth, srcHeight));
  const side = (v: number) => Math.max(multiple, Math.round((v * scale) / multiple) * multiple);
  return { width: side(srcWidth), height: side(srcHeight) };
}
