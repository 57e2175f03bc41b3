import { describe, expect, it } from 'vitest';
import { ConfigError, InputError } from '../../src/core/errors.js';
import { RefreshScheduler } from '../../src/importance/refresh.js';
import { rng } from '../helpers/rng.js';


/**
 * Drives a scheduler like a strategy would: each frame the forced tiles plus
 * the "natural" ones (tracks, motion) are computed. Returns per-frame forced
 * counts and the worst gaps seen by an independent bookkeeping.
 */
function simulate(s: RefreshScheduler, o: { tiles: number; frames: number; intervalMs: number; jitter?: number; busy?: (frame: number, tile: number) => boolean; seed?: number }) {
  const rand = rng(o.seed ?? 1);
  const lastF = new Array<number>(o.tiles).fill(-1);
  const lastT = new Array<number>(o.tiles).fill(0);
  let maxGapF = 0;
  let maxGapMs = 0;
  const forced: number[] = [];
  let ts = 0;
  for (let f = 0; f < o.frames; f++) {
    ts += o.intervalMs * (1 + (o.jitter ?? 0) * (2 * rand() - 1));
    const due = s.due(ts, o.tiles);
    forced.push(due.size);
    for (let i = 0; i < o.tiles; i++) {
      if (!due.has(i) && !(o.busy?.(f, i) ?? false)) continue;
      if (lastF[i]! >= 0) {
        maxGapF = Math.max(maxGapF, f - lastF[i]!);
        maxGapMs = Math.max(maxGapMs, ts - lastT[i]!);
      }
      lastF[i] = f;
      lastT[i] = ts;
      s.computed(i, ts);
    }
  }
  // Tiles still waiting at the end must not already be past the bound.
  for (let i = 0; i < o.tiles; i++) maxGapF = Math.max(maxGapF, o.frames - 1 - lastF[i]!);
  return { forced, maxGapF, maxGapMs };
}

describe('RefreshScheduler', () => {
  it('forces all tiles on the first frame, then about one per frame for 16 tiles and N = 16', () => {
    const s = new RefreshScheduler({ everyFrames: 16, everyMs: 60_000 });
    const r = simulate(s, { tiles: 16, frames: 400, intervalMs: 40 });
    expect(r.forced[0]).toBe(16);
    expect(r.forced.slice(1).every((n) => n === 1)).toBe(true);
    expect(r.maxGapF).toBe(16);
    expect(s.stats.overdue).toBe(0);
    expect(s.stats.maxGapFrames).toBe(16);
  });

  it('never lets a tile go longer than the frame bound with random natural computations', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rand = rng(seed * 7919);
      const hot = new Set([0, 1, 4, 5]);
      // Busy tiles come and go; a quarter of the frame is busy much of the time.
      const busy = (f: number, i: number) => (hot.has(i) && Math.floor(f / 50) % 2 === 0) || rand() < 0.05;
      const s = new RefreshScheduler({ everyFrames: 8, everyMs: 60_000 });
      const r = simulate(s, { tiles: 16, frames: 2000, intervalMs: 33, jitter: 0.2, busy, seed });
      expect(r.maxGapF).toBeLessThanOrEqual(8);
      expect(s.stats.overdue).toBe(0);
      // Staggered: no frame after the first pays for a full refresh.
      expect(Math.max(...r.forced.slice(1))).toBeLessThanOrEqual(4);
    }
  });

  it('holds the time bound when it is tighter than the frame bound, with jittered frame times', () => {
    for (const seed of [11, 12, 13]) {
      const s = new RefreshScheduler({ everyFrames: 100, everyMs: 250 });
      const r = simulate(s, { tiles: 16, frames: 3000, intervalMs: 33, jitter: 0.2, seed });
      expect(r.maxGapMs).toBeLessThanOrEqual(250);
      expect(s.stats.overdue).toBe(0);
      // 250 ms at ~33 ms is ~7 frames: about 16 / 7 tiles a frame, not a burst.
      const mean = r.forced.slice(1).reduce((a, b) => a + b, 0) / (r.forced.length - 1);
      expect(mean).toBeGreaterThan(1.5);
      expect(mean).toBeLessThan(4.5);
    }
  });

  it('without staggering forces nothing until tiles reach their bound, then exactly those', () => {
    const s = new RefreshScheduler({ everyFrames: 4, everyMs: 1e9, stagger: false });
    const r = simulate(s, { tiles: 16, frames: 13, intervalMs: 100 });
    // Frame 0: all (never computed); then idle until the bound: all 16 again at frames 4, 8, 12.
    expect(r.forced).toEqual([16, 0, 0, 0, 16, 0, 0, 0, 16, 0, 0, 0, 16]);
    expect(r.maxGapF).toBeLessThanOrEqual(4);
  });

  it('respects maxPerFrame and counts the breaches a too-small cap causes', () => {
    const s = new RefreshScheduler({ everyFrames: 4, everyMs: 60_000, maxPerFrame: 1 });
    const r = simulate(s, { tiles: 16, frames: 100, intervalMs: 40 });
    expect(r.forced[0]).toBe(16); // never-computed tiles are not capped
    expect(r.forced.slice(1).every((n) => n === 1)).toBe(true);
    expect(s.stats.overdue).toBeGreaterThan(0);
  });

  it('forces no more than the quota when the scene computes every tile anyway', () => {
    const s = new RefreshScheduler({ everyFrames: 16, everyMs: 60_000 });
    // Every tile is busy: nothing is ever near its bound, so only the quota's one tile is named (at no extra cost).
    const r = simulate(s, { tiles: 16, frames: 100, intervalMs: 40, busy: () => true });
    expect(r.maxGapF).toBe(1);
    expect(Math.max(...r.forced.slice(1))).toBe(1);
  });

  it('keeps a tile due until it is computed (a dropped frame defers it, it is not lost)', () => {
    const s = new RefreshScheduler({ everyFrames: 4, everyMs: 60_000 });
    const first = s.due(0, 4);
    for (const i of first) s.computed(i, 0);
    for (let f = 1; f <= 4; f++) s.due(f * 40, 4); // frames dropped: nothing computed
    const due = s.due(200, 4);
    expect(due.size).toBe(4);
    for (const i of due) s.computed(i, 200);
    expect(s.stats.overdue).toBe(4);
  });

  it('starts cold again after reset or a tile-count change', () => {
    const s = new RefreshScheduler({ everyFrames: 16, everyMs: 60_000 });
    for (const i of s.due(0, 16)) s.computed(i, 0);
    expect(s.due(40, 16).size).toBe(1);
    expect(s.due(80, 9).size).toBe(9);
    s.reset();
    expect(s.due(120, 9).size).toBe(9);
  });

  it('computedLevels marks every computed tile of a plan', () => {
    const s = new RefreshScheduler({ everyFrames: 3, everyMs: 60_000 });
    s.due(0, 4);
    s.computedLevels([0, 1, 0.5, 1], 0);
    const due = s.due(40, 4);
    expect(due.has(1) && due.has(3)).toBe(true);
  });

  it('rejects bad options and bad calls', () => {
    expect(() => new RefreshScheduler({ everyFrames: 0, everyMs: 100 })).toThrow(ConfigError);
    // The bound comes from the config: its errors name the YAML's keys (they named refresh.everyFrames, which no file has).
    const key = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return (err as ConfigError).path;
      }
      return undefined;
    };
    expect(key(() => new RefreshScheduler({ everyFrames: 0, everyMs: 100 }))).toBe('model.refresh.frames');
    expect(key(() => new RefreshScheduler({ everyFrames: 4, everyMs: 0 }))).toBe('model.refresh.ms');
    expect(() => new RefreshScheduler({ everyFrames: 4, everyMs: 0 })).toThrow(/model\.refresh\.ms/);
    expect(() => new RefreshScheduler({ everyFrames: 4, everyMs: 100, maxPerFrame: 0 })).toThrow(/maxPerFrame/);
    const s = new RefreshScheduler({ everyFrames: 4, everyMs: 100 });
    expect(() => s.due(0, 0)).toThrow(InputError);
    s.due(0, 4);
    expect(() => s.computed(4, 0)).toThrow(InputError);
  });
});
