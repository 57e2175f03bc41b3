/**
 * Detection metrics at a fixed operating point: one-to-one matching of
 * predictions to references per frame, then TP/FP/FN pooled over frames into
 * precision, recall, F1 and mean IoU. Ranking metrics (AP, COCO mAP) live in
 * ./coco-map.ts and are re-exported here.
 *
 * All functions are pure; indices in results refer to the caller's arrays.
 */
import { area, intersection } from '../core/geometry.js';
import { matchGreedy } from '../core/matching.js';
import type { GtBox, ScoredBox } from './types.js';

export { averagePrecision, cocoMap, COCO_IOU_THRS } from './coco-map.js';
export type { ApMethod, CocoMapOptions, CocoMapResult, ScoredHit } from './coco-map.js';
export type { GtBox, ScoredBox } from './types.js';
export { matchGreedy, type MatchPair, type MatchResult } from '../core/matching.js';

export interface FrameCounts {
  tp: number;
  fp: number;
  fn: number;
  /** Sum of IoU over true positives (for the pooled mean). */
  iouSum: number;
  /** Predictions that fell in an ignore region: neither TP nor FP. */
  ignoredPreds: number;
}

export interface FrameEval {
  preds: readonly ScoredBox[];
  refs: readonly GtBox[];
}

export interface DetectionSummary {
  iouThr: number;
  frames: number;
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
  /** Mean IoU of matched pairs; null when nothing matched. */
  meanIou: number | null;
}

/**
 * Count one frame. References flagged `ignore` are matched after the others:
 * a prediction left unmatched whose intersection with a same-class ignore
 * region covers >= iouThr of the prediction's own area is dropped rather
 * than counted as FP (COCO's crowd rule); ignore regions are never FN.
 */
export function countFrame(preds: readonly ScoredBox[], refs: readonly GtBox[], iouThr: number): FrameCounts {
  const kept = refs.filter((r) => !r.ignore);
  const ignores = refs.filter((r) => r.ignore);
  const m = matchGreedy(preds, kept, iouThr);
  let ignoredPreds = 0;
  for (const pi of m.unmatchedPreds) {
    const p = preds[pi] as ScoredBox;
    const a = area(p);
    if (ignores.some((g) => g.classId === p.classId && a > 0 && intersection(p, g) / a >= iouThr)) ignoredPreds++;
  }
  return {
    tp: m.matches.length,
    fp: m.unmatchedPreds.length - ignoredPreds,
    fn: m.unmatchedRefs.length,
    iouSum: m.matches.reduce((s, x) => s + x.iou, 0),
    ignoredPreds,
  };
}

export function addCounts(a: FrameCounts, b: FrameCounts): FrameCounts {
  return {
    tp: a.tp + b.tp,
    fp: a.fp + b.fp,
    fn: a.fn + b.fn,
    iouSum: a.iouSum + b.iouSum,
    ignoredPreds: a.ignoredPreds + b.ignoredPreds,
  };
}

/**
 * Precision, recall and F1 with the empty cases defined by vacuous truth:
 * no predictions -> precision 1 (no wrong claims); no references -> recall 1
 * (nothing missed); F1 = 2TP / (2TP + FP + FN), which is 1 when all three are
 * 0. So a frame set with neither references nor predictions scores 1/1/1,
 * refs but no preds scores P=1 R=0 F1=0, preds but no refs P=0 R=1 F1=0.
 */
export function prf(tp: number, fp: number, fn: number): { precision: number; recall: number; f1: number } {
  return {
    precision: tp + fp === 0 ? 1 : tp / (tp + fp),
    recall: tp + fn === 0 ? 1 : tp / (tp + fn),
    f1: tp + fp + fn === 0 ? 1 : (2 * tp) / (2 * tp + fp + fn),
  };
}

export function summarize(c: FrameCounts, iouThr: number, frames: number): DetectionSummary {
  return {
    iouThr,
    frames,
    tp: c.tp,
    fp: c.fp,
    fn: c.fn,
    ...prf(c.tp, c.fp, c.fn),
    meanIou: c.tp > 0 ? c.iouSum / c.tp : null,
  };
}

const ZERO: FrameCounts = { tp: 0, fp: 0, fn: 0, iouSum: 0, ignoredPreds: 0 };

/** TP/FP/FN pooled over all frames (micro average), then P/R/F1 and mean IoU. */
export function accumulate(frames: readonly FrameEval[], iouThr = 0.5): DetectionSummary {
  const total = frames.reduce((acc, f) => addCounts(acc, countFrame(f.preds, f.refs, iouThr)), ZERO);
  return summarize(total, iouThr, frames.length);
}

/** `accumulate` at each threshold; the default reports IoU 0.5 first, then 0.3 and 0.75. */
export function evaluateFrames(
  frames: readonly FrameEval[],
  iouThrs: readonly number[] = [0.5, 0.3, 0.75],
): DetectionSummary[] {
  return iouThrs.map((t) => accumulate(frames, t));
}
