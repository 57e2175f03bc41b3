import { describe, expect, it } from 'vitest';
import { ConfigError, InputError } from '../../src/core/errors.js';
import { DemuxController, frameBudget } from '../../src/demux/controller.js';
import { CostModel } from '../../src/demux/cost-model.js';
import { FairShare, type FairShareOptions } from '../../src/demux/fair-share.js';
import type { TileDecision } from '../../src/importance/importance.js';

const GRID = { cols: 4, rows: 4 };

/** A synthetic device: 5 ms rest + perTile per computed tile + 0.5 ms per call. */
function deviceModel(perTile: number): CostModel {
  return new CostModel({ levels: [0], tileCount: 16, mergeUniform: false, coefficients: { perTile: [perTile], merged: [0], perCall: 0.5, fixed: 5 }, refitEvery: 0 });
}

/** `busy` tiles at level 0 with falling confidence, the rest idle. */
function decisions(busy: number): TileDecision[] {
  return Array.from({ length: 16 }, (_, i): TileDecision => (i < busy ? { level: 0, confidence: 0.25 - i / 100, reason: 'track' } : { level: 1, confidence: 1, reason: 'idle' }));
}

interface Cam {
  id: string;
  fps: number;
  busy: number;
}

/**
 * Runs cameras on a fake clock for `seconds`: each frame takes the smaller of
 * its deadline and its fair share, the controller fits the plan, and the
 * device "measures" the predicted cost. Returns per-camera totals.
 */
function simulate(cams: Cam[], model: CostModel, seconds: number, o: FairShareOptions = {}) {
  const fair = new FairShare(o);
  const ctl = new Map(cams.map((c) => [c.id, new DemuxController({ grid: GRID, levels: [0] })]));
  for (const c of cams) fair.setCamera(c.id, { fps: c.fps });
  const spent = new Map(cams.map((c) => [c.id, 0]));
  const wanted = new Map(cams.map((c) => [c.id, 0]));
  const events = cams.flatMap((c) => Array.from({ length: Math.round(seconds * c.fps) }, (_, k) => ({ t: (k * 1000) / c.fps, c })));
  events.sort((a, b) => a.t - b.t);
  for (const { t, c } of events) {
    const budget = Math.min(frameBudget({ captureMs: t, nowMs: t, intervalMs: 1000 / c.fps, safetyMs: 2 }), fair.budgetFor(c.id, t));
    const r = ctl.get(c.id)!.plan({ decisions: decisions(c.busy), budgetMs: budget, model });
    const measured = r.predictedMs;
    fair.report(c.id, measured, r.wantedMs);
    // Skip the first second: demand estimates start from an equal split.
    if (t >= 1000) {
      spent.set(c.id, spent.get(c.id)! + measured);
      wanted.set(c.id, wanted.get(c.id)! + r.wantedMs);
    }
  }
  const span = seconds - 1;
  return {
    fair,
    perS: (id: string) => spent.get(id)! / span,
    served: (id: string) => spent.get(id)! / wanted.get(id)!,
    stats: (id: string) => ctl.get(id)!.stats,
  };
}

describe('FairShare', () => {
  it('lets two cameras with different SLOs both hold when capacity allows', () => {
    const model = deviceModel(2);
    // A: 12 tiles, 29.5 ms x 10 fps = 295 ms/s; B: 14 tiles, 33.5 ms x 5 fps = 167.5 ms/s. Capacity 900.
    const s = simulate([{ id: 'a', fps: 10, busy: 12 }, { id: 'b', fps: 5, busy: 14 }], model, 10);
    expect(s.stats('a')).toMatchObject({ dropped: 0, stepped: 0 });
    expect(s.stats('b')).toMatchObject({ dropped: 0, stepped: 0 });
    expect(s.served('a')).toBeCloseTo(1);
    expect(s.served('b')).toBeCloseTo(1);
    for (const c of s.fair.snapshot(10_000)) expect(c.budgetMs).toBeGreaterThanOrEqual(c.demandMs);
  });

  it('proportional policy: degrades both cameras by the same fraction when overloaded; neither starves', () => {
    const model = deviceModel(8);
    // A wants 101.5 ms x 10 = 1015 ms/s, B 117.5 ms x 5 = 587.5 ms/s: 1.8x the 900 ms/s capacity.
    const s = simulate([{ id: 'a', fps: 10, busy: 12 }, { id: 'b', fps: 5, busy: 14 }], model, 10, { policy: 'proportional' });
    const a = s.served('a');
    const b = s.served('b');
    expect(a).toBeGreaterThan(0.4);
    expect(b).toBeGreaterThan(0.4);
    expect(Math.abs(a - b)).toBeLessThan(0.1);
    expect(s.perS('a') + s.perS('b')).toBeLessThanOrEqual(900);
    expect(s.stats('a').dropped + s.stats('b').dropped).toBe(0);
    const snap = s.fair.snapshot(10_000);
    expect(snap.reduce((sum, c) => sum + c.shareMsPerS, 0)).toBeCloseTo(900);
    const ratios = snap.map((c) => c.shareMsPerS / (c.demandMs * c.fps));
    expect(ratios[0]).toBeCloseTo(ratios[1]!, 2);
  });

  it('max-min (the default) protects a light camera from a heavy one', () => {
    const model = deviceModel(8);
    const cams = [{ id: 'heavy', fps: 25, busy: 16 }, { id: 'light', fps: 5, busy: 4 }];
    // heavy: 133.5 x 25 = 3337 ms/s; light: 37.5 x 5 = 187.5 ms/s.
    const prop = simulate(cams, model, 6, { policy: 'proportional' });
    const maxMin = simulate(cams, model, 6);
    expect(prop.served('light')).toBeLessThan(0.5);
    expect(maxMin.served('light')).toBeCloseTo(1);
    expect(maxMin.perS('heavy') + maxMin.perS('light')).toBeLessThanOrEqual(900);
    expect(maxMin.served('heavy')).toBeGreaterThan(0.1);
  });

  it('max-min keeps one-tile cameras running where a proportional cut drops all their frames', () => {
    // What serve-slo showed live: six cameras that need one tile (5 + 4 + 0.5 = 9.5 ms, 95 ms/s)
    // and two that need fourteen (61.5 ms, 615 ms/s): 1800 ms/s against 900.
    const model = deviceModel(4);
    const cams = [
      ...Array.from({ length: 6 }, (_, i) => ({ id: `light${i}`, fps: 10, busy: 1 })),
      { id: 'heavy0', fps: 10, busy: 14 },
      { id: 'heavy1', fps: 10, busy: 14 },
    ];
    const prop = simulate(cams, model, 6, { policy: 'proportional' });
    const maxMin = simulate(cams, model, 6);
    // Proportional: half of 9.5 ms fits no plan, so every light frame is dropped; the heavy ones step down and run.
    expect(prop.served('light0')).toBeLessThan(0.05);
    expect(prop.stats('light0').dropped).toBeGreaterThan(50);
    expect(prop.served('heavy0')).toBeGreaterThan(0.3);
    // Max-min: light cameras are served in full, the heavy ones share the rest; nobody starves.
    for (let i = 0; i < 6; i++) expect(maxMin.served(`light${i}`)).toBeCloseTo(1);
    expect(maxMin.served('heavy0')).toBeGreaterThan(0.1);
    expect(maxMin.served('heavy1')).toBeGreaterThan(0.1);
    expect(cams.reduce((sum, c) => sum + maxMin.perS(c.id), 0)).toBeLessThanOrEqual(900);
  });

  it('keeps a reserve for a quiet camera so it is not starved when it wakes', () => {
    const fair = new FairShare({ policy: 'proportional' });
    fair.setCamera('busy', { fps: 10 });
    fair.setCamera('quiet', { fps: 5 });
    for (let t = 0; t < 3000; t += 100) {
      fair.budgetFor('busy', t);
      fair.report('busy', 150, 150);
      if (t % 200 === 0) {
        fair.budgetFor('quiet', t);
        fair.report('quiet', 0, 0);
      }
    }
    // Its demand counts as at least a quarter of an equal split (112.5 of 900 ms/s) against busy's 1500 ms/s.
    const reserve = (900 * 112.5) / (1500 + 112.5) / 5;
    expect(fair.budgetFor('quiet', 3000)).toBeCloseTo(reserve);
    expect(reserve).toBeGreaterThan(12);
    // Demand rises fast: one busy frame is believed at once (rise 0.5): 60 ms x 5 fps against 1500.
    fair.report('quiet', 12, 120);
    expect(fair.snapshot(3000).find((c) => c.cameraId === 'quiet')!.demandMs).toBeCloseTo(60);
    expect(fair.budgetFor('quiet', 3100)).toBeCloseTo((900 * 300) / 1800 / 5);
    // Max-min gives the reserve in full: a quarter of an equal split (450 ms/s) at 5 fps.
    const mm = new FairShare();
    mm.setCamera('busy', { fps: 10 });
    mm.setCamera('quiet', { fps: 5 });
    mm.budgetFor('busy', 0);
    mm.report('busy', 150, 150);
    mm.budgetFor('quiet', 0);
    mm.report('quiet', 0, 0);
    expect(mm.budgetFor('quiet', 100)).toBeCloseTo(112.5 / 5);
  });

  it('frees the share of a camera that stopped asking', () => {
    const fair = new FairShare({ staleMs: 1000 });
    fair.setCamera('a', { fps: 10 });
    fair.setCamera('b', { fps: 10 });
    fair.report('a', 50, 50);
    fair.report('b', 50, 50);
    fair.budgetFor('b', 0);
    expect(fair.budgetFor('a', 0)).toBeCloseTo(45);
    expect(fair.budgetFor('a', 2000)).toBeCloseTo(90);
    expect(fair.snapshot(2000).find((c) => c.cameraId === 'b')!.active).toBe(false);
    fair.removeCamera('b');
    expect(fair.snapshot(2000)).toHaveLength(1);
  });

  it('re-divides at once when a camera is added or removed at runtime', () => {
    const fair = new FairShare({ staleMs: 1000 });
    fair.setCamera('a', { fps: 10 });
    fair.report('a', 80, 80);
    const alone = fair.budgetFor('a', 0);
    // A second camera asking as much: each gets half of what a alone could have.
    fair.setCamera('b', { fps: 10 });
    fair.report('b', 80, 80);
    const forB = fair.budgetFor('b', 0); // b's first ask makes it active
    const shared = fair.budgetFor('a', 0);
    expect(shared).toBeLessThan(alone);
    expect(shared).toBeCloseTo(forB);
    // Removed (not merely quiet): a has the worker to itself again in the same instant.
    fair.removeCamera('b');
    expect(fair.budgetFor('a', 0)).toBeCloseTo(alone);
    expect(fair.snapshot(0).map((c) => c.cameraId)).toEqual(['a']);
  });

  it('splits each worker\'s time between the cameras pinned to it, not a pool of all workers', () => {
    const fair = new FairShare({ workers: 2 });
    // Worker 0 runs three heavy cameras, worker 1 one heavy and one light.
    const cams = [
      { id: 'h0', worker: 0, ms: 40 },
      { id: 'h1', worker: 0, ms: 40 },
      { id: 'h2', worker: 0, ms: 40 },
      { id: 'h3', worker: 1, ms: 40 },
      { id: 'l4', worker: 1, ms: 5 },
    ];
    for (const c of cams) fair.setCamera(c.id, { fps: 10, worker: c.worker });
    for (const c of cams) {
      fair.budgetFor(c.id, 0);
      fair.report(c.id, c.ms, c.ms);
    }
    const snap = new Map(fair.snapshot(0).map((c) => [c.cameraId, c]));
    const onWorker = (w: number) => [...snap.values()].filter((c) => c.worker === w).reduce((sum, c) => sum + c.shareMsPerS, 0);
    // Each worker hands out its own 900 ms/s: 1200 asked of worker 0, 450 of worker 1
    // (whose spare goes to its own cameras, never to worker 0's).
    expect(onWorker(0)).toBeCloseTo(900);
    expect(onWorker(1)).toBeCloseTo(900);
    expect(snap.get('h0')!.budgetMs).toBeCloseTo(30);
    // Worker 1 is under capacity: both its cameras get at least what they ask.
    expect(snap.get('h3')!.budgetMs).toBeGreaterThanOrEqual(40);
    expect(snap.get('l4')!.budgetMs).toBeGreaterThanOrEqual(5);
    // Re-pinned (a worker died): the camera's share now comes out of worker 1.
    fair.setCamera('h2', { fps: 10, worker: 1 });
    const moved = new Map(fair.snapshot(0).map((c) => [c.cameraId, c]));
    // Worker 0 is left with two cameras asking 800 of its 900 ms/s: they share it all.
    expect(moved.get('h0')!.budgetMs).toBeCloseTo(45);
    expect(moved.get('h2')!.worker).toBe(1);
    expect(() => fair.setCamera('x', { fps: 10, worker: 2 })).toThrow(/worker 2/);
  });

  it('asks the pool where each camera runs (workerOf), so a camera the pool moves takes its share along', () => {
    const pinned = new Map([['a', 0], ['b', 0], ['c', 1]]);
    const fair = new FairShare({ workers: 2, workerOf: (id) => pinned.get(id) ?? 0 });
    for (const id of pinned.keys()) {
      fair.setCamera(id, { fps: 10 });
      fair.budgetFor(id, 0);
      fair.report(id, 60, 60);
    }
    const worker = (id: string) => fair.snapshot(0).find((c) => c.cameraId === id)!.worker;
    expect([worker('a'), worker('b'), worker('c')]).toEqual([0, 0, 1]);
    // a and b split worker 0 (900 ms/s each way: 45 ms a frame), c has worker 1 to itself.
    expect(fair.snapshot(0).find((c) => c.cameraId === 'a')!.budgetMs).toBeCloseTo(45);
    pinned.set('b', 1);
    expect(worker('b')).toBe(1);
    expect(fair.snapshot(0).find((c) => c.cameraId === 'a')!.budgetMs).toBeGreaterThanOrEqual(60);
  });

  it('takes a batched worker\'s call overhead (charged to no camera) off that worker\'s capacity before sharing it', () => {
    let overhead = 0;
    const fair = new FairShare({ workers: 2, workerOf: (id) => (id === 'c' ? 1 : 0), overheadOf: (w) => (w === 0 ? overhead : 0) });
    for (const id of ['a', 'b', 'c']) {
      fair.setCamera(id, { fps: 10 });
      fair.budgetFor(id, 0);
      fair.report(id, 60, 60);
    }
    const budget = (id: string) => fair.snapshot(0).find((c) => c.cameraId === id)!.budgetMs;
    expect(budget('a')).toBeCloseTo(45);
    // 300 ms/s of worker 0 goes to its calls' fixed part: a and b share the 600 left.
    overhead = 300;
    expect(budget('a')).toBeCloseTo(30);
    expect(budget('c')).toBeGreaterThanOrEqual(60);
    // Overhead beyond the capacity still leaves a tenth to share, rather than nothing.
    overhead = 5000;
    expect(budget('a')).toBeCloseTo(4.5);
  });

  it('scales with workers and rejects bad input', () => {
    expect(new FairShare({ workers: 2, utilisation: 0.5 }).capacityMsPerS).toBe(1000);
    expect(() => new FairShare({ workers: 0 })).toThrow(ConfigError);
    expect(() => new FairShare({ utilisation: 1.5 })).toThrow(/utilisation/);
    const fair = new FairShare();
    expect(() => fair.setCamera('x', { fps: 0 })).toThrow(/camera 'x' frame rate must be > 0/);
    expect(() => fair.budgetFor('nope', 0)).toThrow(InputError);
    expect(() => fair.report('nope', 1)).toThrow(InputError);
  });
});
