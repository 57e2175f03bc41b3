/**
 * Polygons for zones and masks (pure functions). A polygon is a closed ring
 * of points in one pixel space (source pixels in the config), its last point
 * joined back to its first. "Inside" includes the boundary everywhere here:
 * a point on a zone's edge is in the zone, and a tile whose edge runs along
 * a mask's edge lies inside the mask.
 */
import type { Box } from './types.js';

export type Point = readonly [x: number, y: number];
export type Polygon = readonly Point[];

/** Twice the signed area (shoelace); positive when the points run counter-clockwise in y-up axes. */
function doubleSignedArea(poly: Polygon): number {
  let s = 0;
  for (let i = 0; i < poly.length; i++) {
    const [x0, y0] = poly[i] as Point;
    const [x1, y1] = poly[(i + 1) % poly.length] as Point;
    s += x0 * y1 - x1 * y0;
  }
  return s;
}

/** Area enclosed by a simple polygon, square pixels. */
export function polygonArea(poly: Polygon): number {
  return Math.abs(doubleSignedArea(poly)) / 2;
}

/** Cross product of (b - a) and (c - a): > 0 when c lies left of a->b, 0 when collinear. */
function cross(a: Point, b: Point, c: Point): number {
  return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
}

/** True when p lies on the closed segment a-b. */
function onSegment(p: Point, a: Point, b: Point): boolean {
  return cross(a, b, p) === 0 && Math.min(a[0], b[0]) <= p[0] && p[0] <= Math.max(a[0], b[0]) && Math.min(a[1], b[1]) <= p[1] && p[1] <= Math.max(a[1], b[1]);
}

/** True when the closed segments a-b and c-d share at least one point. */
export function segmentsIntersect(a: Point, b: Point, c: Point, d: Point): boolean {
  const d1 = cross(c, d, a);
  const d2 = cross(c, d, b);
  const d3 = cross(a, b, c);
  const d4 = cross(a, b, d);
  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return true;
  return onSegment(a, c, d) || onSegment(b, c, d) || onSegment(c, a, b) || onSegment(d, a, b);
}

/**
 * The first pair of edges that meet although they are not neighbours (edge i
 * runs from point i to point i + 1), or undefined for a simple polygon.
 * Neighbouring edges may only share their common point: one folding back
 * over the other counts as a crossing too.
 */
export function selfIntersection(poly: Polygon): [number, number] | undefined {
  const n = poly.length;
  const edge = (i: number): [Point, Point] => [poly[i] as Point, poly[(i + 1) % n] as Point];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const [a, b] = edge(i);
      const [c, d] = edge(j);
      const neighbours = j === i + 1 || (i === 0 && j === n - 1);
      if (!neighbours) {
        if (segmentsIntersect(a, b, c, d)) return [i, j];
        continue;
      }
      // Neighbours share one point; they cross only if they overlap along a line (a fold back).
      const [shared, p, q] = j === i + 1 ? [b, a, d] : [a, b, c];
      if (cross(shared, p, q) === 0 && (p[0] - shared[0]) * (q[0] - shared[0]) + (p[1] - shared[1]) * (q[1] - shared[1]) > 0) return [i, j];
    }
  }
  return undefined;
}

/** Point in polygon, boundary included (even-odd rule by a horizontal ray, after an exact on-edge test). */
export function pointInPolygon(p: Point, poly: Polygon): boolean {
  const n = poly.length;
  let inside = false;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const a = poly[i] as Point;
    const b = poly[j] as Point;
    if (onSegment(p, a, b)) return true;
    // Half-open in y so that a ray through a vertex counts it once.
    if (a[1] > p[1] !== b[1] > p[1]) {
      const x = a[0] + ((p[1] - a[1]) * (b[0] - a[0])) / (b[1] - a[1]);
      if (p[0] < x) inside = !inside;
    }
  }
  return inside;
}

/**
 * True when the segment a-b passes through the open interior of the
 * rectangle (touching or running along its edges does not count): the
 * segment is clipped to the closed rectangle (Liang-Barsky), and a chord of
 * a rectangle that is not on one of its sides has its midpoint inside.
 */
function segmentCrossesInterior(a: Point, b: Point, r: Box): boolean {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  let t0 = 0;
  let t1 = 1;
  const clip = (p: number, q: number): boolean => {
    if (p === 0) return q >= 0;
    const t = q / p;
    if (p < 0) {
      if (t > t1) return false;
      if (t > t0) t0 = t;
    } else {
      if (t < t0) return false;
      if (t < t1) t1 = t;
    }
    return true;
  };
  if (!(clip(-dx, a[0] - r.x) && clip(dx, r.x + r.w - a[0]) && clip(-dy, a[1] - r.y) && clip(dy, r.y + r.h - a[1]))) return false;
  const tm = (t0 + t1) / 2;
  const mx = a[0] + tm * dx;
  const my = a[1] + tm * dy;
  return mx > r.x && mx < r.x + r.w && my > r.y && my < r.y + r.h;
}

/**
 * True when the whole rectangle (boundary included) lies inside the polygon:
 * its four corners are inside, and no edge of the polygon enters its
 * interior (which would cut a notch out of it). Exact for any simple polygon,
 * convex or not.
 */
export function rectInPolygon(r: Box, poly: Polygon): boolean {
  const corners: Point[] = [
    [r.x, r.y],
    [r.x + r.w, r.y],
    [r.x + r.w, r.y + r.h],
    [r.x, r.y + r.h],
  ];
  if (!corners.every((c) => pointInPolygon(c, poly))) return false;
  for (let i = 0; i < poly.length; i++) {
    if (segmentCrossesInterior(poly[i] as Point, poly[(i + 1) % poly.length] as Point, r)) return false;
  }
  return true;
}

/** The middle of a box's bottom edge: where an object stands on the ground (the zone rule). */
export function bottomCentre(b: Box): Point {
  return [b.x + b.w / 2, b.y + b.h];
}

/** The middle of a box (the mask rule: ARAC assigns a detection to the tile that holds its centre). */
export function boxCentre(b: Box): Point {
  return [b.x + b.w / 2, b.y + b.h / 2];
}
