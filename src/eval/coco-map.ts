/**
 * Average precision and COCO-style mAP, following pycocotools' COCOeval
 * (bbox, area range "all", one maxDets) step for step, so numbers can be
 * compared with published ones:
 *  - per image and class, predictions sorted by score (stable: equal scores
 *    keep input order) and cut to maxDets;
 *  - each prediction in turn takes the unmatched reference with the highest
 *    IoU >= threshold, non-crowd references first; on equal IoU the later
 *    reference wins, as in pycocotools' loop. A prediction that matches a
 *    crowd (`ignore`) reference, whose IoU is intersection / prediction area
 *    and which may absorb any number of predictions, is left out of the counts;
 *  - per class, the predictions of all images are ranked by score with a
 *    stable sort over image order, so ties resolve by image index and then
 *    input order; precision is made monotone and sampled at 101 recall points.
 * mAP averages over classes that have at least one non-crowd reference;
 * classes seen only in predictions are ignored (as pycocotools does).
 */
import { area, intersection, iou } from '../core/geometry.js';
import type { GtBox, ScoredBox } from './types.js';

export interface ScoredHit {
  score: number;
  /** True positive at the threshold in question; false = false positive. */
  tp: boolean;
}

/**
 * 'coco101': mean of the monotone precision sampled at recall 0, 0.01, ..., 1
 * (0 where that recall is never reached). 'voc-all': area under the monotone
 * precision-recall curve at every recall change (PASCAL VOC 2010+).
 */
export type ApMethod = 'coco101' | 'voc-all';

/** COCO's recall thresholds, computed as numpy.linspace does. */
const RECALL_THRS = Array.from({ length: 101 }, (_, i) => (i === 100 ? 1 : i * 0.01));

/**
 * AP of scored hits against `numGt` references. Hits are ranked by score,
 * descending, with a stable sort: equal scores keep the caller's order (the
 * pycocotools convention, so give tied hits in a meaningful order, e.g.
 * image order). Returns NaN when numGt is 0 (AP is undefined; callers leave
 * such classes out of their mean).
 */
export function averagePrecision(hits: readonly ScoredHit[], numGt: number, method: ApMethod = 'coco101'): number {
  if (!(numGt > 0)) return Number.NaN;
  const order = hits.map((h, i) => ({ h, i })).sort((a, b) => b.h.score - a.h.score || a.i - b.i);
  const rc: number[] = [];
  const pr: number[] = [];
  let tp = 0;
  let fp = 0;
  for (const { h } of order) {
    if (h.tp) tp++;
    else fp++;
    rc.push(tp / numGt);
    // pycocotools adds np.spacing(1) to the denominator against 0/0, which
    // cannot happen here; leaving it out keeps a perfect AP exactly 1.
    pr.push(tp / (tp + fp));
  }
  for (let i = pr.length - 1; i > 0; i--) pr[i - 1] = Math.max(pr[i - 1] ?? 0, pr[i] ?? 0);
  if (method === 'voc-all') {
    let ap = 0;
    let prevRc = 0;
    rc.forEach((r, i) => {
      ap += (r - prevRc) * (pr[i] ?? 0);
      prevRc = r;
    });
    return ap;
  }
  let sum = 0;
  let k = 0;
  for (const t of RECALL_THRS) {
    while (k < rc.length && (rc[k] ?? 0) < t) k++; // searchsorted(rc, t, 'left')
    if (k < rc.length) sum += pr[k] ?? 0;
  }
  return sum / RECALL_THRS.length;
}

/** 0.50, 0.55, ..., 0.95. */
export const COCO_IOU_THRS: readonly number[] = Array.from({ length: 10 }, (_, i) => (50 + 5 * i) / 100);

export interface CocoMapOptions {
  /** Default COCO_IOU_THRS. */
  iouThrs?: readonly number[];
  /** Per image and class; default 100. */
  maxDets?: number;
  method?: ApMethod;
}

export interface CocoMapResult {
  iouThrs: number[];
  /** mAP at each threshold (null when no class has references). */
  mapPerThr: (number | null)[];
  /** mAP at IoU 0.5 / 0.75 when those thresholds were evaluated. */
  map50: number | null;
  map75: number | null;
  /** Mean over all thresholds and classes (mAP50-95 with the default thresholds). */
  map: number | null;
  /** Classes with references, ascending: AP at each threshold. */
  perClass: { classId: number; numGt: number; ap: number[] }[];
}

interface DetOutcome {
  score: number;
  /** Per threshold: 'tp' | 'fp' | 'ign'. */
  at: ('tp' | 'fp' | 'ign')[];
}

function evalImageClass(dts: ScoredBox[], gts: GtBox[], thrs: readonly number[], maxDets: number): DetOutcome[] {
  const d = dts
    .map((b, i) => ({ b, i }))
    .sort((a, b) => b.b.score - a.b.score || a.i - b.i)
    .slice(0, maxDets)
    .map((x) => x.b);
  const g = [...gts.filter((x) => !x.ignore), ...gts.filter((x) => x.ignore)];
  const ious = d.map((p) =>
    g.map((r) => {
      if (!r.ignore) return iou(p, r);
      const a = area(p);
      return a > 0 ? intersection(p, r) / a : 0;
    }),
  );
  const out: DetOutcome[] = d.map((p) => ({ score: p.score, at: [] }));
  thrs.forEach((t) => {
    const gtTaken = new Array<boolean>(g.length).fill(false);
    d.forEach((_, di) => {
      let best = Math.min(t, 1 - 1e-10);
      let m = -1;
      for (let gi = 0; gi < g.length; gi++) {
        const crowd = g[gi]?.ignore === true;
        if (gtTaken[gi] && !crowd) continue;
        if (m > -1 && !g[m]?.ignore && crowd) break;
        const v = ious[di]?.[gi] ?? 0;
        if (v < best) continue;
        best = v;
        m = gi;
      }
      let res: 'tp' | 'fp' | 'ign' = 'fp';
      if (m > -1) {
        gtTaken[m] = true;
        res = g[m]?.ignore ? 'ign' : 'tp';
      }
      out[di]?.at.push(res);
    });
  });
  return out;
}

/**
 * COCO-style mAP. `imagesPreds[i]` and `imagesGts[i]` are the predictions and
 * references of image i (same length; an image with no references is a
 * valid, empty entry where every prediction is a false positive).
 */
export function cocoMap(
  imagesPreds: readonly (readonly ScoredBox[])[],
  imagesGts: readonly (readonly GtBox[])[],
  opts: CocoMapOptions = {},
): CocoMapResult {
  if (imagesPreds.length !== imagesGts.length) {
    throw new RangeError(`cocoMap: ${imagesPreds.length} prediction lists for ${imagesGts.length} images`);
  }
  const thrs = [...(opts.iouThrs ?? COCO_IOU_THRS)];
  const maxDets = opts.maxDets ?? 100;
  const classes = new Set<number>();
  for (const gts of imagesGts) for (const g of gts) classes.add(g.classId);

  const perClass: CocoMapResult['perClass'] = [];
  for (const classId of [...classes].sort((a, b) => a - b)) {
    let numGt = 0;
    const outcomes: DetOutcome[] = [];
    imagesGts.forEach((gtsAll, img) => {
      const gts = gtsAll.filter((g) => g.classId === classId);
      numGt += gts.filter((g) => !g.ignore).length;
      const dts = (imagesPreds[img] ?? []).filter((p) => p.classId === classId);
      outcomes.push(...evalImageClass(dts, gts, thrs, maxDets));
    });
    if (numGt === 0) continue; // only crowd regions: AP undefined, as in pycocotools
    const ap = thrs.map((_, ti) => {
      const hits: ScoredHit[] = [];
      for (const o of outcomes) {
        const r = o.at[ti];
        if (r !== 'ign') hits.push({ score: o.score, tp: r === 'tp' });
      }
      return averagePrecision(hits, numGt, opts.method);
    });
    perClass.push({ classId, numGt, ap });
  }

  const mean = (xs: number[]): number | null => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null);
  const mapPerThr = thrs.map((_, ti) => mean(perClass.map((c) => c.ap[ti] ?? 0)));
  const at = (t: number): number | null => {
    const i = thrs.findIndex((x) => Math.abs(x - t) < 1e-9);
    return i < 0 ? null : (mapPerThr[i] ?? null);
  };
  return {
    iouThrs: thrs,
    mapPerThr,
    map50: at(0.5),
    map75: at(0.75),
    map: mean(perClass.flatMap((c) => c.ap)),
    perClass,
  };
}
