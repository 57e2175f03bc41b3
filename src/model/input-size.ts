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
