/**
 * One camera, one owner: its frames (a source it owns, or a stream someone
 * else feeds), its strategy, its tracker, its pipeline subscription and its
 * meters. What it produces leaves on `results$`, one typed stream of
 * published frames that every output subscribes to (the WebSocket hub, the
 * metrics, MQTT and the viewer), and `status$`. `close()` releases all
 * of it, once; the service above is only a map of cameras.
 *
 * Live cameras own a CameraSource (ffmpeg, watchdog, reconnects). The bench
 * decodes each frame once and hands it to one Camera per strategy, so both
 * run exactly the same gate, strategy, tracker and publish code.
 */
import { Observable, ReplaySubject, Subject, type Subscription } from 'rxjs';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Polygon } from '../core/polygon.js';
import { quantile } from '../core/stats.js';
import { clampBox } from '../core/geometry.js';
import type { CameraState, Detection, Frame } from '../core/types.js';
import type { PoolRequest } from '../inference/pool.js';
import { CameraSource, type CameraStatus as SourceStatus } from '../ingest/camera-source.js';
import type { SourceSpec } from '../ingest/source-spec.js';
import { createStrategy } from '../strategy/registry.js';
import type { StrategySpec } from '../strategy/spec.js';
import type { DeviceShare, Strategy, StrategyContext, StrategyResult, StreamInfo } from '../strategy/types.js';
import { Tracker, type PredictedTrack, type TrackerOptions } from '../track/tracker.js';
import type { DetectReply } from '../inference/protocol.js';
import { unmasked } from './masks.js';
import { cameraPipeline } from './pipeline.js';
import { RateMeter, RecentValues } from './rate.js';

/** What a camera needs of the inference pool (InferencePool satisfies it). */
export interface DetectorPort {
  detect(r: PoolRequest): Promise<DetectReply>;
  /** How long a request sent now would wait behind other cameras' work, ms. */
  backlogMs(cameraId: string): number;
  /** Forget the camera's cached ARAC results (a new connection may show a new scene). */
  reset(cameraId: string): void;
}

export interface CameraOptions {
  /** Unique per pool: it keys the camera's ARAC cache and its worker. */
  id: string;
  /** A source the camera owns (live, or a file paced like one), or frames someone else pushes. */
  frames: { source: SourceSpec } | { feed: Observable<Frame>; paced: boolean };
  /** A spec (the camera builds its strategy), or a strategy built by the caller (labeling, tests). */
  strategy: StrategySpec | Strategy;
  /** Detector input size (the source is scaled to it). */
  input: { width: number; height: number };
  /** The frame rate its SLO is held to (one frame interval from capture to publish). */
  sloFps: number;
  pool: DetectorPort;
  /** What the strategy may know beyond its frames (levels, controller, calibration, minScore). */
  info: Omit<StreamInfo, 'frameIntervalMs' | 'paced' | 'share'>;
  /** This camera's share of its inference worker (DEMUX fair share); absent: the device is its own. */
  share?: DeviceShare;
  /** Tracker settings, or false for none. */
  tracker: Partial<TrackerOptions> | false;
  /** Regions to ignore, source pixels: nothing whose box centre lies in one is tracked or published (src/camera/masks.ts). */
  masks?: readonly Polygon[];
  log: Logger;
  /** Told of every frame that will not be published (the gate replaced it, or it failed): feeders that wait on each frame need it. */
  onDrop?: (frame: Frame, reason: DropReason) => void;
}

/** One published frame. */
export interface CameraResult {
  camera: string;
  /**
   * The frame as the detector saw it. Its pixels (`frame.data`) are valid
   * only while `results$` emits: a subscriber that keeps them (the viewer)
   * copies or encodes them synchronously.
   */
  frame: Frame;
  /** Source pixels, with track ids when tracking is on; none inside a mask. */
  detections: Detection[];
  /**
   * The tracker's confirmed tracks after this frame (at its time), stationary
   * ones and those a skipped tile holds included: what the events and counts
   * are made of (src/events/). Absent when tracking is off.
   */
  tracks?: PredictedTrack[];
  result: StrategyResult;
  /** The strategy's name (its spec's text form). */
  strategy: string;
  /** performance.now() when detection began. */
  startedMs: number;
  /** Date.now() when it was published. */
  publishedAtMs: number;
}

export interface CameraStatus {
  camera: string;
  state: CameraState;
  /** Why it is offline; credentials in URLs are already redacted by ingest. */
  error?: string;
  atMs: number;
}

export type DropReason = 'gate' | 'error';

/** The window of CameraStats.sloAttainment: long enough to be steady at a few fps, short enough to show a bad minute. */
export const SLO_WINDOW_MS = 10_000;

/** Counters and recent figures, for /api/stats and the metrics. */
export interface CameraStats {
  camera: string;
  state: CameraState;
  fpsIn: number;
  fpsProcessed: number;
  fpsDropped: number;
  /** Mean detector time over the recent window, milliseconds. */
  inferenceMs: number;
  reconnects: number;
  /** Totals since start (the fps figures above are recent rates). */
  framesIn: number;
  processed: number;
  dropped: number;
  droppedBy: Record<DropReason, number>;
  /** Capture-to-publish latency over the recent window, milliseconds. */
  e2eMs: { p50: number; p95: number };
  /** Mean model work per processed frame over the recent window (1 = the unsplit model on the whole frame). */
  workFraction: number;
  /**
   * Recent SLO attainment, 0-1: of the frames that came in over the last
   * SLO_WINDOW_MS, the share published within one frame interval of capture
   * (a frame DEMUX dropped misses, as in serve-slo). Null before any frame.
   */
  sloAttainment: number | null;
  /** Detector input size and the strategy that runs it. */
  input: { width: number; height: number; strategy: string };
  /** The frame rate its SLO is held to. */
  sloFps: number;
  /** The last processed frame's plan, with its measured detector time. */
  lastPlan?: StrategyResult['plan'] & { measuredMs: number };
  lastError?: string;
}

/** What a strategy may use of its camera: the pool under the camera's key, its tracker's predictions, its stream facts. */
/**
 * A held box (a skipped tile's, marked stale) shows where its object was
 * when the tile was last computed; its track's Kalman prediction says where
 * it is now. Held boxes with a track move there (size included): on the
 * development clips a held box three frames old overlaps the reference
 * with IoU 0.83 at its prediction against 0.66 where it was held (PETS09,
 * 512x384). Boxes without a track (a tentative one) stay where they were.
 */
function followPredictions(dets: Detection[], tracker: Tracker, tsMs: number, frame: { srcWidth: number; srcHeight: number }): Detection[] {
  if (!dets.some((d) => d.stale && d.trackId !== undefined)) return dets;
  const at = new Map(tracker.predict(tsMs).map((p) => [p.trackId, p.box]));
  return dets.map((d) => {
    const p = d.stale && d.trackId !== undefined ? at.get(d.trackId) : undefined;
    if (!p) return d;
    // A prediction may run past the frame's edge (an object leaving); the box stays inside it,
    // and one predicted wholly outside stays where it was shown.
    const box = clampBox(p, frame.srcWidth, frame.srcHeight);
    return box.w >= 1 && box.h >= 1 ? { ...d, ...box } : d;
  });
}

export function strategyContext(id: string, pool: DetectorPort, info: StreamInfo, predictTracks: StrategyContext['predictTracks'] = () => []): StrategyContext {
  return {
    info,
    detect: (image, mode, plan, opts) => pool.detect({ cameraId: id, ...image, mode, ...(plan ? { plan } : {}), ...(opts?.scratch ? { scratch: opts.scratch } : {}) }),
    predictTracks,
    backlogMs: () => pool.backlogMs(id),
  };
}

export class Camera {
  readonly id: string;
  readonly strategy: Strategy;
  readonly input: { width: number; height: number };
  readonly sloFps: number;
  /** Hot: every published frame. Completes when the camera closes or its frames end. */
  readonly results$: Observable<CameraResult>;
  /** Replays the latest status to late subscribers. Completes on close. */
  readonly status$: Observable<CameraStatus>;

  private readonly results = new Subject<CameraResult>();
  private readonly statuses = new ReplaySubject<CameraStatus>(1);
  private readonly source: CameraSource | undefined;
  private readonly tracker: Tracker | undefined;
  private readonly subs: Subscription[] = [];
  private readonly log: Logger;
  private readonly ctx: StrategyContext;
  private readonly masks: readonly Polygon[];
  private readonly meters = {
    inRate: new RateMeter(),
    processedRate: new RateMeter(),
    droppedRate: new RateMeter(),
    inferenceMs: new RecentValues(),
    e2eMs: new RecentValues(),
    work: new RecentValues(),
    sloIn: new RateMeter(SLO_WINDOW_MS),
    sloMet: new RateMeter(SLO_WINDOW_MS),
  };
  private counts = { framesIn: 0, processed: 0, gate: 0, error: 0 };
  private state: CameraState = 'connecting';
  private lastError: string | undefined;
  private lastPlan: CameraStats['lastPlan'];
  private lastPts = -Infinity;
  private connected = false;
  private closing: Promise<void> | undefined;

  private constructor(private readonly o: CameraOptions) {
    this.id = o.id;
    this.input = o.input;
    this.sloFps = o.sloFps;
    this.log = o.log;
    this.masks = o.masks ?? [];
    this.strategy = 'process' in o.strategy ? o.strategy : createStrategy(o.strategy);
    this.tracker = o.tracker === false ? undefined : new Tracker(o.tracker);
    this.results$ = this.results.asObservable();
    this.status$ = this.statuses.asObservable();
    this.source = 'source' in o.frames ? new CameraSource(o.frames.source) : undefined;
    // Deadlines count from capture only when frames come at their own pace (cameras, paced files).
    const paced = this.source ? this.source.spec.kind !== 'file' || this.source.spec.pace === 'source' : (o.frames as { paced: boolean }).paced;
    const info: StreamInfo = { ...o.info, frameIntervalMs: 1000 / o.sloFps, paced, ...(o.share ? { share: o.share } : {}), ...(o.masks?.length ? { masks: o.masks } : {}) };
    this.ctx = strategyContext(o.id, o.pool, info, (tsMs) => this.tracker?.predict(tsMs) ?? []);
  }

  /**
   * Builds the camera, runs its strategy's start-up work (DEMUX calibration,
   * on paced streams), then starts its frames. Resolves once frames may flow.
   */
  static async open(o: CameraOptions): Promise<Camera> {
    const cam = new Camera(o);
    try {
      if (cam.ctx.info.paced) await cam.strategy.prepare?.(o.input, cam.ctx);
      cam.start();
    } catch (err) {
      await cam.close();
      throw err;
    }
    return cam;
  }

  private start(): void {
    const frames$ = this.source ? this.source.frames$ : (this.o.frames as { feed: Observable<Frame> }).feed;
    if (this.source) {
      this.subs.push(this.source.status$.subscribe((st) => this.onSourceStatus(st)));
    } else {
      this.setStatus({ camera: this.id, state: 'online', atMs: Date.now() });
    }
    this.subs.push(
      frames$.subscribe(() => {
        this.counts.framesIn++;
        this.meters.inRate.mark();
        this.meters.sloIn.mark();
      }),
    );
    this.subs.push(
      cameraPipeline(frames$, {
        strategy: this.strategy,
        ctx: this.ctx,
        log: this.log,
        track: (dets, tsMs, result, frame) => this.track(dets, tsMs, result, frame),
        publish: (r) => this.publish(r.frame, r.detections, r.result, r.startedMs),
        onDrop: (frame, reason) => {
          this.counts[reason]++;
          this.meters.droppedRate.mark();
          this.o.onDrop?.(frame, reason);
        },
      }).subscribe({
        error: (err: unknown) => this.log.error('pipeline stopped', { error: errorMessage(err) }),
        // The frames ended (a file, or the feed) and the gate has let the last of them through.
        complete: () => {
          if (!this.source) this.setStatus({ camera: this.id, state: 'stopped', atMs: Date.now() });
          this.results.complete();
        },
      }),
    );
    this.source?.start();
  }

  private onSourceStatus(st: SourceStatus): void {
    this.state = st.state;
    if (st.error !== undefined) this.lastError = st.error;
    // A new connection may bring a different scene: forget the ARAC results and the tracks.
    if (st.state === 'connecting' && this.connected) this.reset();
    if (st.state === 'online') this.connected = true;
    if (st.state === 'offline') this.log.warn('camera offline', { error: st.error });
    else this.log.info(`camera ${st.state}`);
    this.setStatus({ camera: this.id, state: st.state, atMs: st.atMs, ...(st.error !== undefined ? { error: st.error } : {}) });
  }

  private setStatus(s: CameraStatus): void {
    this.state = s.state;
    this.statuses.next(s);
  }

  /** Tracker update for one processed frame; detections with track ids, none inside a mask. */
  private track(all: Detection[], tsMs: number, result: StrategyResult, frame: Frame): Detection[] {
    // Masked out before the tracker: nothing inside a mask starts or extends a track.
    const dets = unmasked(all, this.masks);
    const t = this.tracker;
    if (!t) return dets;
    // A looping file restarts its clock: start the tracks afresh rather than feed a negative dt.
    if (tsMs < this.lastPts) t.reset();
    this.lastPts = tsMs;
    // Predictions published by the strategy itself must not be fed back as measurements,
    // nor boxes held over from skipped tiles: those keep the ids they had.
    if (result.fromTracker) return dets;
    const out = t.updateHolding(
      dets.filter((d) => !d.stale),
      dets.filter((d) => d.stale),
      tsMs,
    );
    return followPredictions(out, t, tsMs, frame);
  }

  private publish(frame: Frame, detections: Detection[], result: StrategyResult, startedMs: number): void {
    const now = Date.now();
    this.counts.processed++;
    this.meters.processedRate.mark();
    this.meters.inferenceMs.push(result.detectorMs);
    this.meters.e2eMs.push(now - frame.captureWallMs);
    this.meters.work.push(result.workFraction);
    const demuxDropped = result.plan?.kind === 'tiles' && result.plan.dropped === true;
    if (!demuxDropped && now - frame.captureWallMs <= 1000 / this.sloFps) this.meters.sloMet.mark();
    if (result.plan) this.lastPlan = { ...result.plan, measuredMs: result.detectorMs };
    const tracks = this.tracker?.predict(frame.ptsMs).filter((p) => p.confirmed);
    this.results.next({ camera: this.id, frame, detections, ...(tracks ? { tracks } : {}), result, strategy: this.strategy.name, startedMs, publishedAtMs: now });
  }

  stats(): CameraStats {
    const src = this.source?.stats();
    const e2e = this.meters.e2eMs.all();
    // Both meters count over the same window, so the ratio of their rates is the ratio of their counts.
    const sloIn = this.meters.sloIn.rate();
    return {
      camera: this.id,
      state: this.state,
      fpsIn: this.meters.inRate.rate(),
      fpsProcessed: this.meters.processedRate.rate(),
      fpsDropped: this.meters.droppedRate.rate(),
      inferenceMs: this.meters.inferenceMs.mean(),
      reconnects: src?.reconnects ?? 0,
      framesIn: this.counts.framesIn,
      processed: this.counts.processed,
      dropped: this.counts.gate + this.counts.error,
      droppedBy: { gate: this.counts.gate, error: this.counts.error },
      e2eMs: { p50: e2e.length ? quantile(e2e, 0.5) : 0, p95: e2e.length ? quantile(e2e, 0.95) : 0 },
      workFraction: this.meters.work.mean(),
      sloAttainment: sloIn > 0 ? Math.min(1, this.meters.sloMet.rate() / sloIn) : null,
      input: { ...this.input, strategy: this.strategy.name },
      sloFps: this.sloFps,
      ...(this.lastPlan ? { lastPlan: this.lastPlan } : {}),
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  /** Forget what the camera knows of its scene: tracks, the strategy's state, cached ARAC results. */
  reset(): void {
    this.o.pool.reset(this.id);
    this.tracker?.reset();
    this.strategy.reset();
    this.lastPts = -Infinity;
  }

  /** Idempotent: stops the pipeline, closes the source (ffmpeg gone), completes both streams. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const s of this.subs.splice(0)) s.unsubscribe();
      await this.source?.close();
      if (this.state !== 'stopped') this.setStatus({ camera: this.id, state: 'stopped', atMs: Date.now() });
      this.results.complete();
      this.statuses.complete();
    })();
    return this.closing;
  }
}
