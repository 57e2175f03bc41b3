/**
 * `arac-oracle`: each tile's level from the labeling rule against the
 * reference — the upper bound a compression controller can reach on this
 * executor. Per frame it runs the unsplit model (the reference) and every
 * compute level on the whole frame, against throwaway caches so the
 * camera's cached tiles stay what the plan made them; the labeled plan is
 * then probed (see below) and runs through the windowed executor. Only that
 * last call is the strategy's detector time: the probes are what the oracle
 * knows for free.
 *
 * With a budget (`arac-oracle:budget=B`), the yardstick for `arac` under
 * the same budget: per frame it runs the reference, counts per tile the
 * reference detections that showing the tile's held boxes would get wrong
 * (tileErrors), and hands those counts to arac's own budget rule
 * (planWithinBudget) in place of importance: the tiles whose skipping would
 * change the most reference detections first, the whole frame when most
 * tiles are wrong and the tokens allow, nothing while saving up. No refresh
 * bound (it knows when a tile is wrong) and no probes: the plan runs in
 * arac's windows (64 px context), so the gap to arac at equal cost is the
 * choice of tiles alone. Costs are whole frames as measured: the plan's
 * time over the reference's on the same frame.
 */
import { makeTiles, type Grid, type Tile } from '../arac/geometry.js';
import { bucketByTile, bucketFloor, bucketMatches, DEFAULT_LABELING, labelTiles, tileErrors } from '../arac/labeling.js';
import { DEFAULT_CALL_FRACTION, DEFAULT_WINDOW_HALO } from '../arac/windows.js';
import { planWithinBudget, WorkBudget } from '../demux/budget.js';
import { CostModel, priorWindowed } from '../demux/cost-model.js';
import type { TileDecision } from '../importance/importance.js';
import type { Detection, Frame } from '../core/types.js';
import type { Rect } from '../arac/geometry.js';
import { ChangeMap } from '../importance/change.js';
import { cggInput } from '../importance/cgg.js';
import type { DetectorImage, Strategy, StrategyContext, StrategyResult, TilesPlan } from './types.js';

/**
 * The oracle's window context. Its probes catch what a narrower context gets
 * wrong (and fall back to the whole frame), so it can afford 32 px where the
 * live `arac`, which cannot check itself, uses the executor's 64.
 */
const ORACLE_HALO = 32;

export class AracOracleStrategy implements Strategy {
  readonly name: string;
  readonly models = 'arac' as const;
  /** What the camera showed last: a skipped tile shows these. */
  private last: Detection[] = [];
  private tiles: { key: string; tiles: Tile[] } | undefined;

  /** Only with `record`: each tile's change since the oracle last computed it. */
  private readonly change = new ChangeMap();

  private frames = 0;
  private readonly budget: WorkBudget | undefined;
  /** Budgeted: plan prices in whole frames, learnt from measured plans over the reference's time. */
  private cost: { key: string; model: CostModel } | undefined;
  private readonly record: ((input: Float32Array) => void) | undefined;
  private readonly wholeEvery: number;
  private readonly band: number;

  /**
   * @param o.record given, receives the compression controller's input for
   *   every frame (cggInput, before the plan), from the oracle's own history
   *   of computed tiles: `neulens label --patches` writes it beside the labels.
   * @param o.wholeEvery run every N-th frame (the first included) whole, as
   *   `arac`'s warm-up and whole-frame refresh do, so the controller's input
   *   is recorded under the regime it will run in. The labels (plan.labels)
   *   are still the rule's. Default: never.
   * @param o.band score tolerance of the labeling rule (LabelOptions.band). Default 0.
   */
  constructor(
    private readonly grid: Grid = { cols: 4, rows: 4 },
    o: { record?: (input: Float32Array) => void; wholeEvery?: number; band?: number; budget?: number } = {},
  ) {
    this.budget = o.budget === undefined ? undefined : new WorkBudget({ perFrame: o.budget });
    this.record = o.record;
    this.wholeEvery = o.wholeEvery ?? Infinity;
    this.band = o.band ?? 0;
    const items = [...(grid.cols === 4 && grid.rows === 4 ? [] : [`${grid.cols}x${grid.rows}`]), ...(o.budget === undefined ? [] : [`budget=${o.budget}`])];
    this.name = 'arac-oracle' + (items.length ? `:${items.join(',')}` : '');
  }

  async process(frame: Frame, ctx: StrategyContext): Promise<StrategyResult> {
    const image = { data: frame.data, width: frame.width, height: frame.height, srcWidth: frame.srcWidth, srcHeight: frame.srcHeight };
    const key = `${frame.width}x${frame.height}`;
    if (this.tiles?.key !== key) this.tiles = { key, tiles: makeTiles(frame.width, frame.height, this.grid) };
    const tiles = this.tiles.tiles;
    const sx = frame.srcWidth / frame.width;
    const sy = frame.srcHeight / frame.height;
    const rects = tiles.map((t) => ({ x: t.x * sx, y: t.y * sy, w: t.w * sx, h: t.h * sy }));
    if (this.record) {
      this.change.updateFrame(frame.data, frame.width, frame.height);
      this.record(cggInput(tiles, this.change, ctx.predictTracks(frame.ptsMs), { sx, sy }).x);
    }

    const full = await ctx.detect(image, 'full');
    const reference = full.detections;
    if (this.budget) return this.spend(this.budget, frame, image, tiles, rects, reference, full.inferenceMs, ctx);
    const candidates = [{ level: 1, detections: this.last }];
    for (const level of ctx.info.computeLevels) {
      if (level === 0) continue;
      const uniform = { grid: this.grid, levels: tiles.map(() => level), path: 'windowed' as const, halo: ORACLE_HALO };
      candidates.push({ level, detections: (await ctx.detect(image, 'arac', uniform, { scratch: 'empty' })).detections });
    }
    const o = { ...DEFAULT_LABELING, minScore: ctx.info.minScore ?? DEFAULT_LABELING.minScore, ...(this.band ? { band: this.band } : {}) };
    const band = this.band ? { minScore: o.minScore, band: this.band } : undefined;
    let levels = labelTiles(rects, reference, candidates, o);
    let labels = levels;
    // The candidates saw the whole frame; the plan runs in windows, whose cut context can
    // change a detection. Probe the plan on a copy of the camera's cache; tiles that differ
    // from the reference try each compute level in the plan's real context (most compressed
    // first) and keep the first that matches.
    const refs = bucketByTile(reference, rects, bucketFloor(o));
    const probe = async (lv: readonly number[]): Promise<boolean[]> => {
      const got = bucketByTile((await ctx.detect(image, 'arac', { grid: this.grid, levels: lv, path: 'windowed', halo: ORACLE_HALO }, { scratch: 'copy' })).detections, rects, bucketFloor(o));
      return rects.map((_, t) => bucketMatches(got[t] as Detection[], refs[t] as Detection[], o.iou, band));
    };
    if (levels.some((l) => l > 0)) {
      const ok = await probe(levels);
      let open = rects.map((_, t) => t).filter((t) => !ok[t]);
      const fixed = [...levels];
      for (const level of [...ctx.info.computeLevels].sort((a, b) => b - a)) {
        if (open.length === 0) break;
        const trial = levels.map((l, t) => (open.includes(t) ? level : l));
        const res = await probe(trial);
        for (const t of open) if (res[t]) fixed[t] = level;
        open = open.filter((t) => !res[t]);
      }
      // Still wrong at every level: the window's cut context itself is the cause, and only the
      // whole frame (every tile at 0: the unsplit model) reproduces the reference.
      labels = fixed.map((l, t) => (open.includes(t) ? 0 : l));
      levels = open.length > 0 ? levels.map(() => 0) : fixed;
    }
    if (this.frames++ % this.wholeEvery === 0) levels = levels.map(() => 0);
    const plan = { grid: this.grid, levels, path: 'windowed' as const, halo: ORACLE_HALO };
    const r = await ctx.detect(image, 'arac', plan);
    this.last = r.detections;
    if (this.record) for (const c of r.arac?.calls ?? []) for (const t of c.tiles) if (tiles[t]) this.change.commit(tiles[t]);
    return { detections: r.detections, detectorMs: r.inferenceMs, workFraction: r.arac?.workFraction ?? 1, plan: { kind: 'tiles', grid: this.grid, levels, labels } };
  }

  private async spend(budget: WorkBudget, frame: Frame, image: DetectorImage, tiles: Tile[], rects: Rect[], reference: Detection[], fullMs: number, ctx: StrategyContext): Promise<StrategyResult> {
    const key = `${frame.width}x${frame.height}`;
    if (this.cost?.key !== key) {
      const geometry = { width: frame.width, height: frame.height, halo: DEFAULT_WINDOW_HALO, callFraction: DEFAULT_CALL_FRACTION };
      // Whole-frame units from the start: the unsplit model costs 1, a call about 0.05 of it.
      const coefficients = priorWindowed(1, [0], { perCallMs: 0.05 });
      this.cost = { key, model: new CostModel({ levels: [0], tileCount: tiles.length, windowed: { tiles, geometry }, coefficients }) };
      budget.reset();
    }
    const model = this.cost.model;
    const o = { ...DEFAULT_LABELING, minScore: ctx.info.minScore ?? DEFAULT_LABELING.minScore };
    const refs = bucketByTile(reference, rects, o.minScore);
    const shown = bucketByTile(this.last, rects, o.minScore);
    // Most errors = most important = lowest confidence that skipping is safe.
    const decisions: TileDecision[] = rects.map((_, t) => {
      const errors = tileErrors(shown[t] as Detection[], refs[t] as Detection[], o.iou);
      return errors > 0 ? { level: 0, confidence: 1 / (1 + errors), reason: 'change' } : { level: 1, confidence: 1, reason: 'idle' };
    });
    budget.accrue();
    const p = planWithinBudget({ decisions, must: new Set(), tokens: budget.tokens, cost: (lv) => (lv.every((l) => l >= 1) ? 0 : model.predict(lv)), wholeLevel: 0, spareAbove: budget.capacity - budget.perFrame });
    const plan: TilesPlan = { kind: 'tiles', grid: this.grid, levels: p.levels, labels: decisions.map((d) => d.level), spend: p.choice };
    if (p.levels.every((l) => l >= 1)) return { detections: this.last.map((d) => ({ ...d, stale: true })), detectorMs: 0, workFraction: 0, plan };
    const r = await ctx.detect(image, 'arac', { grid: this.grid, levels: p.levels, path: 'windowed', halo: DEFAULT_WINDOW_HALO });
    // Learnt from measured times over the reference's on the same frame; paid at the model's price,
    // and never below the pixels fed (as arac is).
    model.observe(p.levels, r.inferenceMs / Math.max(1e-6, fullMs));
    budget.spend(Math.max(model.predict(p.levels), r.arac?.workFraction ?? 1));
    this.last = r.detections;
    return { detections: r.detections, detectorMs: r.inferenceMs, workFraction: r.arac?.workFraction ?? 1, plan };
  }

  reset(): void {
    this.budget?.reset();
    this.cost = undefined;
    this.last = [];
    this.tiles = undefined;
    this.change.reset();
    this.frames = 0;
  }
}
