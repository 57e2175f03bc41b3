/**
 * Per-camera motion detection in the style of Frigate's: a downscaled luma
 * frame is compared against a running-average background, the changed cells
 * are joined into blobs, and the blobs become boxes. It is a cheap gate for
 * "is anything happening here?", not an object detector: it runs on every
 * frame, so the whole update is kept under a millisecond at detector size
 * (buffers are sized once per frame size; per frame only the small blob and box lists are allocated).
 *
 * Known limit of a running average: a slow mover leaves a short trail in the
 * background, so its box can stretch back along its path until the trail fades
 * (about 1/alpha frames). For a "which tiles are busy" gate that errs the safe way.
 */
import { InputError } from '../core/errors.js';
import type { Box } from '../core/types.js';
import { downscaleLuma, labelComponents, maskFractionInRect, mergeBoxes } from './motion-ops.js';

export interface MotionOptions {
  /** Small-scale height to aim for; the integer factor is round(height / targetHeight). Default 120. */
  targetHeight?: number;
  /** Integer downscale factor; overrides `targetHeight`. */
  factor?: number;
  /** Background learning rate per frame. Default 0.03: a high-contrast object that stops fades into the background in ~2 s at 30 fps. */
  alpha?: number;
  /** Luma difference (0..255) for a cell to count as changed. Default 25. */
  threshold?: number;
  /**
   * Dilation radius in small-scale cells, to join fragments of one mover: cells up to 2r+1 apart
   * join one blob, as if the mask were dilated by r before labelling. Default 1.
   */
  dilateRadius?: number;
  /** Smallest blob kept, in input-frame pixels of raw motion. Default: `minAreaFraction` of the frame. */
  minArea?: number;
  /** Smallest blob kept as a share of the frame, used when `minArea` is absent. Default 0.0005. */
  minAreaFraction?: number;
  /** Boxes closer than this (input pixels, both axes) are merged. Default 2 cells' width. */
  mergeGap?: number;
  /** Changed share of the frame above which the change is global (lights, IR switch, exposure). Default 0.5. */
  lightingThreshold?: number;
  /** Frames after the first (background) frame that report no motion while the background settles. Default 5. */
  warmupFrames?: number;
}

export interface MotionResult {
  /** Motion boxes in the input frame's pixel coordinates, merged, sorted top-to-bottom. */
  boxes: Box[];
  /** Share of the frame covered by the reported motion (raw cells of kept blobs). 0 when nothing is reported. */
  motionFraction: number;
  /** Share of cells over the threshold before any guard or size filter: why a frame was flagged. */
  changedFraction: number;
  /** The change was global; the background was reset to this frame and nothing is reported. */
  lightingChange: boolean;
  /** The background is still being learned; nothing is reported. */
  warmingUp: boolean;
  /**
   * Small-scale mask (maskWidth x maskHeight), 1 = reported motion cell. Owned by the detector and
   * overwritten by the next update(): copy it to keep it (a fresh array per frame cost more than
   * the rest of the update).
   */
  mask: Uint8Array;
  maskWidth: number;
  maskHeight: number;
  /** Input pixels per mask cell along each axis. */
  scale: number;
}

interface Resolved {
  targetHeight: number;
  factor: number | undefined;
  alpha: number;
  threshold: number;
  dilateRadius: number;
  minArea: number | undefined;
  minAreaFraction: number;
  mergeGap: number | undefined;
  lightingThreshold: number;
  warmupFrames: number;
}

function resolve(o: MotionOptions): Resolved {
  const check = (key: string, v: number | undefined, ok: (n: number) => boolean, want: string): void => {
    if (v !== undefined && !(Number.isFinite(v) && ok(v))) throw new InputError(`motion option ${key} must be ${want}, got ${v}`);
  };
  check('targetHeight', o.targetHeight, (n) => n >= 1, 'a number >= 1');
  check('factor', o.factor, (n) => Number.isInteger(n) && n >= 1, 'an integer >= 1');
  check('alpha', o.alpha, (n) => n > 0 && n <= 1, 'in (0, 1]');
  check('threshold', o.threshold, (n) => n >= 0 && n < 255, 'in [0, 255)');
  check('dilateRadius', o.dilateRadius, (n) => Number.isInteger(n) && n >= 0 && n <= 8, 'an integer in [0, 8]');
  check('minArea', o.minArea, (n) => n >= 0, '>= 0');
  check('minAreaFraction', o.minAreaFraction, (n) => n >= 0 && n <= 1, 'in [0, 1]');
  check('mergeGap', o.mergeGap, (n) => n >= 0, '>= 0');
  check('lightingThreshold', o.lightingThreshold, (n) => n > 0 && n <= 1, 'in (0, 1]');
  check('warmupFrames', o.warmupFrames, (n) => Number.isInteger(n) && n >= 0, 'an integer >= 0');
  return {
    targetHeight: o.targetHeight ?? 120,
    factor: o.factor,
    alpha: o.alpha ?? 0.03,
    threshold: o.threshold ?? 25,
    dilateRadius: o.dilateRadius ?? 1,
    minArea: o.minArea,
    minAreaFraction: o.minAreaFraction ?? 0.0005,
    mergeGap: o.mergeGap,
    lightingThreshold: o.lightingThreshold ?? 0.5,
    warmupFrames: o.warmupFrames ?? 5,
  };
}

/** Stateful, one per camera. Not shared between cameras: the background is that camera's. */
export class MotionDetector {
  private readonly opts: Resolved;
  private width = 0;
  private height = 0;
  private factor = 1;
  private sw = 0;
  private sh = 0;
  private framesSeen = 0;
  private bg = new Float32Array(0);
  private cur = new Uint8Array(0);
  private raw = new Uint8Array(0);
  private labels = new Int32Array(0);
  private stack = new Int32Array(0);
  private mask = new Uint8Array(0);
  /** Whether `mask` holds a reported frame; false before the first frame and after reset(). */
  private hasMask = false;

  constructor(options: MotionOptions = {}) {
    this.opts = resolve(options);
  }

  /** Forget the background; the next frame starts a new warm-up. */
  reset(): void {
    this.framesSeen = 0;
    this.width = 0;
    this.height = 0;
    this.hasMask = false;
  }

  update(rgb: Uint8Array, width: number, height: number): MotionResult {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new InputError(`motion: frame size must be positive integers, got ${width}x${height}`);
    }
    if (rgb.length !== width * height * 3) {
      throw new InputError(`motion: frame ${width}x${height} needs ${width * height * 3} RGB bytes, got ${rgb.length}`);
    }
    // A size change (camera reconfigured, detector input changed) invalidates the background.
    if (width !== this.width || height !== this.height) this.allocate(width, height);

    const { sw, sh, factor } = this;
    const n = sw * sh;
    downscaleLuma(rgb, width, height, factor, this.cur);
    const result = (fields: Partial<MotionResult>, mask: Uint8Array): MotionResult => ({
      boxes: [],
      motionFraction: 0,
      changedFraction: 0,
      lightingChange: false,
      warmingUp: false,
      ...fields,
      mask,
      maskWidth: sw,
      maskHeight: sh,
      scale: factor,
    });

    const { bg, cur, raw, mask } = this;
    this.hasMask = true;
    if (this.framesSeen === 0) {
      for (let i = 0; i < n; i++) bg[i] = cur[i]!;
      this.framesSeen = 1;
      mask.fill(0);
      return result({ warmingUp: this.opts.warmupFrames > 0 }, mask);
    }

    const warmingUp = this.framesSeen <= this.opts.warmupFrames;
    // Warm-up frames use a cumulative mean (1/k) so the background settles in a few frames, not
    // 1/alpha; afterwards the slow rate keeps a slow mover from leaving a trail in the background.
    const alpha = warmingUp ? Math.max(this.opts.alpha, 1 / (this.framesSeen + 1)) : this.opts.alpha;
    const thr = this.opts.threshold;
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const c = cur[i]!;
      const b = bg[i]!;
      const d = c - b;
      const on = d > thr || d < -thr ? 1 : 0;
      raw[i] = on;
      changed += on;
      bg[i] = b + alpha * d;
    }
    this.framesSeen++;
    const changedFraction = n > 0 ? changed / n : 0;
    if (changedFraction > this.opts.lightingThreshold) {
      for (let i = 0; i < n; i++) bg[i] = cur[i]!;
      mask.fill(0);
      return result({ changedFraction, lightingChange: true, warmingUp }, mask);
    }
    if (warmingUp || changed === 0) {
      mask.fill(0);
      return result({ changedFraction, warmingUp }, mask);
    }

    const comps = labelComponents(raw, sw, sh, 2 * this.opts.dilateRadius + 1, this.labels, this.stack);
    const cellArea = factor * factor;
    const minArea = this.opts.minArea ?? this.opts.minAreaFraction * width * height;
    const keep = new Uint8Array(comps.length + 1);
    const boxes: Box[] = [];
    let kept = 0;
    for (const c of comps) {
      if (c.count * cellArea < minArea) continue;
      keep[c.label] = 1;
      kept += c.count;
      // Cells on the last row/column also own the input pixels left over by the integer factor.
      const x1 = c.maxX === sw - 1 ? width : (c.maxX + 1) * factor;
      const y1 = c.maxY === sh - 1 ? height : (c.maxY + 1) * factor;
      boxes.push({ x: c.minX * factor, y: c.minY * factor, w: x1 - c.minX * factor, h: y1 - c.minY * factor });
    }
    const labels = this.labels;
    for (let i = 0; i < n; i++) mask[i] = keep[labels[i]!]!;
    const gap = this.opts.mergeGap ?? 2 * factor;
    return result({ boxes: mergeBoxes(boxes, gap), motionFraction: kept / n, changedFraction }, mask);
  }

  /**
   * Share (0..1) of the last reported motion inside `rect` (input-frame pixels):
   * "does this tile have motion?". 0 before the first frame and on frames that
   * reported nothing (warm-up, lighting change).
   */
  motionInRect(rect: Box): number {
    if (!this.hasMask) return 0;
    return maskFractionInRect(this.mask, this.sw, this.sh, this.factor, rect);
  }

  private allocate(width: number, height: number): void {
    const factor = this.opts.factor ?? Math.max(1, Math.round(height / this.opts.targetHeight));
    // Never downscale below one cell on either axis.
    this.factor = Math.max(1, Math.min(factor, width, height));
    this.width = width;
    this.height = height;
    this.sw = Math.floor(width / this.factor);
    this.sh = Math.floor(height / this.factor);
    const n = this.sw * this.sh;
    this.bg = new Float32Array(n);
    this.cur = new Uint8Array(n);
    this.raw = new Uint8Array(n);
    this.labels = new Int32Array(n);
    this.stack = new Int32Array(n);
    this.mask = new Uint8Array(n);
    this.framesSeen = 0;
    this.hasMask = false;
  }
}
