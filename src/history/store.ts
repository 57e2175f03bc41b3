/**
 * The event history's SQLite file (better-sqlite3), one owner: it opens the
 * file, creates or checks its table, and runs every statement. better-sqlite3
 * is synchronous, so nothing here is called per frame: EventHistory
 * (./history.ts) batches the writes and hands them over on a timer, in one
 * transaction; reads are single indexed queries.
 *
 * The file is in WAL mode with synchronous=NORMAL: a commit appends to the
 * log without waiting for the disk (a power cut can lose the last commits,
 * never corrupt the file), so a flush costs well under a millisecond.
 *
 * Every way the file can be unusable (a folder that cannot be made, a file
 * that is not a database, a read-only file or disk) is a ConfigError naming
 * history.path, raised at open where SQLite says so then (a write is tried
 * at open, so a read-only file fails there, not at the first event).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError, errorMessage } from '../core/errors.js';
import type { Box } from '../core/types.js';

/** Version of the table layout (PRAGMA user_version); a file of another version is refused, not guessed at. */
export const SCHEMA_VERSION = 1;

export const DB_FILE = 'events.sqlite';

/** One event as the history keeps it. Times are wall-clock ms. */
export interface EventRow {
  /** The event's id, as MQTT's events carry it: start time, camera and track id. */
  id: string;
  camera: string;
  label: string;
  /** Every zone it entered. */
  zones: string[];
  startMs: number;
  /** Null while it goes on. */
  endMs: number | null;
  /** When its state was last written (the frame it is from): an event a crash left open ends here at the next start. */
  lastMs: number;
  topScore: number;
  /** Its box at its best score (what the snapshot shows), source pixels. */
  box: Box;
  trackId: number;
  /** How long the tracker called it stationary, in total. */
  stationaryMs: number;
}

/** An event's snapshot: the picture's size and the bytes on disk (picture and crop). */
export interface SnapshotInfo {
  width: number;
  height: number;
  bytes: number;
  /** The capture time of the frame it shows. */
  frameMs: number;
}

export interface StoredEvent extends EventRow {
  snapshot: SnapshotInfo | null;
}

/** What a page of events is filtered by; `cursor` is the last row of the previous page. */
export interface EventQuery {
  camera?: string;
  label?: string;
  zone?: string;
  /** start >= after (ms). */
  after?: number;
  /** start < before (ms). */
  before?: number;
  limit: number;
  cursor?: { startMs: number; id: string };
}

/** An event whose files go with it: the caller deletes them. */
export interface Evicted {
  id: string;
  camera: string;
  bytes: number;
}

interface Row {
  id: string;
  camera: string;
  label: string;
  zones: string;
  start_ms: number;
  end_ms: number | null;
  last_ms: number;
  top_score: number;
  box_x: number;
  box_y: number;
  box_w: number;
  box_h: number;
  track_id: number;
  stationary_ms: number;
  snapshot_width: number | null;
  snapshot_height: number | null;
  snapshot_bytes: number;
  snapshot_frame_ms: number | null;
}

const CREATE = `
CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY,
  camera TEXT NOT NULL,
  label TEXT NOT NULL,
  zones TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER,
  last_ms INTEGER NOT NULL,
  top_score REAL NOT NULL,
  box_x REAL NOT NULL,
  box_y REAL NOT NULL,
  box_w REAL NOT NULL,
  box_h REAL NOT NULL,
  track_id INTEGER NOT NULL,
  stationary_ms INTEGER NOT NULL,
  snapshot_width INTEGER,
  snapshot_height INTEGER,
  snapshot_bytes INTEGER NOT NULL DEFAULT 0,
  snapshot_frame_ms INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS events_by_start ON events (start_ms, id);
CREATE INDEX IF NOT EXISTS events_by_camera ON events (camera, start_ms, id);
CREATE INDEX IF NOT EXISTS events_by_seen ON events (coalesce(end_ms, last_ms));
-- The byte cap's victims, oldest first: at the cap most old events have lost their snapshot already,
-- and without it each trim walked past all of those (23 ms at 100,000 events: scripts/history-bench.mjs).
CREATE INDEX IF NOT EXISTS events_with_snapshot ON events (start_ms, id) WHERE snapshot_bytes > 0;
`;

function fromRow(r: Row): StoredEvent {
  return {
    id: r.id,
    camera: r.camera,
    label: r.label,
    zones: JSON.parse(r.zones) as string[],
    startMs: r.start_ms,
    endMs: r.end_ms,
    lastMs: r.last_ms,
    topScore: r.top_score,
    box: { x: r.box_x, y: r.box_y, w: r.box_w, h: r.box_h },
    trackId: r.track_id,
    stationaryMs: r.stationary_ms,
    snapshot: r.snapshot_bytes > 0 && r.snapshot_width !== null && r.snapshot_height !== null ? { width: r.snapshot_width, height: r.snapshot_height, bytes: r.snapshot_bytes, frameMs: r.snapshot_frame_ms ?? r.start_ms } : null,
  };
}

const ms = (v: number): number => Math.round(v);

export class EventStore {
  private readonly db: Database.Database;
  private readonly upsertStmt: Database.Statement;
  private readonly snapshotStmt: Database.Statement;
  private readonly snapshotBytesStmt: Database.Statement;
  private readonly getStmt: Database.Statement;
  private readonly countStmt: Database.Statement;
  private closed = false;

  private constructor(
    db: Database.Database,
    readonly file: string,
  ) {
    this.db = db;
    this.upsertStmt = db.prepare(`
      INSERT INTO events (id, camera, label, zones, start_ms, end_ms, last_ms, top_score, box_x, box_y, box_w, box_h, track_id, stationary_ms)
      VALUES (@id, @camera, @label, @zones, @start_ms, @end_ms, @last_ms, @top_score, @box_x, @box_y, @box_w, @box_h, @track_id, @stationary_ms)
      ON CONFLICT (id) DO UPDATE SET label = excluded.label, zones = excluded.zones, end_ms = excluded.end_ms, last_ms = excluded.last_ms,
        top_score = excluded.top_score, box_x = excluded.box_x, box_y = excluded.box_y, box_w = excluded.box_w, box_h = excluded.box_h,
        stationary_ms = excluded.stationary_ms`);
    this.snapshotStmt = db.prepare('UPDATE events SET snapshot_width = ?, snapshot_height = ?, snapshot_bytes = ?, snapshot_frame_ms = ? WHERE id = ?');
    this.snapshotBytesStmt = db.prepare('SELECT snapshot_bytes AS bytes FROM events WHERE id = ?');
    this.getStmt = db.prepare('SELECT * FROM events WHERE id = ?');
    this.countStmt = db.prepare('SELECT count(*) AS n FROM events');
  }

  /** Opens (creating the folder and the file when missing) and checks that it can be written. Throws ConfigError('history.path'). */
  static open(folder: string): EventStore {
    const file = path.join(folder, DB_FILE);
    const fail = (what: string, err: unknown): ConfigError => new ConfigError('history.path', `${what}: ${errorMessage(err)}`, { cause: err });
    try {
      mkdirSync(folder, { recursive: true });
    } catch (err) {
      throw fail(`cannot create the data folder ${folder}`, err);
    }
    let db: Database.Database;
    try {
      db = new Database(file);
    } catch (err) {
      throw fail(`cannot open ${file}`, err);
    }
    try {
      // Each of these reads the file (a corrupt one fails here) or writes it (a read-only one fails here).
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      const version = db.pragma('user_version', { simple: true }) as number;
      const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'events'").get() as { n: number };
      if (version !== SCHEMA_VERSION && !(version === 0 && tables.n === 0)) {
        throw new Error(`its table layout is version ${version}, this build reads ${SCHEMA_VERSION} (move the file away to start a new history)`);
      }
      db.exec(CREATE);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      // A write that always happens: a read-only file or disk fails at open, not at the first event.
      db.exec('BEGIN IMMEDIATE; COMMIT');
      return new EventStore(db, file);
    } catch (err) {
      db.close();
      throw fail(`${file} is not a usable event database`, err);
    }
  }

  /**
   * One transaction: the rows (inserted or updated), then the snapshots
   * (an event's snapshot whose row is not there, because retention deleted it
   * meanwhile, comes back in `orphans` so that its files go too). Returns the
   * change in snapshot bytes.
   */
  write(rows: readonly EventRow[], snapshots: ReadonlyArray<{ id: string; camera: string; info: SnapshotInfo }>): { bytesDelta: number; orphans: Evicted[] } {
    let bytesDelta = 0;
    const orphans: Evicted[] = [];
    this.db.transaction(() => {
      for (const r of rows) {
        this.upsertStmt.run({
          id: r.id,
          camera: r.camera,
          label: r.label,
          zones: JSON.stringify(r.zones),
          start_ms: ms(r.startMs),
          end_ms: r.endMs === null ? null : ms(r.endMs),
          last_ms: ms(r.lastMs),
          top_score: r.topScore,
          box_x: r.box.x,
          box_y: r.box.y,
          box_w: r.box.w,
          box_h: r.box.h,
          track_id: r.trackId,
          stationary_ms: ms(r.stationaryMs),
        });
      }
      for (const s of snapshots) {
        const before = this.snapshotBytesStmt.get(s.id) as { bytes: number } | undefined;
        if (!before) {
          orphans.push({ id: s.id, camera: s.camera, bytes: s.info.bytes });
          continue;
        }
        this.snapshotStmt.run(s.info.width, s.info.height, s.info.bytes, ms(s.info.frameMs), s.id);
        bytesDelta += s.info.bytes - before.bytes;
      }
    })();
    return { bytesDelta, orphans };
  }

  get(id: string): StoredEvent | undefined {
    const r = this.getStmt.get(id) as Row | undefined;
    return r && fromRow(r);
  }

  /**
   * Newest first, by (start, id): keyset pagination, so a page never repeats
   * or skips a row because newer events arrived meanwhile (they sort before
   * the cursor).
   */
  list(q: EventQuery): StoredEvent[] {
    const where: string[] = [];
    const args: Array<string | number> = [];
    const add = (clause: string, ...values: Array<string | number>): void => {
      where.push(clause);
      args.push(...values);
    };
    if (q.camera !== undefined) add('camera = ?', q.camera);
    if (q.label !== undefined) add('label = ?', q.label);
    if (q.zone !== undefined) add('EXISTS (SELECT 1 FROM json_each(events.zones) WHERE value = ?)', q.zone);
    if (q.after !== undefined) add('start_ms >= ?', ms(q.after));
    if (q.before !== undefined) add('start_ms < ?', ms(q.before));
    if (q.cursor) add('(start_ms < ? OR (start_ms = ? AND id < ?))', q.cursor.startMs, q.cursor.startMs, q.cursor.id);
    const sql = `SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY start_ms DESC, id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, q.limit) as Row[]).map(fromRow);
  }

  count(): number {
    return (this.countStmt.get() as { n: number }).n;
  }

  snapshotBytes(): number {
    return (this.db.prepare('SELECT coalesce(sum(snapshot_bytes), 0) AS n FROM events').get() as { n: number }).n;
  }

  /** Events a previous run left open (it stopped without ending them) end when they were last seen. */
  endOpenEvents(): number {
    return this.db.prepare('UPDATE events SET end_ms = last_ms WHERE end_ms IS NULL').run().changes;
  }

  /** Deletes the events that ended (or were last seen, if they go on) before `cutoffMs`; returns them, for their files. */
  expireBefore(cutoffMs: number): Evicted[] {
    return this.deleteWhere('SELECT id, camera, snapshot_bytes AS bytes FROM events WHERE coalesce(end_ms, last_ms) < ?', [ms(cutoffMs)]);
  }

  /** Deletes the oldest events (by start) beyond the newest `maxEvents`; returns them, for their files. `count`: the events now, when the caller just counted them. */
  trimToCount(maxEvents: number, count = this.count()): Evicted[] {
    const over = count - maxEvents;
    if (over <= 0) return [];
    return this.deleteWhere('SELECT id, camera, snapshot_bytes AS bytes FROM events ORDER BY start_ms, id LIMIT ?', [over]);
  }

  private deleteWhere(select: string, args: number[]): Evicted[] {
    return this.db.transaction(() => {
      const gone = this.db.prepare(select).all(...args) as Evicted[];
      const del = this.db.prepare('DELETE FROM events WHERE id = ?');
      for (const e of gone) del.run(e.id);
      return gone;
    })();
  }

  /**
   * Takes the snapshots of the oldest events until at most `maxBytes` remain;
   * the events stay. Returns whose. `total` is the bytes now, when the caller
   * keeps count (summing them reads every row).
   */
  trimSnapshots(maxBytes: number, total?: number): Evicted[] {
    const gone: Evicted[] = [];
    this.db.transaction(() => {
      total ??= this.snapshotBytes();
      if (total <= maxBytes) return;
      const oldest = this.db.prepare('SELECT id, camera, snapshot_bytes AS bytes FROM events WHERE snapshot_bytes > 0 ORDER BY start_ms, id').iterate() as IterableIterator<Evicted>;
      const victims: Evicted[] = [];
      for (const e of oldest) {
        if (total <= maxBytes) break;
        victims.push(e);
        total -= e.bytes;
      }
      const clear = this.db.prepare('UPDATE events SET snapshot_width = NULL, snapshot_height = NULL, snapshot_bytes = 0, snapshot_frame_ms = NULL WHERE id = ?');
      for (const e of victims) {
        clear.run(e.id);
        gone.push(e);
      }
    })();
    return gone;
  }

  /** Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
