/**
 * DEMUX per-frame controller: importance proposes a level per tile; if the
 * cost model says the plan misses the frame's budget, tiles are raised
 * (made cheaper, toward skip) in steps until it fits.
 *
 * The paper's rule: tiles whose controller confidence is below 0.5 are raised
 * one level at a time, lowest confidence first, 2/4/5 tiles per step for
 * 2x2/3x3/4x4. Its confidence is the CNN's belief in the level it proposed,
 * so a low value means "this tile's level is a guess": changing it costs
 * the least expected accuracy. Our importance reports the opposite quantity,
 * how safe a cheaper level is, so the same idea reads: raise the highest
 * confidence first (idle-refresh > light motion > grazed track > covered
 * track, by construction of the bands in importance.ts). The paper stops at
 * its 0.5 line and gives up; a live camera must still deliver, so we go on
 * down the order and drop the frame only when nothing is left to raise.
 *
 * Each step raises `stepSize` tiles by one level (one level at a time, as in
 * the paper). Because our predictor costs microseconds rather than a model
 * run, the last step is then refined: its tiles are given back in reverse
 * order while the plan still fits, so a coarse step does not throw
 * away more tiles than the budget requires.
 *
 * Refresh-forced tiles (`forced`, whatever their reason) are raised only
 * after all others (`protectRefresh`): they carry the refresh rule's
 * staleness bound, and cost about one tile a frame. One level cheaper still
 * refreshes the tile; a forced tile raised to skip stays due, so the
 * scheduler forces it again next frame.
 */
import type { TilePlan } from '../arac/plan.js';
import type { Grid } from '../arac/geometry.js';
import { InputError } from '../core/errors.js';
import type { TileDecision } from '../importance/importance.js';
import { checkLevels, nextLevel, SKIP } from '../importance/levels.js';

export interface CostPredictor {
  predict(levels: readonly number[]): number;
}

export interface ControllerOptions {
  grid: Grid;
  /** Available compute levels, sorted. */
  levels: readonly number[];
  /** Tiles raised per step; default by grid (stepSizeFor). */
  stepSize?: number;
  /** Give back tiles of the fitting step while the plan still fits. Default true. */
  refine?: boolean;
  /** Raise refresh-forced tiles last. Default true. */
  protectRefresh?: boolean;
}

export interface ControlInput {
  decisions: readonly TileDecision[];
  /** Device time this frame may take, ms (min of frameBudget and the fair share). */
  budgetMs: number;
  model: CostPredictor;
}

export interface ControlResult {
  plan: TilePlan;
  /** Predicted cost of `plan`; 0 when no tile is computed (nothing to run). */
  predictedMs: number;
  /** Predicted cost of importance's own plan (the camera's demand, for fair share). */
  wantedMs: number;
  steps: number;
  /** No plan that computes a tile fits: run nothing, publish tracker predictions. */
  dropped: boolean;
  computedTiles: number;
}

export interface ControllerStats {
  frames: number;
  dropped: number;
  /** Frames whose plan had to be raised. */
  stepped: number;
}

const PAPER_STEPS = new Map([[4, 2], [9, 4], [16, 5]]);

/** Tiles per step: the paper's 2/4/5 for 2x2/3x3/4x4, about 1.25 sqrt(n) otherwise. */
export function stepSizeFor(grid: Grid): number {
  const n = grid.cols * grid.rows;
  return PAPER_STEPS.get(n) ?? Math.max(1, Math.round(1.25 * Math.sqrt(n)));
}

/**
 * Time left for this frame: one frame interval from capture, minus what has
 * already elapsed (decode, queueing) and a safety margin. All in one clock.
 */
export function frameBudget(o: { captureMs: number; nowMs: number; intervalMs: number; safetyMs?: number }): number {
  return o.captureMs + o.intervalMs - o.nowMs - (o.safetyMs ?? 2);
}

export class DemuxController {
  private readonly levels: readonly number[];
  private readonly valid: Set<number>;
  private readonly n: number;
  private readonly stepSize: number;
  private readonly refine: boolean;
  private readonly protectRefresh: boolean;
  private counters: ControllerStats = { frames: 0, dropped: 0, stepped: 0 };

  constructor(private readonly o: ControllerOptions) {
    this.levels = checkLevels(o.levels, 'demux levels');
    this.valid = new Set([...this.levels, SKIP]);
    this.n = o.grid.cols * o.grid.rows;
    if (o.stepSize !== undefined && !(Number.isInteger(o.stepSize) && o.stepSize >= 1)) throw new InputError(`demux: step size must be an integer >= 1, got ${o.stepSize}`);
    this.stepSize = o.stepSize ?? stepSizeFor(o.grid);
    this.refine = o.refine ?? true;
    this.protectRefresh = o.protectRefresh ?? true;
  }

  get stats(): Readonly<ControllerStats> {
    return { ...this.counters };
  }

  plan(input: ControlInput): ControlResult {
    const { decisions, model } = input;
    if (decisions.length !== this.n) throw new InputError(`demux: ${decisions.length} decisions for a ${this.o.grid.cols}x${this.o.grid.rows} grid`);
    const levels = decisions.map((d, i) => {
      if (!this.valid.has(d.level)) throw new InputError(`demux: tile ${i} has level ${d.level}, not one of ${this.levels.join(', ')} or 1`);
      return d.level;
    });
    this.counters.frames++;
    let computed = levels.reduce((c, l) => c + (l < SKIP ? 1 : 0), 0);
    const result = (dropped: boolean, predictedMs: number, wantedMs: number, steps: number): ControlResult => {
      if (dropped) this.counters.dropped++;
      if (steps > 0) this.counters.stepped++;
      const planLevels = dropped ? Array<number>(this.n).fill(SKIP) : levels;
      return { plan: { grid: this.o.grid, levels: planLevels }, predictedMs, wantedMs, steps, dropped, computedTiles: dropped ? 0 : computed };
    };
    if (computed === 0) return result(false, 0, 0, 0);
    const budget = input.budgetMs;
    const wanted = model.predict(levels);
    if (wanted <= budget) return result(false, wanted, wanted, 0);
    if (!(budget > 0)) return result(true, 0, wanted, 0);

    const order = this.raiseOrder(decisions);
    let head = 0;
    let steps = 0;
    for (;;) {
      while (head < order.length && levels[order[head]!]! >= SKIP) head++;
      if (head >= order.length) return result(true, 0, wanted, steps);
      // One step: the next `stepSize` raisable tiles in order, each one level cheaper.
      const raised: Array<{ tile: number; from: number }> = [];
      for (let k = head; k < order.length && raised.length < this.stepSize; k++) {
        const t = order[k]!;
        const from = levels[t]!;
        if (from >= SKIP) continue;
        const to = nextLevel(this.levels, from);
        levels[t] = to;
        if (to >= SKIP) computed--;
        raised.push({ tile: t, from });
      }
      steps++;
      // A step that raised the last computed tiles still gets its refinement: the coarse step
      // may have thrown away a plan that fits (a one-tile plan when stepping five at a time).
      if (computed === 0 && !this.refine) return result(true, 0, wanted, steps);
      let cost = computed === 0 ? 0 : model.predict(levels);
      if (computed > 0 && cost > budget) continue;
      if (this.refine) {
        for (let k = raised.length - 1; k >= 0; k--) {
          const { tile, from } = raised[k]!;
          const was = levels[tile]!;
          levels[tile] = from;
          const back = model.predict(levels);
          if (back > budget) {
            // Stop at the first refusal, so the raised tiles stay a prefix of the order.
            levels[tile] = was;
            break;
          }
          cost = back;
          if (was >= SKIP) computed++;
        }
      }
      if (computed === 0) return result(true, 0, wanted, steps);
      return result(false, cost, wanted, steps);
    }
  }

  /** Computed tiles, cheapest to lose first (see the module comment). */
  private raiseOrder(decisions: readonly TileDecision[]): number[] {
    const idx: number[] = [];
    decisions.forEach((d, i) => {
      if (d.level < SKIP) idx.push(i);
    });
    const prot = (d: TileDecision) => (this.protectRefresh && (d.forced === true || d.reason === 'refresh') ? 1 : 0);
    return idx.sort((a, b) => {
      const da = decisions[a]!;
      const db = decisions[b]!;
      return prot(da) - prot(db) || db.confidence - da.confidence || db.level - da.level || a - b;
    });
  }
}
