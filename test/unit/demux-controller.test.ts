import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { DemuxController, frameBudget, stepSizeFor, type CostPredictor } from '../../src/demux/controller.js';
import { CostModel } from '../../src/demux/cost-model.js';
import type { TileDecision } from '../../src/importance/importance.js';
import { rng } from '../helpers/rng.js';


const GRID = { cols: 4, rows: 4 };
/** Synthetic cost: 5 ms rest + 2 ms per full tile + 1 ms per half tile + 0.5 ms per call; no merge, so cost falls monotonically. */
const model = new CostModel({ levels: [0, 0.5], tileCount: 16, mergeUniform: false, coefficients: { perTile: [2, 1], merged: [0, 0], perCall: 0.5, fixed: 5 }, refitEvery: 0 });

const track = (confidence: number): TileDecision => ({ level: 0, confidence, reason: 'track' });
const idle = (): TileDecision => ({ level: 1, confidence: 1, reason: 'idle' });

/** Sixteen computed tiles at level 0 with distinct random confidences. */
function busyFrame(rand: () => number): TileDecision[] {
  return Array.from({ length: 16 }, () => track(rand()));
}

describe('DemuxController', () => {
  it('keeps a plan that fits', () => {
    const c = new DemuxController({ grid: GRID, levels: [0, 0.5] });
    const decisions = [track(0.1), track(0.2), ...Array.from({ length: 14 }, idle)];
    const r = c.plan({ decisions, budgetMs: 20, model });
    expect(r.plan.levels).toEqual(decisions.map((d) => d.level));
    expect(r.predictedMs).toBeCloseTo(5 + 4 + 0.5);
    expect(r).toMatchObject({ steps: 0, dropped: false, computedTiles: 2 });
    expect(r.wantedMs).toBe(r.predictedMs);
  });

  it('an idle frame computes nothing and costs nothing, and is not a drop', () => {
    const c = new DemuxController({ grid: GRID, levels: [0] });
    const r = c.plan({ decisions: Array.from({ length: 16 }, idle), budgetMs: 0, model: { predict: () => 99 } });
    expect(r).toMatchObject({ predictedMs: 0, dropped: false, computedTiles: 0 });
    expect(c.stats.dropped).toBe(0);
  });

  it('raises tiles until the plan fits the budget, for any budget', () => {
    const rand = rng(1);
    const c = new DemuxController({ grid: GRID, levels: [0, 0.5] });
    for (let i = 0; i < 300; i++) {
      const budget = 6 + rand() * 35;
      const r = c.plan({ decisions: busyFrame(rand), budgetMs: budget, model });
      if (r.dropped) continue;
      expect(r.predictedMs).toBeLessThanOrEqual(budget);
      expect(r.predictedMs).toBeCloseTo(model.predict(r.plan.levels), 9);
    }
    expect(c.stats.frames).toBe(300);
    expect(c.stats.stepped).toBeGreaterThan(250);
  });

  it('steps in confidence order: the highest-confidence tiles are made cheaper first', () => {
    const rand = rng(2);
    for (const refine of [true, false]) {
      const c = new DemuxController({ grid: GRID, levels: [0, 0.5], refine });
      for (let i = 0; i < 200; i++) {
        const decisions = busyFrame(rand);
        const r = c.plan({ decisions, budgetMs: 6 + rand() * 30, model });
        if (r.dropped) continue;
        // Order by confidence, highest first: the levels must never increase along it
        // (a later, less safe tile is never cheaper than an earlier one).
        const order = decisions.map((d, t) => ({ d, t })).sort((a, b) => b.d.confidence - a.d.confidence);
        const lv = order.map(({ t }) => r.plan.levels[t]!);
        for (let k = 1; k < lv.length; k++) expect(lv[k]!).toBeLessThanOrEqual(lv[k - 1]!);
      }
    }
  });

  it('raises one level at a time: full -> half -> skip', () => {
    const c = new DemuxController({ grid: GRID, levels: [0, 0.5], stepSize: 1, refine: false });
    const decisions = [track(0.9), track(0.1), ...Array.from({ length: 14 }, idle)];
    // Wanted 5 + 4 + .5 = 9.5; one step -> [0.5, 0]: 5 + 3 + 1 = 9; two -> [1, 0]: 7.5.
    expect(c.plan({ decisions, budgetMs: 9.2, model }).plan.levels.slice(0, 2)).toEqual([0.5, 0]);
    expect(c.plan({ decisions, budgetMs: 8, model }).plan.levels.slice(0, 2)).toEqual([1, 0]);
    expect(c.plan({ decisions, budgetMs: 6.8, model }).plan.levels.slice(0, 2)).toEqual([1, 0.5]);
  });

  it('uses the paper step sizes and refines the last step', () => {
    expect([stepSizeFor({ cols: 2, rows: 2 }), stepSizeFor({ cols: 3, rows: 3 }), stepSizeFor({ cols: 4, rows: 4 })]).toEqual([2, 4, 5]);
    expect(stepSizeFor({ cols: 4, rows: 3 })).toBe(4);
    const flat: CostPredictor = { predict: (lv) => 5 + 2 * lv.filter((l) => l < 1).length };
    const decisions = Array.from({ length: 16 }, (_, i) => track(i / 16));
    // 37 ms wanted; 24 ms allows 9 tiles: 7 must go. Step 5: two steps.
    const coarse = new DemuxController({ grid: GRID, levels: [0], refine: false }).plan({ decisions, budgetMs: 24, model: flat });
    expect(coarse.steps).toBe(2);
    expect(coarse.computedTiles).toBe(6);
    const fine = new DemuxController({ grid: GRID, levels: [0] }).plan({ decisions, budgetMs: 24, model: flat });
    expect(fine.steps).toBe(2);
    expect(fine.computedTiles).toBe(9);
    expect(fine.predictedMs).toBe(23);
    // The tiles kept are the nine least safe to lose.
    expect(fine.plan.levels.map((l, i) => (l === 0 ? i : -1)).filter((i) => i >= 0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('raises refresh-forced tiles last', () => {
    const flat: CostPredictor = { predict: (lv) => 5 + 2 * lv.filter((l) => l < 1).length };
    const decisions: TileDecision[] = [{ level: 0, confidence: 0.95, reason: 'refresh' }, track(0.2), track(0.1), ...Array.from({ length: 13 }, idle)];
    const c = new DemuxController({ grid: GRID, levels: [0], stepSize: 1 });
    expect(c.plan({ decisions, budgetMs: 7, model: flat }).plan.levels.slice(0, 3)).toEqual([0, 1, 1]);
    // A busy tile the scheduler forced is protected too, whatever its reason.
    const busyForced: TileDecision[] = [{ level: 0, confidence: 0.24, reason: 'track', forced: true }, track(0.2), track(0.1), ...Array.from({ length: 13 }, idle)];
    expect(c.plan({ decisions: busyForced, budgetMs: 7, model: flat }).plan.levels.slice(0, 3)).toEqual([0, 1, 1]);
    const unprotected = new DemuxController({ grid: GRID, levels: [0], stepSize: 1, protectRefresh: false });
    expect(unprotected.plan({ decisions, budgetMs: 7, model: flat }).plan.levels.slice(0, 3)).toEqual([1, 1, 0]);
  });

  it('copes with the merged-window cost cliff (raising one tile of a uniform plan costs more)', () => {
    const merged = new CostModel({ levels: [0], tileCount: 16, coefficients: { perTile: [2.5], merged: [10], perCall: 0.5, fixed: 8 } });
    const c = new DemuxController({ grid: GRID, levels: [0] });
    // Uniform: 18.5 ms. Any split plan with k tiles: 8.5 + 2.5k. Budget 17 -> at most 3 tiles.
    const r = c.plan({ decisions: busyFrame(rng(4)), budgetMs: 17, model: merged });
    expect(r.dropped).toBe(false);
    expect(r.computedTiles).toBe(3);
    expect(r.predictedMs).toBeLessThanOrEqual(17);
  });

  it('a step that raises the last computed tiles still gives back what fits (no needless drop)', () => {
    // Level 0 only: 5 + 2 per tile + 0.5. Fourteen tiles, five raised a step: 14 -> 9 -> 4 -> 0.
    // A budget of 10 fits two tiles (9.5 ms); the coarse steps alone would have dropped the frame.
    const flat = new CostModel({ levels: [0], tileCount: 16, mergeUniform: false, coefficients: { perTile: [2], merged: [0], perCall: 0.5, fixed: 5 }, refitEvery: 0 });
    const c = new DemuxController({ grid: GRID, levels: [0] });
    const decisions = [...Array.from({ length: 14 }, (_, i) => track(0.2 - i / 100)), idle(), idle()];
    const r = c.plan({ decisions, budgetMs: 10, model: flat });
    expect(r).toMatchObject({ dropped: false, computedTiles: 2 });
    expect(r.predictedMs).toBeCloseTo(9.5);
    // The two kept are the least confident (the most important).
    expect(r.plan.levels.slice(12, 14)).toEqual([0, 0]);
    expect(c.stats.dropped).toBe(0);
  });

  it('drops and counts frames when not even one tile fits', () => {
    const c = new DemuxController({ grid: GRID, levels: [0, 0.5] });
    const rand = rng(3);
    const r = c.plan({ decisions: busyFrame(rand), budgetMs: 6, model }); // rest + one half tile = 6.5
    expect(r).toMatchObject({ dropped: true, computedTiles: 0, predictedMs: 0 });
    expect(r.plan.levels.every((l) => l === 1)).toBe(true);
    expect(r.wantedMs).toBeCloseTo(5 + 32 + 0.5);
    c.plan({ decisions: busyFrame(rand), budgetMs: -3, model });
    c.plan({ decisions: busyFrame(rand), budgetMs: 40, model });
    expect(c.stats).toEqual({ frames: 3, dropped: 2, stepped: 1 });
  });

  it('computes the frame budget from capture time, elapsed time and a safety margin', () => {
    expect(frameBudget({ captureMs: 1000, nowMs: 1030, intervalMs: 100, safetyMs: 5 })).toBe(65);
    expect(frameBudget({ captureMs: 1000, nowMs: 1120, intervalMs: 100 })).toBe(-22);
  });

  it('rejects decisions that do not match the grid or the levels', () => {
    const c = new DemuxController({ grid: GRID, levels: [0] });
    expect(() => c.plan({ decisions: [track(0.5)], budgetMs: 10, model })).toThrow(InputError);
    const bad = Array.from({ length: 16 }, () => ({ level: 0.5, confidence: 0.5, reason: 'motion' as const }));
    expect(() => c.plan({ decisions: bad, budgetMs: 10, model })).toThrow(/level 0.5/);
    expect(() => new DemuxController({ grid: GRID, levels: [0], stepSize: 0 })).toThrow(InputError);
  });
});
