/**
 * The work budget (src/demux/budget.ts): the bucket, and the plan it buys.
 * Costs come from DEMUX's real cost model on the windowed path (window
 * areas, calls, the merge into the unsplit frame), in whole-frame units.
 */
import { describe, expect, it } from 'vitest';
import { makeTiles } from '../../src/arac/geometry.js';
import { DEFAULT_CALL_FRACTION, DEFAULT_WINDOW_HALO } from '../../src/arac/windows.js';
import { ConfigError } from '../../src/core/errors.js';
import { importanceOrder, planWithinBudget, SAVED_FRAMES, WorkBudget, type BudgetInput } from '../../src/demux/budget.js';
import { CostModel, priorWindowed } from '../../src/demux/cost-model.js';
import type { TileDecision } from '../../src/importance/importance.js';
import { RefreshScheduler } from '../../src/importance/refresh.js';
import { rng } from '../helpers/rng.js';

const W = 512;
const H = 384;
const tiles = makeTiles(W, H, { cols: 4, rows: 4 });
const model = new CostModel({
  levels: [0],
  tileCount: 16,
  windowed: { tiles, geometry: { width: W, height: H, halo: DEFAULT_WINDOW_HALO, callFraction: DEFAULT_CALL_FRACTION } },
  coefficients: priorWindowed(1, [0], { perCallMs: 0.05 }),
});
const WHOLE = Array<number>(16).fill(0);
/** Whole frames, as the strategy prices plans: the model's price over its price of the whole frame. */
const cost = (lv: readonly number[]) => (lv.every((l) => l >= 1) ? 0 : model.predict(lv) / model.predict(WHOLE));

const skip = (): TileDecision => ({ level: 1, confidence: 1, reason: 'idle' });
const want = (confidence: number, reason: TileDecision['reason'] = 'track'): TileDecision => ({ level: 0, confidence, reason });

function input(decisions: TileDecision[], tokens: number, must: number[] = []): BudgetInput {
  return { decisions, must: new Set(must), tokens, cost, wholeLevel: 0, spareAbove: 0.7 };
}

describe('WorkBudget', () => {
  it('gains B a frame up to its capacity and pays what frames cost, overdrawing for forced work', () => {
    const b = new WorkBudget({ perFrame: 0.35, capacity: 1.05 });
    expect(new WorkBudget({ perFrame: 0.35 }).capacity).toBeCloseTo(0.35 * SAVED_FRAMES);
    expect(new WorkBudget({ perFrame: 0.01 }).capacity).toBe(1);
    for (let i = 0; i < 10; i++) b.accrue();
    expect(b.tokens).toBeCloseTo(1.05);
    b.spend(1);
    b.spend(1);
    expect(b.tokens).toBeCloseTo(-0.95);
    expect(b.meanSpent).toBeCloseTo(0.2);
    b.reset();
    expect(b.tokens).toBe(0);
  });

  it('refuses a budget outside (0, 1] with a ConfigError naming it', () => {
    for (const bad of [0, -0.1, 1.5, Number.NaN]) expect(() => new WorkBudget({ perFrame: bad })).toThrow(ConfigError);
    expect(() => new WorkBudget({ perFrame: 2 })).toThrow(/budget: must be a fraction/);
  });
});

describe('planWithinBudget', () => {
  it('never plans more than the tokens in the cost model (no tile at its refresh bound)', () => {
    const rand = rng(11);
    for (let trial = 0; trial < 400; trial++) {
      const decisions = tiles.map(() => (rand() < 0.3 ? want(rand() * 0.6, rand() < 0.2 ? 'refresh' : 'change') : skip()));
      const tokens = rand() * 1.2;
      const p = planWithinBudget(input(decisions, tokens));
      expect(p.cost).toBeLessThanOrEqual(tokens + 1e-9);
      expect(p.cost).toBeCloseTo(cost(p.levels), 9);
    }
  });

  it('takes tiles in importance order: a tile passed over did not fit beside the more important ones taken', () => {
    const rand = rng(12);
    for (let trial = 0; trial < 300; trial++) {
      const decisions = tiles.map(() => (rand() < 0.35 ? want(rand() * 0.5) : skip()));
      const tokens = 0.2 + rand() * 0.6;
      const p = planWithinBudget(input(decisions, tokens));
      if (p.choice !== 'windows') continue;
      const order = importanceOrder(decisions, new Set());
      const taken = new Set(order.filter((i) => p.levels[i]! < 1));
      const before: number[] = [];
      for (const i of order) {
        if (taken.has(i)) before.push(i);
        else {
          // Passed over: with the tiles taken before it, it would have cost more than the tokens.
          const trialLevels = Array<number>(16).fill(1);
          for (const j of [...before, i]) trialLevels[j] = 0;
          expect(cost(trialLevels)).toBeGreaterThan(tokens);
        }
      }
    }
  });

  it('orders tiles at their bound first, then by importance (least safe to skip first), the refresh quota last', () => {
    const d = tiles.map(skip);
    d[3] = want(0.4, 'change');
    d[7] = want(0.1, 'track');
    d[9] = want(0.8, 'refresh');
    d[12] = want(0.9, 'refresh');
    expect(importanceOrder(d, new Set([12]))).toEqual([12, 7, 3, 9]);
  });

  it('buys the whole frame when most tiles want computing and the tokens allow, and saves up for it otherwise', () => {
    const busy = tiles.map((_, i) => (i % 4 === 3 ? skip() : want(0.1)));
    const rich = planWithinBudget(input(busy, 1.02));
    expect(rich).toMatchObject({ choice: 'whole-busy', cost: 1, levels: WHOLE });
    const poor = planWithinBudget(input(busy, 0.7));
    expect(poor.choice).toBe('hold');
    expect(poor.levels.every((l) => l === 1)).toBe(true);
    expect(poor.wantedCost).toBeGreaterThanOrEqual(0.6);
  });

  it('spends tokens that would overflow the bucket on the whole frame', () => {
    const quiet = tiles.map(skip);
    expect(planWithinBudget(input(quiet, 0.5)).choice).toBe('idle');
    expect(planWithinBudget(input(quiet, 1.05))).toMatchObject({ choice: 'whole-spare', cost: 1 });
  });

  it('runs a tile at its refresh bound whatever the tokens (the bucket overdraws)', () => {
    const d = tiles.map(skip);
    d[5] = want(0.9, 'refresh');
    const p = planWithinBudget(input(d, 0, [5]));
    expect(p.choice).toBe('windows');
    expect(p.levels[5]).toBe(0);
    expect(p.levels.filter((l) => l < 1)).toHaveLength(1);
    expect(p.cost).toBeGreaterThan(0);
  });

  it('keeps every tile within the refresh bound under a small budget, paying for it from the bucket', () => {
    for (const seed of [1, 2, 3]) {
      const rand = rng(seed);
      const bound = 8;
      const refresh = new RefreshScheduler({ everyFrames: bound, everyMs: 1e9 });
      const budget = new WorkBudget({ perFrame: 0.1 });
      const last = Array<number>(16).fill(-1);
      let worst = 0;
      for (let f = 0; f < 600; f++) {
        const due = refresh.due(f * 40, 16);
        // A few tiles busy now and then; the rest idle, so refresh is what reaches them.
        const decisions = tiles.map((_, i) => (due.has(i) ? want(0.7, 'refresh') : rand() < 0.04 ? want(0.2, 'change') : skip()));
        budget.accrue();
        const p = planWithinBudget({ decisions, must: refresh.mustRun, tokens: budget.tokens, cost, wholeLevel: 0, spareAbove: budget.capacity - budget.perFrame });
        // The stagger's quota is bought only with spare tokens; a tile at its bound always runs.
        for (const i of refresh.mustRun) expect(p.levels[i]).toBe(0);
        budget.spend(p.cost);
        p.levels.forEach((l, i) => {
          if (l >= 1) return;
          if (last[i]! >= 0) worst = Math.max(worst, f - last[i]!);
          last[i] = f;
          refresh.computed(i, f * 40);
        });
      }
      expect(worst).toBeLessThanOrEqual(bound);
      expect(refresh.stats.overdue).toBe(0);
      // The bound costs about a whole frame per bound (tiles due together run in the frame,
      // the cheapest way to compute them on the windowed path); the budget pays the rest.
      expect(budget.meanSpent).toBeLessThan(1 / bound + 0.1 + 0.05);
    }
  });
});
