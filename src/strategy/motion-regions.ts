/**
 * Frigate's approach as a baseline: motion boxes and the tracker's predicted
 * objects become square regions with a margin; the detector runs on each
 * region's crop (at native resolution, sides rounded up to 32 px, since this
 * model takes any multiple of 32), and the detections are merged with NMS.
 * No motion and no tracked object: no inference at all. While the motion
 * background warms up, the whole frame is detected (so objects that stand
 * still from the start get tracked).
 */
import type { Box, Detection, Frame } from '../core/types.js';
import { nms } from '../detect/nms.js';
import { MotionDetector, type MotionOptions } from '../importance/motion.js';
import { cropRgb } from './image-ops.js';
import type { Strategy, StrategyContext, StrategyResult } from './types.js';

export interface RegionOptions {
  /** Smallest region side, input pixels (multiple of 32). */
  minSide: number;
  /** Region side = multiplier x the box's larger side (Frigate uses 2 for motion). */
  multiplier: number;
  /** More regions than this in one frame: detect the whole frame instead. */
  maxRegions: number;
  motion?: MotionOptions;
}

export const DEFAULT_REGIONS: RegionOptions = { minSide: 160, multiplier: 1.5, maxRegions: 4 };

const ceil32 = (v: number) => Math.max(32, Math.ceil(v / 32) * 32);

/** A square region around a box, clamped (shifted) inside the frame. Pure. */
export function regionFor(b: Box, frameW: number, frameH: number, o: Pick<RegionOptions, 'minSide' | 'multiplier'>): Box {
  const limit = Math.floor(Math.min(frameW, frameH) / 32) * 32;
  const side = Math.min(limit, ceil32(Math.max(o.minSide, o.multiplier * Math.max(b.w, b.h))));
  const cx = b.x + b.w / 2;
  const cy = b.y + b.h / 2;
  const x = Math.round(Math.min(Math.max(cx - side / 2, 0), frameW - side));
  const y = Math.round(Math.min(Math.max(cy - side / 2, 0), frameH - side));
  return { x, y, w: side, h: side };
}

const contains = (outer: Box, inner: Box) => inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.w <= outer.x + outer.w && inner.y + inner.h <= outer.y + outer.h;

/** Boxes -> as few square regions as covering them allows (a box inside an existing region adds none). Pure. */
export function regionsFor(boxes: readonly Box[], frameW: number, frameH: number, o: Pick<RegionOptions, 'minSide' | 'multiplier'>): Box[] {
  const sorted = [...boxes].sort((a, b) => b.w * b.h - a.w * a.h);
  const regions: Box[] = [];
  for (const b of sorted) {
    if (regions.some((r) => contains(r, b))) continue;
    regions.push(regionFor(b, frameW, frameH, o));
  }
  return regions;
}

export class MotionRegionsStrategy implements Strategy {
  readonly name = 'motion-regions';
  readonly models = 'full' as const;
  private motion: MotionDetector;

  constructor(private readonly o: RegionOptions = DEFAULT_REGIONS) {
    this.motion = new MotionDetector(o.motion);
  }

  async process(frame: Frame, ctx: StrategyContext): Promise<StrategyResult> {
    const m = this.motion.update(frame.data, frame.width, frame.height);
    const sx = frame.srcWidth / frame.width;
    const sy = frame.srcHeight / frame.height;
    if (m.warmingUp) return this.whole(frame, ctx, 'warm-up');
    const tracked = ctx.predictTracks(frame.ptsMs).map((t) => ({ x: t.box.x / sx, y: t.box.y / sy, w: t.box.w / sx, h: t.box.h / sy }));
    const regions = regionsFor([...m.boxes, ...tracked], frame.width, frame.height, this.o);
    if (regions.length === 0) return { detections: [], detectorMs: 0, workFraction: 0, plan: { kind: 'regions', regions: [] } };
    if (regions.length > this.o.maxRegions) return this.whole(frame, ctx, `${regions.length} regions`);

    const all: Detection[] = [];
    let ms = 0;
    let work = 0;
    for (const r of regions) {
      const crop = cropRgb(frame.data, frame.width, frame.height, r);
      // Boxes come back in crop pixels (srcWidth = crop width), then move to source pixels.
      const res = await ctx.detect({ data: crop.data, width: crop.width, height: crop.height, srcWidth: crop.width, srcHeight: crop.height }, 'full');
      ms += res.inferenceMs;
      work += (crop.width * crop.height) / (frame.width * frame.height);
      for (const d of res.detections) all.push({ ...d, x: (d.x + crop.x) * sx, y: (d.y + crop.y) * sy, w: d.w * sx, h: d.h * sy });
    }
    return { detections: nms(all, 0.6), detectorMs: ms, workFraction: work, plan: { kind: 'regions', regions } };
  }

  private async whole(frame: Frame, ctx: StrategyContext, why: string): Promise<StrategyResult> {
    const r = await ctx.detect({ data: frame.data, width: frame.width, height: frame.height, srcWidth: frame.srcWidth, srcHeight: frame.srcHeight }, 'full');
    return { detections: r.detections, detectorMs: r.inferenceMs, workFraction: 1, plan: { kind: 'regions', regions: 'frame', why } };
  }

  reset(): void {
    this.motion.reset();
  }
}
