/**
 * Greedy one-to-one matching of detections to reference boxes: the one rule
 * that the evaluation's F1, the ARAC labeling rule and the oracle share.
 * Pure; indices in results refer to the caller's arrays.
 */
import { iou } from './geometry.js';
import type { Box } from './types.js';

/** A prediction with a confidence (Detection satisfies it). */
interface Scored extends Box {
  classId: number;
  score: number;
}

export interface MatchPair {
  pred: number;
  ref: number;
  iou: number;
}

export interface MatchResult {
  matches: MatchPair[];
  /** Predictions left unmatched (false positives), ascending. */
  unmatchedPreds: number[];
  /** References left unmatched (false negatives), ascending. */
  unmatchedRefs: number[];
}

/**
 * Greedy one-to-one matching. Candidate pairs are same-class pairs with
 * IoU >= iouThr and IoU > 0; they are taken in descending IoU order, skipping
 * pairs whose prediction or reference is already taken. Ties in IoU are
 * broken by higher prediction score, then lower prediction index, then lower
 * reference index, so the result never depends on sort stability.
 */
export function matchGreedy(
  preds: readonly Scored[],
  refs: readonly (Box & { classId: number })[],
  iouThr: number,
): MatchResult {
  const cands: MatchPair[] = [];
  preds.forEach((p, pi) => {
    refs.forEach((r, ri) => {
      if (p.classId !== r.classId) return;
      const v = iou(p, r);
      if (v > 0 && v >= iouThr) cands.push({ pred: pi, ref: ri, iou: v });
    });
  });
  cands.sort(
    (a, b) =>
      b.iou - a.iou ||
      (preds[b.pred]?.score ?? 0) - (preds[a.pred]?.score ?? 0) ||
      a.pred - b.pred ||
      a.ref - b.ref,
  );
  const predUsed = new Set<number>();
  const refUsed = new Set<number>();
  const matches: MatchPair[] = [];
  for (const c of cands) {
    if (predUsed.has(c.pred) || refUsed.has(c.ref)) continue;
    predUsed.add(c.pred);
    refUsed.add(c.ref);
    matches.push(c);
  }
  return {
    matches,
    unmatchedPreds: preds.map((_, i) => i).filter((i) => !predUsed.has(i)),
    unmatchedRefs: refs.map((_, i) => i).filter((i) => !refUsed.has(i)),
  };
}
