/**
 * ByteTrack-style multi-object tracker: two-stage IoU association over a
 * constant-velocity Kalman filter (./kalman.ts), class-aware, driven by frame
 * timestamps rather than frame counts.
 *
 * One `update` per processed frame:
 *  1. Tracks older than `maxAgeMs` since their last match are dropped; every
 *     other track is predicted to `tsMs` (the real elapsed time, so dropped
 *     frames move it further and widen its covariance).
 *  2. Detections with score >= highThresh are matched to confirmed tracks
 *     (coasting ones included) by IoU >= matchIou.
 *  3. Detections with lowThresh <= score < highThresh are matched, at the
 *     stricter lowMatchIou, to confirmed tracks that are still unmatched and
 *     were matched at their previous update. This is ByteTrack's point: an
 *     occluded object's weak detection keeps its track alive, while weak
 *     detections never start tracks or revive a track that was already lost.
 *  4. Remaining high detections are matched to tentative tracks; a tentative
 *     track that misses once is deleted.
 *  5. Label flicker: a confirmed track still unmatched takes a remaining
 *     high detection of another class that overlaps it at the stricter
 *     lowMatchIou. A detector that calls a horse a dog for a few frames
 *     sees one object, not a horse that vanished and a dog that appeared
 *     (and a dog event, and a horse event again). A track's class is the
 *     score-weighted majority of the detections matched to it.
 *  6. Remaining detections with score >= newTrackThresh start tentative
 *     tracks, strongest first, except one that overlaps a box of another
 *     class already standing for an object this frame (matched, or just
 *     born) at lowMatchIou: the detector saw one object under two classes
 *     (its NMS is per class), and one object is one track.
 * Matching is an optimal assignment (./assignment.ts); only boxes of the
 * same class match in stages 2-4, so objects of different classes that cross
 * keep their own tracks.
 *
 * Publication policy: `update` returns every high-score detection (with or
 * without an id) and every low-score detection that extended a track; other
 * low-score detections are treated as background and dropped. `trackId` is
 * set only when the matched track is confirmed, i.e. has `minHits`
 * consecutive matches. Tracks born in the first update after construction or
 * `reset()` are confirmed at once (as ByteTrack does on frame 1), so a camera
 * that starts on a busy scene shows ids immediately rather than after a frame
 * of blanks; later births wait for `minHits`, which filters one-frame false
 * positives. Detections are never hidden by this policy, only their ids.
 *
 * Ids are positive integers assigned at a track's birth, so ids of tentative
 * tracks that die are never published and published ids may skip numbers.
 * They keep increasing across `reset()`, so a client never sees an id reused
 * for a different object from the same Tracker.
 *
 * Held boxes (`updateHolding`): ARAC republishes what a skipped tile showed
 * when it was last computed. Such a box is no measurement, but it stands for
 * its track until the tile is computed again (at most the refresh bound,
 * model.refresh, 2 s by default): a held track is *seen*, and a track is
 * dropped only after `maxAgeMs` with neither a measurement nor a held box.
 * So the drop age and how long a held box stands agree whatever the two
 * settings are: an object in a skipped tile keeps its track (and its event)
 * until its tile is recomputed, and is dropped `maxAgeMs` after that if the
 * new computation no longer shows it.
 *
 * Stationary: a confirmed track is *stationary* once the boxes matched to it
 * have stayed near where it stopped for at least `stationaryMs` (5 s): each
 * matched box overlaps the box it stopped at (its anchor) with IoU >=
 * `stationaryIou` (0.6: a box that moves sideways has moved less than a
 * quarter of its width). A match below that moves the anchor there and starts
 * the clock again: the object is active. Only measurements count (a held box
 * shows an old position, a prediction a guessed one), and the state holds
 * between measurements. This is the one notion of a stopped object across
 * the code: events and MQTT counts say `stationary` / `active` from it.
 */
import { iou } from '../core/geometry.js';
import { InputError } from '../core/errors.js';
import type { Box, Detection } from '../core/types.js';
import { matchGated } from './assignment.js';
import {
  DEFAULT_KALMAN_NOISE,
  kalmanInit,
  kalmanPredict,
  kalmanUpdate,
  viewState,
  type KalmanNoise,
  type KalmanState,
} from './kalman.js';

export interface TrackerOptions {
  /** Detections at or above this score take part in the first association and may start tracks. Default 0.5. */
  highThresh: number;
  /** Detections below this score are ignored entirely. Default 0.1. */
  lowThresh: number;
  /** Minimum score to start a new track (ByteTrack uses highThresh + 0.1). Default 0.6. */
  newTrackThresh: number;
  /** Minimum IoU between a track's predicted box and a high-score detection. Default 0.3. */
  matchIou: number;
  /** Minimum IoU for the low-score stage; stricter, since weak detections are often clutter. Default 0.5. */
  lowMatchIou: number;
  /** A track unmatched for longer than this is deleted. Default 1000 ms. */
  maxAgeMs: number;
  /** Consecutive matches (the birth detection included) before a track's id is published. Default 2. */
  minHits: number;
  /** A confirmed track whose matched boxes stay near where it stopped this long is stationary (see above). Default 5000 ms. */
  stationaryMs: number;
  /** IoU with the box where it stopped at or above which a matched box counts as not moved. Default 0.6. */
  stationaryIou: number;
  /** Confirm tracks born in the first update at once (see policy above). Default true. */
  confirmFirstFrame: boolean;
  /** Kalman noise model, fractions of box size; see KalmanNoise. */
  noise: Partial<KalmanNoise>;
}

export const DEFAULT_TRACKER_OPTIONS: Readonly<Omit<TrackerOptions, 'noise'>> = {
  highThresh: 0.5,
  lowThresh: 0.1,
  newTrackThresh: 0.6,
  matchIou: 0.3,
  lowMatchIou: 0.5,
  maxAgeMs: 1000,
  minHits: 2,
  stationaryMs: 5000,
  stationaryIou: 0.6,
  confirmFirstFrame: true,
};

/** A detection as returned by `update`: `trackId` set when it belongs to a confirmed track. */
export type TrackedDetection = Detection;

export interface PredictedTrack {
  trackId: number;
  classId: number;
  label: string;
  /** False for a tentative track (its id is not published by `update` yet). */
  confirmed: boolean;
  /** Predicted box at the requested time (Kalman mean), source pixels. */
  box: Box;
  /** Predicted velocity of the box centre, px/s. */
  velocity: { vx: number; vy: number };
  /**
   * One standard deviation (px) of the predicted centre and size, from the
   * Kalman covariance, for the object's true box (detector jitter excluded);
   * grows with time since the last match. Centre +- 2 sigma would cover ~95%
   * of outcomes if the model were exact; the default noise errs wide (see
   * kalman.ts). `searchRegion` turns it into a box.
   */
  sigma: { cx: number; cy: number; w: number; h: number };
  /** Time from the last matched detection to the requested time (held boxes are no match). */
  msSinceUpdate: number;
  /** Time from the track's birth (its first detection) to the requested time. */
  ageMs: number;
  /** How long its matched boxes have stayed near where it stopped, up to its last match (see Stationary above). */
  stillMs: number;
  /** Confirmed and still for at least stationaryMs: the one notion of a stopped object (see above). */
  stationary: boolean;
  /** Number of detections matched so far. */
  hits: number;
  /** Score of the last matched detection. */
  score: number;
  /** Box of the last matched detection, source pixels: what the camera last showed for this object. */
  lastBox: Box;
}

interface Track {
  id: number;
  /** The class of the most score matched to it (see stage 5). */
  classId: number;
  label: string;
  /** Score matched to it per class. */
  votes: Map<number, { label: string; score: number }>;
  /** Class of its last matched detection (a held box is that detection). */
  lastClassId: number;
  state: KalmanState;
  stateTs: number;
  lastUpdateMs: number;
  /** When a held box last stood for it (-Infinity: never); it counts as seen then. */
  heldMs: number;
  bornMs: number;
  /** The box it stopped at, and since when its matched boxes have stayed near it. */
  anchor: Box;
  stillSinceMs: number;
  hits: number;
  confirmed: boolean;
  /** Whether the previous update matched this track (false = coasting). */
  matchedLast: boolean;
  score: number;
  lastBox: Box;
}

/**
 * The box that contains the object's predicted extent with roughly
 * `nSigma`-sigma confidence per edge: each edge moves out by nSigma times the
 * std of that edge (centre and half-size uncertainty combined).
 */
export function searchRegion(p: PredictedTrack, nSigma = 2): Box {
  const ex = nSigma * Math.hypot(p.sigma.cx, p.sigma.w / 2);
  const ey = nSigma * Math.hypot(p.sigma.cy, p.sigma.h / 2);
  return { x: p.box.x - ex, y: p.box.y - ey, w: p.box.w + 2 * ex, h: p.box.h + 2 * ey };
}

function validDetection(d: Detection): boolean {
  return [d.x, d.y, d.w, d.h, d.score].every(Number.isFinite) && d.w > 0 && d.h > 0;
}

export class Tracker {
  private readonly opts: Omit<TrackerOptions, 'noise'>;
  private readonly noise: KalmanNoise;
  private tracks: Track[] = [];
  private nextId = 1;
  private updates = 0;
  private lastTs = -Infinity;

  constructor(opts: Partial<TrackerOptions> = {}) {
    const { noise, ...rest } = opts;
    this.opts = { ...DEFAULT_TRACKER_OPTIONS, ...rest };
    this.noise = { ...DEFAULT_KALMAN_NOISE, ...noise };
    const o = this.opts;
    if (!(o.lowThresh <= o.highThresh)) throw new InputError(`tracker: lowThresh ${o.lowThresh} > highThresh ${o.highThresh}`);
    if (!(o.maxAgeMs >= 0)) throw new InputError(`tracker: maxAgeMs must be >= 0, got ${o.maxAgeMs}`);
    if (!(o.minHits >= 1)) throw new InputError(`tracker: minHits must be >= 1, got ${o.minHits}`);
    if (!(o.stationaryMs >= 0)) throw new InputError(`tracker: stationaryMs must be >= 0, got ${o.stationaryMs}`);
    if (!(o.stationaryIou > 0 && o.stationaryIou <= 1)) throw new InputError(`tracker: stationaryIou must be in (0, 1], got ${o.stationaryIou}`);
  }

  /** Time since the track was last seen: matched, or standing for a held box. */
  private unseenMs(t: Track, now: number): number {
    return now - Math.max(t.lastUpdateMs, t.heldMs);
  }

  /** Associate one frame's detections at time `tsMs` (ms, any monotonic origin). */
  update(dets: readonly Detection[], tsMs: number): TrackedDetection[] {
    if (!Number.isFinite(tsMs)) throw new InputError(`tracker: frame time must be finite, got ${tsMs}`);
    // An out-of-order or repeated timestamp must not move tracks backwards;
    // treat it as happening at the latest time seen.
    const now = Math.max(tsMs, this.lastTs);
    this.lastTs = now;
    const { highThresh, lowThresh, maxAgeMs } = this.opts;

    this.tracks = this.tracks.filter((t) => this.unseenMs(t, now) <= maxAgeMs);
    for (const t of this.tracks) {
      t.state = kalmanPredict(t.state, (now - t.stateTs) / 1000, this.noise);
      t.stateTs = now;
    }

    const trackOf = new Map<number, Track>(); // detection index -> track
    const idx = dets.map((_, i) => i).filter((i) => validDetection(dets[i] as Detection));
    let high = idx.filter((i) => (dets[i] as Detection).score >= highThresh);
    const low = idx.filter((i) => {
      const s = (dets[i] as Detection).score;
      return s >= lowThresh && s < highThresh;
    });
    const confirmed = this.tracks.filter((t) => t.confirmed);
    const tentative = this.tracks.filter((t) => !t.confirmed);

    let left = this.associate(confirmed, high, dets, this.opts.matchIou, trackOf);
    high = left.dets;
    const stage2 = left.tracks.filter((t) => t.matchedLast);
    // Low-score detections left over here are background by policy.
    this.associate(stage2, low, dets, this.opts.lowMatchIou, trackOf);
    left = this.associate(tentative, high, dets, this.opts.matchIou, trackOf);
    high = left.dets;
    const deadTentative = new Set(left.tracks);
    const taken = new Set(trackOf.values());
    high = this.associate(confirmed.filter((t) => !taken.has(t)), high, dets, this.opts.lowMatchIou, trackOf, true).dets;

    const matched = new Set(trackOf.values());
    for (const t of this.tracks) if (!matched.has(t)) t.matchedLast = false;
    this.tracks = this.tracks.filter((t) => !deadTentative.has(t));

    const firstFrame = this.updates === 0;
    // Boxes that already stand for an object this frame; births go strongest first.
    const standing: Detection[] = [...trackOf.keys()].map((i) => dets[i] as Detection);
    for (const i of [...high].sort((a, b) => (dets[b] as Detection).score - (dets[a] as Detection).score)) {
      const d = dets[i] as Detection;
      if (d.score < this.opts.newTrackThresh) continue;
      if (standing.some((o) => o.classId !== d.classId && iou(o, d) >= this.opts.lowMatchIou)) continue;
      standing.push(d);
      const t: Track = {
        id: this.nextId++,
        classId: d.classId,
        label: d.label,
        votes: new Map([[d.classId, { label: d.label, score: d.score }]]),
        lastClassId: d.classId,
        state: kalmanInit(d, this.noise),
        stateTs: now,
        lastUpdateMs: now,
        heldMs: -Infinity,
        bornMs: now,
        anchor: { x: d.x, y: d.y, w: d.w, h: d.h },
        stillSinceMs: now,
        hits: 1,
        confirmed: this.opts.minHits <= 1 || (firstFrame && this.opts.confirmFirstFrame),
        matchedLast: true,
        score: d.score,
        lastBox: { x: d.x, y: d.y, w: d.w, h: d.h },
      };
      this.tracks.push(t);
      trackOf.set(i, t);
    }
    this.updates++;

    const out: TrackedDetection[] = [];
    dets.forEach((d, i) => {
      const t = trackOf.get(i);
      if (!t && !(validDetection(d) && d.score >= highThresh)) return;
      const copy: TrackedDetection = { ...d };
      delete copy.trackId;
      if (t?.confirmed) copy.trackId = t.id;
      out.push(copy);
    });
    return out;
  }

  /**
   * Every live track's state extrapolated to `tsMs` without changing the
   * tracker. Tracks that would be aged out by then are left out. A time
   * before the last update is treated as the last update's time.
   */
  predict(tsMs: number): PredictedTrack[] {
    if (!Number.isFinite(tsMs)) throw new InputError(`tracker: prediction time must be finite, got ${tsMs}`);
    const out: PredictedTrack[] = [];
    for (const t of this.tracks) {
      const at = Math.max(tsMs, t.stateTs);
      if (this.unseenMs(t, at) > this.opts.maxAgeMs) continue;
      const stillMs = t.lastUpdateMs - t.stillSinceMs;
      const v = viewState(kalmanPredict(t.state, (at - t.stateTs) / 1000, this.noise));
      out.push({
        trackId: t.id,
        classId: t.classId,
        label: t.label,
        confirmed: t.confirmed,
        box: v.box,
        velocity: { vx: v.vx, vy: v.vy },
        sigma: v.sigma,
        msSinceUpdate: at - t.lastUpdateMs,
        ageMs: at - t.bornMs,
        stillMs,
        stationary: t.confirmed && stillMs >= this.opts.stationaryMs,
        hits: t.hits,
        score: t.score,
        lastBox: { ...t.lastBox },
      });
    }
    return out.sort((a, b) => a.trackId - b.trackId);
  }

  /**
   * Ids for boxes held over from earlier frames (Detection.stale) without
   * touching any track: each takes the id of the confirmed track of its class
   * whose last matched box it overlaps most (IoU >= matchIou), if any. Held
   * boxes are exactly such last boxes, so this recovers the id they had.
   */
  identify(dets: readonly Detection[]): TrackedDetection[] {
    const used = new Set<number>();
    return dets.map((d) => {
      const copy: TrackedDetection = { ...d };
      delete copy.trackId;
      let best: Track | undefined;
      let bestIou = this.opts.matchIou;
      for (const t of this.tracks) {
        if (!t.confirmed || t.lastClassId !== d.classId || used.has(t.id)) continue;
        const v = iou(t.lastBox, d);
        if (v >= bestIou) {
          bestIou = v;
          best = t;
        }
      }
      if (best) {
        used.add(best.id);
        copy.trackId = best.id;
      }
      return copy;
    });
  }

  /**
   * One frame of fresh detections and boxes held over from skipped tiles.
   * The held boxes take their ids first (identify, against the tracks' last
   * boxes before this frame: a held box is such a last box), and their tracks
   * count as seen at this frame (see Held boxes above); then the fresh ones
   * update the tracks. A held box whose track a fresh detection has just
   * extended is dropped: the object moved on into a computed tile, and
   * showing both would show it twice.
   */
  updateHolding(fresh: readonly Detection[], held: readonly Detection[], tsMs: number): TrackedDetection[] {
    const ided = held.length > 0 ? this.identify(held) : [];
    if (ided.length > 0 && Number.isFinite(tsMs)) {
      const now = Math.max(tsMs, this.lastTs);
      const heldIds = new Set(ided.flatMap((d) => (d.trackId === undefined ? [] : [d.trackId])));
      for (const t of this.tracks) if (heldIds.has(t.id)) t.heldMs = now;
    }
    const tracked = this.update(fresh, tsMs);
    if (ided.length === 0) return tracked;
    const extended = new Set(tracked.flatMap((d) => (d.trackId === undefined ? [] : [d.trackId])));
    return [...tracked, ...ided.filter((d) => d.trackId === undefined || !extended.has(d.trackId))];
  }

  /** Counts a matched detection's class for its track; the track takes the class with the most score. */
  private vote(t: Track, d: Detection): void {
    const v = t.votes.get(d.classId);
    if (v) v.score += d.score;
    else t.votes.set(d.classId, { label: d.label, score: d.score });
    t.lastClassId = d.classId;
    const mine = t.votes.get(t.classId)?.score ?? 0;
    for (const [classId, c] of t.votes) {
      if (c.score > mine) {
        t.classId = classId;
        t.label = c.label;
      }
    }
  }

  /** Forget every track (e.g. after a stream restart); ids keep increasing. */
  reset(): void {
    this.tracks = [];
    this.updates = 0;
    this.lastTs = -Infinity;
  }

  /** Match `tracks` with detections `detIdx` (of their class, or of any with `anyClass`); record hits; return what is left on both sides. */
  private associate(
    tracks: Track[],
    detIdx: number[],
    dets: readonly Detection[],
    minIou: number,
    trackOf: Map<number, Track>,
    anyClass = false,
  ): { tracks: Track[]; dets: number[] } {
    if (tracks.length === 0 || detIdx.length === 0) return { tracks, dets: detIdx };
    const boxes = tracks.map((t) => viewState(t.state).box);
    const sim = tracks.map((t, ti) =>
      detIdx.map((di) => {
        const d = dets[di] as Detection;
        return anyClass || d.classId === t.classId ? iou(boxes[ti] as Box, d) : 0;
      }),
    );
    const m = matchGated(sim, minIou);
    for (const [ti, dj] of m.pairs) {
      const t = tracks[ti] as Track;
      const di = detIdx[dj] as number;
      const d = dets[di] as Detection;
      t.state = kalmanUpdate(t.state, d, this.noise);
      t.lastUpdateMs = t.stateTs;
      t.hits++;
      t.matchedLast = true;
      t.score = d.score;
      t.lastBox = { x: d.x, y: d.y, w: d.w, h: d.h };
      this.vote(t, d);
      // Moved away from where it stopped: it stops (for now) here, and is active again.
      if (iou(t.anchor, t.lastBox) < this.opts.stationaryIou) {
        t.anchor = t.lastBox;
        t.stillSinceMs = t.stateTs;
      }
      if (t.hits >= this.opts.minHits) t.confirmed = true;
      trackOf.set(di, t);
    }
    return {
      tracks: m.unmatchedRows.map((i) => tracks[i] as Track),
      dets: m.unmatchedCols.map((j) => detIdx[j] as number),
    };
  }
}
