import { describe, expect, it } from 'vitest';
import { averagePrecision, cocoMap, COCO_IOU_THRS } from '../../src/eval/metrics.js';
import type { GtBox, ScoredBox } from '../../src/eval/types.js';

/**
 * Deterministic synthetic detection set: jittered copies of references,
 * duplicates, wrong classes, crowd regions, coarse (tied) scores, random
 * false positives, and one image with more than maxDets predictions.
 */
function syntheticSet(seed: number, nImages: number): { preds: ScoredBox[][]; gts: GtBox[][] } {
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const preds: ScoredBox[][] = [];
  const gts: GtBox[][] = [];
  for (let i = 0; i < nImages; i++) {
    const g: GtBox[] = [];
    const p: ScoredBox[] = [];
    const n = pick([0, 1, 2, 3, 5, 8]);
    for (let k = 0; k < n; k++) {
      const crowd = rnd() < 0.06;
      const b = { x: rnd() * 500, y: rnd() * 350, w: (10 + rnd() * 110) * (crowd ? 2 : 1), h: (10 + rnd() * 110) * (crowd ? 2 : 1) };
      const classId = pick([0, 1, 2, 4]);
      g.push(crowd ? { ...b, classId, ignore: true } : { ...b, classId });
      for (let c = pick([0, 1, 1, 1, 2]); c > 0; c--) {
        const j = rnd() * 0.3;
        p.push({
          x: b.x + (rnd() - 0.5) * 2 * j * b.w,
          y: b.y + (rnd() - 0.5) * 2 * j * b.h,
          w: Math.max(1, b.w * (1 + (rnd() - 0.5) * 2 * j)),
          h: Math.max(1, b.h * (1 + (rnd() - 0.5) * 2 * j)),
          classId: rnd() < 0.9 ? classId : pick([0, 1, 2, 4, 6]),
          score: Math.round(rnd() * 10) / 10, // coarse scores: many ties
        });
      }
    }
    for (let f = i === 3 ? 130 : pick([0, 1, 3]); f > 0; f--) {
      p.push({ x: rnd() * 500, y: rnd() * 350, w: 5 + rnd() * 95, h: 5 + rnd() * 95, classId: i === 3 ? 0 : pick([0, 1, 2, 4, 6]), score: Math.round(rnd() * 100) / 100 });
    }
    gts.push(g);
    preds.push(p);
  }
  return { preds, gts };
}

const hits = (...xs: [number, boolean][]) => xs.map(([score, tp]) => ({ score, tp }));

describe('averagePrecision', () => {
  it('COCO 101-point and VOC all-point values by hand', () => {
    // T F T against 3 refs: recall 1/3, 1/3, 2/3; monotone precision 1, 2/3, 2/3.
    // COCO: recall points 0..0.33 (34) -> 1, 0.34..0.66 (33) -> 2/3, rest 0.
    const h = hits([0.9, true], [0.8, false], [0.7, true]);
    expect(averagePrecision(h, 3)).toBeCloseTo((34 + 22) / 101, 12);
    expect(averagePrecision(h, 3, 'voc-all')).toBeCloseTo(1 / 3 + (1 / 3) * (2 / 3), 12);
  });

  it('ranks by score regardless of input order', () => {
    const a = hits([0.7, true], [0.9, true], [0.8, false]);
    expect(averagePrecision(a, 3)).toBeCloseTo((34 + 22) / 101, 12);
  });

  it('keeps input order among equal scores (pycocotools stable sort)', () => {
    // FP before TP at 0.8: precision 2/3 beyond recall 0.5 -> (51 + 50 * 2/3) / 101.
    expect(averagePrecision(hits([0.9, true], [0.8, false], [0.8, true]), 2)).toBeCloseTo((51 + 100 / 3) / 101, 12);
    // TP first: recall reaches 1 at precision 1.
    expect(averagePrecision(hits([0.9, true], [0.8, true], [0.8, false]), 2)).toBe(1);
  });

  it('handles no hits and no references', () => {
    expect(averagePrecision([], 2)).toBe(0);
    expect(averagePrecision(hits([0.5, false]), 1)).toBe(0);
    expect(averagePrecision(hits([0.5, false]), 0)).toBeNaN();
    expect(averagePrecision(hits([0.5, true]), 1)).toBe(1);
  });
});

describe('cocoMap', () => {
  const box = (x: number, y: number, w = 10, h = 10) => ({ x, y, w, h });
  const gt = (classId: number, x: number, y: number, w?: number, h?: number): GtBox => ({ ...box(x, y, w, h), classId });
  const dt = (classId: number, score: number, x: number, y: number, w?: number, h?: number): ScoredBox => ({
    ...box(x, y, w, h),
    classId,
    score,
  });

  // Image 1: persons A (IoU 1 hit, 0.9) and B (hit at IoU 0.667, 0.8); car (IoU 1, 0.6);
  //          a dog prediction with no dog anywhere (class ignored).
  // Image 2: person D (hit at IoU 0.818, 0.7), a person FP (0.85), a car FP (0.5).
  const preds = [
    [dt(0, 0.9, 0, 0), dt(0, 0.8, 22, 0), dt(2, 0.6, 0, 20, 20, 10), dt(16, 0.99, 200, 200)],
    [dt(0, 0.85, 50, 50), dt(0, 0.7, 1, 0), dt(2, 0.5, 30, 30)],
  ];
  const gts = [[gt(0, 0, 0), gt(0, 20, 0), gt(2, 0, 20, 20, 10)], [gt(0, 0, 0)]];

  it('computes a 2-image mAP by hand', () => {
    // Person ranking: 0.9 T, 0.85 F, 0.8 T(IoU<=0.667), 0.7 T(IoU<=0.818); 3 refs.
    //  thr 0.50-0.65: monotone precision 1 to recall 1/3, then 0.75 to recall 1 -> (34 + 67*0.75)/101
    //  thr 0.70-0.80: T F F T -> 1 to 1/3, 0.5 to 2/3 -> (34 + 33*0.5)/101
    //  thr 0.85-0.95: T F F F -> 34/101
    // Car: 0.6 T, 0.5 F, 1 ref -> AP 1 at every threshold.
    const r = cocoMap(preds, gts);
    const p50 = (34 + 67 * 0.75) / 101;
    const p75 = (34 + 33 * 0.5) / 101;
    const p90 = 34 / 101;
    expect(r.iouThrs).toEqual(COCO_IOU_THRS);
    expect(r.perClass.map((c) => [c.classId, c.numGt])).toEqual([
      [0, 3],
      [2, 1],
    ]);
    expect(r.map50).toBeCloseTo((p50 + 1) / 2, 12);
    expect(r.map75).toBeCloseTo((p75 + 1) / 2, 12);
    const person = (4 * p50 + 3 * p75 + 3 * p90) / 10;
    expect(r.map).toBeCloseTo((person + 1) / 2, 12);
  });

  it('takes custom thresholds and reports null for thresholds not evaluated', () => {
    const r = cocoMap(preds, gts, { iouThrs: [0.5] });
    expect(r.map75).toBeNull();
    expect(r.map).toBeCloseTo(r.map50!, 12);
  });

  it('ignores predictions on crowd regions and classes with only crowd references', () => {
    const crowd: GtBox = { ...box(0, 0, 100, 100), classId: 0, ignore: true };
    const person = gt(0, 200, 200);
    // 0.95 sits inside the crowd: dropped, not an FP ahead of the TP.
    const r = cocoMap([[dt(0, 0.95, 10, 10), dt(0, 0.9, 200, 200), dt(5, 0.9, 0, 0)]], [[crowd, person, { ...crowd, classId: 5 }]]);
    expect(r.perClass.map((c) => c.classId)).toEqual([0]);
    expect(r.map).toBe(1);
  });

  it('matches each prediction to the best free reference, and counts duplicates as FPs', () => {
    // Two refs; first prediction fits ref 1 best, second gets ref 0; a third duplicate is an FP.
    const r = cocoMap([[dt(0, 0.9, 12, 0), dt(0, 0.8, 4, 0), dt(0, 0.7, 12, 0)]], [[gt(0, 4, 0), gt(0, 13, 0)]], {
      iouThrs: [0.5],
    });
    expect(r.map50).toBe(1);
  });

  it('keeps only maxDets predictions per image and class, highest scores first', () => {
    const r = cocoMap([[dt(0, 0.2, 0, 0), dt(0, 0.9, 50, 50)]], [[gt(0, 0, 0)]], { iouThrs: [0.5], maxDets: 1 });
    expect(r.map50).toBe(0);
  });

  it('returns null maps when there are no references, and rejects mismatched inputs', () => {
    const r = cocoMap([[dt(0, 0.9, 0, 0)], []], [[], []]);
    expect(r.perClass).toEqual([]);
    expect(r.map).toBeNull();
    expect(r.map50).toBeNull();
    expect(() => cocoMap([[]], [])).toThrow(RangeError);
  });

  // Reference values: pycocotools 2.0.11 COCOeval('bbox').stats[0..2] on the same
  // sets written out as COCO JSON (category_id = classId + 1, image ids in order).
  it.each([
    [1, 0.16989178807502756, 0.341385954506709, 0.1492419203358859],
    [2, 0.179970420212467, 0.3911173946832149, 0.16020057183351785],
    [3, 0.1906623048977275, 0.3662018380852574, 0.15528476985411632],
  ])('agrees with pycocotools on synthetic set %i', (seed, map, map50, map75) => {
    const { preds, gts } = syntheticSet(seed, 60);
    const r = cocoMap(preds, gts);
    expect(r.map).toBeCloseTo(map, 12);
    expect(r.map50).toBeCloseTo(map50, 12);
    expect(r.map75).toBeCloseTo(map75, 12);
  });
});
