/**
 * Two notions the events are built on (src/track/tracker.ts): held boxes keep
 * a track seen for as long as ARAC may hold them (the refresh bound, longer
 * than maxAgeMs), and "stationary": matched boxes near where the object
 * stopped for stationaryMs.
 */
import { describe, expect, it } from 'vitest';
import type { Detection } from '../../src/core/types.js';
import { DEFAULT_REFRESH } from '../../src/strategy/spec.js';
import { DEFAULT_TRACKER_OPTIONS, Tracker } from '../../src/track/tracker.js';

const FRAME_MS = 100;

function det(x: number, y: number, opts: Partial<Detection> = {}): Detection {
  return { x, y, w: 40, h: 80, classId: 0, label: 'person', score: 0.9, ...opts };
}

describe('held boxes and the drop age agree', () => {
  it('the defaults are the case to fix: a held box may stand longer than maxAgeMs', () => {
    expect(DEFAULT_REFRESH.ms).toBeGreaterThan(DEFAULT_TRACKER_OPTIONS.maxAgeMs);
  });

  it('a track whose box a skipped tile holds for the whole refresh bound keeps its id, then ages out maxAgeMs after the last held frame', () => {
    const tr = new Tracker();
    for (let f = 0; f < 10; f++) tr.update([det(100 + 10 * f, 100)], f * FRAME_MS);
    const held = { ...det(190, 100), stale: true };
    // The tile is skipped for the whole refresh bound (2 s, twice maxAgeMs): only the held box stands.
    const lastHeld = 9 + DEFAULT_REFRESH.ms / FRAME_MS;
    for (let f = 10; f <= lastHeld; f++) {
      const out = tr.updateHolding([], [held], f * FRAME_MS);
      expect(out.map((d) => [d.trackId, d.stale])).toEqual([[1, true]]);
    }
    // A held box is no measurement: the time since the last match keeps growing.
    expect(tr.predict(lastHeld * FRAME_MS)[0]!.msSinceUpdate).toBe(DEFAULT_REFRESH.ms);
    // The tile is recomputed and shows nothing: the track coasts maxAgeMs from the last held frame, then goes.
    const maxAge = DEFAULT_TRACKER_OPTIONS.maxAgeMs;
    tr.updateHolding([], [], lastHeld * FRAME_MS + maxAge);
    expect(tr.predict(lastHeld * FRAME_MS + maxAge).map((p) => p.trackId)).toEqual([1]);
    tr.updateHolding([], [], lastHeld * FRAME_MS + maxAge + FRAME_MS);
    expect(tr.predict(lastHeld * FRAME_MS + maxAge + FRAME_MS)).toEqual([]);
  });

  it('without held boxes the same track is dropped after maxAgeMs (the control)', () => {
    const tr = new Tracker();
    for (let f = 0; f < 10; f++) tr.update([det(100 + 10 * f, 100)], f * FRAME_MS);
    for (let f = 10; f <= 19; f++) tr.updateHolding([], [], f * FRAME_MS);
    expect(tr.predict(19 * FRAME_MS).map((p) => p.trackId)).toEqual([1]);
    tr.updateHolding([], [], 20 * FRAME_MS);
    expect(tr.predict(20 * FRAME_MS)).toEqual([]);
  });

  it('a held box that matches no track keeps nothing alive and restarts nothing', () => {
    const tr = new Tracker();
    for (let f = 0; f < 10; f++) tr.update([det(100, 100)], f * FRAME_MS);
    const elsewhere = { ...det(600, 300), stale: true };
    for (let f = 10; f <= 20; f++) expect(tr.updateHolding([], [elsewhere], f * FRAME_MS).map((d) => d.trackId)).toEqual([undefined]);
    expect(tr.predict(20 * FRAME_MS)).toEqual([]);
  });
});

describe('stationary', () => {
  const opts = { stationaryMs: 2000, stationaryIou: 0.6 };

  it('moves, stops (with detector jitter), becomes stationary after stationaryMs, and is active again once it moves off', () => {
    const tr = new Tracker(opts);
    const state = (f: number) => tr.predict(f * FRAME_MS)[0]!;
    for (let f = 0; f < 10; f++) tr.update([det(100 + 10 * f, 100)], f * FRAME_MS);
    expect(state(9).stationary).toBe(false);
    // Stopped at x = 200 from frame 10, jittering by 2 px.
    const stopped = (f: number) => det(200 + (f % 2 ? 2 : -2), 100 + (f % 3) - 1);
    for (let f = 10; f < 30; f++) {
      tr.update([stopped(f)], f * FRAME_MS);
      expect(state(f).stationary).toBe(false);
    }
    tr.update([stopped(30)], 30 * FRAME_MS);
    expect(state(30).stillMs).toBe(2000);
    expect(state(30).stationary).toBe(true);
    // Between measurements (a miss) the state holds.
    tr.update([], 31 * FRAME_MS);
    expect(state(31).stationary).toBe(true);
    // It moves off by a third of its width: active at once.
    tr.update([det(214, 100)], 32 * FRAME_MS);
    expect(state(32).stationary).toBe(false);
    expect(state(32).stillMs).toBe(0);
  });

  it('a slow drift of less than a quarter of the width over stationaryMs is stationary; a faster one is not', () => {
    // 40 px wide box: IoU 0.6 sideways is a shift of 10 px.
    for (const [pxPerFrame, want] of [
      [0.4, true], // 8 px in 2 s
      [0.6, false], // 12 px in 2 s
    ] as const) {
      const tr = new Tracker(opts);
      for (let f = 0; f <= 20; f++) tr.update([det(100 + pxPerFrame * f, 100)], f * FRAME_MS);
      expect(tr.predict(20 * FRAME_MS)[0]!.stationary).toBe(want);
    }
  });

  it('held boxes never make a track stationary (they show an old position)', () => {
    const tr = new Tracker(opts);
    for (let f = 0; f < 10; f++) tr.update([det(100 + 20 * f, 100)], f * FRAME_MS);
    const held = { ...det(280, 100), stale: true };
    for (let f = 10; f <= 35; f++) tr.updateHolding([], [held], f * FRAME_MS);
    expect(tr.predict(35 * FRAME_MS)[0]).toMatchObject({ trackId: 1, stationary: false, stillMs: 0 });
  });

  it('a tentative track is never stationary', () => {
    const tr = new Tracker({ ...opts, stationaryMs: 0 });
    tr.update([det(500, 500)], 0); // first frame: confirmed at once
    tr.update([det(500, 500), det(100, 100)], FRAME_MS); // a newcomer: tentative
    const ps = tr.predict(FRAME_MS);
    expect(ps.map((p) => [p.confirmed, p.stationary])).toEqual([
      [true, true],
      [false, false],
    ]);
  });

  it('rejects stationary options out of range', () => {
    expect(() => new Tracker({ stationaryMs: -1 })).toThrow(/stationaryMs/);
    expect(() => new Tracker({ stationaryIou: 0 })).toThrow(/stationaryIou/);
  });
});
