/**
 * Tracked-object events and counts of one camera (src/events/): new on
 * confirmation, update only on material change and rate-limited, end when
 * the track is gone; held boxes never end or restart an event; counts per
 * label and zone, stationary included, active apart.
 */
import { describe, expect, it } from 'vitest';
import type { Box, Detection } from '../../src/core/types.js';
import { CameraCounts } from '../../src/events/counts.js';
import { CameraEvents, SCORE_STEP, type ObjectEvent, type ObjectState } from '../../src/events/objects.js';
import { zonesOf, type Zone } from '../../src/events/zones.js';
import { Tracker, type PredictedTrack } from '../../src/track/tracker.js';

const T0 = 1_700_000_000_000;
// A driveway: the right half of a 1000x500 frame.
const driveway: Zone = {
  name: 'driveway',
  points: [
    [500, 0],
    [1000, 0],
    [1000, 500],
    [500, 500],
  ],
};

function track(id: number, box: Box, o: Partial<PredictedTrack> = {}): PredictedTrack {
  return {
    trackId: id,
    classId: 0,
    label: 'person',
    confirmed: true,
    box,
    velocity: { vx: 0, vy: 0 },
    sigma: { cx: 1, cy: 1, w: 1, h: 1 },
    msSinceUpdate: 0,
    ageMs: 200,
    stillMs: 0,
    stationary: false,
    hits: 3,
    score: 0.8,
    lastBox: box,
    ...o,
  };
}

const at = (x: number): Box => ({ x, y: 100, w: 50, h: 100 });
const types = (evs: ObjectEvent[]) => evs.map((e) => `${e.type}:${e.after.trackId}`);

describe('zonesOf', () => {
  it('uses the bottom-centre of the box, edges included', () => {
    expect(zonesOf({ x: 400, y: 0, w: 100, h: 100 }, [driveway])).toEqual([]); // bottom-centre x = 450
    expect(zonesOf({ x: 450, y: 0, w: 100, h: 100 }, [driveway])).toEqual(['driveway']); // x = 500, on the edge
    expect(zonesOf({ x: 700, y: 0, w: 100, h: 600 }, [driveway])).toEqual([]); // feet below the zone
  });
});

describe('CameraEvents', () => {
  const events = (updateIntervalMs = 1000) => new CameraEvents({ camera: 'cam', zones: [driveway], updateIntervalMs });

  it('new once a track is confirmed, with the same state before and after, its start time from its age', () => {
    const ev = events();
    const out = ev.frame(T0, [track(7, at(100), { ageMs: 300, score: 0.7 })]);
    expect(types(out)).toEqual(['new:7']);
    const e = out[0]!;
    expect(e.before).toEqual(e.after);
    expect(e.after).toMatchObject({ camera: 'cam', label: 'person', trackId: 7, score: 0.7, topScore: 0.7, box: at(100), frameTimeMs: T0, startTimeMs: T0 - 300, endTimeMs: null, currentZones: [], enteredZones: [], stationary: false });
    expect(e.after.id).toBe(`${((T0 - 300) / 1000).toFixed(3)}-cam-7`);
  });

  it('no update for movement or score jitter; an update when the best score rises by SCORE_STEP', () => {
    const ev = events(0);
    ev.frame(T0, [track(1, at(100), { score: 0.7 })]);
    expect(ev.frame(T0 + 100, [track(1, at(140), { score: 0.65 })])).toEqual([]);
    expect(ev.frame(T0 + 200, [track(1, at(180), { score: 0.7 + SCORE_STEP / 2 })])).toEqual([]);
    const up = ev.frame(T0 + 300, [track(1, at(220), { score: 0.7 + SCORE_STEP })]);
    expect(types(up)).toEqual(['update:1']);
    expect(up[0]!.before.topScore).toBe(0.7);
    expect(up[0]!.after.topScore).toBeCloseTo(0.75, 10);
    expect(up[0]!.after.box).toEqual(at(220));
  });

  it('a label the tracker changes (its majority moved) is an update', () => {
    const ev = events(0);
    ev.frame(T0, [track(1, at(100), { label: 'horse' })]);
    const out = ev.frame(T0 + 100, [track(1, at(100), { label: 'dog' })]);
    expect(out.map((e) => [e.type, e.before.label, e.after.label])).toEqual([['update', 'horse', 'dog']]);
  });

  it('zone entered and left, stationary and active again: each an update with before/after', () => {
    const ev = events(0);
    ev.frame(T0, [track(1, at(300))]);
    const enter = ev.frame(T0 + 100, [track(1, at(600))]);
    expect(enter.map((e) => [e.type, e.before.currentZones, e.after.currentZones, e.after.enteredZones])).toEqual([['update', [], ['driveway'], ['driveway']]]);
    const still = ev.frame(T0 + 200, [track(1, at(600), { stationary: true })]);
    expect(still.map((e) => [e.before.stationary, e.after.stationary])).toEqual([[false, true]]);
    const leave = ev.frame(T0 + 300, [track(1, at(300))]);
    expect(leave.map((e) => [e.before.currentZones, e.after.currentZones, e.after.enteredZones, e.after.stationary])).toEqual([[['driveway'], [], ['driveway'], false]]);
  });

  it('rate-limited: a change within updateIntervalMs waits for the first frame after it, merged with later ones', () => {
    const ev = events(1000);
    ev.frame(T0, [track(1, at(300))]);
    // Enters the driveway 200 ms after its new event: too soon.
    expect(ev.frame(T0 + 200, [track(1, at(600))])).toEqual([]);
    // Leaves again, and stops: still too soon.
    expect(ev.frame(T0 + 600, [track(1, at(300), { stationary: true })])).toEqual([]);
    // The first frame past the interval says all of it at once.
    const out = ev.frame(T0 + 1000, [track(1, at(300), { stationary: true })]);
    expect(out.map((e) => [e.type, e.before.currentZones, e.after.currentZones, e.after.enteredZones, e.after.stationary])).toEqual([['update', [], [], ['driveway'], true]]);
    // Nothing new: nothing more, however long it stands there.
    expect(ev.frame(T0 + 5000, [track(1, at(300), { stationary: true })])).toEqual([]);
  });

  it('end when the track is gone, with the time it was last detected; ends come before news', () => {
    const ev = events();
    ev.frame(T0, [track(1, at(100)), track(2, at(700))]);
    // Track 2 coasts (not detected for 300 ms), then the tracker drops it; track 3 is new.
    ev.frame(T0 + 300, [track(1, at(100)), track(2, at(700), { msSinceUpdate: 300 })]);
    const out = ev.frame(T0 + 400, [track(1, at(100)), track(3, at(300))]);
    expect(types(out)).toEqual(['end:2', 'new:3']);
    expect(out[0]!.after.endTimeMs).toBe(T0);
    expect(out[0]!.after.currentZones).toEqual(['driveway']);
    expect(out[0]!.before.endTimeMs).toBeNull();
    expect(types(ev.endAll())).toEqual(['end:1', 'end:3']);
    expect(ev.objects()).toEqual([]);
  });

  it('a track that a skipped tile holds for longer than maxAgeMs keeps one event (real Tracker, held boxes)', () => {
    const person = (x: number): Detection => ({ ...at(x), classId: 0, label: 'person', score: 0.9 });
    /** Standing (ARAC skips the tiles of a track whose prediction matches what its tile shows), its tile skipped for 2 s, then computed again. */
    const run = (holding: boolean) => {
      const tr = new Tracker({ maxAgeMs: 1000 });
      const ev = events();
      const all: ObjectEvent[] = [];
      const step = (f: number, fresh: Detection[], held: Detection[]) => {
        tr.updateHolding(fresh, holding ? held : [], f * 100);
        all.push(...ev.frame(T0 + f * 100, tr.predict(f * 100).filter((p) => p.confirmed)));
      };
      for (let f = 0; f < 5; f++) step(f, [person(120 + (f % 2))], []);
      for (let f = 5; f <= 25; f++) step(f, [], [{ ...person(120), stale: true }]);
      for (let f = 26; f < 30; f++) step(f, [person(122)], []);
      return { all, step };
    };
    // The control: were held boxes not to keep the track, its event would end and a new one start.
    expect(types(run(false).all)).toEqual(['new:1', 'end:1', 'new:2']);
    const { all, step } = run(true);
    expect(types(all)).toEqual(['new:1']);
    // Then it leaves: one end, maxAgeMs after it was last seen.
    for (let f = 30; f < 45; f++) step(f, [], []);
    expect(types(all)).toEqual(['new:1', 'end:1']);
    expect(all[1]!.after.endTimeMs).toBe(T0 + 2900);
  });
});

describe('CameraCounts', () => {
  const obj = (label: string, o: Partial<ObjectState> = {}): ObjectState => ({
    id: 'x',
    camera: 'cam',
    trackId: 1,
    label,
    score: 0.9,
    topScore: 0.9,
    box: at(0),
    frameTimeMs: T0,
    startTimeMs: T0,
    endTimeMs: null,
    currentZones: [],
    enteredZones: [],
    stationary: false,
    ...o,
  });
  const value = (cs: ReturnType<CameraCounts['all']>, zone: string | null, label: string, active: boolean) => cs.find((c) => c.zone === zone && c.label === label && c.active === active)?.value;

  it('counts per label and zone, stationary included, active apart, and all labels together', () => {
    const counts = new CameraCounts(['driveway'], ['car']);
    const cs = counts.all([obj('person'), obj('car', { stationary: true, currentZones: ['driveway'] }), obj('car', { currentZones: ['driveway'] })]);
    expect(value(cs, null, 'person', false)).toBe(1);
    expect(value(cs, null, 'car', false)).toBe(2);
    expect(value(cs, null, 'car', true)).toBe(1);
    expect(value(cs, null, 'all', false)).toBe(3);
    expect(value(cs, null, 'all', true)).toBe(2);
    expect(value(cs, 'driveway', 'car', false)).toBe(2);
    expect(value(cs, 'driveway', 'car', true)).toBe(1);
    expect(value(cs, 'driveway', 'person', false)).toBe(0);
  });

  it('changed: everything the first time (zeros for labels told up front), then only what moved, down to 0', () => {
    const counts = new CameraCounts([], ['car']);
    expect(counts.changed([]).map((c) => `${c.label}${c.active ? '/active' : ''}=${c.value}`)).toEqual(['all=0', 'all/active=0', 'car=0', 'car/active=0']);
    expect(counts.changed([obj('person')]).map((c) => `${c.label}${c.active ? '/active' : ''}=${c.value}`)).toEqual(['all=1', 'all/active=1', 'person=1', 'person/active=1']);
    expect(counts.changed([obj('person')])).toEqual([]);
    expect(counts.changed([obj('person', { stationary: true })]).map((c) => `${c.label}${c.active ? '/active' : ''}=${c.value}`)).toEqual(['all/active=0', 'person/active=0']);
    expect(counts.changed([]).map((c) => `${c.label}${c.active ? '/active' : ''}=${c.value}`)).toEqual(['all=0', 'person=0']);
    expect(counts.current()).toHaveLength(6);
  });
});
