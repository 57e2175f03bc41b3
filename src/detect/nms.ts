import { iou } from '../core/geometry.js';
import type { Detection } from '../core/types.js';

/**
 * Class-aware greedy NMS: a box suppresses only boxes of its own class.
 * Ties in score keep input order (stable sort), so results are deterministic.
 */
export function nms(dets: readonly Detection[], iouThreshold: number, maxDetections = Infinity): Detection[] {
  const order = dets.map((d, i) => ({ d, i })).sort((a, b) => b.d.score - a.d.score || a.i - b.i);
  const kept: Detection[] = [];
  const byClass = new Map<number, Detection[]>();
  for (const { d } of order) {
    if (kept.length >= maxDetections) break;
    const same = byClass.get(d.classId) ?? [];
    if (same.some((k) => iou(k, d) > iouThreshold)) continue;
    same.push(d);
    byClass.set(d.classId, same);
    kept.push(d);
  }
  return kept;
}
