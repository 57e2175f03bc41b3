/**
 * One camera's part of the history, fed synchronously by its results$: the
 * tracker's tracks become events (src/events/, the same rules and ids as
 * MQTT's), and each event keeps what its row and snapshot need beyond them:
 * its best detection's box and frame, and how long it stood stationary.
 *
 * Per frame this does map lookups and, when an object's score improves, one
 * copy of the frame's pixels (shared by the events improving on it; see
 * ./frames.ts). Rows and snapshots go to a sink that queues them: nothing
 * here waits on the disk or the encoder.
 */
import type { CameraResult } from '../camera/camera.js';
import type { Box } from '../core/types.js';
import { CameraEvents, type ObjectEvent, type ObjectState } from '../events/objects.js';
import type { Zone } from '../events/zones.js';
import type { HeldFrame, HeldFrames } from './frames.js';
import type { EventRow } from './store.js';

/** Least time between two rows of one event for changes that are not material (kept short: a row is one upsert in a batch). */
const UPDATE_INTERVAL_MS = 1000;

export interface SnapshotJob {
  id: string;
  camera: string;
  label: string;
  frame: HeldFrame;
  /** Source pixels. */
  box: Box;
  /** The event ended: this is its last snapshot, and it must be made even if the encoder is busy. */
  final: boolean;
}

export interface RecorderSink {
  row(row: EventRow): void;
  /**
   * Makes a snapshot of `job.frame` (the sink holds its own reference while
   * it works). A job that is not final may be declined (returns false) when
   * the encoder is busy: it is asked again on a later frame.
   */
  snapshot(job: SnapshotJob): boolean;
}

export interface RecorderOptions {
  camera: string;
  zones: readonly Zone[];
  /** Absent: no snapshots, nothing copied. */
  frames?: HeldFrames;
  sink: RecorderSink;
  /** Least time between two snapshots of an event that goes on (each better frame since the last is a candidate). */
  snapshotEveryMs: number;
}

interface Extra {
  trackId: number;
  bestScore: number;
  bestBox: Box | undefined;
  frame: HeldFrame | undefined;
  /** A better frame than the last snapshot's is held. */
  dirty: boolean;
  lastSnapshotMs: number;
  stationaryMs: number;
  lastAtMs: number;
  wasStationary: boolean;
}

export class CameraRecorder {
  private readonly events: CameraEvents;
  private readonly open = new Map<number, Extra>();

  constructor(private readonly o: RecorderOptions) {
    this.events = new CameraEvents({ camera: o.camera, zones: o.zones, updateIntervalMs: UPDATE_INTERVAL_MS });
  }

  /** One published frame; call during the emission (its pixels are valid only then). */
  frame(r: CameraResult): void {
    if (!r.tracks) return;
    const at = r.frame.captureWallMs;
    const events = this.events.frame(at, r.tracks);
    for (const e of events) if (e.type === 'end') this.finish(e);
    for (const e of events) {
      if (e.type === 'new') this.open.set(e.after.trackId, { trackId: e.after.trackId, bestScore: 0, bestBox: undefined, frame: undefined, dirty: false, lastSnapshotMs: -Infinity, stationaryMs: 0, lastAtMs: at, wasStationary: false });
    }
    for (const t of r.tracks) {
      const x = this.open.get(t.trackId);
      if (!x) continue;
      if (t.stationary && x.wasStationary) x.stationaryMs += at - x.lastAtMs;
      x.lastAtMs = at;
      x.wasStationary = t.stationary;
      // Only a detection of this very frame: a coasting or held track's score and box are older than its pixels.
      if (t.msSinceUpdate !== 0 || t.score <= x.bestScore) continue;
      if (this.o.frames) {
        const held = this.o.frames.replace(r.frame, x.frame);
        if (!held) continue; // the cap refused (counted): keep the frame and box that match
        x.frame = held;
        x.dirty = true;
      }
      x.bestScore = t.score;
      x.bestBox = { ...t.lastBox };
    }
    for (const e of events) if (e.type !== 'end') this.o.sink.row(this.rowOf(e.after, this.open.get(e.after.trackId)));
    // The objects by track, built only on a frame where some snapshot is due (most frames have none).
    let states: Map<number, ObjectState> | undefined;
    for (const x of this.open.values()) {
      if (!x.dirty || !x.frame || !x.bestBox || at - x.lastSnapshotMs < this.o.snapshotEveryMs) continue;
      states ??= new Map(this.events.objects().map((s) => [s.trackId, s]));
      const s = states.get(x.trackId);
      if (!s || !this.o.sink.snapshot({ id: s.id, camera: this.o.camera, label: s.label, frame: x.frame, box: x.bestBox, final: false })) continue;
      x.dirty = false;
      x.lastSnapshotMs = at;
    }
  }

  /** The camera stopped: every open event ends. */
  end(): void {
    for (const e of this.events.endAll()) this.finish(e);
  }

  private finish(e: ObjectEvent): void {
    const x = this.open.get(e.after.trackId);
    this.open.delete(e.after.trackId);
    if (x && e.after.endTimeMs !== null && x.wasStationary) x.stationaryMs += Math.max(0, e.after.endTimeMs - x.lastAtMs);
    this.o.sink.row(this.rowOf(e.after, x));
    if (!x?.frame || !x.bestBox) return;
    // A snapshot already shows this frame: nothing new to encode.
    if (x.dirty) this.o.sink.snapshot({ id: e.after.id, camera: this.o.camera, label: e.after.label, frame: x.frame, box: x.bestBox, final: true });
    this.o.frames?.release(x.frame);
  }

  private rowOf(s: ObjectState, x: Extra | undefined): EventRow {
    return {
      id: s.id,
      camera: s.camera,
      label: s.label,
      zones: [...s.enteredZones],
      startMs: s.startTimeMs,
      endMs: s.endTimeMs,
      lastMs: s.frameTimeMs,
      topScore: s.topScore,
      box: x?.bestBox ?? s.box,
      trackId: s.trackId,
      stationaryMs: x?.stationaryMs ?? 0,
    };
  }
}
