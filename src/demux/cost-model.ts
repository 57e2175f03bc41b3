/**
 * Latency predictor for one (grid, input size): linear in what the ARAC
 * executor actually does with a plan (src/detect/executor.ts):
 *
 *   ms = sum_levels tiles_at_level * perTile[level]   (batched split call)
 *      + sum_levels mergedAt[level]                   (all tiles at one level:
 *                                                       one frame window, no halo)
 *      + calls * perCall                               (one call per distinct level)
 *      + fixed                                         (the rest of the network, stitching)
 *
 * For the windowed path (option `windowed`) the per-tile term is instead the
 * area of the windows the executor would run at that level, as a share of
 * the frame (window planning is shared with the executor: planWindowed).
 *
 * Batched windows are padded to one size, so a tile's cost does not depend
 * on which tile it is: counts per level are enough. When every tile shares
 * a level the executor merges them into one frame window (at level 0 that is
 * the unsplit model), which is cheaper than the tile sum, hence its own term.
 *
 * Online: `observe` keeps an exponentially weighted log-ratio of measured to
 * predicted time (a global slowdown, such as another process or a hotter
 * chip, shows up within a few frames), and refits the coefficients on a
 * window of recent samples every `refitEvery` observations, with ridge toward
 * the current coefficients, so that a change in one part (only the rest got
 * slower) is learned too without forgetting what recent plans did not touch.
 */
import type { TilePlan } from '../arac/plan.js';
import type { Tile } from '../arac/geometry.js';
import { area, batchesBySize, isFrame, planWindowed, type WindowGeometry } from '../arac/windows.js';
import { InputError } from '../core/errors.js';
import { checkLevels } from '../importance/levels.js';
import { ridgeFit } from './least-squares.js';

export interface CostCoefficients {
  /** ms per tile per compute level (same order as `levels`). */
  perTile: number[];
  /** ms of a merged frame window per compute level. */
  merged: number[];
  perCall: number;
  fixed: number;
}

export interface CostSample {
  levels: readonly number[];
  ms: number;
}

export interface CostModelOptions {
  /** Available compute levels, sorted. */
  levels: readonly number[];
  tileCount: number;
  /** Mirror the executor's merge of uniform plans. Default true. */
  mergeUniform?: boolean;
  /**
   * Price windowed plans (TilePlan.path 'windowed') instead: per level, the
   * area of the windows the executor would run, as a fraction of the frame,
   * takes the place of the tile count; a plan the executor runs as the
   * unsplit frame is the level's `merged` term; calls count batches (two for
   * a sliced level: front, then rest).
   */
  windowed?: { tiles: readonly Tile[]; geometry: WindowGeometry };
  coefficients?: CostCoefficients;
  /** Learning rate of the online scale. Default 0.2. */
  alpha?: number;
  /** Refit on the recent window after this many observations; 0 = never. Default 64. */
  refitEvery?: number;
  /** Recent samples kept for refits. Default 256. */
  window?: number;
  /** Ridge strength for fits (see ridgeFit). Default 1e-3. */
  ridge?: number;
}

export interface FitReport {
  samples: number;
  /** Root mean square error, ms. */
  rmseMs: number;
  /** Mean absolute error relative to the measured time. */
  mape: number;
}

/** Largest deviation one observation may pull the online scale toward: a GC pause is not a new device. */
const MAX_LOG_DEV = Math.log(3);

export class CostModel {
  readonly levels: readonly number[];
  readonly tileCount: number;
  private readonly m: number;
  private readonly mergeUniform: boolean;
  private readonly windowed: CostModelOptions['windowed'];
  private readonly levelIndex: Map<number, number>;
  private readonly alpha: number;
  private readonly refitEvery: number;
  private readonly windowSize: number;
  private readonly ridge: number;
  private theta: Float64Array;
  private logScale = 0;
  private recent: CostSample[] = [];
  private sinceRefit = 0;
  private readonly scratch: Float64Array;
  private readonly counts: Float64Array;

  constructor(o: CostModelOptions) {
    this.levels = checkLevels(o.levels, 'cost model levels');
    if (!(Number.isInteger(o.tileCount) && o.tileCount >= 1)) throw new InputError(`cost model: tile count must be a positive integer, got ${o.tileCount}`);
    this.tileCount = o.tileCount;
    this.m = this.levels.length;
    this.mergeUniform = o.mergeUniform ?? true;
    this.windowed = o.windowed;
    this.levelIndex = new Map(this.levels.map((l, i) => [l, i]));
    this.alpha = o.alpha ?? 0.2;
    this.refitEvery = o.refitEvery ?? 64;
    this.windowSize = o.window ?? 256;
    this.ridge = o.ridge ?? 1e-3;
    this.scratch = new Float64Array(this.dims);
    this.counts = new Float64Array(this.m);
    this.theta = new Float64Array(this.dims);
    if (o.coefficients) this.coefficients = o.coefficients;
  }

  /** Number of coefficients. */
  get dims(): number {
    return 2 * this.m + 2;
  }

  get coefficients(): CostCoefficients {
    const t = this.theta;
    const m = this.m;
    return { perTile: Array.from(t.subarray(0, m)), merged: Array.from(t.subarray(m, 2 * m)), perCall: t[2 * m]!, fixed: t[2 * m + 1]! };
  }

  set coefficients(c: CostCoefficients) {
    if (c.perTile.length !== this.m || c.merged.length !== this.m) throw new InputError(`cost model: coefficients need ${this.m} per-level values`);
    const all = [...c.perTile, ...c.merged, c.perCall, c.fixed];
    if (!all.every((v) => Number.isFinite(v) && v >= 0)) throw new InputError('cost model: coefficients must be finite and >= 0');
    this.theta = Float64Array.from(all);
    this.logScale = 0;
  }

  /** Online correction factor applied on top of the coefficients (1 = none). */
  get scale(): number {
    return Math.exp(this.logScale);
  }

  /** Feature vector of a plan's levels (into `out`, a fresh array by default). */
  features(levels: readonly number[], out: Float64Array = new Float64Array(this.dims)): Float64Array {
    if (levels.length !== this.tileCount) throw new InputError(`cost model: plan has ${levels.length} levels for ${this.tileCount} tiles`);
    if (this.windowed) return this.windowFeatures(levels, this.windowed.tiles, this.windowed.geometry, out);
    const m = this.m;
    const counts = this.counts;
    counts.fill(0);
    out.fill(0);
    for (let i = 0; i < levels.length; i++) {
      const l = levels[i]!;
      if (l >= 1) continue;
      const j = this.levelIndex.get(l);
      if (j === undefined) throw new InputError(`cost model: tile ${i} has level ${l}, not one of ${this.levels.join(', ')} or 1`);
      counts[j] = counts[j]! + 1;
    }
    let calls = 0;
    for (let j = 0; j < m; j++) {
      const c = counts[j]!;
      if (c === 0) continue;
      calls++;
      if (this.mergeUniform && c === this.tileCount) out[m + j] = 1;
      else out[j] = c;
    }
    out[2 * m] = calls;
    out[2 * m + 1] = 1;
    return out;
  }

  /**
   * Window planning is the costly part of a prediction (a greedy pairwise
   * merge), and DEMUX asks about the same few plans frame after frame:
   * features are memoised per plan.
   */
  private readonly windowMemo = new Map<string, Float64Array>();

  private windowFeatures(levels: readonly number[], tiles: readonly Tile[], g: WindowGeometry, out: Float64Array): Float64Array {
    const key = levels.join(',');
    const hit = this.windowMemo.get(key);
    if (hit) {
      out.set(hit);
      return out;
    }
    this.planWindowFeatures(levels, tiles, g, out);
    if (this.windowMemo.size >= 4096) this.windowMemo.clear();
    this.windowMemo.set(key, Float64Array.from(out));
    return out;
  }

  private planWindowFeatures(levels: readonly number[], tiles: readonly Tile[], g: WindowGeometry, out: Float64Array): Float64Array {
    const m = this.m;
    out.fill(0);
    out[2 * m + 1] = 1;
    const frameArea = g.width * g.height;
    let calls = 0;
    for (const p of planWindowed(levels, tiles, g)) {
      const j = this.levelIndex.get(p.level);
      if (j === undefined) throw new InputError(`cost model: level ${p.level} is not one of ${this.levels.join(', ')} or 1`);
      if (p.level === 0 && p.windows.some((w) => isFrame(w.rect, g.width, g.height))) {
        // The executor runs the unsplit model on the frame and nothing else.
        out.fill(0);
        out[m + j] = 1;
        out[2 * m] = 1;
        out[2 * m + 1] = 1;
        return out;
      }
      calls += batchesBySize(p.windows).length * (p.level === 0 ? 1 : 2);
      for (const w of p.windows) out[j] = out[j]! + area(w.rect) / frameArea;
    }
    out[2 * m] = calls;
    return out;
  }

  /** Predicted ms before the online scale. */
  predictBase(plan: TilePlan | readonly number[]): number {
    const x = this.features(levelsOf(plan), this.scratch);
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i]! * this.theta[i]!;
    return s;
  }

  predict(plan: TilePlan | readonly number[]): number {
    return this.predictBase(plan) * this.scale;
  }

  /** Least-squares fit from scratch (ridge toward `prior`, default the current coefficients). */
  fit(samples: readonly CostSample[], prior?: CostCoefficients): FitReport {
    const good = samples.filter((s) => Number.isFinite(s.ms) && s.ms >= 0);
    if (good.length === 0) throw new InputError('cost model: no usable samples to fit');
    const rows = good.map((s) => this.features(s.levels));
    const p = prior ? [...prior.perTile, ...prior.merged, prior.perCall, prior.fixed] : Array.from(this.theta);
    this.theta = ridgeFit(rows, good.map((s) => s.ms), this.dims, { ridge: this.ridge, prior: p, nonNegative: true });
    this.logScale = 0;
    return this.report(good);
  }

  /** Error of the current model (scale included) on samples. */
  report(samples: readonly CostSample[]): FitReport {
    let se = 0;
    let ape = 0;
    for (const s of samples) {
      const e = this.predict(s.levels) - s.ms;
      se += e * e;
      ape += s.ms > 0 ? Math.abs(e) / s.ms : 0;
    }
    const n = Math.max(1, samples.length);
    return { samples: samples.length, rmseMs: Math.sqrt(se / n), mape: ape / n };
  }

  /** One measured execution of a plan. Non-finite or negative times are ignored. */
  observe(plan: TilePlan | readonly number[], measuredMs: number): void {
    if (!(Number.isFinite(measuredMs) && measuredMs >= 0)) return;
    const levels = [...levelsOf(plan)];
    this.updateScale(this.predictBase(levels), measuredMs);
    this.recent.push({ levels, ms: measuredMs });
    if (this.recent.length > this.windowSize) this.recent.shift();
    if (this.refitEvery > 0 && ++this.sinceRefit >= this.refitEvery) this.refit();
  }

  /**
   * Refit on the recent window, pulled toward the current (scaled)
   * coefficients, then replay the window through the online scale so it
   * describes the newest samples relative to the new coefficients.
   */
  refit(): void {
    this.sinceRefit = 0;
    if (this.recent.length === 0) return;
    const s = this.scale;
    const prior = Array.from(this.theta, (v) => v * s);
    const rows = this.recent.map((r) => this.features(r.levels));
    this.theta = ridgeFit(rows, this.recent.map((r) => r.ms), this.dims, { ridge: Math.max(this.ridge, 0.05), prior, nonNegative: true });
    this.logScale = 0;
    for (const r of this.recent) this.updateScale(this.predictBase(r.levels), r.ms);
  }

  private updateScale(base: number, measured: number): void {
    if (!(base > 0) || !(measured > 0)) return;
    const dev = Math.log(measured / base) - this.logScale;
    this.logScale += this.alpha * Math.max(-MAX_LOG_DEV, Math.min(MAX_LOG_DEV, dev));
  }
}

function levelsOf(plan: TilePlan | readonly number[]): readonly number[] {
  return 'levels' in plan ? plan.levels : plan;
}

/**
 * A rough prior before calibration, from the unsplit model's time: the front
 * is `frontShare` of it, a tile at level c costs (1-c)^2 of its share times
 * `haloFactor` (halo windows are larger than tiles), a merged window none.
 * Calibration replaces it within seconds; it only has to be the right order.
 */
export function priorFromFullCost(fullMs: number, levels: readonly number[], tileCount: number, o: { frontShare?: number; haloFactor?: number; perCallMs?: number } = {}): CostCoefficients {
  const front = fullMs * (o.frontShare ?? 0.5);
  const halo = o.haloFactor ?? 2.5;
  const work = levels.map((c) => (1 - c) ** 2);
  return {
    perTile: work.map((w) => (front * w * halo) / tileCount),
    merged: work.map((w) => front * w),
    perCall: o.perCallMs ?? 0.5,
    fixed: fullMs - front,
  };
}

/**
 * A rough prior for windowed plans from the unsplit model's time: a window
 * costs its share of the frame's area, the front part of it slimmed by the
 * level ((1-c)^2 of the front's share), a call about half a millisecond.
 */
export function priorWindowed(fullMs: number, levels: readonly number[], o: { frontShare?: number; perCallMs?: number } = {}): CostCoefficients {
  const front = o.frontShare ?? 0.32;
  const perArea = levels.map((c) => fullMs * (front * (1 - c) ** 2 + (1 - front)));
  return { perTile: perArea, merged: levels.map((c, j) => (c === 0 ? fullMs : (perArea[j] as number))), perCall: o.perCallMs ?? 0.5, fixed: 0 };
}
