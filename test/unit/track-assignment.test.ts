import { describe, expect, it } from 'vitest';
import { matchGated, solveAssignment } from '../../src/track/assignment.js';
import { rng } from '../helpers/rng.js';


function bruteMin(cost: number[][]): number {
  const n = cost.length;
  const m = cost[0]!.length;
  let best = Infinity;
  const used = new Array<boolean>(m).fill(false);
  const rec = (i: number, acc: number, assigned: number): void => {
    if (i === n) {
      if (assigned === Math.min(n, m)) best = Math.min(best, acc);
      return;
    }
    // A row may stay unassigned only when rows outnumber columns.
    if (n > m) rec(i + 1, acc, assigned);
    for (let j = 0; j < m; j++) {
      if (used[j]) continue;
      used[j] = true;
      rec(i + 1, acc + cost[i]![j]!, assigned + 1);
      used[j] = false;
    }
  };
  rec(0, 0, 0);
  return best;
}

function total(cost: number[][], assign: number[]): number {
  return assign.reduce((s, j, i) => (j >= 0 ? s + cost[i]![j]! : s), 0);
}

describe('solveAssignment', () => {
  it('solves the classic 3x3 example', () => {
    const cost = [
      [4, 1, 3],
      [2, 0, 5],
      [3, 2, 2],
    ];
    const a = solveAssignment(cost);
    expect(a).toEqual([1, 0, 2]);
    expect(total(cost, a)).toBe(5);
  });

  it('matches brute force on random square and rectangular matrices', () => {
    const r = rng(7);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(r() * 5);
      const m = 1 + Math.floor(r() * 5);
      const cost = Array.from({ length: n }, () => Array.from({ length: m }, () => Math.round(r() * 20) / 2));
      const a = solveAssignment(cost);
      expect(a).toHaveLength(n);
      const cols = a.filter((j) => j >= 0);
      expect(new Set(cols).size).toBe(cols.length);
      expect(cols).toHaveLength(Math.min(n, m));
      expect(total(cost, a)).toBeCloseTo(bruteMin(cost), 9);
    }
  });

  it('handles empty inputs and rejects non-finite costs', () => {
    expect(solveAssignment([])).toEqual([]);
    expect(solveAssignment([[], []])).toEqual([-1, -1]);
    expect(() => solveAssignment([[1, Infinity]])).toThrow(RangeError);
  });
});

describe('matchGated', () => {
  it('never pairs below the threshold and reports both unmatched sides', () => {
    const sim = [
      [0.9, 0.0, 0.2],
      [0.1, 0.29, 0.0],
    ];
    const m = matchGated(sim, 0.3);
    expect(m.pairs).toEqual([[0, 0]]);
    expect(m.unmatchedRows).toEqual([1]);
    expect(m.unmatchedCols).toEqual([1, 2]);
  });

  it('accepts a pair exactly at the threshold', () => {
    expect(matchGated([[0.3]], 0.3).pairs).toEqual([[0, 0]]);
  });

  it('prefers the globally best assignment over a greedy first pick', () => {
    // Greedy would take (0,0)=0.8 and leave row 1 with nothing above 0.3.
    const sim = [
      [0.8, 0.7],
      [0.75, 0.1],
    ];
    expect(matchGated(sim, 0.3).pairs).toEqual([
      [0, 1],
      [1, 0],
    ]);
  });

  it('keeps one excellent pair rather than two marginal ones', () => {
    // Two pairs: cost 0.69 + 0.69 = 1.38; one pair + two unmatched: 0.1 + 0.35 + 0.35 = 0.8.
    const sim = [
      [0.9, 0.31],
      [0.31, 0.0],
    ];
    const m = matchGated(sim, 0.3);
    expect(m.pairs).toEqual([[0, 0]]);
    expect(m.unmatchedRows).toEqual([1]);
    expect(m.unmatchedCols).toEqual([1]);
  });

  it('reaches the optimal objective on random sparse similarity matrices', () => {
    const r = rng(99);
    const minSim = 0.3;
    const skip = (1 - minSim) / 2;
    const objective = (sim: number[][], pairs: [number, number][]): number =>
      pairs.reduce((s, [i, j]) => s + 1 - sim[i]![j]!, 0) + skip * (sim.length + sim[0]!.length - 2 * pairs.length);
    for (let trial = 0; trial < 150; trial++) {
      const n = 1 + Math.floor(r() * 6);
      const m = 1 + Math.floor(r() * 6);
      const sim = Array.from({ length: n }, () => Array.from({ length: m }, () => (r() < 0.4 ? r() : 0)));
      // Brute force over partial matchings of allowed pairs.
      let best = Infinity;
      const used = new Array<boolean>(m).fill(false);
      const rec = (i: number, acc: [number, number][]): void => {
        if (i === n) {
          best = Math.min(best, objective(sim, acc));
          return;
        }
        rec(i + 1, acc);
        for (let j = 0; j < m; j++) {
          if (used[j] || sim[i]![j]! < minSim) continue;
          used[j] = true;
          rec(i + 1, [...acc, [i, j]]);
          used[j] = false;
        }
      };
      rec(0, []);
      const got = matchGated(sim, minSim);
      for (const [i, j] of got.pairs) expect(sim[i]![j]!).toBeGreaterThanOrEqual(minSim);
      expect(got.unmatchedRows.length + got.pairs.length).toBe(n);
      expect(got.unmatchedCols.length + got.pairs.length).toBe(m);
      expect(objective(sim, got.pairs)).toBeCloseTo(best, 6);
    }
  });

  it('handles empty sides', () => {
    expect(matchGated([], 0.3)).toEqual({ pairs: [], unmatchedRows: [], unmatchedCols: [] });
    expect(matchGated([[], []], 0.3)).toEqual({ pairs: [], unmatchedRows: [0, 1], unmatchedCols: [] });
  });
});
