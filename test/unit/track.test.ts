import { describe, expect, it } from 'vitest';
import type { Detection } from '../../src/core/types.js';
import { searchRegion, Tracker } from '../../src/track/tracker.js';

const FRAME_MS = 100;

function det(x: number, y: number, opts: Partial<Detection> = {}): Detection {
  return { x, y, w: 40, h: 80, classId: 0, label: 'person', score: 0.9, ...opts };
}

/** A box moving at (vx, vy) px per frame from (x0, y0). */
function walker(x0: number, y0: number, vx: number, vy: number, opts: Partial<Detection> = {}) {
  return (f: number): Detection => det(x0 + vx * f, y0 + vy * f, opts);
}

function ids(out: Detection[]): (number | undefined)[] {
  return out.map((d) => d.trackId);
}

describe('Tracker', () => {
  it('keeps one id on a constant-velocity box and its prediction converges to the next position', () => {
    const tr = new Tracker();
    const at = walker(100, 200, 8, -3); // 80 px/s, -30 px/s
    const seen = new Set<number | undefined>();
    const errAfter: number[] = [];
    for (let f = 0; f < 30; f++) {
      const out = tr.update([at(f)], f * FRAME_MS);
      expect(out).toHaveLength(1);
      seen.add(out[0]!.trackId);
      const [p] = tr.predict((f + 1) * FRAME_MS);
      errAfter.push(Math.hypot(p!.box.x - at(f + 1).x, p!.box.y - at(f + 1).y));
    }
    expect([...seen]).toEqual([1]);
    expect(errAfter[29]!).toBeLessThan(0.1);
    expect(errAfter[29]!).toBeLessThan(errAfter[2]!);
    const [p] = tr.predict(30 * FRAME_MS);
    expect(p!.velocity.vx).toBeCloseTo(80, 0);
    expect(p!.velocity.vy).toBeCloseTo(-30, 0);
    // The reported uncertainty is a real, finite std that grows with horizon.
    const far = tr.predict(38 * FRAME_MS)[0]!;
    expect(p!.sigma.cx).toBeGreaterThan(0);
    expect(far.sigma.cx).toBeGreaterThan(p!.sigma.cx);
    expect(far.msSinceUpdate).toBe(900);
    // Past maxAgeMs (1000) the track is no longer predicted.
    expect(tr.predict(40 * FRAME_MS)).toEqual([]);
  });

  it('updateHolding drops a held box whose track a fresh detection extends, keeps the others', () => {
    const tr = new Tracker();
    const a = walker(100, 200, 10, 0);
    const b = walker(600, 200, 0, 0);
    for (let f = 0; f < 10; f++) tr.update([a(f), b(f)], f * FRAME_MS);
    // Frame 12: walker a is seen afresh 30 px on from its box of frame 9, which a skipped tile
    // still holds; b's tile was skipped too and nothing fresh covers it.
    const out = tr.updateHolding([a(12)], [{ ...a(9), stale: true }, { ...b(9), stale: true }], 12 * FRAME_MS);
    expect(out.map((d) => [d.trackId, d.x, Boolean(d.stale)])).toEqual([
      [1, a(12).x, false],
      [2, b(9).x, true],
    ]);
    // Without a fresh detection for it, a's held box stays (with its id).
    const next = tr.updateHolding([], [{ ...a(12), stale: true }], 13 * FRAME_MS);
    expect(next.map((d) => d.trackId)).toEqual([1]);
  });

  it('identify gives held-over boxes the ids they had without touching any track', () => {
    const tr = new Tracker();
    const at = walker(100, 200, 8, 0);
    for (let f = 0; f < 5; f++) tr.update([at(f)], f * FRAME_MS);
    const before = tr.predict(6 * FRAME_MS);
    const [held] = tr.identify([{ ...at(4), stale: true }]);
    expect(held!.trackId).toBe(1);
    expect(held!.stale).toBe(true);
    // Nothing moved: the track's state, hits and last box are unchanged.
    expect(tr.predict(6 * FRAME_MS)).toEqual(before);
    // A held box matching no track keeps no id; one of another class neither.
    expect(tr.identify([{ ...at(4), x: 900 }])[0]!.trackId).toBeUndefined();
    expect(tr.identify([{ ...at(4), classId: 2, label: 'car' }])[0]!.trackId).toBeUndefined();
  });

  it('keeps ids of two crossing objects of different classes', () => {
    const tr = new Tracker();
    const person = walker(0, 100, 10, 0);
    const car = walker(400, 110, -10, 0, { classId: 2, label: 'car', w: 60, h: 50 });
    const idsSeen: [number | undefined, number | undefined][] = [];
    for (let f = 0; f <= 40; f++) {
      const out = tr.update([person(f), car(f)], f * FRAME_MS);
      const p = out.find((d) => d.classId === 0);
      const c = out.find((d) => d.classId === 2);
      idsSeen.push([p?.trackId, c?.trackId]);
    }
    const [p0, c0] = idsSeen[0]!;
    expect(p0).toBeDefined();
    expect(c0).toBeDefined();
    expect(p0).not.toBe(c0);
    for (const pair of idsSeen) expect(pair).toEqual([p0, c0]);
  });

  it('keeps ids of two same-class objects passing each other with a vertical offset', () => {
    const tr = new Tracker();
    const a = walker(0, 100, 12, 0);
    const b = walker(480, 150, -12, 0);
    let first: (number | undefined)[] = [];
    for (let f = 0; f <= 40; f++) {
      const out = tr.update([a(f), b(f)], f * FRAME_MS);
      if (f === 0) first = ids(out);
      expect(ids(out)).toEqual(first);
    }
  });

  it('coasts through a short miss and ages out after maxAgeMs', () => {
    const tr = new Tracker({ maxAgeMs: 1000 });
    const at = walker(100, 100, 10, 0);
    for (let f = 0; f < 10; f++) tr.update([at(f)], f * FRAME_MS);
    // Frames 10-13 missing: the track coasts and stays predictable.
    for (let f = 10; f < 14; f++) expect(tr.update([], f * FRAME_MS)).toEqual([]);
    const coast = tr.predict(14 * FRAME_MS);
    expect(coast).toHaveLength(1);
    expect(coast[0]!.box.x).toBeCloseTo(at(14).x, 0);
    expect(ids(tr.update([at(14)], 14 * FRAME_MS))).toEqual([1]);

    // A 1.5 s gap is longer than maxAgeMs: the object comes back as a new track.
    for (let f = 15; f < 30; f++) tr.update([], f * FRAME_MS);
    expect(tr.predict(30 * FRAME_MS)).toEqual([]);
    const back = tr.update([at(30)], 30 * FRAME_MS);
    expect(back).toHaveLength(1);
    expect(back[0]!.trackId).toBeUndefined(); // tentative: not the first frame any more
    expect(ids(tr.update([at(31)], 31 * FRAME_MS))).toEqual([2]);
  });

  it('extends tracks with low-score detections but never starts one from them', () => {
    const tr = new Tracker();
    // Alone, a low-score detection is background: not returned, no track.
    expect(tr.update([det(100, 100, { score: 0.3 })], 0)).toEqual([]);
    expect(tr.predict(0)).toEqual([]);
    const at = walker(300, 100, 5, 0);
    for (let f = 1; f < 5; f++) tr.update([at(f)], f * FRAME_MS);
    const id = tr.predict(5 * FRAME_MS)[0]!.trackId;
    // Weak detection on the track (occlusion), plus a weak one elsewhere.
    const out = tr.update([det(at(5).x, 100, { score: 0.3 }), det(600, 300, { score: 0.3 })], 5 * FRAME_MS);
    expect(out).toHaveLength(1);
    expect(out[0]!.trackId).toBe(id);
    expect(out[0]!.score).toBe(0.3);
    expect(tr.predict(6 * FRAME_MS).map((p) => p.trackId)).toEqual([id]);
    // Below lowThresh a detection is ignored entirely: the track coasts.
    expect(tr.update([det(at(6).x, 100, { score: 0.05 })], 6 * FRAME_MS)).toEqual([]);
    expect(tr.predict(6 * FRAME_MS)[0]!.msSinceUpdate).toBe(FRAME_MS);
  });

  it('publishes ids at once on the first frame, after minHits later', () => {
    const tr = new Tracker({ minHits: 3 });
    expect(ids(tr.update([det(0, 0)], 0))).toEqual([1]);
    const newcomer = walker(300, 300, 2, 0);
    // A one-frame false positive: returned (it is a detection) but never gets an id.
    expect(ids(tr.update([det(0, 0), det(700, 50)], 100))).toEqual([1, undefined]);
    expect(ids(tr.update([det(0, 0), newcomer(0)], 200))).toEqual([1, undefined]);
    expect(ids(tr.update([det(0, 0), newcomer(1)], 300))).toEqual([1, undefined]);
    const third = tr.update([det(0, 0), newcomer(2)], 400);
    expect(third[1]!.trackId).toBeGreaterThan(1);
    expect(tr.predict(400).every((p) => p.confirmed)).toBe(true);
  });

  it('a tentative track matches only its own class', () => {
    const tr = new Tracker();
    tr.update([det(500, 500)], 0);
    tr.update([det(500, 500), det(100, 100)], 100); // the newcomer at (100, 100) is tentative
    const out = tr.update([det(500, 500), det(100, 100, { classId: 2, label: 'car' })], 200);
    expect(out.map((d) => d.trackId)).toEqual([1, undefined]);
    expect(tr.predict(200).map((p) => [p.trackId, p.classId, p.confirmed])).toEqual([
      [1, 0, true],
      [3, 2, false],
    ]);
  });

  it('label flicker: a confirmed track takes another class\'s detection that overlaps it strictly, and is labelled by score-weighted majority', () => {
    const tr = new Tracker();
    const horse = walker(100, 300, 10, 0, { classId: 17, label: 'horse', w: 120, h: 100 });
    const asDog = (f: number): Detection => ({ ...horse(f), classId: 16, label: 'dog', score: 0.7 });
    for (let f = 0; f < 10; f++) tr.update([horse(f)], f * FRAME_MS);
    // The detector calls it a dog for three frames: one object, one id, still a horse.
    for (let f = 10; f < 13; f++) {
      const out = tr.update([asDog(f)], f * FRAME_MS);
      expect(out.map((d) => [d.trackId, d.label])).toEqual([[1, 'dog']]);
    }
    expect(tr.predict(13 * FRAME_MS).map((p) => [p.trackId, p.label, p.classId])).toEqual([[1, 'horse', 17]]);
    // Long enough a dog, it is a dog.
    for (let f = 13; f < 30; f++) tr.update([asDog(f)], f * FRAME_MS);
    expect(tr.predict(30 * FRAME_MS).map((p) => [p.trackId, p.label])).toEqual([[1, 'dog']]);
  });

  it('one object seen under two classes in one frame (per-class NMS) is one track: the weaker box starts none', () => {
    const tr = new Tracker();
    const horse = (f: number, score = 0.8): Detection => det(100 + 10 * f, 300, { classId: 17, label: 'horse', w: 120, h: 100, score });
    const dog = (f: number, score: number): Detection => ({ ...horse(f), x: horse(f).x + 4, classId: 16, label: 'dog', score });
    // First frame: both boxes; the stronger one's track only.
    expect(tr.update([dog(0, 0.7), horse(0)], 0).map((d) => [d.label, d.trackId])).toEqual([
      ['dog', undefined],
      ['horse', 1],
    ]);
    // Later, with the horse matched, a dog box over it (even a stronger one) starts no track either.
    for (let f = 1; f < 6; f++) tr.update([horse(f), dog(f, 0.9)], f * FRAME_MS);
    expect(tr.predict(5 * FRAME_MS).map((p) => [p.trackId, p.label])).toEqual([[1, 'horse']]);
  });

  it('another class overlapping less than lowMatchIou, or beside a detection of the track\'s own class, starts its own track', () => {
    const tr = new Tracker();
    for (let f = 0; f < 5; f++) tr.update([det(100, 100)], f * FRAME_MS);
    // A car whose box overlaps the person's predicted box at IoU ~0.4: not the same object.
    tr.update([det(120, 100, { classId: 2, label: 'car' })], 500);
    tr.update([det(120, 100, { classId: 2, label: 'car' })], 600);
    expect(tr.predict(600).map((p) => [p.label, p.confirmed])).toEqual([
      ['person', true],
      ['car', true],
    ]);
    // The person seen again with a car exactly over it: each keeps its own track.
    const out = tr.update([det(100, 100), det(100, 100, { classId: 2, label: 'car', score: 0.95 })], 700);
    expect(out.map((d) => [d.label, d.trackId])).toEqual([
      ['person', 1],
      ['car', 2],
    ]);
  });

  it('uses real elapsed time: three skipped frames move the prediction four steps', () => {
    const tr = new Tracker();
    const at = walker(100, 100, 6, 2);
    for (let f = 0; f < 20; f++) tr.update([at(f)], f * FRAME_MS);
    const last = tr.predict(19 * FRAME_MS)[0]!;
    const one = tr.predict(20 * FRAME_MS)[0]!;
    const four = tr.predict(23 * FRAME_MS)[0]!;
    expect(four.box.x - last.box.x).toBeCloseTo(4 * (one.box.x - last.box.x), 6);
    expect(four.box.x).toBeCloseTo(at(23).x, 0);
    expect(four.box.y).toBeCloseTo(at(23).y, 0);
    expect(four.sigma.cx).toBeGreaterThan(one.sigma.cx);
    // The object is re-acquired after the drop with its id.
    expect(ids(tr.update([at(23)], 23 * FRAME_MS))).toEqual([1]);
    // predict() did not change the tracker.
    expect(tr.predict(23 * FRAME_MS)[0]!.hits).toBe(21);
  });

  it('returns copies in input order, ignores invalid boxes, and treats old timestamps as now', () => {
    const tr = new Tracker();
    const input = [det(0, 0, { trackId: 99 }), det(Number.NaN, 0), det(200, 0, { w: 0 })];
    const out = tr.update(input, 1000);
    expect(out).toHaveLength(1);
    expect(out[0]!.trackId).toBe(1);
    expect(input[0]!.trackId).toBe(99);
    // A repeated or backwards timestamp neither throws nor moves the track backwards.
    expect(ids(tr.update([det(0, 0)], 900))).toEqual([1]);
    expect(() => tr.update([], Number.NaN)).toThrow(/finite/);
  });

  it('reset forgets tracks but never reuses ids', () => {
    const tr = new Tracker();
    tr.update([det(0, 0)], 0);
    tr.reset();
    expect(tr.predict(0)).toEqual([]);
    expect(ids(tr.update([det(0, 0)], 0))).toEqual([2]);
  });

  it('searchRegion widens the predicted box by n sigma per edge', () => {
    const tr = new Tracker();
    tr.update([det(100, 100)], 0);
    const p = tr.predict(500)[0]!;
    const r = searchRegion(p, 2);
    const ex = 2 * Math.hypot(p.sigma.cx, p.sigma.w / 2);
    expect(r.x).toBeCloseTo(p.box.x - ex, 9);
    expect(r.w).toBeCloseTo(p.box.w + 2 * ex, 9);
    expect(r.h).toBeGreaterThan(p.box.h);
  });

  it('rejects inconsistent options', () => {
    expect(() => new Tracker({ lowThresh: 0.6, highThresh: 0.5 })).toThrow(/lowThresh/);
    expect(() => new Tracker({ minHits: 0 })).toThrow(/minHits/);
  });
});
