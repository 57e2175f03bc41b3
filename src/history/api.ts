/**
 * GET /api/events (pure): the query string read into an EventQuery, with
 * one error per bad parameter naming it, and the rows turned into the body
 * that docs/events.schema.json describes (./schema.ts).
 *
 * Pages are newest first and keyset-paginated on (start, id): `nextCursor`
 * is the last row's key, opaque to clients, and the next page holds the
 * rows strictly after it, so events that arrive meanwhile (they start
 * later, and sort before the first page) never shift or repeat a page.
 */
import { closest } from '../config/issues.js';
import { InputError } from '../core/errors.js';
import type { ApiEvent, EventsPage } from '../serve/api-types.js';
import type { EventQuery, StoredEvent } from './store.js';

export type { ApiEvent, EventsPage };

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

/** The parameters GET /api/events reads (`token` is the server's). */
export const EVENT_PARAMS = ['camera', 'label', 'zone', 'after', 'before', 'limit', 'cursor'] as const;

const NAME = /^[A-Za-z0-9_ -]{1,64}$/;

function fail(param: string, problem: string): never {
  throw new InputError(`${param}: ${problem}`);
}

/** A time parameter: ms since the epoch, or an ISO 8601 time (2026-12-05T08:00:00Z). */
function time(param: string, v: string): number {
  if (/^\d{1,15}$/.test(v)) return Number(v);
  const t = /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(t)) fail(param, `expected ms since the epoch or an ISO 8601 time, got '${v.slice(0, 40)}'`);
  return t;
}

export function encodeCursor(e: Pick<StoredEvent, 'startMs' | 'id'>): string {
  return Buffer.from(JSON.stringify([e.startMs, e.id])).toString('base64url');
}

function decodeCursor(v: string): { startMs: number; id: string } {
  try {
    const [startMs, id] = JSON.parse(Buffer.from(v, 'base64url').toString('utf8')) as unknown[];
    if (typeof startMs === 'number' && Number.isInteger(startMs) && typeof id === 'string') return { startMs, id };
  } catch {
    // fall through: not one of ours
  }
  return fail('cursor', "not a cursor this server gave (pass a page's nextCursor as it is)");
}

/** The query of GET /api/events?camera=&label=&zone=&after=&before=&limit=&cursor=. Throws InputError naming the parameter. */
export function parseEventQuery(params: URLSearchParams): EventQuery {
  for (const key of new Set(params.keys())) {
    if (key === 'token') continue;
    if (!(EVENT_PARAMS as readonly string[]).includes(key)) {
      const guess = closest(key, EVENT_PARAMS);
      fail(key, `unknown parameter${guess ? ` (did you mean '${guess}'?)` : ` (known: ${EVENT_PARAMS.join(', ')})`}`);
    }
    if (params.getAll(key).length > 1) fail(key, 'given more than once');
  }
  const q: EventQuery = { limit: DEFAULT_LIMIT };
  for (const key of ['camera', 'label', 'zone'] as const) {
    const v = params.get(key);
    if (v === null) continue;
    if (!NAME.test(v)) fail(key, `expected 1-64 letters, digits, spaces, '_' or '-', got '${v.slice(0, 40)}'`);
    q[key] = v;
  }
  const after = params.get('after');
  if (after !== null) q.after = time('after', after);
  const before = params.get('before');
  if (before !== null) q.before = time('before', before);
  const limit = params.get('limit');
  if (limit !== null) {
    const n = /^\d{1,6}$/.test(limit) ? Number(limit) : NaN;
    if (!(n >= 1 && n <= MAX_LIMIT)) fail('limit', `expected an integer from 1 to ${MAX_LIMIT}, got '${limit.slice(0, 20)}'`);
    q.limit = n;
  }
  const cursor = params.get('cursor');
  if (cursor !== null) q.cursor = decodeCursor(cursor);
  return q;
}

export function apiEvent(e: StoredEvent): ApiEvent {
  const base = `/api/events/${encodeURIComponent(e.id)}`;
  return {
    id: e.id,
    camera: e.camera,
    label: e.label,
    zones: e.zones,
    startMs: e.startMs,
    endMs: e.endMs,
    topScore: e.topScore,
    box: { x: Math.round(e.box.x), y: Math.round(e.box.y), w: Math.round(e.box.w), h: Math.round(e.box.h) },
    trackId: e.trackId,
    stationaryMs: e.stationaryMs,
    snapshot: e.snapshot ? { url: `${base}/snapshot.jpg`, cropUrl: `${base}/crop.jpg`, width: e.snapshot.width, height: e.snapshot.height, frameMs: e.snapshot.frameMs } : null,
  };
}

/** A page from `rows`, fetched with limit + 1 so that whether another page exists is known. */
export function eventsPage(rows: readonly StoredEvent[], limit: number): EventsPage {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { events: page.map(apiEvent), nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}
