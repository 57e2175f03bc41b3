/**
 * The baseline strategies: the unsplit model on every frame (`full`), the
 * unsplit model at half the input size (`downscale`), and detection every
 * N frames with the tracker predicting in between (`skip-track`, as in
 * Edge-Assisted AR).
 */
import { clampBox } from '../core/geometry.js';
import type { Frame } from '../core/types.js';
import { ceilTo, resizeRgb } from './image-ops.js';
import type { Strategy, StrategyContext, StrategyResult } from './types.js';

const wholeFrame = (f: Frame) => ({ data: f.data, width: f.width, height: f.height, srcWidth: f.srcWidth, srcHeight: f.srcHeight });

export class FullStrategy implements Strategy {
  readonly name = 'full';
  readonly models = 'full' as const;

  async process(frame: Frame, ctx: StrategyContext): Promise<StrategyResult> {
    const r = await ctx.detect(wholeFrame(frame), 'full');
    return { detections: r.detections, detectorMs: r.inferenceMs, workFraction: 1 };
  }

  reset(): void {}
}

export class DownscaleStrategy implements Strategy {
  readonly name: string;
  readonly models = 'full' as const;

  /** `factor` 2 = half the input size per side; sides rounded up to multiples of 32. */
  constructor(private readonly factor = 2) {
    this.name = factor === 2 ? 'downscale' : `downscale:${factor}`;
  }

  async process(frame: Frame, ctx: StrategyContext): Promise<StrategyResult> {
    const w = ceilTo(frame.width / this.factor, 32);
    const h = ceilTo(frame.height / this.factor, 32);
    const data = resizeRgb(frame.data, frame.width, frame.height, w, h);
    const r = await ctx.detect({ data, width: w, height: h, srcWidth: frame.srcWidth, srcHeight: frame.srcHeight }, 'full');
    return { detections: r.detections, detectorMs: r.inferenceMs, workFraction: (w * h) / (frame.width * frame.height), plan: { kind: 'downscale', input: { width: w, height: h } } };
  }

  reset(): void {}
}

export class SkipTrackStrategy implements Strategy {
  readonly name: string;
  readonly models = 'full' as const;
  private count = 0;

  constructor(private readonly every = 3) {
    this.name = `skip-track:${every}`;
  }

  async process(frame: Frame, ctx: StrategyContext): Promise<StrategyResult> {
    const detectNow = this.count % this.every === 0;
    this.count++;
    if (detectNow) {
      const r = await ctx.detect(wholeFrame(frame), 'full');
      return { detections: r.detections, detectorMs: r.inferenceMs, workFraction: 1, plan: { kind: 'skip', detected: true } };
    }
    // In between, publish where the tracker expects each confirmed object to be now.
    const detections = ctx
      .predictTracks(frame.ptsMs)
      .filter((t) => t.confirmed)
      .map((t) => ({ ...clampBox(t.box, frame.srcWidth, frame.srcHeight), classId: t.classId, label: t.label, score: t.score, trackId: t.trackId }))
      .filter((d) => d.w > 1 && d.h > 1);
    return { detections, detectorMs: 0, workFraction: 0, fromTracker: true, plan: { kind: 'skip', detected: false } };
  }

  reset(): void {
    this.count = 0;
  }
}
