/**
 * Frame in, detections in source pixels out: preprocess -> (unsplit model |
 * ARAC executor) -> GFL decode -> class-aware NMS -> scale to source.
 * Holds no ONNX Runtime state of its own: it talks to a ModelRunner.
 */
import { AracExecutor, FeatureCache, headNames, headsFrom, type ExecStats, type ExecutorOptions, type TilePlan, type WindowHeads } from './executor.js';
import { makeTiles } from '../arac/geometry.js';
import { bucketByTile } from '../arac/labeling.js';
import type { ModelPack } from '../model/manifest.js';
import { InputError } from '../core/errors.js';
import { scaleBox } from '../core/geometry.js';
import type { Detection } from '../core/types.js';
import { InputBuffers, type ModelRunner } from '../model/tensor.js';
import { decodeHeads, type HeadOutput } from './decode.js';
import { nms } from './nms.js';
import { toTensor } from './preprocess.js';

export interface DetectOptions {
  minScore: number;
  nmsIou: number;
  maxDetections: number;
  /** Keep only these labels (undefined = every class). */
  classes?: readonly string[];
}

export const DEFAULT_DETECT: DetectOptions = { minScore: 0.35, nmsIou: 0.6, maxDetections: 100 };

export interface FrameInput {
  data: Uint8Array;
  width: number;
  height: number;
  srcWidth: number;
  srcHeight: number;
}

/** How to run one frame: the unsplit model, or ARAC with a tile plan and the camera's cache. */
export type RunMode = { kind: 'full' } | { kind: 'arac'; plan: TilePlan; cache: FeatureCache };

export interface DetectResult {
  detections: Detection[];
  /** Raw head outputs (model-input coordinates), for parity checks and caching. */
  heads: HeadOutput[];
  preprocessMs: number;
  inferenceMs: number;
  postprocessMs: number;
  arac?: ExecStats;
}

export class Detector {
  private readonly executor: AracExecutor;
  private readonly classFilter: ReadonlySet<number> | undefined;
  /** The input tensor, reused frame to frame (one size at a time). */
  private readonly inputs = new InputBuffers(1);

  constructor(private readonly runner: ModelRunner, readonly pack: ModelPack, readonly options: DetectOptions = DEFAULT_DETECT, exec: ExecutorOptions = {}) {
    this.executor = new AracExecutor(runner, pack, exec);
    const labels = pack.manifest.classes;
    if (options.classes) {
      const ids = options.classes.map((name) => {
        const id = labels.indexOf(name);
        if (id < 0) throw new InputError(`unknown class '${name}' (the pack knows: ${labels.slice(0, 5).join(', ')}, ...)`);
        return id;
      });
      this.classFilter = new Set(ids);
    }
  }

  async detect(frame: FrameInput, mode: RunMode = { kind: 'full' }): Promise<DetectResult> {
    const { width, height } = frame;
    const m = this.pack.manifest;
    if (width % m.input.sizeMultiple !== 0 || height % m.input.sizeMultiple !== 0) {
      throw new InputError(`input size ${width}x${height} is not a multiple of ${m.input.sizeMultiple}`);
    }
    return this.inputs.call(() => this.detectNow(frame, width, height, mode));
  }

  /**
   * `inferenceMs` is everything the frame cost here: preprocessing, the model
   * calls and decoding. What a plan saves in any of them counts, and DEMUX's
   * cost model learns what a plan really costs.
   */
  private async detectNow(frame: FrameInput, width: number, height: number, mode: RunMode): Promise<DetectResult> {
    const m = this.pack.manifest;
    const t0 = performance.now();
    if (mode.kind === 'arac' && mode.plan.path === 'windowed') {
      // The executor reads only its windows' pixels (the whole frame only when the plan runs whole).
      const r = await this.executor.runWindowed(frame, mode.plan);
      const t2 = performance.now();
      const detections = this.mergeWindows(r.windows, frame, mode.plan, mode.cache);
      const t3 = performance.now();
      return { detections, heads: [], preprocessMs: 0, inferenceMs: t3 - t0, postprocessMs: t3 - t2, arac: r.stats };
    }
    const image = toTensor(frame.data, width, height, m.input, this.inputs.take(3 * width * height));
    this.inputs.hold(image);
    const t1 = performance.now();
    let heads: HeadOutput[];
    let arac: ExecStats | undefined;
    if (mode.kind === 'full') {
      heads = headsFrom(await this.runner.run('full', { image: { data: image, dims: [1, 3, height, width] } }, headNames(m.decoding.strides)), m.decoding.strides);
    } else {
      const r = await this.executor.run(image, width, height, mode.plan, mode.cache);
      heads = r.heads;
      arac = r.stats;
    }
    const t2 = performance.now();
    const raw = this.decode(heads, width, height);
    // Every tile now shows this frame: a later windowed frame's skipped tiles start from it.
    if (mode.kind === 'arac') mode.cache.setTileDetections(width, height, mode.plan.grid, bucketByCentre(raw, makeTiles(width, height, mode.plan.grid)));
    const detections = this.toSource(raw, frame);
    const t3 = performance.now();
    return { detections, heads, preprocessMs: t1 - t0, inferenceMs: t3 - t0, postprocessMs: t3 - t2, ...(arac ? { arac } : {}) };
  }

  postprocess(heads: readonly HeadOutput[], frame: Omit<FrameInput, 'data'>): Detection[] {
    return this.toSource(this.decode(heads, frame.width, frame.height), frame);
  }

  /** Decode + class-aware NMS, boxes in model-input pixels of the given (window) size. */
  private decode(heads: readonly HeadOutput[], width: number, height: number): Detection[] {
    const m = this.pack.manifest;
    const raw = decodeHeads(heads, {
      inputWidth: width,
      inputHeight: height,
      numClasses: m.decoding.numClasses,
      regMax: m.decoding.regMax,
      centerOffset: m.decoding.centerOffset,
      minScore: this.options.minScore,
      labels: m.classes,
      ...(this.classFilter ? { classFilter: this.classFilter } : {}),
    });
    return nms(raw, this.options.nmsIou, this.options.maxDetections);
  }

  private toSource(dets: readonly Detection[], frame: Omit<FrameInput, 'data'>): Detection[] {
    const sx = frame.srcWidth / frame.width;
    const sy = frame.srcHeight / frame.height;
    return dets.map((d) => ({ ...d, ...scaleBox(d, sx, sy) }));
  }

  /**
   * Windowed path: a computed tile shows the detections of its window whose
   * centre lies in it; a skipped tile shows what it showed when last
   * computed. A final NMS merges an object seen by two neighbouring windows.
   */
  private mergeWindows(windows: readonly WindowHeads[], frame: Omit<FrameInput, 'data'>, plan: TilePlan, cache: FeatureCache): Detection[] {
    const { width, height } = frame;
    const tiles = makeTiles(width, height, plan.grid);
    // Until refreshed below, every tile shows its cached (stale) detections.
    const perTile: Detection[][] = cache.tileDetections(width, height, plan.grid)?.map((ds) => ds.map((d) => ({ ...d, stale: true }))) ?? tiles.map(() => []);
    for (const w of windows) {
      const dets = this.decode(w.heads, w.rect.w, w.rect.h).map((d) => ({ ...d, x: d.x + w.rect.x, y: d.y + w.rect.y }));
      const buckets = bucketByCentre(dets, tiles);
      for (const i of w.keep) perTile[i] = buckets[i] ?? [];
    }
    // A skipped tile shows what the camera showed there, so the cache keeps the merged result.
    const merged = nms(perTile.flat(), this.options.nmsIou, this.options.maxDetections);
    cache.setTileDetections(width, height, plan.grid, bucketByCentre(merged, tiles));
    return this.toSource(merged, frame);
  }

}

/** Detections grouped by the tile holding their centre (every detection lands in one tile). */
function bucketByCentre(dets: readonly Detection[], tiles: readonly { x: number; y: number; w: number; h: number }[]): Detection[][] {
  return bucketByTile(dets, tiles, -Infinity);
}
