/** Polygon geometry for zones and masks (src/core/polygon.ts): tables of cases, boundaries included. */
import { describe, expect, it } from 'vitest';
import { bottomCentre, boxCentre, pointInPolygon, polygonArea, rectInPolygon, segmentsIntersect, selfIntersection, type Point, type Polygon } from '../../src/core/polygon.js';
import type { Box } from '../../src/core/types.js';

const square: Polygon = [
  [0, 0],
  [10, 0],
  [10, 10],
  [0, 10],
];
// An L: the square minus its top-right quarter (y grows downwards, as in images).
const ell: Polygon = [
  [0, 0],
  [5, 0],
  [5, 5],
  [10, 5],
  [10, 10],
  [0, 10],
];
const triangle: Polygon = [
  [0, 0],
  [10, 0],
  [0, 10],
];

describe('pointInPolygon', () => {
  it.each<[string, Point, Polygon, boolean]>([
    ['centre of the square', [5, 5], square, true],
    ['a corner', [0, 0], square, true],
    ['on an edge', [10, 4], square, true],
    ['just outside an edge', [10.001, 4], square, false],
    ['left of it, level with a vertex', [-1, 0], square, false],
    ['in the L', [2, 8], ell, true],
    ['in the L\'s cut-out corner', [8, 2], ell, false],
    ['on the L\'s inner corner', [5, 5], ell, true],
    ['level with the L\'s inner vertex, inside', [2, 5], ell, true],
    ['on the hypotenuse', [5, 5], triangle, true],
    ['beyond the hypotenuse', [6, 6], triangle, false],
  ])('%s', (_name, p, poly, want) => {
    expect(pointInPolygon(p, poly)).toBe(want);
  });
});

describe('rectInPolygon', () => {
  const r = (x: number, y: number, w: number, h: number): Box => ({ x, y, w, h });
  it.each<[string, Box, Polygon, boolean]>([
    ['the square itself (edges along edges)', r(0, 0, 10, 10), square, true],
    ['inside the square', r(2, 2, 3, 3), square, true],
    ['sticking out', r(8, 2, 3, 3), square, false],
    ['in the L\'s lower bar', r(0, 5, 10, 5), ell, true],
    ['the L\'s bounding box: corners in, a notch out', r(0, 0, 10, 10), ell, false],
    ['across the L\'s inner corner', r(4, 4, 2, 2), ell, false],
    ['touching the L\'s inner corner from below', r(5, 5, 5, 5), ell, true],
    ['under the hypotenuse', r(0, 0, 5, 5), triangle, true],
    ['crossing the hypotenuse', r(0, 0, 6, 6), triangle, false],
  ])('%s', (_name, rect, poly, want) => {
    expect(rectInPolygon(rect, poly)).toBe(want);
  });

  it('a polygon vertex poking into a rect whose corners are all inside fails it (non-convex notch)', () => {
    // A square with a spike cut into it from the top: the rect's corners avoid the spike, its middle does not.
    const notched: Polygon = [
      [0, 0],
      [4, 0],
      [5, 6],
      [6, 0],
      [10, 0],
      [10, 10],
      [0, 10],
    ];
    const rect = r(1, 1, 8, 8);
    const corners: Point[] = [
      [1, 1],
      [9, 1],
      [9, 9],
      [1, 9],
    ];
    expect(corners.every((c) => pointInPolygon(c, notched))).toBe(true);
    expect(rectInPolygon(rect, notched)).toBe(false);
    expect(rectInPolygon(r(1, 7, 8, 2), notched)).toBe(true);
  });
});

describe('selfIntersection and area', () => {
  it.each<[string, Polygon, [number, number] | undefined]>([
    ['a square', square, undefined],
    ['an L', ell, undefined],
    ['a bow tie', [[0, 0], [10, 10], [10, 0], [0, 10]], [0, 2]],
    ['a fold back along an edge', [[0, 0], [10, 0], [5, 0], [5, 5]], [0, 1]],
    ['a vertex touching a far edge', [[0, 0], [10, 0], [10, 10], [5, 0], [0, 10]], [0, 2]],
  ])('%s', (_name, poly, want) => {
    expect(selfIntersection(poly)).toEqual(want);
  });

  it('area of the square, the L, a collinear ring', () => {
    expect(polygonArea(square)).toBe(100);
    expect(polygonArea(ell)).toBe(75);
    expect(polygonArea([[0, 0], [5, 5], [10, 10]])).toBe(0);
  });

  it('segments: crossing, touching at an end, parallel apart, collinear overlapping', () => {
    expect(segmentsIntersect([0, 0], [10, 10], [0, 10], [10, 0])).toBe(true);
    expect(segmentsIntersect([0, 0], [10, 0], [10, 0], [10, 10])).toBe(true);
    expect(segmentsIntersect([0, 0], [10, 0], [0, 1], [10, 1])).toBe(false);
    expect(segmentsIntersect([0, 0], [10, 0], [5, 0], [15, 0])).toBe(true);
    expect(segmentsIntersect([0, 0], [10, 0], [11, 0], [15, 0])).toBe(false);
  });
});

describe('reference points of a box', () => {
  it('bottom-centre (zones) and centre (masks)', () => {
    expect(bottomCentre({ x: 10, y: 20, w: 30, h: 40 })).toEqual([25, 60]);
    expect(boxCentre({ x: 10, y: 20, w: 30, h: 40 })).toEqual([25, 40]);
  });
});
