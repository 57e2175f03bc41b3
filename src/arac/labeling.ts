/**
 * The labeling rule (NeuLens §ARAC): a tile's label is the highest
 * compression level at which the frame's detections in that tile still match
 * the reference (the unsplit model). Level 1 (skip) is a candidate like any
 * other: its detections are what the camera would show for the tile if it
 * were skipped (the last published ones).
 *
 * Pure functions: the oracle strategy uses them per frame, and
 * `neulens label` writes them over videos as the compression controller's
 * training labels.
 */
import type { Rect } from './geometry.js';
import { matchGreedy } from '../core/matching.js';
import type { Box, Detection } from '../core/types.js';

export interface LabelOptions {
  /** IoU at which a detection matches the reference (same class). */
  iou: number;
  /** Only detections at or above this score count (the operating point). */
  minScore: number;
  /**
   * Tolerance around the operating point (default 0: exact). A detection
   * scoring at least minScore + band must be matched by one scoring at least
   * minScore - band, both ways; detections inside the band need no partner.
   * Score flicker across the operating point then no longer makes a tile
   * "changed": labels for a controller that cannot see such flicker.
   */
  band?: number;
}

export const DEFAULT_LABELING: LabelOptions = { iou: 0.5, minScore: 0.5 };

/** The score at which detections are bucketed: the operating point, or the bottom of its band. */
export function bucketFloor(o: LabelOptions): number {
  return o.minScore - (o.band ?? 0);
}

/**
 * Index of the rect holding the box's centre. A centre outside every rect
 * (a box hanging over the frame edge) goes to the nearest one, so a grid
 * covering the frame places every detection.
 */
export function rectOf(d: Box, rects: readonly Rect[]): number {
  const cx = d.x + d.w / 2;
  const cy = d.y + d.h / 2;
  let best = -1;
  let bestDist = Infinity;
  rects.forEach((r, i) => {
    const dx = Math.max(r.x - cx, 0, cx - (r.x + r.w) + 1e-9);
    const dy = Math.max(r.y - cy, 0, cy - (r.y + r.h) + 1e-9);
    const dist = dx * dx + dy * dy;
    if (dist < bestDist) {
      bestDist = dist;
      best = i;
    }
  });
  return best;
}

/** Detections (at or above minScore) bucketed by the tile holding their centre. */
export function bucketByTile(dets: readonly Detection[], rects: readonly Rect[], minScore: number): Detection[][] {
  const out: Detection[][] = rects.map(() => []);
  for (const d of dets) {
    if (d.score < minScore) continue;
    const i = rectOf(d, rects);
    if (i >= 0) (out[i] as Detection[]).push(d);
  }
  return out;
}

/**
 * A tile matches when every reference detection is matched one to one and
 * nothing else was found; with a band (LabelOptions.band), when every
 * detection above the band on either side is matched by one above its floor.
 */
export function bucketMatches(cands: readonly Detection[], refs: readonly Detection[], iou: number, band?: { minScore: number; band: number }): boolean {
  if (band && band.band > 0) {
    const hi = band.minScore + band.band;
    const lo = band.minScore - band.band;
    const covered = (strict: readonly Detection[], loose: readonly Detection[]) => {
      const need = strict.filter((d) => d.score >= hi);
      return need.length === 0 || matchGreedy(loose.filter((d) => d.score >= lo), need, iou).matches.length === need.length;
    };
    return covered(refs, cands) && covered(cands, refs);
  }
  if (cands.length !== refs.length) return false;
  if (refs.length === 0) return true;
  return matchGreedy(cands, refs, iou).matches.length === refs.length;
}

/**
 * Each tile's label. `candidates` holds one entry per level to try (1 for
 * skip included); levels are tried from the most compressed down, and a tile
 * that matches at none of them gets the lowest level offered (full width:
 * the reference itself).
 */
export function labelTiles(
  rects: readonly Rect[],
  reference: readonly Detection[],
  candidates: ReadonlyArray<{ level: number; detections: readonly Detection[] }>,
  o: LabelOptions = DEFAULT_LABELING,
): number[] {
  const refs = bucketByTile(reference, rects, bucketFloor(o));
  const order = [...candidates].sort((a, b) => b.level - a.level);
  const buckets = order.map((c) => bucketByTile(c.detections, rects, bucketFloor(o)));
  const floor = Math.min(0, ...order.map((c) => c.level));
  const band = o.band ? { minScore: o.minScore, band: o.band } : undefined;
  return rects.map((_, t) => {
    const k = order.findIndex((_, j) => bucketMatches((buckets[j] as Detection[][])[t] as Detection[], refs[t] as Detection[], o.iou, band));
    return k < 0 ? floor : (order[k] as { level: number }).level;
  });
}

/**
 * How many detections a tile gets wrong when it shows `shown` instead of
 * the reference: references it misses plus detections it shows that the
 * reference has not (one to one, same class, IoU >= `iou`). The budgeted
 * oracle buys tiles in this order: the tiles whose skipping would change
 * the most reference detections first.
 */
export function tileErrors(shown: readonly Detection[], refs: readonly Detection[], iou: number): number {
  if (shown.length === 0 || refs.length === 0) return shown.length + refs.length;
  return shown.length + refs.length - 2 * matchGreedy(shown, refs, iou).matches.length;
}
