/**
 * What the serve room asks of the parts above it for the event and camera
 * routes (src/history/ and src/service/ answer), and what /api/stats says
 * of the history. Types only: serve never imports those rooms.
 *
 * The callbacks throw the typed errors of src/core/errors.ts, which the
 * routes map to statuses: ConfigError and InputError 400 (the key or
 * parameter named), NotFoundError 404, ConflictError 409, UnavailableError
 * 503.
 */

/** One event as GET /api/events serves it (docs/events.schema.json, $defs.event). */
export interface ApiEvent {
  id: string;
  camera: string;
  label: string;
  /** Every zone the object entered. */
  zones: string[];
  startMs: number;
  /** Null while the event goes on. */
  endMs: number | null;
  topScore: number;
  /** At its best score, source pixels. */
  box: { x: number; y: number; w: number; h: number };
  trackId: number;
  stationaryMs: number;
  /** Its pictures, or null (snapshots off, none yet, or removed by the size cap). */
  snapshot: { url: string; cropUrl: string; width: number; height: number; frameMs: number } | null;
}

/** The body of GET /api/events. */
export interface EventsPage {
  events: ApiEvent[];
  /** Pass as `cursor` for the next (older) page; null on the last. */
  nextCursor: string | null;
}

/** GET /api/events and the events' pictures. */
export interface EventsApi {
  /** The page's body for the query string (src/history/api.ts reads it). */
  list(params: URLSearchParams): unknown;
  /** The JPEG of an event's snapshot (the frame with its box) or its crop. */
  snapshot(id: string, kind: 'snapshot' | 'crop'): Promise<Buffer>;
}

/** The cameras at runtime: GET /api/cameras, POST/PUT/DELETE /api/cameras/{id}. */
export interface CamerasApi {
  /** `{cameras: [{id, ...}]}`, or a promise of it (a fleet reads who runs each camera from its KV). */
  list(): unknown;
  /** `body`: the camera as in the config file's `cameras:` list, YAML or JSON. */
  add(id: string, body: string): Promise<unknown>;
  replace(id: string, body: string): Promise<unknown>;
  remove(id: string): Promise<unknown>;
}

/** The event history in /api/stats (src/history/history.ts fills it). */
export interface HistoryStats {
  state: 'ok' | 'failed';
  /** Why it failed, naming history.path. */
  error?: string;
  path: string;
  /** Events in the database. */
  events: number;
  /** Events waiting to be written. */
  queued: number;
  /** Event rows written (an event is written when it starts, changes and ends). */
  written: number;
  /** Rows refused because the queue was full. */
  dropped: number;
  /** Rows lost because the database failed. */
  failed: number;
  /** Events deleted by retention. */
  expired: number;
  /** Time of one flush (a transaction), over the recent ones, ms. */
  flushMs: { p50: number; p95: number };
  snapshots: {
    enabled: boolean;
    /** Snapshots being made or waiting for an encoder. */
    pending: number;
    encoded: number;
    failed: number;
    /** Snapshots deleted to keep under maxBytes (their events stay). */
    evicted: number;
    bytes: number;
    maxBytes: number;
    /** Frames held for snapshots now, and better frames not copied because the cap was reached. */
    heldFrames: number;
    framesRefused: number;
  };
}
