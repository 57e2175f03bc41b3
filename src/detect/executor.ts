/**
 * ARAC executor, two paths (TilePlan.path):
 *
 * - stitched (`run`, exact): runs the per-tile micro-flows (front), stitches
 *   their features into the stride-8 map, fills skipped tiles from the
 *   feature cache, then runs the cross-tile rest of the network once;
 * - windowed (`runWindowed`, approximate, cost follows the active tiles):
 *   the whole network on context windows around the active tiles (see
 *   windows.ts); the detector keeps the detections centred in those tiles
 *   and skipped tiles keep their cached detections.
 *
 * Stitched path details:
 * Per frame, tiles are grouped by level and each level is one batched call
 * (per-call overhead dominates small tiles on CPU). A level's windows are
 * merged when that computes fewer pixels (planWindows); a level-0 window as
 * large as the frame is the unsplit model itself, which also returns the
 * split-point features to refill the cache, so ARAC at c = 0 costs what the
 * unsplit model costs.
 */
import type { ModelPack } from '../model/manifest.js';
import type { TilePlan } from '../arac/plan.js';
export type { TilePlan } from '../arac/plan.js';
import { boundingWindow, gatherRects, makeTiles, tileWindows, type Grid, type Rect, type Tile } from '../arac/geometry.js';
import type { HeadOutput } from './decode.js';
import { InputBuffers, type ModelRunner, type Outputs, type Tensor } from '../model/tensor.js';
import { InputError } from '../core/errors.js';
import { toTensor, windowsToTensor } from './preprocess.js';
import type { Detection } from '../core/types.js';
import { area, batchesBySize, isFrame, DEFAULT_CALL_FRACTION, DEFAULT_WINDOW_HALO, planWindowed, type WindowGeometry } from '../arac/windows.js';

export interface LevelCall {
  level: number;
  /** Windows in the batch. */
  batch: number;
  /** Tiles whose features this call refreshed. */
  tiles: number[];
  /** One halo'd window per tile, one window around them all, or the whole frame. */
  kind: WindowKind;
}

export type WindowKind = 'tiles' | 'bbox' | 'frame' | 'window';

/**
 * How one level's active tiles run, chosen by pixels to compute (the front's
 * cost is close to linear in them): a batch of halo'd tile windows, one
 * window around all of them (halos shared; tiles inside the box that were
 * to be skipped get fresh features for free), or the whole frame without any
 * halo. Halos quadruple a small tile's pixels, so on a 4x4 grid a couple of
 * neighbouring tiles already cost more apart than together.
 */
export function planWindows(group: readonly Tile[], all: readonly Tile[], width: number, height: number, halo: number, merge: boolean): { kind: WindowKind; windows: Rect[]; keep: Rect[]; computed: Tile[] } {
  const separate = { kind: 'tiles' as const, windows: tileWindows(group, halo), keep: [...group], computed: [...group] };
  if (!merge) return separate;
  const frameArea = width * height;
  const sepArea = separate.windows.reduce((a, r) => a + r.w * r.h, 0);
  const box = boundingWindow(group, halo, width, height);
  const boxArea = box.w * box.h;
  if (Math.min(sepArea, boxArea) >= frameArea) {
    const frame = { x: 0, y: 0, w: width, h: height };
    return { kind: 'frame', windows: [frame], keep: [frame], computed: [...all] };
  }
  if (boxArea < sepArea) {
    const core = boundingWindow(group, 0, width, height);
    const inside = all.filter((t) => t.x >= core.x && t.y >= core.y && t.x + t.w <= core.x + core.w && t.y + t.h <= core.y + core.h);
    return { kind: 'bbox', windows: [box], keep: [core], computed: inside };
  }
  return separate;
}

/** A frame as ffmpeg delivers it: packed RGB24 at the detector's input size. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** One window's head outputs (window pixels) and the tiles whose detections it refreshes. */
export interface WindowHeads {
  rect: Rect;
  level: number;
  keep: number[];
  heads: HeadOutput[];
}


export interface ExecStats {
  tiles: number;
  computedTiles: number;
  /** Tile work: computed tile area / frame area, weighted by each level's front MACs relative to c = 0. */
  workFraction: number;
  calls: LevelCall[];
  frontMs: number;
  restMs: number;
}

/**
 * One camera's cached results: the last computed value of every stride-8
 * split-feature cell and of every head cell. Keyed by input size so a size
 * change never mixes maps.
 */
export class FeatureCache {
  private maps = new Map<string, Float32Array>();
  private tileDets = new Map<string, Detection[][]>();

  /**
   * Windowed path: each tile's detections (model-input pixels, centre in the
   * tile) from the last frame that computed it; undefined until a frame ran.
   */
  tileDetections(width: number, height: number, grid: Grid): Detection[][] | undefined {
    return this.tileDets.get(`${width}x${height}/${grid.cols}x${grid.rows}`);
  }

  setTileDetections(width: number, height: number, grid: Grid, dets: Detection[][]): void {
    this.tileDets.set(`${width}x${height}/${grid.cols}x${grid.rows}`, dets);
  }

  get(width: number, height: number, channels: number, stride: number): Float32Array {
    const key = `${width}x${height}`;
    let m = this.maps.get(key);
    if (!m) {
      m = new Float32Array(channels * (height / stride) * (width / stride));
      this.maps.set(key, m);
    }
    return m;
  }

  /** An independent copy (oracle probes run on it). */
  clone(): FeatureCache {
    const c = new FeatureCache();
    for (const [k, v] of this.maps) c.maps.set(k, v.slice());
    for (const [k, v] of this.tileDets) c.tileDets.set(k, v.map((d) => [...d]));
    return c;
  }

  clear(): void {
    this.maps.clear();
    this.tileDets.clear();
  }
}

export interface ExecutorOptions {
  /**
   * Merge a level's tile windows into one window (or the whole frame) when
   * that computes fewer pixels (default true). Off, every active tile runs as
   * its own halo'd window: the exactness tests use that.
   */
  merge?: boolean;
  /** Windowed path: context around each active tile, px (a multiple of 32). Default DEFAULT_WINDOW_HALO. */
  windowHalo?: number;
  /** Windowed path: one model call's fixed cost as a fraction of a whole frame's compute. Default DEFAULT_CALL_FRACTION. */
  callFraction?: number;
}

export class AracExecutor {
  private readonly split: ModelPack['manifest']['arac']['split'];
  private readonly levelCost: Map<number, number>;
  private readonly computeLevels: Set<number>;
  /** The front's share of the unsplit network's MACs (parts up to the split). */
  private readonly frontShare: number;
  /** Window batch buffers, by length (distinct window sizes x batch sizes seen recently). */
  private readonly batches = new InputBuffers(8);

  constructor(private readonly runner: ModelRunner, private readonly pack: ModelPack, private readonly opts: ExecutorOptions = {}) {
    this.split = pack.manifest.arac.split;
    // A tile's work at a level: its front's MACs relative to full width (skip costs nothing).
    this.levelCost = new Map(pack.manifest.arac.levels.map((l) => [l.c, l.kind === 'skip' ? 0 : (l.macsFraction ?? l.widthFraction ** 2)]));
    this.computeLevels = new Set(pack.manifest.arac.levels.filter((l) => l.kind === 'compute').map((l) => l.c));
    // Without a MACs table, NanoDet-g's measured split (stem..stage2 = 0.32) is the fallback.
    const parts = pack.manifest.macs?.parts ?? [];
    const cut = parts.findIndex((p) => p.part === this.split.after);
    this.frontShare = cut < 0 ? 0.32 : parts.slice(0, cut + 1).reduce((a, p) => a + p.share, 0);
  }

  /** Every level is a compute level of the pack or 1 (skip). */
  private checkLevels(levels: readonly number[]): void {
    levels.forEach((lvl, i) => {
      if (lvl < 1 && !this.computeLevels.has(lvl)) throw new InputError(`tile ${i}: level ${lvl} is not in the model pack (have ${[...this.computeLevels].join(', ')}, 1)`);
    });
  }

  private groupByLevel(levels: readonly number[], tiles: readonly Tile[]): Map<number, Tile[]> {
    this.checkLevels(levels);
    const byLevel = new Map<number, Tile[]>();
    levels.forEach((lvl, i) => {
      if (lvl < 1) byLevel.set(lvl, [...(byLevel.get(lvl) ?? []), tiles[i] as Tile]);
    });
    return byLevel;
  }

  /** Window geometry of the windowed path at one input size (the DEMUX cost model prices plans with it). */
  windowGeometry(width: number, height: number): WindowGeometry {
    return { width, height, halo: this.opts.windowHalo ?? DEFAULT_WINDOW_HALO, callFraction: this.opts.callFraction ?? DEFAULT_CALL_FRACTION };
  }

  /**
   * The unsplit model on the whole frame. `cache` (the stitched path's) gets
   * every feature cell refreshed; the windowed path keeps no feature map and
   * passes none, so the map is never copied out.
   */
  private async runFrame(image: Float32Array, width: number, height: number, tiles: readonly Tile[], cache: FeatureCache | undefined): Promise<{ heads: HeadOutput[]; stats: ExecStats }> {
    const t0 = performance.now();
    const strides = this.pack.manifest.decoding.strides;
    const out = await this.runner.run('full', { image: { data: image, dims: [1, 3, height, width] } }, cache ? undefined : headNames(strides));
    if (cache) {
      const f = out['features'];
      if (!f) throw new InputError('the unsplit model returned no "features" output');
      cache.get(width, height, this.split.channels, this.split.stride).set(f.data);
    }
    const heads = headsFrom(out, strides);
    const calls: LevelCall[] = [{ level: 0, batch: 1, tiles: tiles.map((t) => t.index), kind: 'frame' }];
    return { heads, stats: { tiles: tiles.length, computedTiles: tiles.length, workFraction: 1, calls, frontMs: 0, restMs: performance.now() - t0 } };
  }

  /**
   * The windowed path (TilePlan.path 'windowed'): per-window head outputs for
   * the detector to decode and merge with the tiles' cached detections. It
   * reads the RGB frame itself: only its windows' pixels are converted (the
   * whole frame only when the plan runs whole).
   */
  async runWindowed(frame: RgbImage, plan: TilePlan): Promise<{ windows: WindowHeads[]; stats: ExecStats }> {
    return this.batches.call(() => this.runWindowedNow(frame, plan));
  }

  private async runWindowedNow(frame: RgbImage, plan: TilePlan): Promise<{ windows: WindowHeads[]; stats: ExecStats }> {
    const { width, height } = frame;
    const norm = this.pack.manifest.input;
    const tiles = makeTiles(width, height, plan.grid);
    if (plan.levels.length !== tiles.length) throw new InputError(`plan has ${plan.levels.length} levels for a ${plan.grid.cols}x${plan.grid.rows} grid`);
    const frameArea = width * height;
    this.checkLevels(plan.levels);
    if (plan.halo !== undefined && !(Number.isInteger(plan.halo) && plan.halo >= 0 && plan.halo % 32 === 0)) throw new InputError(`plan halo ${plan.halo} must be a non-negative multiple of 32`);
    const geometry = this.windowGeometry(width, height);
    const plans = planWindowed(plan.levels, tiles, { ...geometry, ...(plan.halo === undefined ? {} : { halo: plan.halo }), ...(plan.canonical ? { canonical: true } : {}) });
    if (plans.some((p) => p.level === 0 && p.windows.some((w) => isFrame(w.rect, width, height)))) {
      const image = toTensor(frame.data, width, height, norm, this.batches.take(3 * width * height));
      this.batches.hold(image);
      const r = await this.runFrame(image, width, height, tiles, undefined);
      return { windows: [{ rect: { x: 0, y: 0, w: width, h: height }, level: 0, keep: tiles.map((t) => t.index), heads: r.heads }], stats: r.stats };
    }

    const windows: WindowHeads[] = [];
    const strides = this.pack.manifest.decoding.strides;
    const calls: LevelCall[] = [];
    const fresh = new Map<number, number>();
    let work = 0;
    let frontMs = 0;
    let restMs = 0;
    for (const p of plans) {
      for (const batch of batchesBySize(p.windows)) {
        const rects = batch.map((w) => w.rect);
        const r0 = rects[0] as Rect;
        // Batches run one after another, so one buffer per length serves them all.
        const images = windowsToTensor(frame.data, width, height, norm, rects, this.batches.take(rects.length * 3 * r0.w * r0.h));
        this.batches.hold(images);
        const t0 = performance.now();
        let out: Outputs;
        if (p.level === 0) {
          out = await this.runner.run('full', { image: { data: images, dims: [rects.length, 3, r0.h, r0.w] } }, headNames(strides));
          restMs += performance.now() - t0;
        } else {
          // Windows are clipped to the frame: every pixel is real, the mask all ones.
          const front = await this.runner.run(`front:${p.level}`, {
            image: { data: images, dims: [rects.length, 3, r0.h, r0.w] },
            mask: { data: new Float32Array(rects.length * r0.w * r0.h).fill(1), dims: [rects.length, 1, r0.h, r0.w] },
          });
          const f = front['features'];
          if (!f) throw new InputError('front model returned no "features" output');
          const t1 = performance.now();
          frontMs += t1 - t0;
          out = await this.runner.run('rest', { features: f });
          restMs += performance.now() - t1;
        }
        const heads = headsFrom(out, strides);
        batch.forEach((w, b) => {
          windows.push({ rect: w.rect, level: p.level, keep: w.keep.map((t) => t.index), heads: sliceBatch(heads, b, batch.length) });
          for (const t of w.keep) fresh.set(t.index, Math.min(fresh.get(t.index) ?? 1, p.level));
        });
        const levelCost = this.levelCost.get(p.level) ?? 1;
        work += (rects.reduce((a, r) => a + area(r), 0) / frameArea) * (this.frontShare * levelCost + (1 - this.frontShare));
        calls.push({ level: p.level, batch: rects.length, tiles: batch.flatMap((w) => w.keep.map((t) => t.index)), kind: 'window' });
      }
    }
    return { windows, stats: { tiles: tiles.length, computedTiles: fresh.size, workFraction: work, calls, frontMs, restMs } };
  }

  /** The stitched path (exact): the whole frame's head outputs. */
  async run(image: Float32Array, width: number, height: number, plan: TilePlan, cache: FeatureCache): Promise<{ heads: HeadOutput[]; stats: ExecStats }> {
    const tiles = makeTiles(width, height, plan.grid);
    if (plan.levels.length !== tiles.length) throw new InputError(`plan has ${plan.levels.length} levels for a ${plan.grid.cols}x${plan.grid.rows} grid`);
    const { stride, channels, halo } = this.split;
    const features = cache.get(width, height, channels, stride);
    const byLevel = this.groupByLevel(plan.levels, tiles);

    const calls: LevelCall[] = [];
    const t0 = performance.now();
    const merge = this.opts.merge ?? true;
    const plans = [...byLevel].map(([level, group]) => ({ level, ...planWindows(group, tiles, width, height, halo, merge) }));
    // A level-0 window as large as the frame: the unsplit model does that work and the rest in one call,
    // and its split-point output refreshes every tile's cache.
    if (plans.some((p) => p.level === 0 && p.kind === 'frame')) return this.runFrame(image, width, height, tiles, cache);
    const fresh = new Map<number, number>(); // tile index -> level it was computed at this frame
    for (const p of plans) {
      const { images, masks } = gatherRects(image, width, height, p.windows);
      const w = p.windows[0] as Rect;
      const out = await this.runner.run(`front:${p.level}`, {
        image: { data: images, dims: [p.windows.length, 3, w.h, w.w] },
        mask: { data: masks, dims: [p.windows.length, 1, w.h, w.w] },
      });
      const f = out['features'];
      if (!f) throw new InputError('front model returned no "features" output');
      p.windows.forEach((win, b) => scatter(f, b, win, p.keep[b] as Rect, stride, features, width, height, channels));
      for (const t of p.computed) fresh.set(t.index, Math.min(fresh.get(t.index) ?? 1, p.level));
      calls.push({ level: p.level, batch: p.windows.length, tiles: p.computed.map((t) => t.index), kind: p.kind });
    }
    const t1 = performance.now();

    const rest = await this.runner.run('rest', { features: { data: features, dims: [1, channels, height / stride, width / stride] } });
    const heads = headsFrom(rest, this.pack.manifest.decoding.strides);
    const t2 = performance.now();

    let work = 0;
    for (const [i, lvl] of fresh) {
      const t = tiles[i] as Tile;
      work += (t.w * t.h * (this.levelCost.get(lvl) ?? 1)) / (width * height);
    }
    return { heads, stats: { tiles: tiles.length, computedTiles: fresh.size, workFraction: work, calls, frontMs: t1 - t0, restMs: t2 - t1 } };
  }
}

/** The head outputs' names (what the detector decodes), without the stitched feature map. */
export function headNames(strides: readonly number[]): string[] {
  return strides.flatMap((s) => [`cls_s${s}`, `reg_s${s}`]);
}

/** The per-stride class and box outputs of the unsplit or rest model. */
export function headsFrom(out: Outputs, strides: readonly number[]): HeadOutput[] {
  return strides.map((s) => {
    const cls = out[`cls_s${s}`];
    const reg = out[`reg_s${s}`];
    if (!cls || !reg) throw new InputError(`model output lacks cls_s${s}/reg_s${s}`);
    return { stride: s, cls: cls.data, reg: reg.data };
  });
}

/** Copy the `keep` region (frame pixels) of window `win`'s batched features into the stitched map. */
function scatter(f: Tensor, b: number, win: Rect, keep: Rect, stride: number, dst: Float32Array, width: number, height: number, channels: number): void {
  const [, c, fh, fw] = f.dims as [number, number, number, number];
  if (c !== channels) throw new InputError(`front output has ${c} channels, the split declares ${channels}`);
  const W = width / stride;
  const H = height / stride;
  const ox = (keep.x - win.x) / stride;
  const oy = (keep.y - win.y) / stride;
  const kw = keep.w / stride;
  const kh = keep.h / stride;
  const kx = keep.x / stride;
  const ky = keep.y / stride;
  for (let ch = 0; ch < channels; ch++) {
    const src = (b * channels + ch) * fh * fw;
    const dstPlane = ch * H * W;
    for (let r = 0; r < kh; r++) {
      const s = src + (oy + r) * fw + ox;
      dst.set(f.data.subarray(s, s + kw), dstPlane + (ky + r) * W + kx);
    }
  }
}

/** Batch entry `b` of `n` in a window call's head outputs (views, no copy). */
function sliceBatch(heads: readonly HeadOutput[], b: number, n: number): HeadOutput[] {
  return heads.map((h) => {
    const cls = h.cls.length / n;
    const reg = h.reg.length / n;
    return { stride: h.stride, cls: h.cls.subarray(b * cls, (b + 1) * cls), reg: h.reg.subarray(b * reg, (b + 1) * reg) };
  });
}
