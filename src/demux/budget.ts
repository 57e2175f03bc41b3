/**
 * The work budget (`arac:budget=B`, config `model.budget`): a camera's
 * detector cost as a fraction of the unsplit model's on the same input,
 * the unit of the bench's latency_ratio_vs_full. DEMUX spends it over
 * frames, not per frame: a token bucket gains B each frame and pays what
 * each frame's plan costs (in whole frames: predicted or measured ms over
 * the whole frame's ms), so the long-run mean stays at B while one frame
 * may run whole and the next ones hold the tracker's boxes.
 *
 * Why over frames. On this executor a tile's context window costs about a
 * third of the frame at 512 px (the halo is as wide as the tile), so a
 * per-frame cap of 0.35 buys one tile a frame, which loses to running the
 * whole frame every third frame wherever more than one tile moves. A
 * bucket lets the plan take whichever is the better buy on each frame
 * (`planWithinBudget`): windows for a few needy tiles, the whole frame when
 * the needy tiles cost nearly as much, nothing (held boxes) while saving up.
 *
 * The refresh bound is a promise the budget pays for: tiles at their bound
 * run whatever the tokens (`must`), and the bucket goes into debt that the
 * following frames repay. On the windowed path tiles reach their bound
 * together and run as the whole frame, about 1/16 of a frame per frame at
 * the default bound; the stagger's quota, when a strategy staggers, is
 * bought only with tokens to spare.
 *
 * This is a different thing from a frame's budgetMs (its deadline, or the
 * camera's fair share of a shared device, in ms): that cap still applies to
 * each frame's plan after this one, and the smaller of the two wins.
 *
 * Pure (no clocks, no I/O): the strategy feeds costs in, tests drive it.
 */
import { ConfigError, InputError } from '../core/errors.js';
import type { TileDecision } from '../importance/importance.js';
import { SKIP } from '../importance/levels.js';

/** Checks a budget wherever it is written; `key` names it in the error (model.budget, --strategy). */
export function checkBudget(budget: number, key: string): number {
  if (!(Number.isFinite(budget) && budget > 0 && budget <= 1)) throw new ConfigError(key, `must be a fraction of the unsplit model's cost in (0, 1], got ${budget}`);
  return budget;
}

export interface WorkBudgetOptions {
  /** Cost per frame the camera may spend on average, in whole frames (0 < B <= 1). */
  perFrame: number;
  /** Most tokens kept, in whole frames. Default max(1, SAVED_FRAMES x B). */
  capacity?: number;
}

/**
 * How many frames' budget a quiet spell may save for a busy one (the
 * bucket's default capacity, at least one whole frame). A camera spends B a
 * frame on average, but where it spends it matters: a person crossing an
 * indoor camera needs most of the frame for a second and nothing for the
 * next ten. With three frames' worth, the one-by-one clip scored F1 0.91 at
 * B = 0.35 (0.31 spent); with 30, 0.993 (0.32 spent), as the unbudgeted
 * arac does at 0.21; busy clips, which never save, did not change (bench,
 * docs/results/perf/). A burst is still capped frame by frame by the
 * deadline and the camera's fair share of a shared device.
 */
export const SAVED_FRAMES = 30;

/** A token bucket in whole-frame units (see the module comment). */
export class WorkBudget {
  readonly perFrame: number;
  readonly capacity: number;
  private level = 0;
  private spentTotal = 0;
  private frames = 0;

  constructor(o: WorkBudgetOptions) {
    this.perFrame = checkBudget(o.perFrame, 'budget');
    this.capacity = o.capacity ?? Math.max(1, SAVED_FRAMES * o.perFrame);
    if (!(this.capacity >= this.perFrame)) throw new InputError(`work budget: capacity ${this.capacity} is below the per-frame budget ${this.perFrame}`);
  }

  /** Tokens available now, whole frames (negative while forced work is being paid back). */
  get tokens(): number {
    return this.level;
  }

  /** Mean cost per frame so far, whole frames. */
  get meanSpent(): number {
    return this.frames ? this.spentTotal / this.frames : 0;
  }

  /** A new frame: B more tokens, up to the capacity. */
  accrue(): number {
    this.frames++;
    this.level = Math.min(this.capacity, this.level + this.perFrame);
    return this.level;
  }

  /** Pays a frame's cost (whole frames). Forced work (start-up, a refresh at its bound) may overdraw. */
  spend(cost: number): void {
    if (!(Number.isFinite(cost) && cost >= 0)) return;
    this.level -= cost;
    this.spentTotal += cost;
  }

  reset(): void {
    this.level = 0;
    this.spentTotal = 0;
    this.frames = 0;
  }
}

export interface BudgetInput {
  /** Importance's decision per tile: level < 1 wants the tile computed. */
  decisions: readonly TileDecision[];
  /** Tiles at their refresh bound: computed whatever the tokens (the bound is a promise). */
  must: ReadonlySet<number>;
  /** Tokens available for this frame, whole frames (WorkBudget.tokens after accrue). */
  tokens: number;
  /** Cost of a plan, in whole frames (DEMUX's cost model over its price of the whole frame). */
  cost: (levels: readonly number[]) => number;
  /** The whole frame's level (the widest compute level, 0). */
  wholeLevel: number;
  /**
   * When the tiles importance wants would cost at least this share of the
   * whole frame, the frame is the better buy (exact, every tile refreshed):
   * it runs whole when the tokens allow, and holds until then. Default 0.6.
   */
  wholeAt?: number;
  /** Tokens above this after the plan would be wasted (the bucket is full): the frame runs whole instead (WorkBudget's capacity - B). */
  spareAbove: number;
}

export type BudgetChoice = 'windows' | 'whole-busy' | 'whole-spare' | 'hold' | 'idle';

export interface BudgetPlan {
  levels: number[];
  /** Cost of `levels`, whole frames (0 when nothing runs). */
  cost: number;
  choice: BudgetChoice;
  /** What importance's own plan would have cost (the camera's demand). */
  wantedCost: number;
}

export const DEFAULT_WHOLE_AT = 0.6;

/**
 * A tile wanted only by the refresh stagger's quota (not at its bound): it
 * may wait for a frame with tokens to spare, and it does not make a frame
 * busy.
 */
function optional(d: TileDecision, i: number, must: ReadonlySet<number>): boolean {
  return d.reason === 'refresh' && !must.has(i);
}

/**
 * The most important tiles first: at their refresh bound, then what
 * importance asks for by its confidence that skipping is safe (lowest
 * first), then the refresh quota, then by index. Pure.
 */
export function importanceOrder(decisions: readonly TileDecision[], must: ReadonlySet<number>): number[] {
  const idx: number[] = [];
  decisions.forEach((d, i) => {
    if (d.level < SKIP || must.has(i)) idx.push(i);
  });
  const rank = (i: number) => (must.has(i) ? 0 : optional(decisions[i]!, i, must) ? 2 : 1);
  return idx.sort((a, b) => rank(a) - rank(b) || decisions[a]!.confidence - decisions[b]!.confidence || decisions[a]!.level - decisions[b]!.level || a - b);
}

/**
 * One frame's plan under the budget (see the module comment). The plan
 * never costs more than the tokens, except for tiles at their refresh bound
 * (`must`), which run whatever the tokens and overdraw the bucket. Tiles
 * are taken in importance order; one that does not fit is passed over and
 * the next, possibly cheaper (a neighbour widening a window by one tile
 * costs less than a lone tile with its halo), is tried.
 */
export function planWithinBudget(input: BudgetInput): BudgetPlan {
  const { decisions, must, tokens, cost, wholeLevel } = input;
  const n = decisions.length;
  const whole = Array<number>(n).fill(wholeLevel);
  const none = Array<number>(n).fill(SKIP);
  const wantedLevels = decisions.map((d, i) => (must.has(i) ? Math.min(d.level, wholeLevel) : d.level));
  // What the scene asks for, the refresh quota aside (a quota tile is worth its price only when spare).
  const needLevels = wantedLevels.map((l, i) => (optional(decisions[i]!, i, must) ? SKIP : l));
  const wanting = needLevels.some((l) => l < SKIP);
  const wantedCost = wanting ? Math.min(1, cost(needLevels)) : 0;
  const wholeAt = input.wholeAt ?? DEFAULT_WHOLE_AT;
  const canWhole = tokens >= 1;
  // Busy: the frame is the better buy. Run it when the tokens allow; meanwhile save up, running
  // only what the refresh bound forces.
  const saving = wanting && wantedCost >= wholeAt;
  if (saving && canWhole) return { levels: whole, cost: 1, choice: 'whole-busy', wantedCost };

  const levels = [...none];
  let spent = 0;
  for (const i of importanceOrder(decisions, must)) {
    if (saving && !must.has(i)) continue;
    levels[i] = wantedLevels[i]!;
    const c = cost(levels);
    if (c > tokens && !must.has(i)) {
      levels[i] = SKIP;
      continue;
    }
    spent = c;
  }
  const computes = levels.some((l) => l < SKIP);
  if (canWhole && (spent >= 1 || tokens - spent > input.spareAbove)) {
    // Windows adding up to the frame, or tokens about to overflow the bucket: the frame (exact).
    return { levels: whole, cost: 1, choice: spent >= 1 ? 'whole-busy' : 'whole-spare', wantedCost };
  }
  if (!computes) return { levels, cost: 0, choice: wanting ? 'hold' : 'idle', wantedCost };
  return { levels, cost: spent, choice: 'windows', wantedCost };
}
