import { describe, expect, it } from 'vitest';
import { kalmanInit, kalmanPredict, kalmanUpdate, viewState, DEFAULT_KALMAN_NOISE } from '../../src/track/kalman.js';
import { fromRows, identity, inverse, mul, toRows, transpose } from '../../src/track/matrix.js';

describe('matrix helpers', () => {
  it('multiplies, transposes and inverts', () => {
    const a = fromRows([
      [4, 1, 0],
      [1, 3, 1],
      [0, 1, 2],
    ]);
    const b = fromRows([[1], [2], [3]]);
    expect(toRows(mul(a, b))).toEqual([[6], [10], [8]]);
    expect(toRows(transpose(b))).toEqual([[1, 2, 3]]);
    const prod = toRows(mul(a, inverse(a)));
    const eye = toRows(identity(3));
    prod.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(eye[i]![j]!, 12)));
  });

  it('pivots past a zero on the diagonal and rejects singular or mis-shaped input', () => {
    const a = fromRows([
      [0, 2],
      [3, 0],
    ]);
    expect(toRows(inverse(a))).toEqual([
      [0, 1 / 3],
      [0.5, 0],
    ]);
    expect(() => inverse(fromRows([[1, 2], [2, 4]]))).toThrow(RangeError);
    expect(() => mul(a, fromRows([[1, 2, 3]]))).toThrow(RangeError);
  });
});

describe('box Kalman filter', () => {
  const box = { x: 90, y: 160, w: 20, h: 40 };

  it('starts at the measurement with zero velocity', () => {
    const v = viewState(kalmanInit(box));
    expect(v.box).toEqual(box);
    expect(v.vx).toBe(0);
    expect(v.sigma.cx).toBeCloseTo(DEFAULT_KALMAN_NOISE.measStd * 20, 9);
    expect(v.sigma.cy).toBeCloseTo(DEFAULT_KALMAN_NOISE.measStd * 40, 9);
  });

  it('learns a constant velocity from exact measurements', () => {
    let st = kalmanInit(box);
    for (let k = 1; k <= 40; k++) {
      st = kalmanPredict(st, 0.1);
      st = kalmanUpdate(st, { ...box, x: box.x + 5 * k, y: box.y - 2 * k });
    }
    const v = viewState(kalmanPredict(st, 0.1));
    expect(v.vx).toBeCloseTo(50, 0);
    expect(v.vy).toBeCloseTo(-20, 0);
    expect(v.box.x).toBeCloseTo(box.x + 5 * 41, 0);
    expect(v.box.y).toBeCloseTo(box.y - 2 * 41, 0);
  });

  it('moves and widens proportionally to elapsed time', () => {
    let st = kalmanInit(box);
    for (let k = 1; k <= 30; k++) st = kalmanUpdate(kalmanPredict(st, 0.1), { ...box, x: box.x + 5 * k });
    const one = viewState(kalmanPredict(st, 0.1));
    const four = viewState(kalmanPredict(st, 0.4));
    const now = viewState(st);
    expect(four.box.x - now.box.x).toBeCloseTo(4 * (one.box.x - now.box.x), 6);
    expect(four.sigma.cx).toBeGreaterThan(one.sigma.cx);
    // dt <= 0 is a no-op rather than a step backwards.
    expect(viewState(kalmanPredict(st, -1))).toEqual(now);
  });
});
