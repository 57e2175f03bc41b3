import { describe, expect, it } from 'vitest';
import type { Detection } from '../../src/core/types.js';
import { buildReport, visibleDetections, withRatios, type FrameRecord, type RunRecord } from '../../src/eval/report.js';

const person = (x: number, score = 0.9): Detection => ({ x, y: 0, w: 10, h: 10, classId: 0, label: 'person', score });
const rec = (seq: number, dets: Detection[] | null, e2eMs = 10, detectorMs = 5): FrameRecord =>
  dets ? { seq, published: true, detections: dets, detectorMs, e2eMs, workFraction: 1 } : { seq, published: false, detections: [], detectorMs: 0, e2eMs: 0, workFraction: 0 };
const run = (frames: FrameRecord[], realtime = false): RunRecord => ({ strategy: 's', video: 'v.mp4', input: { width: 64, height: 64 }, fps: 10, realtime, frames, busyMs: 100, wallMs: 400 });

describe('replay report', () => {
  it('a dropped frame shows the last published detections', () => {
    const v = visibleDetections([rec(0, [person(0)]), rec(1, null), rec(2, []), rec(3, null)]);
    expect(v.map((d) => d.length)).toEqual([1, 1, 0, 0]);
  });

  it('scores stale boxes on dropped frames against the reference of that frame', () => {
    const reference = [[person(0)], [person(30)], [person(30)], [person(30)]];
    const r = buildReport(run([rec(0, [person(0)]), rec(1, null), rec(2, [person(30)]), rec(3, [person(30)])], true), reference, { minScore: 0.35 });
    // Frame 1 shows the frame-0 box at x=0 while the object is at x=30: one FP and one FN.
    expect([r.processed, r.dropped]).toEqual([3, 1]);
    expect(r.precision_vs_reference).toBeCloseTo(3 / 4);
    expect(r.recall_vs_reference).toBeCloseTo(3 / 4);
    expect(r.f1_vs_reference).toBeCloseTo(3 / 4);
  });

  it('SLO attainment = frames published within one frame interval, over all source frames', () => {
    // fps 10: the deadline is 100 ms.
    const r = buildReport(run([rec(0, [], 50), rec(1, [], 100), rec(2, [], 101), rec(3, null)], true), [[], [], [], []], { minScore: 0.35 });
    expect(r.slo_attainment).toBeCloseTo(2 / 4);
    expect(r.throughput_fps).toBeCloseTo(3 / 0.4);
    expect(buildReport(run([rec(0, [])]), [[]], { minScore: 0.35 }).slo_attainment).toBeNull();
  });

  it('a frame DEMUX dropped is published (tracker boxes stay on screen) but misses the SLO', () => {
    const tracked = { ...rec(1, [person(2)], 5), demuxDropped: true };
    const r = buildReport(run([rec(0, [person(0)], 50), tracked, rec(2, [person(4)], 60)], true), [[person(0)], [person(2)], [person(4)]], { minScore: 0.35 });
    expect([r.processed, r.dropped, r.demux_dropped]).toEqual([3, 0, 1]);
    expect(r.slo_attainment).toBeCloseTo(2 / 3);
    // Its boxes are still what a client sees, so they are scored.
    expect(r.f1_vs_reference).toBeCloseTo(1);
  });

  it('score threshold applies to both sides; AP50 against labels only for the labelled classes', () => {
    const cat: Detection = { x: 50, y: 50, w: 5, h: 5, classId: 15, label: 'cat', score: 0.99 };
    const frames = [rec(0, [person(0, 0.9), person(40, 0.2), cat])];
    const gt = new Map([[0, [{ x: 0, y: 0, w: 10, h: 10, classId: 0 }, { x: 40, y: 0, w: 10, h: 10, classId: 0 }]]]);
    const r = buildReport(run(frames), [[person(0, 0.9), cat]], { minScore: 0.35, gt });
    // The 0.2 person is below the threshold on both sides; the rest matches the reference.
    expect(r.f1_vs_reference).toBe(1);
    expect(buildReport(run(frames), [[person(0, 0.9)]], { minScore: 0.35 }).precision_vs_reference).toBeCloseTo(1 / 2);
    // The cat is not a labelled class. Both persons are found when ranked by score (0.9 then 0.2): AP50 = 1.
    expect(r.ap50_vs_gt).toBeCloseTo(1, 9);
    // At the 0.35 threshold only one of the two labelled persons is found.
    expect(r.recall_vs_gt).toBeCloseTo(0.5, 9);
  });

  it('ratios against full', () => {
    const a = buildReport(run([rec(0, [], 10, 5)]), [[]], { minScore: 0.35 });
    const full = buildReport(run([rec(0, [], 10, 20)]), [[]], { minScore: 0.35 });
    expect(withRatios(a, full).latency_ratio_vs_full).toBeCloseTo(0.25);
    expect(withRatios(a, full).work_ratio_vs_full).toBe(1);
    expect(withRatios(a, undefined).latency_ratio_vs_full).toBeUndefined();
  });
});

describe('published schemas', () => {
  it('docs/replay-report.schema.json and docs/bench.schema.json match the code (regenerate: see src/eval/write-schemas.ts)', async () => {
    const { readFile } = await import('node:fs/promises');
    const { benchSchemaJson, reportSchemaJson } = await import('../../src/eval/write-schemas.js');
    const { ROOT } = await import('../helpers/pack.js');
    expect(await readFile(`${ROOT}/docs/replay-report.schema.json`, 'utf8')).toBe(reportSchemaJson());
    expect(await readFile(`${ROOT}/docs/bench.schema.json`, 'utf8')).toBe(benchSchemaJson());
  });
});
