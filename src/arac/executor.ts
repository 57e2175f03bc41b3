/**
 * ARAC executor: runs the per-tile micro-flows (front), stitches their
 * features into the stride-8 map, fills skipped tiles from the feature cache,
 * then runs the cross-tile rest of the network once.
 *
 * Per frame, tiles are grouped by level and each level is one batched call
 * (per-call overhead dominates small tiles on CPU). When every tile is at the
 * same compute level the tiles are merged into one frame-sized window: no
 * halo at all. At c = 0 that window is the unsplit model itself, which also
 * returns the split-point features to refill the cache, so ARAC at c = 0
 * costs what the unsplit model costs.
 */
import type { ModelPack } from './manifest.js';
import { gatherWindows, makeTiles, windowSize, type Grid, type Tile } from './geometry.js';
import type { HeadOutput } from '../detect/decode.js';
import type { ModelRunner, Outputs, Tensor } from '../inference/tensor.js';
import { InputError } from '../core/errors.js';

/** Per-tile level: 0 = full width ... 1 = skip (reuse cached features). */
export interface TilePlan {
  grid: Grid;
  levels: readonly number[];
}

export interface LevelCall {
  level: number;
  /** Tiles in the batch (1 for a merged frame window). */
  batch: number;
  tiles: number[];
  merged: boolean;
}

export interface ExecStats {
  tiles: number;
  computedTiles: number;
  /** Computed tile area / frame area, weighted by each level's width cost. */
  workFraction: number;
  calls: LevelCall[];
  frontMs: number;
  restMs: number;
}

/**
 * One camera's cached stride-8 features: the last computed value of every
 * cell. Keyed by input size so a size change never mixes maps.
 */
export class FeatureCache {
  private maps = new Map<string, Float32Array>();

  get(width: number, height: number, channels: number, stride: number): Float32Array {
    const key = `${width}x${height}`;
    let m = this.maps.get(key);
    if (!m) {
      m = new Float32Array(channels * (height / stride) * (width / stride));
      this.maps.set(key, m);
    }
    return m;
  }

  clear(): void {
    this.maps.clear();
  }
}

export interface ExecutorOptions {
  /** Merge into one frame window when all tiles share a compute level (default true). */
  mergeUniform?: boolean;
}

export class AracExecutor {
  private readonly split: ModelPack['manifest']['arac']['split'];
  private readonly levelCost: Map<number, number>;
  private readonly computeLevels: Set<number>;

  constructor(private readonly runner: ModelRunner, private readonly pack: ModelPack, private readonly opts: ExecutorOptions = {}) {
    this.split = pack.manifest.arac.split;
    this.levelCost = new Map(pack.manifest.arac.levels.map((l) => [l.c, l.widthFraction ** 2]));
    this.computeLevels = new Set(pack.manifest.arac.levels.filter((l) => l.kind === 'compute').map((l) => l.c));
  }

  /** Model names this executor will ask the runner for. */
  async run(image: Float32Array, width: number, height: number, plan: TilePlan, cache: FeatureCache): Promise<{ heads: HeadOutput[]; stats: ExecStats }> {
    const tiles = makeTiles(width, height, plan.grid);
    if (plan.levels.length !== tiles.length) throw new InputError(`plan has ${plan.levels.length} levels for a ${plan.grid.cols}x${plan.grid.rows} grid`);
    const { stride, channels, halo } = this.split;
    const features = cache.get(width, height, channels, stride);

    const byLevel = new Map<number, Tile[]>();
    plan.levels.forEach((lvl, i) => {
      if (lvl >= 1) return;
      if (!this.computeLevels.has(lvl)) throw new InputError(`tile ${i}: level ${lvl} is not in the model pack (have ${[...this.computeLevels].join(', ')}, 1)`);
      const t = tiles[i] as Tile;
      byLevel.set(lvl, [...(byLevel.get(lvl) ?? []), t]);
    });

    const calls: LevelCall[] = [];
    const t0 = performance.now();
    const mergeUniform = this.opts.mergeUniform ?? true;
    if (mergeUniform && byLevel.get(0)?.length === tiles.length) {
      const out = await this.runner.run('full', { image: { data: image, dims: [1, 3, height, width] } });
      const f = out['features'];
      if (!f) throw new InputError('the unsplit model returned no "features" output');
      features.set(f.data);
      const heads = headsFrom(out, this.pack.manifest.decoding.strides);
      const ms = performance.now() - t0;
      calls.push({ level: 0, batch: 1, tiles: tiles.map((t) => t.index), merged: true });
      return { heads, stats: { tiles: tiles.length, computedTiles: tiles.length, workFraction: 1, calls, frontMs: 0, restMs: ms } };
    }
    const frame: Tile = { index: -1, col: 0, row: 0, x: 0, y: 0, w: width, h: height };
    for (const [level, group] of byLevel) {
      const merged = mergeUniform && group.length === tiles.length;
      const windows = merged ? [frame] : group;
      const pad = merged ? 0 : halo;
      const win = windowSize(windows, pad);
      const { images, masks } = gatherWindows(image, width, height, windows, pad, win);
      const out = await this.runner.run(`front:${level}`, {
        image: { data: images, dims: [windows.length, 3, win.height, win.width] },
        mask: { data: masks, dims: [windows.length, 1, win.height, win.width] },
      });
      const f = out['features'];
      if (!f) throw new InputError('front model returned no "features" output');
      windows.forEach((t, i) => scatter(f, i, t, pad, stride, features, width, height, channels));
      calls.push({ level, batch: windows.length, tiles: group.map((t) => t.index), merged });
    }
    const t1 = performance.now();

    const rest = await this.runner.run('rest', { features: { data: features, dims: [1, channels, height / stride, width / stride] } });
    const heads = headsFrom(rest, this.pack.manifest.decoding.strides);
    const t2 = performance.now();

    let work = 0;
    let computed = 0;
    plan.levels.forEach((lvl, i) => {
      if (lvl >= 1) return;
      const t = tiles[i] as Tile;
      computed++;
      work += (t.w * t.h * (this.levelCost.get(lvl) ?? 1)) / (width * height);
    });
    return { heads, stats: { tiles: tiles.length, computedTiles: computed, workFraction: work, calls, frontMs: t1 - t0, restMs: t2 - t1 } };
  }
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

/** Copy a window's valid centre (the tile) from a batched feature output into the stitched map. */
function scatter(f: Tensor, b: number, t: Tile, halo: number, stride: number, dst: Float32Array, width: number, height: number, channels: number): void {
  const [, c, fh, fw] = f.dims as [number, number, number, number];
  if (c !== channels) throw new InputError(`front output has ${c} channels, the split declares ${channels}`);
  const W = width / stride;
  const H = height / stride;
  const ox = halo / stride;
  const oy = halo / stride;
  const tw = t.w / stride;
  const th = t.h / stride;
  const tx = t.x / stride;
  const ty = t.y / stride;
  for (let ch = 0; ch < channels; ch++) {
    const src = ((b * channels + ch) * fh) * fw;
    const dstPlane = ch * H * W;
    for (let r = 0; r < th; r++) {
      const s = src + (oy + r) * fw + ox;
      dst.set(f.data.subarray(s, s + tw), dstPlane + (ty + r) * W + tx);
    }
  }
}
