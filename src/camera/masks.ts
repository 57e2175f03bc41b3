/**
 * A camera's masks on its output: a detection whose box centre lies in a
 * mask is dropped before the tracker sees it, and again from what is
 * published (the tracker's predictions, when a strategy publishes them), so
 * nothing inside a mask is tracked or published, whatever the strategy.
 *
 * The centre, not the bottom-centre that zones use: ARAC gives a detection
 * to the tile that holds its centre, so a tile wholly inside a mask can be
 * skipped without losing a box that would have been published
 * (src/arac/mask.ts).
 */
import { boxCentre, pointInPolygon, type Polygon } from '../core/polygon.js';
import type { Detection } from '../core/types.js';

export function insideMask(d: Detection, masks: readonly Polygon[]): boolean {
  const c = boxCentre(d);
  return masks.some((m) => pointInPolygon(c, m));
}

/** The detections outside every mask; the same array when there are no masks. */
export function unmasked(dets: Detection[], masks: readonly Polygon[]): Detection[] {
  return masks.length === 0 ? dets : dets.filter((d) => !insideMask(d, masks));
}
