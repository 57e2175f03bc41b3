/**
 * The labeling rule on a hand-made fixture: a 2x2 grid of 100x100 tiles and
 * detections placed so that each tile's label can be worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import { bucketByTile, bucketMatches, labelTiles, rectOf } from '../../src/arac/labeling.js';
import type { Detection } from '../../src/core/types.js';

const rects = [
  { x: 0, y: 0, w: 100, h: 100 },
  { x: 100, y: 0, w: 100, h: 100 },
  { x: 0, y: 100, w: 100, h: 100 },
  { x: 100, y: 100, w: 100, h: 100 },
];
const det = (x: number, y: number, w: number, h: number, score = 0.9, classId = 0): Detection => ({ x, y, w, h, score, classId, label: classId === 0 ? 'person' : 'car' });

// Reference: a person in tile 0, a car in tile 1, a person in tile 3; tile 2 is empty.
const reference = [det(10, 10, 30, 60), det(120, 20, 50, 30, 0.8, 2), det(130, 130, 30, 50)];

describe('labelTiles', () => {
  it('gives each tile the most compressed level whose detections still match there', () => {
    const candidates = [
      // skip (last frame): person in tile 0 has moved away (IoU < 0.5), car unchanged, tile 2 empty, person 3 unchanged
      { level: 1, detections: [det(50, 10, 30, 60), det(120, 20, 50, 30, 0.8, 2), det(130, 130, 30, 50)] },
      // 0.75: misses the person in tile 0, adds a false car in tile 2
      { level: 0.75, detections: [det(120, 20, 50, 30, 0.8, 2), det(20, 120, 40, 40, 0.7, 2), det(130, 130, 30, 50)] },
      // 0.5: finds the person in tile 0 (IoU 0.78), keeps the false car in tile 2
      { level: 0.5, detections: [det(12, 12, 30, 60), det(120, 20, 50, 30, 0.8, 2), det(20, 120, 40, 40, 0.7, 2), det(130, 130, 30, 50)] },
    ];
    // tile 0: skip and 0.75 fail, 0.5 matches -> 0.5
    // tile 1: the car matches when skipped -> 1
    // tile 2: empty in the reference and when skipped -> 1
    // tile 3: unchanged -> 1
    expect(labelTiles(rects, reference, candidates)).toEqual([0.5, 1, 1, 1]);
  });

  it('a tile no candidate matches gets full width; a class mismatch is a mismatch', () => {
    const candidates = [
      { level: 1, detections: [det(10, 10, 30, 60, 0.9, 2)] }, // right box, wrong class (car)
      { level: 0.5, detections: [] },
    ];
    expect(labelTiles(rects, reference, candidates)).toEqual([0, 0, 1, 0]);
  });

  it('detections below the operating point count as absent', () => {
    const weak = [det(10, 10, 30, 60, 0.3)];
    expect(labelTiles(rects, weak, [{ level: 1, detections: [] }], { iou: 0.5, minScore: 0.5 })).toEqual([1, 1, 1, 1]);
    expect(labelTiles(rects, weak, [{ level: 1, detections: [] }], { iou: 0.5, minScore: 0.25 })).toEqual([0, 1, 1, 1]);
  });
});

describe('labelTiles with a score band', () => {
  it('flicker across the operating point inside the band is no change; outside it, it is', () => {
    // The reference's person in tile 0 scores 0.52; when skipped the tile shows it at 0.48.
    const ref = [det(10, 10, 30, 60, 0.52)];
    const flicker = [{ level: 1, detections: [det(10, 10, 30, 60, 0.48)] }];
    expect(labelTiles(rects, ref, flicker)).toEqual([0, 1, 1, 1]); // exact: a miss
    expect(labelTiles(rects, ref, flicker, { iou: 0.5, minScore: 0.5, band: 0.05 })).toEqual([1, 1, 1, 1]);
    // A real disappearance (0.30) or a clear new object (0.70 against nothing) still counts.
    expect(labelTiles(rects, [det(10, 10, 30, 60, 0.7)], [{ level: 1, detections: [det(10, 10, 30, 60, 0.3)] }], { iou: 0.5, minScore: 0.5, band: 0.05 })).toEqual([0, 1, 1, 1]);
    expect(labelTiles(rects, [], [{ level: 1, detections: [det(10, 10, 30, 60, 0.7)] }], { iou: 0.5, minScore: 0.5, band: 0.05 })).toEqual([0, 1, 1, 1]);
    // A moved box is a miss whatever its scores.
    expect(labelTiles(rects, [det(10, 10, 30, 60, 0.9)], [{ level: 1, detections: [det(50, 10, 30, 60, 0.9)] }], { iou: 0.5, minScore: 0.5, band: 0.05 })).toEqual([0, 1, 1, 1]);
  });
});

describe('bucketing by centre', () => {
  it('a box belongs to the tile holding its centre; a shared border goes right/down', () => {
    expect(rectOf(det(80, 10, 60, 20), rects)).toBe(1); // centre x = 110
    expect(rectOf(det(70, 10, 60, 20), rects)).toBe(1); // centre x = 100: the border
    expect(rectOf(det(60, 10, 60, 20), rects)).toBe(0); // centre x = 90
  });

  it('a centre outside every tile goes to the nearest', () => {
    expect(rectOf(det(180, -40, 60, 20), rects)).toBe(1);
  });

  it('extra or missing detections break a match; order does not', () => {
    const a = [det(0, 0, 10, 10), det(50, 50, 10, 10)];
    expect(bucketMatches([...a].reverse(), a, 0.5)).toBe(true);
    expect(bucketMatches(a.slice(0, 1), a, 0.5)).toBe(false);
    expect(bucketMatches([...a, det(80, 80, 5, 5)], a, 0.5)).toBe(false);
    expect(bucketByTile(a, rects, 0).map((b) => b.length)).toEqual([2, 0, 0, 0]);
  });
});
