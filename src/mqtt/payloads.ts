/**
 * What goes on the wire (pure). Event payloads use Frigate's field names
 * (snake_case, times in seconds, box as [x1, y1, x2, y2]) so that automations
 * written for Frigate's `frigate/events` read ours too; `track_id` and `seq`
 * are ours. Camera status and stats are the service's own shapes (the
 * WebSocket status message, the /api/stats body). Counts are plain integers
 * and availability plain words, as Home Assistant expects.
 */
import type { CameraState } from '../core/types.js';
import type { ObjectEvent, ObjectEventType, ObjectState } from '../events/objects.js';

/** One object in an event (before or after). */
export interface WireObject {
  id: string;
  camera: string;
  track_id: number;
  label: string;
  score: number;
  top_score: number;
  /** [x1, y1, x2, y2], source pixels. */
  box: [number, number, number, number];
  area: number;
  frame_time: number;
  start_time: number;
  end_time: number | null;
  current_zones: string[];
  entered_zones: string[];
  stationary: boolean;
  /** Frigate's convenience twin: exactly !stationary. */
  active: boolean;
}

/** Why an event ended other than its track going: the instance that ran its camera was lost (a fleet), and the new owner ended it. */
export type EndReason = 'owner-lost';

export interface WireEvent {
  type: ObjectEventType;
  /** 1, 2, 3, ... for every event the service generates: a gap is an event lost (mqtt.outboxSize), a repeat a redelivery (QoS 1). In a fleet, per instance. */
  seq: number;
  before: WireObject;
  after: WireObject;
  /** In a fleet: the instance that made the event (seq counts per instance). */
  instance?: string;
  /** Only on an end the track did not make: owner-lost (a new owner ends what a lost instance left open). */
  reason?: EndReason;
}

export interface WireStatus {
  camera: string;
  /** 'removed': the service no longer runs the camera (a runtime change), as the WebSocket says. */
  state: CameraState | 'removed';
  error?: string;
  atMs: number;
}

const seconds = (ms: number): number => Math.round(ms) / 1000;

export function wireObject(o: ObjectState): WireObject {
  const x1 = Math.round(o.box.x);
  const y1 = Math.round(o.box.y);
  const x2 = Math.round(o.box.x + o.box.w);
  const y2 = Math.round(o.box.y + o.box.h);
  return {
    id: o.id,
    camera: o.camera,
    track_id: o.trackId,
    label: o.label,
    score: o.score,
    top_score: o.topScore,
    box: [x1, y1, x2, y2],
    area: (x2 - x1) * (y2 - y1),
    frame_time: seconds(o.frameTimeMs),
    start_time: seconds(o.startTimeMs),
    end_time: o.endTimeMs === null ? null : seconds(o.endTimeMs),
    current_zones: [...o.currentZones],
    entered_zones: [...o.enteredZones],
    stationary: o.stationary,
    active: !o.stationary,
  };
}

export function wireEvent(e: ObjectEvent, seq: number, instance?: string): WireEvent {
  return { type: e.type, seq, before: wireObject(e.before), after: wireObject(e.after), ...(instance !== undefined ? { instance } : {}) };
}

/**
 * The end of an event a lost owner left open, as the new owner publishes it:
 * the object as it was last said, ended at its last event's frame time (the
 * last moment anyone reported it), with the reason.
 */
export function lostEnd(said: WireObject, seq: number, instance: string | undefined, reason: EndReason): WireEvent {
  return { type: 'end', seq, before: said, after: { ...said, end_time: said.frame_time }, ...(instance !== undefined ? { instance } : {}), reason };
}

export function wireStatus(s: { camera: string; state: CameraState | 'removed'; error?: string; atMs: number }): WireStatus {
  return { camera: s.camera, state: s.state, ...(s.error !== undefined ? { error: s.error } : {}), atMs: s.atMs };
}
