/**
 * `arac`: the NeuLens loop on every frame. Tracked objects and motion decide
 * each tile's importance, a refresh schedule revisits every tile within a
 * bound (so objects appearing in skipped tiles are found), and DEMUX fits the
 * plan into the frame's deadline (and the camera's fair share of the
 * device) with a cost model learnt online from the measured inference times.
 * On the default windowed path, tiles left at c = 1 show the detections they
 * showed when last computed (marked stale, so the tracker ignores them).
 *
 * With `learnt` (strategy `arac-cgg`), the pack's learnt compression
 * controller (the paper's CGG, src/importance/cgg.ts) decides tiles in place
 * of the change rule; otherwise the change (or motion) rule does.
 */
import { makeTiles, type Grid, type Tile } from '../arac/geometry.js';
import { forceSkip, maskedTiles, MASKED_REASON, skipMasked, unmaskedDue } from '../arac/mask.js'; // MASK (issue 16)
import { ModelPackError } from '../core/errors.js';
import { clampBox } from '../core/geometry.js';
import type { Box, Detection, Frame } from '../core/types.js';
import { DEFAULT_CALL_FRACTION, DEFAULT_WINDOW_HALO } from '../arac/windows.js';
import { calibrate, CalibrationCache } from '../demux/calibrate.js';
import { CostModel, priorFromFullCost, priorWindowed, type CostCoefficients } from '../demux/cost-model.js';
import { DemuxController, frameBudget, type ControlResult } from '../demux/controller.js';
import { checkBudget, planWithinBudget, WorkBudget, type BudgetChoice } from '../demux/budget.js';
import { tileImportance, type ImportanceOptions, type TileDecision } from '../importance/importance.js';
import { ChangeMap } from '../importance/change.js';
import { cggInput } from '../importance/cgg.js';
import { MotionDetector } from '../importance/motion.js';
import { RefreshScheduler } from '../importance/refresh.js';
import type { TilePlan } from '../arac/plan.js';
import type { DetectorImage, Strategy, StrategyContext, StrategyResult, TilesPlan } from './types.js';

export interface AdaptiveOptions {
  /** The name it reports (its spec's text form, formatSpec); default from path, learnt and grid. */
  name?: string;
  grid: Grid;
  /**
   * Executor path (see TilePlan.path). Default 'windowed': its cost follows
   * the active tiles. 'stitched' is exact but pays the cross-tile rest on
   * every computed frame.
   */
  path: 'windowed' | 'stitched';
  /**
   * Compute levels importance and DEMUX may use; default: [0] on the windowed
   * path (a sliced level there costs a second call and saves only part of
   * the front's third: bench-pack measured 4 tiles at c = 0.5 at 0.63x of
   * the frame against 0.67x at c = 0 with one thread, and far slower with
   * two, as it switches sessions), every level of the pack on the stitched
   * path.
   */
  levels?: readonly number[];
  /** Revisit every tile at least every N frames / T ms. */
  refreshFrames: number;
  refreshMs: number;
  /**
   * How the refresh bound is kept. 'staggered': a few tiles a frame, earliest
   * deadline first. 'frame': when any tile reaches its bound, the whole frame
   * runs (the unsplit model, exact, and every tile's cache reset). Default:
   * 'frame' on the windowed path, where one lone tile's context window costs
   * about 0.3-0.4 of a whole frame but 16 tiles refreshed at once cost 1.
   * Under a budget too: staggered, the stagger's one tile a frame cost about
   * the whole of a 0.35 budget, and its windows' cut context cost accuracy
   * on tiles that needed nothing (one-by-one at B = 0.35: F1 0.91 staggered,
   * 0.98 whole; docs/architecture.md, Spending a budget).
   */
  refreshMode?: 'staggered' | 'frame';
  importance?: Partial<ImportanceOptions>;
  /** Use the motion map (default true). Off, only tracks and the refresh rule choose tiles (a PTZ camera, tests of the refresh bound). */
  motion?: boolean;
  /**
   * Decide untracked tiles by their change since last computed (ChangeMap)
   * rather than by background-subtraction motion. Default: on for the
   * windowed path, where a skipped tile shows its held detections.
   */
  change?: boolean;
  /**
   * Let the pack's learnt controller (StreamInfo.controller) decide tiles in
   * place of the change rule (with importance.learntTracks, tracked tiles
   * too). Needs the change map (its input) and a pack that ships one.
   * Default false: on the development clips it did not beat the rules (see
   * the README's architecture section).
   */
  learnt?: boolean;
  /** Windowed path: context around the active tiles, input pixels (a multiple of 32). Default DEFAULT_WINDOW_HALO (64). */
  halo?: number;
  /**
   * Work budget (`arac:budget=B`, model.budget): the detector cost this
   * camera may spend on average, as a fraction of the unsplit model's on
   * the same input (src/demux/budget.ts). With it, importance's tiles are
   * bought in importance order while the tokens last, the whole frame when
   * most of them are wanted, and the tracker's boxes stand in meanwhile.
   * The refresh bound is kept as without a budget (refreshMode), and paid
   * from it: tiles at their bound always run. Without a budget, importance
   * decides and only the frame's deadline (and fair share) caps the plan.
   */
  budget?: number;
}

export const DEFAULT_ADAPTIVE: AdaptiveOptions = { grid: { cols: 4, rows: 4 }, path: 'windowed', refreshFrames: 16, refreshMs: 2000, importance: {} };

interface State {
  width: number;
  height: number;
  levels: readonly number[];
  tiles: Tile[];
  model: CostModel | undefined;
  controller: DemuxController;
  /** Detections of the last frame that computed anything. */
  last: Detection[];
  /** Frames dropped in a row. */
  drops: number;
  /** Frames seen since the stream (or the input size) started. */
  frames: number;
  /** The controller's input buffer, reused frame to frame. */
  cggInput: Float32Array | undefined;
  /** Start-up calibration was tried (it runs once per stream and shape). */
  calibrated: boolean;
  /** The work budget's bucket, when the strategy has a budget. */
  budget: WorkBudget | undefined;
  /** BATCH (issue 18): windows grown to canonical shapes (the worker batches across cameras). */
  canonical: boolean;
}

/** Frames at the start of a stream that run whole (see process). */
const WARMUP_FRAMES = 6;

/**
 * Under a budget, fewer: the tracker confirms a track on two consecutive
 * detections (the first frame's at once), and every whole frame is paid for.
 */
const BUDGET_WARMUP_FRAMES = 2;

/**
 * After this many frames dropped in a row, the next one runs the single most
 * important tile anyway: a camera must not stay blind, and the cost model
 * learns nothing from frames it refused (a model that over-predicts after a
 * burst of contention would otherwise refuse everything for ever).
 */
const MAX_BLIND_FRAMES = 5;

export class AracAdaptiveStrategy implements Strategy {
  readonly name: string;
  readonly models = 'arac' as const;
  private readonly motion = new MotionDetector();
  private readonly useChange: boolean;
  private readonly change = new ChangeMap();
  private readonly refresh: RefreshScheduler;
  private readonly refreshWhole: boolean;
  private state: State | undefined;

  constructor(private readonly o: AdaptiveOptions = DEFAULT_ADAPTIVE) {
    this.name = o.name ?? (o.path === 'stitched' ? 'arac-stitched' : o.learnt ? 'arac-cgg' : 'arac') + (o.grid.cols === 4 && o.grid.rows === 4 ? '' : `:${o.grid.cols}x${o.grid.rows}`);
    if (o.budget !== undefined) checkBudget(o.budget, 'budget');
    this.refreshWhole = (o.refreshMode ?? (o.path === 'windowed' ? 'frame' : 'staggered')) === 'frame';
    this.refresh = new RefreshScheduler({ everyFrames: o.refreshFrames, everyMs: o.refreshMs, stagger: !this.refreshWhole });
    this.useChange = o.change ?? o.path === 'windowed';
  }

  /** The tile grid its plans use. */
  get grid(): Grid {
    return this.o.grid;
  }

  /** The refresh bound this instance keeps (config `model.refresh`). */
  get refreshBound(): { frames: number; ms: number } {
    return { frames: this.o.refreshFrames, ms: this.o.refreshMs };
  }

  private stateFor(frame: { width: number; height: number }, ctx: StrategyContext): State {
    const s = this.state;
    if (s && s.width === frame.width && s.height === frame.height) return s;
    this.refresh.reset();
    const levels = this.o.levels ?? (this.o.path === 'windowed' ? [0] : ctx.info.computeLevels);
    this.state = {
      width: frame.width,
      height: frame.height,
      levels,
      tiles: makeTiles(frame.width, frame.height, this.o.grid),
      model: undefined,
      controller: new DemuxController({ grid: this.o.grid, levels }),
      last: [],
      drops: 0,
      frames: 0,
      cggInput: undefined,
      calibrated: false,
      budget: this.o.budget === undefined ? undefined : new WorkBudget({ perFrame: this.o.budget }),
      canonical: ctx.info.batched === true && this.o.path === 'windowed', // BATCH (issue 18)
    };
    return this.state;
  }

  async process(frame: Frame, ctx: StrategyContext): Promise<StrategyResult> {
    const st = this.stateFor(frame, ctx);
    if (!st.model && !st.calibrated && ctx.info.calibration) {
      // Without `prepare` (a bench, or after a reset): the calibration for this shape, run now on
      // this frame if no camera has run it yet (prepare normally has: then this is instant).
      // Unpaced runs have no deadline, but the whole-frame choice still prices plans with it.
      await this.calibrate(st, frame, ctx, ctx.info.calibration);
    }
    const t0 = performance.now();
    const levels = st.levels;
    const useMotion = this.o.motion ?? true;
    // The change map replaces the motion map where it decides (it needs no background model).
    const useChange = useMotion && this.useChange;
    if (useChange) this.change.updateFrame(frame.data, frame.width, frame.height);
    const m = useMotion && !useChange ? this.motion.update(frame.data, frame.width, frame.height) : undefined;
    // MASK (issue 16): a tile wholly inside a camera mask is never computed, never due for a refresh, never forced whole.
    const masked = maskedTiles(st.tiles, ctx.info.masks, { sx: frame.srcWidth / frame.width, sy: frame.srcHeight / frame.height });
    let due = unmaskedDue(this.refresh.due(frame.ptsMs, st.tiles.length), masked); // MASK (issue 16)
    // The first frames of a stream run whole: the tracker confirms its tracks on consecutive
    // full detections (what the motion map's warm-up gave when it decided), and then the
    // settled and change rules have something to hold.
    const warming = st.frames++ < (st.budget ? BUDGET_WARMUP_FRAMES : WARMUP_FRAMES);
    if ((this.refreshWhole && due.size > 0) || warming) due = unmaskedDue(new Set(st.tiles.map((t) => t.index)), masked); // MASK (issue 16)
    const scale = { sx: frame.srcWidth / frame.width, sy: frame.srcHeight / frame.height };
    const tracks = ctx.predictTracks(frame.ptsMs);
    if (this.o.learnt && !ctx.info.controller) throw new ModelPackError('MODEL_PACK_INVALID', 'manifest.json controller', `strategy ${this.name} needs a pack that ships a compression controller (models/tools/train-cgg.sh)`);
    // The learnt controller, unless every tile is forced anyway (warm-up, whole-frame refresh).
    const cgg = useChange && this.o.learnt === true && due.size < st.tiles.length ? ctx.info.controller : undefined;
    let learnt: { skip: number[]; threshold: number } | undefined;
    if (cgg) {
      const input = cggInput(st.tiles, this.change, tracks, scale, st.cggInput);
      st.cggInput = input.x;
      learnt = { skip: cgg.skipProbabilities(input.x, st.tiles.length, input.evidence), threshold: cgg.skipThreshold };
    }
    const decisions = forceSkip(tileImportance({ // MASK (issue 16): forceSkip
      tiles: st.tiles,
      frame: { width: frame.width, height: frame.height },
      scale,
      tracks,
      ...(learnt ? { learnt } : {}),
      ...(m ? { motion: { boxes: m.boxes, fractionIn: (r: Box) => this.motion.motionInRect(r), unreliable: m.warmingUp || m.lightingChange } } : {}),
      ...(useChange ? { change: this.change } : {}),
      levels,
      refresh: due,
      options: this.o.importance ?? {},
    }), masked); // MASK (issue 16)
    const interval = ctx.info.frameIntervalMs;
    // Unpaced replays have no deadline: frames wait for each other, so importance alone decides.
    const now = Date.now();
    // The deadline runs while the request waits for the worker behind other cameras' frames.
    const deadline = ctx.info.paced ? frameBudget({ captureMs: frame.captureWallMs, nowMs: now, intervalMs: interval }) - (ctx.backlogMs?.() ?? 0) : Infinity;
    // Sharing the device with other cameras: no more than this camera's fair share either.
    const budgetMs = Math.min(deadline, ctx.info.share?.budgetMs(now) ?? Infinity);
    // Until the first measured frame, no plan is refused: the model has nothing to go on.
    const model = st.model;
    // Under a work budget, the budget's plan is what the deadline then caps: the smaller wins.
    st.budget?.accrue();
    const spend = st.budget && model && !warming ? this.withinBudget(st, st.budget, decisions, model) : undefined;
    const asked = spend ? spend.decisions : decisions;
    const r = st.controller.plan({ decisions: asked, budgetMs: model ? budgetMs : Infinity, model: model ?? { predict: () => 0 } });
    if (model && !r.dropped && r.computedTiles > 0 && r.computedTiles < st.tiles.length) this.wholeIfCheaper(r, model, levels, masked); // MASK (issue 16): masked
    const overheadMs = performance.now() - t0;
    const probe = r.dropped && ++st.drops >= MAX_BLIND_FRAMES;
    if (!r.dropped || probe) st.drops = 0;
    if (probe) {
      // The most important tile importance asked for: the lowest confidence that a cheaper level is safe.
      const want = decisions.map((d, i) => ({ i, d })).filter((x) => x.d.level < 1);
      const top = want.reduce((a, b) => (b.d.confidence < a.d.confidence ? b : a), want[0] ?? { i: 0, d: decisions[0] as (typeof decisions)[number] });
      r.plan = { grid: this.o.grid, levels: decisions.map((_, i) => (i === top.i ? 0 : 1)) };
      r.computedTiles = 1;
      r.dropped = false;
    }
    // MASK (issue 16): whatever DEMUX or the probe chose, a masked tile stays skipped.
    r.plan = { ...r.plan, levels: skipMasked(r.plan.levels, masked) };
    r.computedTiles = r.plan.levels.filter((l) => l < 1).length;
    const plan: TilesPlan = { kind: 'tiles', grid: this.o.grid, levels: r.plan.levels, overheadMs, ...(probe ? { probe: true } : {}), ...(spend ? { spend: spend.choice } : {}) };
    if (r.dropped || r.computedTiles === 0) {
      // Still this camera's demand: a camera whose frames are all dropped must not look idle
      // to the fair share, or its share would shrink to nothing and it would never run again.
      ctx.info.share?.report(0, r.wantedMs);
    }
    if (r.dropped) {
      // Not even the cheapest plan fits the deadline: the tracker's predictions stand in.
      const detections = ctx.predictTracks(frame.ptsMs).filter((t) => t.confirmed).map((t) => ({ ...clampBox(t.box, frame.srcWidth, frame.srcHeight), classId: t.classId, label: t.label, score: t.score, trackId: t.trackId }));
      return { detections, detectorMs: 0, workFraction: 0, fromTracker: true, plan: { ...plan, dropped: true } };
    }
    if (r.computedTiles === 0) {
      // Every tile skipped: the cached features are exactly those of the last computed
      // frame, so the rest of the network would return exactly its detections. Reuse them.
      return { detections: st.last.map((d) => ({ ...d, stale: true })), detectorMs: 0, workFraction: 0, plan };
    }
    const res = await ctx.detect({ data: frame.data, width: frame.width, height: frame.height, srcWidth: frame.srcWidth, srcHeight: frame.srcHeight }, 'arac', this.executed(r.plan));
    // BATCH (issue 18): a batched worker charges each frame its share of the calls it joined (deviceMs).
    const spentMs = res.deviceMs ?? res.inferenceMs;
    st.model ??= this.costModel(st, this.prior(st, spentMs / Math.max(0.05, res.arac?.workFraction ?? 1)));
    st.model.observe(r.plan, spentMs);
    // Paid at the cost model's price of what ran, in whole frames. A ratio of two predictions of
    // one model learnt from this camera's measured times: other load on the machine slows the
    // whole frame as much as a window, and one slow frame (a GC pause) does not empty the bucket.
    // Never below the pixels the plan fed (its work fraction): on a loaded machine the learnt
    // price of windows drifted below their area, and a 0.35 budget spent 0.47 of the frame's work.
    if (st.budget) {
      const priced = st.model.predict(r.plan) / Math.max(1e-6, st.model.predict(st.tiles.map(() => levels[0] as number)));
      st.budget.spend(Math.max(priced, res.arac?.workFraction ?? 1));
    }
    ctx.info.share?.report(spentMs, r.wantedMs); // BATCH (issue 18): spentMs
    // MASK (issue 16): a masked tile counts as fresh, so it never comes due for a refresh.
    for (const i of masked) this.refresh.computed(i, frame.ptsMs);
    // Every tile the executor refreshed (free riders inside a window included) has a new reference.
    const refreshed = new Set(res.arac?.calls.flatMap((c) => c.tiles) ?? r.plan.levels.flatMap((l, i) => (l < 1 ? [i] : [])));
    for (const i of refreshed) {
      const t = st.tiles[i];
      if (t) {
        this.change.commit(t);
        this.refresh.computed(i, frame.ptsMs);
      }
    }
    st.last = res.detections;
    return {
      detections: res.detections,
      detectorMs: res.inferenceMs,
      workFraction: res.arac?.workFraction ?? 1,
      plan: { ...plan, predictedMs: r.predictedMs, budgetMs, reasons: decisions.map((d, i) => (masked.has(i) ? MASKED_REASON : d.reason[0])).join('') }, // MASK (issue 16): MASKED_REASON
    };
  }

  /**
   * The budget's plan for this frame (planWithinBudget), as decisions DEMUX's
   * deadline may still raise: the tiles it buys keep importance's level and
   * confidence, the others are skipped.
   */
  private withinBudget(st: State, budget: WorkBudget, decisions: readonly TileDecision[], model: CostModel): { decisions: TileDecision[]; choice: BudgetChoice } {
    const wholeLevel = st.levels[0] as number;
    const wholeMs = Math.max(1e-6, model.predict(st.tiles.map(() => wholeLevel)));
    const p = planWithinBudget({
      decisions,
      must: this.refresh.mustRun,
      tokens: budget.tokens,
      cost: (lv) => (lv.every((l) => l >= 1) ? 0 : model.predict(lv) / wholeMs),
      wholeLevel,
      spareAbove: budget.capacity - budget.perFrame,
    });
    return {
      choice: p.choice,
      decisions: decisions.map((d, i) => {
        const level = p.levels[i] as number;
        if (level >= 1) return { ...d, level: 1, forced: false };
        // A tile importance would skip, bought with the whole frame: the first the deadline gives up.
        return d.level < 1 ? { ...d, level } : { ...d, level, confidence: 1 };
      }),
    };
  }

  /**
   * Windows with their context can add up to more than the frame (tiles
   * apart, each with its own halo; several calls): then the whole frame at
   * full width is both cheaper and exact, so it runs instead.
   */
  private wholeIfCheaper(r: ControlResult, model: CostModel, levels: readonly number[], masked: ReadonlySet<number>): void {
    const whole = r.plan.levels.map((_, i) => (masked.has(i) ? 1 : (levels[0] as number))); // MASK (issue 16): masked tiles stay skipped
    const wholeMs = model.predict(whole);
    if (wholeMs > r.predictedMs) return;
    r.plan = { ...r.plan, levels: whole };
    r.predictedMs = wholeMs;
    r.computedTiles = whole.length;
  }

  /** A plan as this strategy has the executor run it (its path and context), live and in calibration alike. */
  private executed(plan: TilePlan): TilePlan {
    return { ...plan, path: this.o.path, ...(this.o.halo === undefined ? {} : { halo: this.o.halo }), ...(this.state?.canonical ? { canonical: true } : {}) }; // BATCH (issue 18): canonical
  }

  /** Windowed plans' pricing (CostModelOptions.windowed); undefined on the stitched path. */
  private windowed(st: State) {
    if (this.o.path === 'stitched') return undefined;
    return { tiles: st.tiles, geometry: { width: st.width, height: st.height, halo: this.o.halo ?? DEFAULT_WINDOW_HALO, callFraction: DEFAULT_CALL_FRACTION, ...(st.canonical ? { canonical: true } : {}) } }; // BATCH (issue 18): canonical
  }

  /** Rough coefficients from the unsplit model's time (the first measured frame, scaled to the whole frame). */
  private prior(st: State, fullMs: number): CostCoefficients {
    return this.o.path === 'stitched' ? priorFromFullCost(fullMs, st.levels, st.tiles.length) : priorWindowed(fullMs, st.levels);
  }

  private costModel(st: State, coefficients: CostCoefficients): CostModel {
    const windowed = this.windowed(st);
    return new CostModel({ levels: st.levels, tileCount: st.tiles.length, coefficients, ...(windowed ? { windowed } : {}) });
  }

  /** Calibrates DEMUX's cost model for this input size on a grey frame before the camera starts. */
  async prepare(size: { width: number; height: number }, ctx: StrategyContext): Promise<void> {
    const cache = ctx.info.calibration;
    if (!cache) return;
    const st = this.stateFor(size, ctx);
    if (st.model || st.calibrated) return;
    // Convolution time does not depend on the pixels; a grey frame is as good as a real one.
    const data = new Uint8Array(size.width * size.height * 3).fill(128);
    await this.calibrate(st, { data, width: size.width, height: size.height, srcWidth: size.width, srcHeight: size.height }, ctx, cache);
  }

  /** Calibration on this image (on throwaway caches), or the shared result of one for the same shape. */
  private async calibrate(st: State, image: DetectorImage, ctx: StrategyContext, cache: CalibrationCache): Promise<void> {
    st.calibrated = true;
    const coefficients = await this.coefficientsFor(st, image, ctx, cache);
    if (coefficients) st.model = this.costModel(st, coefficients);
  }

  private coefficientsFor(st: State, image: DetectorImage, ctx: StrategyContext, cache: CalibrationCache): Promise<CostCoefficients | undefined> {
    const windowed = this.windowed(st);
    const key = CalibrationCache.key(this.o.grid, st.width, st.height, `${this.o.path}${windowed ? `:${windowed.geometry.halo}${st.canonical ? ':canonical' : ''}` : ''}:${st.levels.join(',')}`); // BATCH (issue 18): canonical
    const run = async (plan: TilePlan) => {
      const r = await ctx.detect(image, 'arac', this.executed(plan), { scratch: 'empty' });
      return r.deviceMs ?? r.inferenceMs; // BATCH (issue 18): a batched worker's charge, not the wait for batch-mates
    };
    return cache.coefficients(key, () => calibrate(run, { grid: this.o.grid, levels: st.levels, ...(windowed ? { windowed } : {}) }));
  }

  reset(): void {
    this.motion.reset();
    this.change.reset();
    this.refresh.reset();
    this.state = undefined;
  }
}
