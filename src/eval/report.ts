/**
 * From per-frame records of one strategy on one video to the report users
 * read: accuracy against the reference (the unsplit model on every frame)
 * and against labels, cost, and SLO attainment. Pure functions.
 */
import type { Detection } from '../core/types.js';
import { accumulate, cocoMap, type FrameEval, type GtBox } from './metrics.js';
import { summarize as latency, type LatencySummary } from '../core/stats.js';

export interface FrameRecord {
  seq: number;
  /** False when the frame was dropped (realtime) or failed. */
  published: boolean;
  /** Every detection the strategy published for this frame (scores down to the pool's floor). */
  detections: Detection[];
  detectorMs: number;
  /** Capture (or, unpaced, start of processing) to publish, ms. */
  e2eMs: number;
  workFraction: number;
  /** The strategy's own per-frame control work (importance + DEMUX), ms, when it reports it. */
  controlMs?: number;
  /**
   * DEMUX dropped it (no plan fit the deadline): tracker predictions were
   * published in its place, which keeps boxes on screen but misses the SLO.
   */
  demuxDropped?: boolean;
}

export interface RunRecord {
  strategy: string;
  video: string;
  input: { width: number; height: number };
  /** Source frame rate, for the SLO deadline. */
  fps: number;
  realtime: boolean;
  /** One entry per source frame, index = seq. */
  frames: FrameRecord[];
  /** Wall time the strategy itself spent (sum of its per-frame times when interleaved). */
  busyMs: number;
  /** Wall time from the first frame to the last publish (realtime). */
  wallMs: number;
}

export interface Report {
  strategy: string;
  video: string;
  input: { width: number; height: number };
  frames: number;
  processed: number;
  dropped: number;
  /** Published frames DEMUX dropped (tracker predictions in their place); they miss the SLO. */
  demux_dropped: number;
  min_score: number;
  f1_vs_reference: number;
  precision_vs_reference: number;
  recall_vs_reference: number;
  f1_vs_reference_at_iou: { '0.3': number; '0.5': number; '0.75': number };
  mean_iou_vs_reference: number | null;
  ap50_vs_gt: number | null;
  recall_vs_gt: number | null;
  detector_ms: LatencySummary;
  e2e_ms: LatencySummary;
  throughput_fps: number;
  work_fraction: number;
  slo_attainment: number | null;
  /** Importance + DEMUX time per frame (strategies that plan tiles); null for the others. */
  control_ms: LatencySummary | null;
  realtime: boolean;
  latency_ratio_vs_full?: number;
  work_ratio_vs_full?: number;
}

/**
 * What a client sees at each source frame: the frame's own detections when
 * it was published, else the last published ones (a dropped frame leaves the
 * previous boxes on screen).
 */
export function visibleDetections(frames: readonly FrameRecord[]): Detection[][] {
  let last: Detection[] = [];
  return frames.map((f) => {
    if (f.published) last = f.detections;
    return last;
  });
}

const above = (ds: readonly Detection[], minScore: number) => ds.filter((d) => d.score >= minScore);

export function buildReport(run: RunRecord, reference: readonly (readonly Detection[])[], opts: { minScore: number; gt?: Map<number, GtBox[]> }): Report {
  const visible = visibleDetections(run.frames);
  const n = run.frames.length;
  const evals: FrameEval[] = visible.map((ds, i) => ({ preds: above(ds, opts.minScore), refs: above(reference[i] ?? [], opts.minScore) }));
  const at = (thr: number) => accumulate(evals, thr);
  const s50 = at(0.5);
  const published = run.frames.filter((f) => f.published);
  const deadlineMs = 1000 / run.fps;

  let ap50: number | null = null;
  let recallGt: number | null = null;
  if (opts.gt) {
    const gts = visible.map((_, i) => opts.gt?.get(i) ?? []);
    const classes = new Set(gts.flat().map((g) => g.classId));
    // Labels name one class (MOT: persons): score only that class's detections.
    const preds = visible.map((ds) => ds.filter((d) => classes.has(d.classId)));
    ap50 = cocoMap(preds, gts, { iouThrs: [0.5] }).map50;
    recallGt = accumulate(preds.map((p, i) => ({ preds: above(p, opts.minScore), refs: gts[i] ?? [] })), 0.5).recall;
  }

  return {
    strategy: run.strategy,
    video: run.video,
    input: run.input,
    frames: n,
    processed: published.length,
    dropped: n - published.length,
    demux_dropped: run.frames.filter((f) => f.demuxDropped === true).length,
    min_score: opts.minScore,
    f1_vs_reference: s50.f1,
    precision_vs_reference: s50.precision,
    recall_vs_reference: s50.recall,
    f1_vs_reference_at_iou: { '0.3': at(0.3).f1, '0.5': s50.f1, '0.75': at(0.75).f1 },
    mean_iou_vs_reference: s50.meanIou,
    ap50_vs_gt: ap50 !== null && Number.isFinite(ap50) ? ap50 : null,
    recall_vs_gt: recallGt,
    detector_ms: latency(published.map((f) => f.detectorMs)),
    e2e_ms: latency(published.map((f) => f.e2eMs)),
    throughput_fps: run.realtime ? (published.length * 1000) / Math.max(1, run.wallMs) : (published.length * 1000) / Math.max(1e-9, run.busyMs),
    work_fraction: published.length ? published.reduce((a, f) => a + f.workFraction, 0) / published.length : 0,
    slo_attainment: run.realtime ? run.frames.filter((f) => f.published && f.demuxDropped !== true && f.e2eMs <= deadlineMs).length / Math.max(1, n) : null,
    control_ms: controlOf(published),
    realtime: run.realtime,
  };
}

function controlOf(frames: readonly FrameRecord[]): LatencySummary | null {
  const ms = frames.flatMap((f) => (f.controlMs === undefined ? [] : [f.controlMs]));
  return ms.length ? latency(ms) : null;
}

/** Ratios against the `full` report of the same video (bench). */
export function withRatios(r: Report, full: Report | undefined): Report {
  if (!full) return r;
  return { ...r, latency_ratio_vs_full: r.detector_ms.mean / full.detector_ms.mean, work_ratio_vs_full: r.work_fraction / full.work_fraction };
}

const latencySchema = {
  type: 'object',
  required: ['mean', 'p50', 'p95', 'p99'],
  properties: { mean: { type: 'number' }, p50: { type: 'number' }, p95: { type: 'number' }, p99: { type: 'number' } },
};
const ratio = { type: 'number', minimum: 0, maximum: 1 };
const nullableRatio = { type: ['number', 'null'], minimum: 0, maximum: 1 };

/** JSON Schema (draft 2020-12) of one report; `bench --json` writes `{ results: Report[] }`. */
export const reportSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://neulens.dev/schemas/replay-report.json',
  title: 'NeuLens replay report',
  type: 'object',
  required: [
    'strategy', 'video', 'frames', 'processed', 'dropped', 'demux_dropped', 'f1_vs_reference', 'precision_vs_reference', 'recall_vs_reference',
    'ap50_vs_gt', 'detector_ms', 'e2e_ms', 'throughput_fps', 'work_fraction', 'slo_attainment',
  ],
  properties: {
    strategy: { type: 'string', minLength: 1, description: 'strategy name as given to --strategy' },
    video: { type: 'string' },
    input: { type: 'object', required: ['width', 'height'], properties: { width: { type: 'integer' }, height: { type: 'integer' } } },
    frames: { type: 'integer', minimum: 0, description: 'source frames' },
    processed: { type: 'integer', minimum: 0, description: 'frames whose detections were published' },
    dropped: { type: 'integer', minimum: 0, description: 'frames never published (realtime: the latest-frame gate)' },
    demux_dropped: { type: 'integer', minimum: 0, description: 'published frames DEMUX dropped for want of a plan that fits the deadline (tracker predictions stand in); they miss the SLO' },
    min_score: ratio,
    f1_vs_reference: { ...ratio, description: 'greedy one-to-one matching by class at IoU >= 0.5 against the unsplit model on every frame, pooled over frames' },
    precision_vs_reference: ratio,
    recall_vs_reference: ratio,
    f1_vs_reference_at_iou: { type: 'object', properties: { '0.3': ratio, '0.5': ratio, '0.75': ratio } },
    mean_iou_vs_reference: nullableRatio,
    ap50_vs_gt: { ...nullableRatio, description: 'AP at IoU 0.5 for the labelled class; null without --gt' },
    recall_vs_gt: nullableRatio,
    detector_ms: latencySchema,
    e2e_ms: latencySchema,
    throughput_fps: { type: 'number', minimum: 0 },
    work_fraction: { type: 'number', minimum: 0, description: 'model work per published frame relative to the unsplit model' },
    slo_attainment: { ...nullableRatio, description: 'share of source frames published within one frame interval of capture and not DEMUX-dropped; null when unpaced' },
    control_ms: { anyOf: [latencySchema, { type: 'null' }], description: "the strategy's importance + DEMUX time per frame; null for strategies that plan no tiles" },
    realtime: { type: 'boolean' },
    latency_ratio_vs_full: { type: 'number', minimum: 0 },
    work_ratio_vs_full: { type: 'number', minimum: 0 },
  },
} as const;

export const benchSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://neulens.dev/schemas/bench.json',
  title: 'NeuLens bench results',
  type: 'object',
  required: ['results'],
  properties: { results: { type: 'array', items: { $ref: '#/$defs/report' } } },
  $defs: { report: { ...reportSchema, $schema: undefined, $id: undefined } },
};
