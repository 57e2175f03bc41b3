/**
 * The event history: one owner of the SQLite file (./store.ts), the
 * snapshots' files (./files.ts) and the work between them and the cameras.
 *
 * - Cameras attach (like the MQTT output): each gets a CameraRecorder that
 *   turns its tracks into rows and snapshot jobs during the emission.
 * - Rows wait in a bounded queue, one entry per event (a newer state of an
 *   event replaces the one waiting), and are written every `flushMs` in one
 *   transaction. A row that finds the queue full is dropped and counted;
 *   rows that a failed database could not take are counted as failed.
 *   Nothing queued is lost without a count.
 * - Snapshots are drawn and cropped on the main thread (an outline and a
 *   row copy: cheap), encoded by the viewer's encoder on libuv's threads, at
 *   most ENCODERS at a time, and written to files asynchronously; their row
 *   is updated in the next flush. An event's last snapshot waits for a free
 *   encoder; a snapshot of an event that goes on is skipped while they are
 *   busy and tried again on a later frame.
 * - Retention: by age every `retentionCheckMs` (and at open), by count after
 *   each flush, snapshot bytes after each flush; the oldest go first.
 *
 * A database that cannot be opened or written is no reason to stop the
 * cameras: the history is then `failed` (a ConfigError naming history.path,
 * in the log and /api/stats), records nothing (counted), and the API
 * answers 503 saying why.
 */
import path from 'node:path';
import type { Observable, Subscription } from 'rxjs';
import type { CameraResult } from '../camera/camera.js';
import { RecentValues } from '../camera/rate.js';
import type { HistoryConfig } from '../config/history.js';
import { ConfigError, errorMessage, NotFoundError, UnavailableError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { quantile } from '../core/stats.js';
import type { Zone } from '../events/zones.js';
import type { HistoryStats } from '../serve/api-types.js';
import { jpegEncoder, type PictureEncoder } from '../viewer/encoder.js';
import { eventsPage, parseEventQuery, type EventsPage } from './api.js';
import { boxInPicture, cropAround, cropPixels, drawOutline, lineWidth } from './draw.js';
import { SnapshotFiles, type SnapshotKind } from './files.js';
import { HeldFrames } from './frames.js';
import { CameraRecorder, type SnapshotJob } from './recorder.js';
import { EventStore, type EventRow, type Evicted, type SnapshotInfo } from './store.js';

/** Snapshots encoded at once (each is two JPEGs on libuv's pool, which the viewer's pictures share). */
const ENCODERS = 2;
const FLUSH_TIMES_KEPT = 100;

export interface HistoryOptions {
  config: HistoryConfig;
  log: Logger;
  /** Default: the viewer's sharp JPEG encoder at history.snapshots.quality, never scaled. */
  encoder?: PictureEncoder;
  /** Told of every snapshot written (MQTT publishes the crop). */
  onSnapshot?: (s: { id: string; camera: string; label: string; picture: Buffer; crop: Buffer }) => void;
  /** Rows are written this often. Default 500 ms. */
  flushMs?: number;
  /** Age retention runs this often. Default 60 s. */
  retentionCheckMs?: number;
  /** Most events waiting to be written. Default 10,000. */
  queueMax?: number;
  /** Most frames held for snapshots at once. Default 48. */
  heldFramesMax?: number;
  /** Least time between two snapshots of an event that goes on. Default 5 s. */
  snapshotEveryMs?: number;
}

interface Pending {
  row?: EventRow;
  snapshot?: { camera: string; info: SnapshotInfo };
}

/** What the history needs of a camera (Camera has it). */
export interface HistoryCamera {
  id: string;
  results$: Observable<CameraResult>;
}

export class EventHistory {
  private store: EventStore | undefined;
  private error: ConfigError | undefined;
  private readonly files: SnapshotFiles;
  private readonly frames: HeldFrames | undefined;
  private readonly encoder: PictureEncoder;
  private readonly pending = new Map<string, Pending>();
  private readonly subs = new Map<string, Subscription>();
  private readonly flushTimer: NodeJS.Timeout;
  private readonly retentionTimer: NodeJS.Timeout;
  private readonly flushTimes = new RecentValues(FLUSH_TIMES_KEPT);
  /** Snapshot work in flight per event, so that an event's snapshots are written in the order they were taken. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly waiting: SnapshotJob[] = [];
  private readonly work = new Set<Promise<void>>();
  private encoding = 0;
  private eventCount = 0;
  private bytes = 0;
  private readonly totals = { written: 0, dropped: 0, failed: 0, expired: 0, encoded: 0, snapFailed: 0, evicted: 0 };
  private closing: Promise<void> | undefined;

  private constructor(private readonly o: HistoryOptions) {
    const c = o.config;
    this.files = new SnapshotFiles(path.join(c.path, 'snapshots'));
    this.frames = c.snapshots.enabled ? new HeldFrames(o.heldFramesMax ?? 48) : undefined;
    this.encoder = o.encoder ?? jpegEncoder({ maxWidth: 4096, quality: c.snapshots.quality });
    this.flushTimer = setInterval(() => this.flush(), o.flushMs ?? 500);
    this.flushTimer.unref();
    this.retentionTimer = setInterval(() => this.expire(), o.retentionCheckMs ?? 60_000);
    this.retentionTimer.unref();
  }

  /**
   * Opens the database (never throws for it: a database that cannot be used
   * leaves the history failed, with the ConfigError that says why, and the
   * service runs on). Ends the events a previous run left open, and applies
   * retention once.
   */
  static open(o: HistoryOptions): EventHistory {
    const h = new EventHistory(o);
    try {
      h.store = EventStore.open(o.config.path);
      const ended = h.store.endOpenEvents();
      if (ended > 0) o.log.info('events left open by the last run ended where they were last seen', { count: ended });
      h.eventCount = h.store.count();
      h.bytes = h.store.snapshotBytes();
      h.expire();
      if (h.store) o.log.info('event history open', { file: h.store.file, events: h.eventCount, snapshotBytes: h.bytes });
    } catch (err) {
      h.fail(err);
    }
    return h;
  }

  get failed(): boolean {
    return this.error !== undefined;
  }

  /** Records a camera's events until its results$ completes (its open events then end). */
  attach(camera: HistoryCamera, zones: readonly Zone[]): void {
    if (this.closing) return;
    const recorder = new CameraRecorder({
      camera: camera.id,
      zones,
      ...(this.frames ? { frames: this.frames } : {}),
      snapshotEveryMs: this.o.snapshotEveryMs ?? 5000,
      sink: { row: (r) => this.queueRow(r), snapshot: (j) => this.takeSnapshotJob(j) },
    });
    this.subs.get(camera.id)?.unsubscribe();
    this.subs.set(
      camera.id,
      camera.results$.subscribe({
        next: (r) => recorder.frame(r),
        complete: () => recorder.end(),
      }),
    );
  }

  /** GET /api/events. Throws InputError (a bad parameter) or UnavailableError (the database failed). */
  list(params: URLSearchParams): EventsPage {
    const q = parseEventQuery(params);
    const store = this.usable();
    return eventsPage(store.list({ ...q, limit: q.limit + 1 }), q.limit);
  }

  /** GET /api/events/{id}/snapshot.jpg and crop.jpg. Throws NotFoundError or UnavailableError. */
  async snapshot(id: string, kind: SnapshotKind): Promise<Buffer> {
    const e = this.usable().get(id);
    if (!e) throw new NotFoundError(`no event '${id}'`);
    const jpeg = e.snapshot ? await this.files.read(e.camera, e.id, kind) : undefined;
    if (!jpeg) throw new NotFoundError(`event '${id}' has no ${kind === 'crop' ? 'crop' : 'snapshot'}${this.o.config.snapshots.enabled ? '' : ' (history.snapshots.enabled is false)'}`);
    return jpeg;
  }

  stats(): HistoryStats {
    const t = this.totals;
    const s = this.o.config.snapshots;
    return {
      state: this.error ? 'failed' : 'ok',
      ...(this.error ? { error: this.error.message } : {}),
      path: this.o.config.path,
      events: this.eventCount,
      queued: this.pending.size,
      written: t.written,
      dropped: t.dropped,
      failed: t.failed,
      expired: t.expired,
      flushMs: this.flushTimes.all().length > 0 ? { p50: quantile(this.flushTimes.all(), 0.5), p95: quantile(this.flushTimes.all(), 0.95) } : { p50: 0, p95: 0 },
      snapshots: { enabled: s.enabled, pending: this.encoding + this.waiting.length, encoded: t.encoded, failed: t.snapFailed, evicted: t.evicted, bytes: this.bytes, maxBytes: s.maxBytes, heldFrames: this.frames?.count ?? 0, framesRefused: this.frames?.refused ?? 0 },
    };
  }

  /**
   * Idempotent. Call once the cameras have closed (their events have ended):
   * waits for the snapshots in flight, writes what is queued, closes the file.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.retentionTimer);
      for (const s of this.subs.values()) s.unsubscribe();
      this.subs.clear();
      while (this.work.size > 0) await Promise.allSettled([...this.work]);
      clearInterval(this.flushTimer);
      this.flush();
      this.store?.close();
      this.store = undefined;
    })();
    return this.closing;
  }

  private usable(): EventStore {
    if (this.error) throw new UnavailableError(`the event history is unavailable: ${this.error.message}`);
    if (!this.store) throw new UnavailableError('the event history is closed');
    return this.store;
  }

  private queueRow(row: EventRow): void {
    if (this.error || this.closing) {
      this.totals.failed++;
      return;
    }
    const p = this.pending.get(row.id);
    if (p) {
      p.row = row;
      return;
    }
    if (this.pending.size >= (this.o.queueMax ?? 10_000)) {
      this.totals.dropped++;
      return;
    }
    this.pending.set(row.id, { row });
  }

  /** Takes a snapshot job (RecorderSink.snapshot). */
  private takeSnapshotJob(job: SnapshotJob): boolean {
    if (this.error || !this.frames) return true; // nothing to make: the event asks no more
    if (!job.final && this.encoding + this.waiting.length >= ENCODERS) return false;
    this.frames.retain(job.frame);
    this.waiting.push(job);
    this.pump();
    return true;
  }

  private pump(): void {
    while (this.encoding < ENCODERS && this.waiting.length > 0) {
      const job = this.waiting.shift() as SnapshotJob;
      this.encoding++;
      const prev = this.chains.get(job.id) ?? Promise.resolve();
      const p = prev.then(() => this.makeSnapshot(job));
      this.chains.set(job.id, p);
      this.work.add(p);
      void p.finally(() => {
        this.work.delete(p);
        if (this.chains.get(job.id) === p) this.chains.delete(job.id);
        this.encoding--;
        this.pump();
      });
    }
  }

  /** Draws, crops, encodes and writes one snapshot; never rejects. */
  private async makeSnapshot(job: SnapshotJob): Promise<void> {
    const f = job.frame;
    // Our own copy to draw on (the held one may be shared), made now so the frame can go back at once.
    const pixels = Buffer.from(f.data);
    this.frames?.release(f);
    try {
      const r = boxInPicture(job.box, f.width, f.height, f.srcWidth, f.srcHeight);
      if (r) drawOutline(pixels, f.width, f.height, r, lineWidth(f.width));
      const area = r ? cropAround(r, f.width, f.height) : { x: 0, y: 0, w: f.width, h: f.height };
      const [picture, crop] = await Promise.all([this.encoder.encode(pixels, f.width, f.height), this.encoder.encode(cropPixels(pixels, f.width, area), area.w, area.h)]);
      await this.files.write(job.camera, job.id, picture.jpeg, crop.jpeg);
      this.totals.encoded++;
      this.queueSnapshot(job, { width: picture.width, height: picture.height, bytes: picture.jpeg.length + crop.jpeg.length, frameMs: f.captureMs });
      this.o.onSnapshot?.({ id: job.id, camera: job.camera, label: job.label, picture: picture.jpeg, crop: crop.jpeg });
    } catch (err) {
      this.totals.snapFailed++;
      this.o.log.warn('snapshot failed', { event: job.id, error: errorMessage(err) });
    }
  }

  private queueSnapshot(job: SnapshotJob, info: SnapshotInfo): void {
    const p = this.pending.get(job.id);
    if (p) p.snapshot = { camera: job.camera, info };
    else if (this.error || this.pending.size >= (this.o.queueMax ?? 10_000)) {
      // Its row will not say so: the files would be orphans.
      this.totals.dropped++;
      void this.removeFiles([{ id: job.id, camera: job.camera, bytes: info.bytes }]);
    } else this.pending.set(job.id, { snapshot: { camera: job.camera, info } });
  }

  /** Writes the queued rows and snapshots in one transaction, then trims to the count and byte caps. */
  private flush(): void {
    const store = this.store;
    if (!store || this.pending.size === 0) return;
    const batch = [...this.pending];
    this.pending.clear();
    const rows = batch.flatMap(([, p]) => (p.row ? [p.row] : []));
    const snapshots = batch.flatMap(([id, p]) => (p.snapshot ? [{ id, camera: p.snapshot.camera, info: p.snapshot.info }] : []));
    const t0 = performance.now();
    try {
      const { bytesDelta, orphans } = store.write(rows, snapshots);
      this.totals.written += rows.length;
      this.bytes += bytesDelta;
      void this.removeFiles(orphans);
      const r = this.o.config.retention;
      if (rows.length > 0) {
        this.eventCount = store.count();
        if (this.eventCount > r.maxEvents) this.expired(store.trimToCount(r.maxEvents, this.eventCount));
      }
      if (this.bytes > this.o.config.snapshots.maxBytes) this.evict(store.trimSnapshots(this.o.config.snapshots.maxBytes, this.bytes));
    } catch (err) {
      this.totals.failed += rows.length;
      this.fail(err);
    }
    this.flushTimes.push(performance.now() - t0);
  }

  /** Deletes what is past history.retention.days. */
  private expire(): void {
    const store = this.store;
    if (!store) return;
    try {
      // Counted once; expired() takes off what each step deletes.
      this.eventCount = store.count();
      this.expired(store.expireBefore(Date.now() - this.o.config.retention.days * 86_400_000));
      this.expired(store.trimToCount(this.o.config.retention.maxEvents, this.eventCount));
    } catch (err) {
      this.fail(err);
    }
  }

  private expired(gone: Evicted[]): void {
    if (gone.length === 0) return;
    this.totals.expired += gone.length;
    this.eventCount -= gone.length;
    for (const e of gone) this.bytes -= e.bytes;
    void this.removeFiles(gone.filter((e) => e.bytes > 0));
  }

  private evict(gone: Evicted[]): void {
    this.totals.evicted += gone.length;
    for (const e of gone) this.bytes -= e.bytes;
    void this.removeFiles(gone);
  }

  private async removeFiles(gone: readonly Evicted[]): Promise<void> {
    for (const e of gone) {
      try {
        await this.files.remove(e.camera, e.id);
      } catch (err) {
        this.o.log.warn('cannot delete a snapshot', { event: e.id, error: errorMessage(err) });
      }
    }
  }

  private fail(err: unknown): void {
    if (this.error) return;
    this.error = err instanceof ConfigError ? err : new ConfigError('history.path', `${path.join(this.o.config.path, 'events.sqlite')}: ${errorMessage(err)}`, { cause: err });
    this.o.log.error('event history failed; live detections go on, events are not recorded', { key: this.error.path, error: this.error.message });
    try {
      this.store?.close();
    } catch {
      // Closing a broken file can fail too; it is let go either way.
    }
    this.store = undefined;
    this.totals.failed += this.pending.size;
    this.pending.clear();
  }
}
