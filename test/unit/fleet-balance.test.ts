/**
 * The fleet's placement rules (src/fleet/balance.ts), pure: how many cameras
 * each instance may hold, the order it reaches for them, when it asks for
 * one and which one it gives. Who actually holds a lease is JetStream's
 * decision (test/e2e/fleet.test.ts); these only decide what an instance tries.
 */
import { describe, expect, it } from 'vitest';
import { askWhom, claimOrder, holdLimits, pickToGive, shouldGive, type MemberView } from '../../src/fleet/balance.js';

const m = (id: string, held: number, maxCameras?: number): MemberView => ({ id, held, ...(maxCameras !== undefined ? { maxCameras } : {}) });

describe('holdLimits', () => {
  it('spreads cameras evenly over members without limits (rounding up)', () => {
    expect(Object.fromEntries(holdLimits([m('a', 0), m('b', 0), m('c', 0)], 6))).toEqual({ a: 2, b: 2, c: 2 });
    expect(Object.fromEntries(holdLimits([m('a', 0), m('b', 0), m('c', 0)], 7))).toEqual({ a: 3, b: 3, c: 3 });
  });

  it('water-fills around a member capped by maxCameras; the limits cover every camera', () => {
    const limits = holdLimits([m('a', 0, 1), m('b', 0), m('c', 0)], 7);
    expect(Object.fromEntries(limits)).toEqual({ a: 1, b: 3, c: 3 });
    expect([...limits.values()].reduce((x, y) => x + y, 0)).toBeGreaterThanOrEqual(7);
  });

  it('when the fleet has no room for all, each takes its maxCameras (and no more)', () => {
    expect(Object.fromEntries(holdLimits([m('a', 0, 2), m('b', 0, 3)], 10))).toEqual({ a: 2, b: 3 });
  });

  it('a lone member takes everything', () => {
    expect(Object.fromEntries(holdLimits([m('a', 0)], 5))).toEqual({ a: 5 });
  });
});

describe('claimOrder', () => {
  const cams = Array.from({ length: 12 }, (_, i) => `cam${i + 1}`);

  it('is a stable permutation of the cameras, different per instance', () => {
    const a = claimOrder(cams, 'a');
    expect([...a].sort()).toEqual([...cams].sort());
    expect(claimOrder([...cams].reverse(), 'a')).toEqual(a);
    expect(claimOrder(cams, 'b')).not.toEqual(a);
  });

  it('instances starting together reach first for different cameras (mostly)', () => {
    const firsts = new Set(['a', 'b', 'c', 'd'].map((i) => claimOrder(cams, i)[0]));
    expect(firsts.size).toBeGreaterThanOrEqual(3);
  });
});

describe('rebalance: askWhom, shouldGive, pickToGive', () => {
  it('a newcomer with nothing asks the fullest member, only when no camera is free', () => {
    const view = [m('a', 3), m('b', 3), m('new', 0)];
    const limits = holdLimits(view, 6);
    expect(askWhom('new', view, limits, 0)).toBe('a'); // a tie goes to the smaller id
    expect(askWhom('new', view, limits, 1)).toBeUndefined(); // free cameras are claimed, not asked for
  });

  it('nobody asks when counts differ by one at most (no camera moves back and forth)', () => {
    const view = [m('a', 3), m('b', 2), m('c', 2)];
    const limits = holdLimits(view, 7);
    for (const id of ['a', 'b', 'c']) expect(askWhom(id, view, limits, 0), id).toBeUndefined();
    expect(shouldGive(3, 2)).toBe(false);
    expect(shouldGive(3, 1)).toBe(true);
  });

  it('a member at its own maxCameras does not ask, however full the others are', () => {
    const view = [m('a', 5), m('small', 1, 1)];
    expect(askWhom('small', view, holdLimits(view, 6), 0)).toBeUndefined();
  });

  it('the giver hands over a camera that never moved when it has one, so without a failure none moves twice', () => {
    const held = [
      { camera: 'cam1', moved: true },
      { camera: 'cam2', moved: false },
      { camera: 'cam3', moved: true },
    ];
    expect(pickToGive(held, 'x')).toBe('cam2');
    expect(pickToGive([{ camera: 'cam1', moved: true }], 'x')).toBe('cam1');
    expect(pickToGive([], 'x')).toBeUndefined();
  });
});
