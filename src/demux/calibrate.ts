/**
 * Calibration: time a handful of plans that pull the cost model's terms
 * apart, then fit. The runner is injected (the inference pool in the
 * service, a synthetic device in tests), so this file neither knows nor
 * cares what executes a plan.
 *
 * Plans: all-skip (only the rest runs: the fixed term), each level merged
 * (one frame window), each level at 1, n/4, n/2, 3n/4 and n-1 random tiles
 * (the per-tile slope; random so that no tile position is favoured), and
 * pairs of levels in one frame (separates per-call overhead from per-tile
 * cost). Rounds are interleaved so a drifting device affects every plan
 * alike; each plan's median over rounds is one sample, so one slow call (a
 * GC pause, a first-run allocation) does not bend the fit.
 */
import type { Grid } from '../arac/geometry.js';
import type { TilePlan } from '../arac/plan.js';
import { errorMessage, InputError } from '../core/errors.js';
import { checkLevels, SKIP } from '../importance/levels.js';
import { CostModel, type CostCoefficients, type CostModelOptions, type CostSample, type FitReport } from './cost-model.js';

export interface CalibrateOptions {
  grid: Grid;
  /** Available compute levels, sorted. */
  levels: readonly number[];
  mergeUniform?: boolean;
  /** Timed rounds over the plan set. Default 3. */
  repeats?: number;
  /** Untimed runs first (session warm-up). Default 2. */
  warmup?: number;
  /** Stop starting new runs after this long (the rounds already done are kept). Default 4000 ms. */
  maxMs?: number;
  /** Coefficients the fit is pulled toward where samples say little. Default zeros. */
  prior?: CostCoefficients;
  /** Price windowed plans (CostModelOptions.windowed); the plans run with path 'windowed'. */
  windowed?: CostModelOptions['windowed'];
  random?: () => number;
  now?: () => number;
}

export interface CalibrationResult {
  model: CostModel;
  samples: CostSample[];
  report: FitReport;
  runs: number;
  elapsedMs: number;
}

function pick(n: number, k: number, random: () => number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (n - i));
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  return idx.slice(0, k);
}

/** The plan set described above, as per-tile level arrays. Pure given `random`. */
export function calibrationPlans(tileCount: number, levels: readonly number[], random: () => number): number[][] {
  const n = tileCount;
  const plans: number[][] = [Array<number>(n).fill(SKIP)];
  for (const l of levels) plans.push(Array<number>(n).fill(l));
  const ks = [...new Set([1, Math.ceil(n / 4), Math.ceil(n / 2), Math.ceil((3 * n) / 4), n - 1])].filter((k) => k >= 1 && k < n);
  for (const l of levels) {
    for (const k of ks) {
      const p = Array<number>(n).fill(SKIP);
      for (const i of pick(n, k, random)) p[i] = l;
      plans.push(p);
    }
  }
  for (let a = 0; a < levels.length; a++) {
    for (let b = a + 1; b < levels.length; b++) {
      const la = levels[a]!;
      const lb = levels[b]!;
      const order = pick(n, n, random);
      const quarter = Math.max(1, Math.floor(n / 4));
      const sparse = Array<number>(n).fill(SKIP);
      order.slice(0, quarter).forEach((i) => (sparse[i] = la));
      order.slice(quarter, 2 * quarter).forEach((i) => (sparse[i] = lb));
      plans.push(sparse);
      const dense = Array<number>(n).fill(lb);
      order.slice(0, Math.ceil(n / 2)).forEach((i) => (dense[i] = la));
      plans.push(dense);
    }
  }
  return plans;
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};

export async function calibrate(runPlan: (plan: TilePlan) => Promise<number>, o: CalibrateOptions): Promise<CalibrationResult> {
  const levels = checkLevels(o.levels, 'calibrate levels');
  const n = o.grid.cols * o.grid.rows;
  if (!(Number.isInteger(n) && n >= 1)) throw new InputError(`calibrate: bad grid ${o.grid.cols}x${o.grid.rows}`);
  const now = o.now ?? (() => performance.now());
  const random = o.random ?? Math.random;
  const maxMs = o.maxMs ?? 4000;
  const plans = calibrationPlans(n, levels, random);
  const start = now();
  const run = async (levelsOfPlan: number[]) => runPlan({ grid: o.grid, levels: levelsOfPlan, ...(o.windowed ? { path: 'windowed' as const } : {}) });

  for (let i = 0; i < (o.warmup ?? 2); i++) await run(plans[(1 + i) % plans.length]!);
  const times: number[][] = plans.map(() => []);
  let runs = 0;
  outer: for (let r = 0; r < (o.repeats ?? 3); r++) {
    for (let i = 0; i < plans.length; i++) {
      if (now() - start > maxMs) break outer;
      const ms = await run(plans[i]!);
      runs++;
      if (Number.isFinite(ms) && ms >= 0) times[i]!.push(ms);
    }
  }
  const samples: CostSample[] = plans.flatMap((levelsOfPlan, i) => (times[i]!.length > 0 ? [{ levels: levelsOfPlan, ms: median(times[i]!) }] : []));
  if (samples.length === 0) throw new InputError(`calibrate: no plan finished within ${maxMs} ms`);
  const model = new CostModel({ levels, tileCount: n, mergeUniform: o.mergeUniform ?? true, ...(o.windowed ? { windowed: o.windowed } : {}) });
  const report = model.fit(samples, o.prior);
  return { model, samples, report, runs, elapsedMs: now() - start };
}

/**
 * Start-up calibration shared by the cameras of one machine: the first
 * camera to need a (grid, input size, path) runs `calibrate` on its first
 * frame; cameras of the same shape wait for that run instead of timing the
 * device at once (they would only slow each other down and fit noise).
 * Each camera then builds its own CostModel from the coefficients, since the
 * online correction is per camera. A failed calibration is remembered as
 * failed (callers fall back to their prior): retrying every frame would
 * stall the camera.
 */
export class CalibrationCache {
  private readonly runs = new Map<string, Promise<CostCoefficients | undefined>>();
  private readonly reports = new Map<string, FitReport & { elapsedMs: number; runs: number; error?: string }>();

  constructor(private readonly onDone?: (key: string, r: { report?: FitReport; elapsedMs?: number; runs?: number; error?: string }) => void) {}

  static key(grid: Grid, width: number, height: number, variant = ''): string {
    return `${grid.cols}x${grid.rows}@${width}x${height}${variant ? `/${variant}` : ''}`;
  }

  /** The coefficients for `key`, calibrating with `run` the first time; undefined when that failed. */
  coefficients(key: string, run: () => Promise<CalibrationResult>): Promise<CostCoefficients | undefined> {
    let p = this.runs.get(key);
    if (!p) {
      p = run().then(
        (r) => {
          this.reports.set(key, { ...r.report, elapsedMs: r.elapsedMs, runs: r.runs });
          this.onDone?.(key, { report: r.report, elapsedMs: r.elapsedMs, runs: r.runs });
          return r.model.coefficients;
        },
        (err: unknown) => {
          const error = errorMessage(err);
          this.reports.set(key, { samples: 0, rmseMs: NaN, mape: NaN, elapsedMs: 0, runs: 0, error });
          this.onDone?.(key, { error });
          return undefined;
        },
      );
      this.runs.set(key, p);
    }
    return p;
  }

  /** What each finished calibration measured (for /api/stats). */
  get done(): ReadonlyMap<string, FitReport & { elapsedMs: number; runs: number; error?: string }> {
    return this.reports;
  }
}
