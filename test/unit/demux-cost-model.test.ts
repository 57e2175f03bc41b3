import { describe, expect, it } from 'vitest';
import type { TilePlan } from '../../src/detect/executor.js';
import { InputError } from '../../src/core/errors.js';
import { calibrate, calibrationPlans } from '../../src/demux/calibrate.js';
import { CostModel, priorFromFullCost, type CostCoefficients } from '../../src/demux/cost-model.js';
import { ridgeFit, solveLinear } from '../../src/demux/least-squares.js';
import { rng } from '../helpers/rng.js';


/** Standard normal from a uniform source (Box-Muller). */
function gauss(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
}

const LEVELS = [0, 0.5];
const TRUE: CostCoefficients = { perTile: [1.6, 0.7], merged: [9, 4], perCall: 1.2, fixed: 6 };

/** A synthetic device: the exact cost of a plan under `coef`, times multiplicative noise. */
function device(coef: CostCoefficients, noise: number, seed: number) {
  const truth = new CostModel({ levels: LEVELS, tileCount: 16, coefficients: coef, refitEvery: 0 });
  const rand = rng(seed);
  return (levels: readonly number[]) => truth.predict(levels) * Math.max(0.2, 1 + noise * gauss(rand));
}

/** A fake device whose runs advance a fake clock by the time they take (calibration's runner and clock). */
function clockedDevice(coef: CostCoefficients, noise: number, seed: number) {
  const run = device(coef, noise, seed);
  let clock = 0;
  return {
    run: async (plan: { levels: readonly number[] }) => {
      const ms = run(plan.levels);
      clock += ms;
      return ms;
    },
    now: () => clock,
  };
}

function randomPlan(rand: () => number, n = 16): number[] {
  const pSkip = rand();
  return Array.from({ length: n }, () => (rand() < pSkip ? 1 : LEVELS[Math.floor(rand() * LEVELS.length)]!));
}

describe('least squares', () => {
  it('solves a small system and fits an exact line', () => {
    const x = solveLinear(Float64Array.from([2, 1, 1, 3]), Float64Array.from([3, 5]), 2)!;
    expect(x[0]).toBeCloseTo(0.8);
    expect(x[1]).toBeCloseTo(1.4);
    expect(solveLinear(Float64Array.from([1, 2, 2, 4]), Float64Array.from([1, 2]), 2)).toBeNull();
    const rows = [0, 1, 2, 3, 4].map((v) => [v, 1]);
    const t = ridgeFit(rows, [1, 3, 5, 7, 9], 2, { ridge: 1e-9 });
    expect(t[0]).toBeCloseTo(2, 5);
    expect(t[1]).toBeCloseTo(1, 5);
  });

  it('clamps coefficients at zero and keeps unexcited ones at the prior', () => {
    // y falls with x: the unconstrained slope is negative.
    const t = ridgeFit([[0, 1], [1, 1], [2, 1]], [5, 4, 3], 2);
    expect(t[0]).toBe(0);
    expect(t[1]).toBeCloseTo(4, 1);
    // The third column is never non-zero: ridge keeps it at its prior.
    const u = ridgeFit([[1, 0, 0], [2, 1, 0]], [1, 3], 3, { prior: [0, 0, 7], ridge: 1e-6 });
    expect(u[2]).toBeCloseTo(7, 6);
  });
});

describe('CostModel', () => {
  it('turns plans into what the executor runs: split tiles, merged windows, calls, fixed', () => {
    const m = new CostModel({ levels: LEVELS, tileCount: 4 });
    expect(Array.from(m.features([0, 0, 0, 0]))).toEqual([0, 0, 1, 0, 1, 1]);
    expect(Array.from(m.features([0, 1, 0.5, 0.5]))).toEqual([1, 2, 0, 0, 2, 1]);
    expect(Array.from(m.features([1, 1, 1, 1]))).toEqual([0, 0, 0, 0, 0, 1]);
    const noMerge = new CostModel({ levels: LEVELS, tileCount: 4, mergeUniform: false });
    expect(Array.from(noMerge.features([0, 0, 0, 0]))).toEqual([4, 0, 0, 0, 1, 1]);
    m.coefficients = { perTile: [2, 1], merged: [5, 3], perCall: 0.5, fixed: 4 };
    const plan: TilePlan = { grid: { cols: 2, rows: 2 }, levels: [0, 1, 0.5, 0.5] };
    expect(m.predict(plan)).toBeCloseTo(2 + 2 + 1 + 4);
    expect(() => m.predict([0, 0.25, 1, 1])).toThrow(InputError);
    expect(() => m.predict([0, 1])).toThrow(/2 levels for 4 tiles/);
    expect(() => (m.coefficients = { perTile: [-1, 1], merged: [1, 1], perCall: 0, fixed: 0 })).toThrow(InputError);
  });

  it('calibrate recovers known coefficients from noisy timings within tolerance', async () => {
    const dev = clockedDevice(TRUE, 0.04, 7);
    const result = await calibrate(dev.run, { grid: { cols: 4, rows: 4 }, levels: LEVELS, repeats: 5, random: rng(3), now: dev.now });
    const c = result.model.coefficients;
    expect(c.perTile[0]).toBeCloseTo(TRUE.perTile[0]!, 0);
    expect(Math.abs(c.perTile[0]! - 1.6)).toBeLessThan(0.15);
    expect(Math.abs(c.perTile[1]! - 0.7)).toBeLessThan(0.15);
    expect(Math.abs(c.merged[0]! - 9)).toBeLessThan(1.5);
    expect(Math.abs(c.merged[1]! - 4)).toBeLessThan(1.5);
    expect(Math.abs(c.fixed - 6)).toBeLessThan(1);
    expect(Math.abs(c.perCall - 1.2)).toBeLessThan(1);
    // What matters to the controller: plans it has never seen are predicted within a few percent.
    const rand = rng(99);
    const exact = device(TRUE, 0, 1);
    let worst = 0;
    for (let i = 0; i < 200; i++) {
      const p = randomPlan(rand);
      worst = Math.max(worst, Math.abs(result.model.predict(p) - exact(p)) / exact(p));
    }
    expect(worst).toBeLessThan(0.08);
    expect(result.report.mape).toBeLessThan(0.05);
    // "A handful of plans in a few seconds" of (fake) device time.
    expect(result.elapsedMs).toBeLessThan(4000 + 60);
  });

  it('calibrate stops starting runs at maxMs and still fits', async () => {
    const dev = clockedDevice(TRUE, 0, 1);
    const result = await calibrate(dev.run, { grid: { cols: 4, rows: 4 }, levels: LEVELS, random: rng(5), now: dev.now, maxMs: 150 });
    expect(result.runs).toBeLessThan(calibrationPlans(16, LEVELS, rng(5)).length * 3);
    expect(result.samples.length).toBeGreaterThan(3);
    let tick = 0;
    await expect(calibrate(async () => 1, { grid: { cols: 2, rows: 2 }, levels: [0], now: () => (tick += 1000), maxMs: 10 })).rejects.toThrow(InputError);
  });

  it('single-level packs calibrate too', async () => {
    const coef: CostCoefficients = { perTile: [1.5], merged: [10], perCall: 0.8, fixed: 7 };
    const truth = new CostModel({ levels: [0], tileCount: 9, coefficients: coef });
    const result = await calibrate(async (p) => truth.predict(p.levels), { grid: { cols: 3, rows: 3 }, levels: [0], random: rng(1) });
    for (const k of [1, 4, 8]) {
      const plan = Array.from({ length: 9 }, (_, i) => (i < k ? 0 : 1));
      expect(result.model.predict(plan)).toBeCloseTo(truth.predict(plan), 1);
    }
    expect(result.model.predict(Array<number>(9).fill(0))).toBeCloseTo(truth.predict(Array<number>(9).fill(0)), 1);
  });

  it('online correction converges after a global step change', () => {
    const m = new CostModel({ levels: LEVELS, tileCount: 16, coefficients: TRUE, refitEvery: 0 });
    const slow = device({ perTile: TRUE.perTile.map((v) => v * 1.6), merged: TRUE.merged.map((v) => v * 1.6), perCall: TRUE.perCall * 1.6, fixed: TRUE.fixed * 1.6 }, 0.03, 11);
    const exactSlow = device({ perTile: TRUE.perTile.map((v) => v * 1.6), merged: TRUE.merged.map((v) => v * 1.6), perCall: TRUE.perCall * 1.6, fixed: TRUE.fixed * 1.6 }, 0, 1);
    const rand = rng(2);
    for (let i = 0; i < 25; i++) {
      const p = randomPlan(rand);
      m.observe(p, slow(p));
    }
    expect(m.scale).toBeGreaterThan(1.5);
    expect(m.scale).toBeLessThan(1.7);
    for (let i = 0; i < 20; i++) {
      const p = randomPlan(rand);
      expect(Math.abs(m.predict(p) - exactSlow(p)) / exactSlow(p)).toBeLessThan(0.06);
    }
  });

  it('refits learn a change in one term that a single scale cannot', () => {
    const changed: CostCoefficients = { ...TRUE, fixed: 18 }; // only the rest got slower
    const m = new CostModel({ levels: LEVELS, tileCount: 16, coefficients: TRUE, refitEvery: 64 });
    const noisy = device(changed, 0.03, 5);
    const exact = device(changed, 0, 1);
    const rand = rng(8);
    for (let i = 0; i < 400; i++) {
      const p = randomPlan(rand);
      m.observe(p, noisy(p));
    }
    let worst = 0;
    for (let i = 0; i < 200; i++) {
      const p = randomPlan(rand);
      worst = Math.max(worst, Math.abs(m.predict(p) - exact(p)) / exact(p));
    }
    expect(worst).toBeLessThan(0.1);
    expect(m.coefficients.fixed * m.scale).toBeGreaterThan(14);
  });

  it('one outlier moves the online scale by a bounded step; bad times are ignored', () => {
    const m = new CostModel({ levels: LEVELS, tileCount: 16, coefficients: TRUE, refitEvery: 0 });
    const p = Array<number>(16).fill(1);
    p[0] = 0;
    m.observe(p, m.predict(p) * 20);
    expect(m.scale).toBeLessThan(1.3);
    m.observe(p, NaN);
    m.observe(p, -5);
    expect(m.scale).toBeLessThan(1.3);
  });

  it('has a usable prior before calibration', () => {
    const m = new CostModel({ levels: [0], tileCount: 16, coefficients: priorFromFullCost(20, [0], 16) });
    // Prior: the whole frame at level 0 costs the unsplit model.
    expect(m.predict(Array<number>(16).fill(0))).toBeCloseTo(20 + 0.5);
  });
});
