/** Pure box geometry shared by NMS, the tracker and the metrics. */
import type { Box } from './types.js';

export function area(b: Box): number {
  return Math.max(0, b.w) * Math.max(0, b.h);
}

export function intersection(a: Box, b: Box): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/** Intersection over union; 0 when both boxes are empty. */
export function iou(a: Box, b: Box): number {
  const inter = intersection(a, b);
  if (inter === 0) return 0;
  return inter / (area(a) + area(b) - inter);
}

export function clampBox(b: Box, width: number, height: number): Box {
  const x0 = Math.min(Math.max(b.x, 0), width);
  const y0 = Math.min(Math.max(b.y, 0), height);
  const x1 = Math.min(Math.max(b.x + b.w, 0), width);
  const y1 = Math.min(Math.max(b.y + b.h, 0), height);
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/** Scale a box from one image size to another (per-axis, as ffmpeg's scale does). */
export function scaleBox(b: Box, sx: number, sy: number): Box {
  return { x: b.x * sx, y: b.y * sy, w: b.w * sx, h: b.h * sy };
}
