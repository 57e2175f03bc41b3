import { describe, expect, it } from 'vitest';
import { accumulate, countFrame, evaluateFrames, matchGreedy, prf } from '../../src/eval/metrics.js';
import type { GtBox, ScoredBox } from '../../src/eval/types.js';

// 10x10 boxes shifted by d along x have IoU (10 - d) / (10 + d):
// d=1 -> 9/11 = 0.818, d=2 -> 8/12 = 0.667, d=3 -> 7/13 = 0.538, d=6 -> 4/16 = 0.25.
const ref = (x: number, classId = 0, y = 0): GtBox => ({ x, y, w: 10, h: 10, classId });
const pred = (x: number, score = 0.9, classId = 0, y = 0): ScoredBox => ({ x, y, w: 10, h: 10, classId, score });

describe('matchGreedy', () => {
  it('takes pairs in descending IoU order (greedy, not optimal)', () => {
    // pred0 overlaps ref1 at 0.818 and ref0 at 0.538; pred1 overlaps ref1 at 0.667, ref0 at 0.25.
    const m = matchGreedy([pred(3), pred(6)], [ref(0), ref(4)], 0.5);
    expect(m.matches).toEqual([{ pred: 0, ref: 1, iou: 9 / 11 }]);
    expect(m.unmatchedPreds).toEqual([1]);
    expect(m.unmatchedRefs).toEqual([0]);
  });

  it('breaks IoU ties by higher score, then lower prediction index, then lower reference index', () => {
    expect(matchGreedy([pred(0, 0.6), pred(0, 0.9)], [ref(0)], 0.5).matches).toEqual([{ pred: 1, ref: 0, iou: 1 }]);
    expect(matchGreedy([pred(0, 0.7), pred(0, 0.7)], [ref(0)], 0.5).matches).toEqual([{ pred: 0, ref: 0, iou: 1 }]);
    // One prediction exactly between two references (IoU 0.818 with both).
    const m = matchGreedy([pred(5)], [ref(6), ref(4)], 0.5);
    expect(m.matches).toEqual([{ pred: 0, ref: 0, iou: 9 / 11 }]);
    expect(m.unmatchedRefs).toEqual([1]);
  });

  it('counts IoU exactly at the threshold as a match', () => {
    const half: ScoredBox = { x: 0, y: 0, w: 10, h: 20, classId: 0, score: 1 }; // IoU with ref(0) = 100/200
    expect(matchGreedy([half], [ref(0)], 0.5).matches).toHaveLength(1);
    expect(matchGreedy([half], [ref(0)], 0.500001).matches).toHaveLength(0);
  });

  it('never matches across classes or non-overlapping boxes', () => {
    const m = matchGreedy([pred(0, 0.9, 1)], [ref(0, 2)], 0.5);
    expect(m).toEqual({ matches: [], unmatchedPreds: [0], unmatchedRefs: [0] });
    expect(matchGreedy([pred(50)], [ref(0)], 0).matches).toEqual([]);
  });

  it('handles empty sides', () => {
    expect(matchGreedy([], [ref(0), ref(20)], 0.5)).toEqual({ matches: [], unmatchedPreds: [], unmatchedRefs: [0, 1] });
    expect(matchGreedy([pred(0)], [], 0.5)).toEqual({ matches: [], unmatchedPreds: [0], unmatchedRefs: [] });
    expect(matchGreedy([], [], 0.5)).toEqual({ matches: [], unmatchedPreds: [], unmatchedRefs: [] });
  });
});

describe('prf', () => {
  it.each([
    // tp, fp, fn -> precision, recall, f1
    [0, 0, 0, 1, 1, 1],
    [0, 0, 3, 1, 0, 0],
    [0, 2, 0, 0, 1, 0],
    [3, 1, 2, 0.75, 0.6, 6 / 9],
    [5, 0, 0, 1, 1, 1],
  ])('tp=%i fp=%i fn=%i', (tp, fp, fn, p, r, f) => {
    const out = prf(tp, fp, fn);
    expect(out.precision).toBeCloseTo(p, 12);
    expect(out.recall).toBeCloseTo(r, 12);
    expect(out.f1).toBeCloseTo(f, 12);
  });
});

describe('accumulate', () => {
  // Frame A: ref(0) ~ pred(1) at 0.818, ref(30) ~ pred(32) at 0.667.
  // Frame B: no refs, one prediction. Frame C: one ref, no predictions.
  // Frame D: one exact match. Frame E: same box, wrong class.
  const frames = [
    { preds: [pred(1), pred(32)], refs: [ref(0), ref(30)] },
    { preds: [pred(100)], refs: [] },
    { preds: [], refs: [ref(0)] },
    { preds: [pred(0)], refs: [ref(0)] },
    { preds: [pred(0, 0.9, 3)], refs: [ref(0, 1)] },
  ];

  it('pools counts over frames (hand-computed table)', () => {
    // IoU 0.3/0.5: TP = 3 (A twice, D), FP = 2 (B, E), FN = 2 (C, E).
    // IoU 0.75: A's 0.667 pair fails -> TP 2, FP 3, FN 3.
    const [at50, at30, at75] = evaluateFrames(frames);
    expect(at50).toMatchObject({ iouThr: 0.5, frames: 5, tp: 3, fp: 2, fn: 2, precision: 0.6, recall: 0.6 });
    expect(at50!.f1).toBeCloseTo(0.6, 12);
    expect(at50!.meanIou).toBeCloseTo((9 / 11 + 8 / 12 + 1) / 3, 12);
    expect(at30).toMatchObject({ iouThr: 0.3, tp: 3, fp: 2, fn: 2 });
    expect(at75).toMatchObject({ iouThr: 0.75, tp: 2, fp: 3, fn: 3, precision: 0.4, recall: 0.4 });
    expect(at75!.meanIou).toBeCloseTo((9 / 11 + 1) / 2, 12);
  });

  it('defines the empty cases', () => {
    expect(accumulate([])).toMatchObject({ tp: 0, fp: 0, fn: 0, precision: 1, recall: 1, f1: 1, meanIou: null });
    expect(accumulate([{ preds: [], refs: [] }])).toMatchObject({ precision: 1, recall: 1, f1: 1, meanIou: null });
    expect(accumulate([{ preds: [], refs: [ref(0)] }])).toMatchObject({ precision: 1, recall: 0, f1: 0 });
    expect(accumulate([{ preds: [pred(0)], refs: [] }])).toMatchObject({ precision: 0, recall: 1, f1: 0 });
  });

  it('neither rewards nor punishes predictions inside ignore regions', () => {
    const crowd: GtBox = { x: 0, y: 0, w: 100, h: 100, classId: 0, ignore: true };
    const c = countFrame([pred(10), pred(200)], [crowd], 0.5);
    expect(c).toMatchObject({ tp: 0, fp: 1, fn: 0, ignoredPreds: 1 });
    // A real reference inside the crowd region is still matched first.
    expect(countFrame([pred(10)], [crowd, ref(10)], 0.5)).toMatchObject({ tp: 1, fp: 0, fn: 0, ignoredPreds: 0 });
  });
});
