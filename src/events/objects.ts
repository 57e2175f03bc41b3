/**
 * Tracked-object events of one camera, from its tracker's output (the
 * confirmed tracks after each processed frame, CameraResult.tracks), so they
 * mean the same whatever the strategy:
 *
 *  - `new`: a track is confirmed (first seen in the tracker's output);
 *  - `update`: a material change since the last event of that object: it
 *    became stationary or active again, entered or left a zone, its best
 *    score rose by at least SCORE_STEP, or its label changed (the tracker's
 *    score-weighted majority over its detections moved to another class). At most one per object every
 *    `updateIntervalMs`: a change within that time waits, merged with any
 *    later one, for the first frame after it (a zone entered and left in
 *    between still shows in `enteredZones`);
 *  - `end`: the track is gone (the tracker dropped it, or the camera
 *    stopped or started afresh). A box an ARAC tile holds while skipped
 *    keeps its track, so it never ends or restarts an event.
 *
 * Each event carries the object's state at its previous event (`before`)
 * and now (`after`); a `new` carries the same state twice. Movement alone
 * (the box, the score) is no material change: it would be an update per
 * frame.
 */
import type { Box } from '../core/types.js';
import type { PredictedTrack } from '../track/tracker.js';
import { zonesOf, type Zone } from './zones.js';

/** A rise of the best score smaller than this is noise, not worth an update. */
export const SCORE_STEP = 0.05;

/** One object as an event shows it. Times are wall-clock ms (Date.now()); boxes source pixels. */
export interface ObjectState {
  /** Unique across restarts: start time, camera and track id. */
  id: string;
  camera: string;
  trackId: number;
  label: string;
  /** Score of its last detection. */
  score: number;
  /** Best score so far. */
  topScore: number;
  /** Its last detected box. */
  box: Box;
  /** Capture time of the frame this state is from. */
  frameTimeMs: number;
  /** When its track was born (its first detection). */
  startTimeMs: number;
  /** When it was last detected; null until the event ends. */
  endTimeMs: number | null;
  /** Zones it stands in now (the bottom-centre of its box). */
  currentZones: string[];
  /** Every zone it has stood in since it was first seen. */
  enteredZones: string[];
  /** The tracker's notion (src/track/tracker.ts): detected near where it stopped for stationaryMs. */
  stationary: boolean;
}

export type ObjectEventType = 'new' | 'update' | 'end';

export interface ObjectEvent {
  type: ObjectEventType;
  before: ObjectState;
  after: ObjectState;
}

export interface CameraEventsOptions {
  camera: string;
  zones: readonly Zone[];
  /** Least time between two updates of one object, ms. */
  updateIntervalMs: number;
}

interface Open {
  /** What the last event said (its `after`). */
  published: ObjectState;
  /** Now. */
  current: ObjectState;
  publishedAtMs: number;
  /** Wall-clock time of its last detection (a coasting or held track is not detected). */
  lastDetectedMs: number;
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x) => b.includes(x));

/** Whether `now` differs from what was last said in a way worth an update. */
export function materialChange(said: ObjectState, now: ObjectState): boolean {
  return (
    said.label !== now.label ||
    said.stationary !== now.stationary ||
    !sameSet(said.currentZones, now.currentZones) ||
    now.enteredZones.length > said.enteredZones.length ||
    now.topScore >= said.topScore + SCORE_STEP
  );
}

export class CameraEvents {
  private readonly open = new Map<number, Open>();

  constructor(private readonly o: CameraEventsOptions) {}

  /**
   * One processed frame: `atMs` its capture time, `tracks` the tracker's
   * confirmed tracks after it. Returns its events: ends first (so a count
   * kept from events never overshoots), then news and updates by track id.
   */
  frame(atMs: number, tracks: readonly PredictedTrack[]): ObjectEvent[] {
    const out: ObjectEvent[] = [];
    const live = new Set(tracks.map((t) => t.trackId));
    for (const [id, rec] of this.open) if (!live.has(id)) out.push(this.end(id, rec));
    for (const t of [...tracks].sort((a, b) => a.trackId - b.trackId)) {
      const rec = this.open.get(t.trackId);
      const now = this.stateOf(t, atMs, rec?.current);
      const lastDetectedMs = atMs - t.msSinceUpdate;
      if (!rec) {
        this.open.set(t.trackId, { published: now, current: now, publishedAtMs: atMs, lastDetectedMs });
        out.push({ type: 'new', before: now, after: now });
        continue;
      }
      rec.current = now;
      rec.lastDetectedMs = lastDetectedMs;
      if (atMs - rec.publishedAtMs >= this.o.updateIntervalMs && materialChange(rec.published, now)) {
        out.push({ type: 'update', before: rec.published, after: now });
        rec.published = now;
        rec.publishedAtMs = atMs;
      }
    }
    return out;
  }

  /** Every open event ends (the camera stopped or starts afresh): its last state, with the time it was last detected. */
  endAll(): ObjectEvent[] {
    return [...this.open].map(([id, rec]) => this.end(id, rec));
  }

  /** The open events as their subscribers last heard them (each one's last event's `after`): what a journal of open events records. */
  said(): ObjectState[] {
    return [...this.open.values()].map((r) => r.published);
  }

  /** The objects now (their latest state, whatever was published): what counts are made of. */
  objects(): ObjectState[] {
    return [...this.open.values()].map((r) => r.current);
  }

  private end(id: number, rec: Open): ObjectEvent {
    this.open.delete(id);
    return { type: 'end', before: rec.published, after: { ...rec.current, endTimeMs: rec.lastDetectedMs } };
  }

  private stateOf(t: PredictedTrack, atMs: number, prev: ObjectState | undefined): ObjectState {
    const currentZones = zonesOf(t.lastBox, this.o.zones);
    const entered = prev ? [...prev.enteredZones, ...currentZones.filter((z) => !prev.enteredZones.includes(z))] : currentZones;
    const startTimeMs = prev?.startTimeMs ?? atMs - t.ageMs;
    return {
      id: prev?.id ?? `${(startTimeMs / 1000).toFixed(3)}-${this.o.camera}-${t.trackId}`,
      camera: this.o.camera,
      trackId: t.trackId,
      label: t.label,
      score: t.score,
      topScore: Math.max(prev?.topScore ?? 0, t.score),
      box: { ...t.lastBox },
      frameTimeMs: atMs,
      startTimeMs,
      endTimeMs: null,
      currentZones,
      enteredZones: entered,
      stationary: t.stationary,
    };
  }
}
