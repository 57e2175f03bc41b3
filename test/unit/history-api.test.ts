/**
 * GET /api/events's query and body (src/history/api.ts, pure): every bad
 * parameter is one InputError naming it; cursors go round; pages say whether
 * another follows; bodies match docs/events.schema.json, which is the
 * exported schema.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { encodeCursor, eventsPage, parseEventQuery } from '../../src/history/api.js';
import { checkEventsPage, eventsSchemaJson } from '../../src/history/schema.js';
import type { StoredEvent } from '../../src/history/store.js';

const q = (s: string) => parseEventQuery(new URLSearchParams(s));

const stored = (n: number, more: Partial<StoredEvent> = {}): StoredEvent => ({
  id: `${1796000000 + n}.000-front-${n}`,
  camera: 'front',
  label: 'person',
  zones: ['yard'],
  startMs: 1796000000000 + n * 1000,
  endMs: null,
  lastMs: 1796000000000 + n * 1000 + 500,
  topScore: 0.8,
  box: { x: 10.4, y: 20.6, w: 100, h: 200 },
  trackId: n,
  stationaryMs: 0,
  snapshot: { width: 512, height: 288, bytes: 30000, frameMs: 1796000000000 + n * 1000 + 200 },
  ...more,
});

describe('parseEventQuery', () => {
  it('reads every filter; times as ms or ISO 8601', () => {
    expect(q('camera=front&label=person&zone=yard&after=1796000000000&before=2026-12-05T08:00:00Z&limit=10')).toEqual({ camera: 'front', label: 'person', zone: 'yard', after: 1796000000000, before: Date.parse('2026-12-05T08:00:00Z'), limit: 10 });
    expect(q('')).toEqual({ limit: 50 });
    expect(q('token=abc').limit).toBe(50);
  });

  it.each([
    ['lable=person', 'lable', /unknown parameter \(did you mean 'label'\?\)/],
    ['limit=0', 'limit', /1 to 500/],
    ['limit=501', 'limit', /1 to 500/],
    ['limit=ten', 'limit', /1 to 500/],
    ['after=yesterday', 'after', /ms since the epoch or an ISO 8601 time/],
    ['before=2026-13-45', 'before', /ISO 8601/],
    ['camera=a/b', 'camera', /letters, digits/],
    ['cursor=abc', 'cursor', /not a cursor this server gave/],
    ['camera=a&camera=b', 'camera', /more than once/],
  ])('%s is refused, naming %s', (query, param, problem) => {
    let err: unknown;
    try {
      q(query);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message.startsWith(`${param}: `)).toBe(true);
    expect((err as Error).message).toMatch(problem);
  });

  it('takes back the cursor it gave', () => {
    const e = stored(3);
    expect(q(`cursor=${encodeCursor(e)}`).cursor).toEqual({ startMs: e.startMs, id: e.id });
  });
});

describe('eventsPage', () => {
  it('a full page with one row more says where the next starts; the last says null; both match the schema', () => {
    const rows = [stored(5), stored(4), stored(3, { endMs: 1796000004000, snapshot: null })];
    const page = eventsPage(rows, 2);
    expect(page.events.map((e) => e.trackId)).toEqual([5, 4]);
    expect(page.nextCursor).toBe(encodeCursor(rows[1]!));
    expect(page.events[0]).toMatchObject({ box: { x: 10, y: 21, w: 100, h: 200 }, snapshot: { url: `/api/events/${encodeURIComponent(rows[0]!.id)}/snapshot.jpg`, width: 512 } });
    expect(checkEventsPage(page)).toBeNull();
    const last = eventsPage(rows, 3);
    expect(last.nextCursor).toBeNull();
    expect(last.events[2]!.snapshot).toBeNull();
    expect(checkEventsPage(last)).toBeNull();
    expect(checkEventsPage({ ...last, extra: 1 })).toMatch(/unexpected property 'extra'/);
  });

  it('docs/events.schema.json is the exported schema', async () => {
    const file = fileURLToPath(new URL('../../docs/events.schema.json', import.meta.url));
    // Regenerate: npm run build && node -e "import('./dist/history/schema.js').then(m => m.writeEventsSchema('docs/events.schema.json'))"
    expect(await readFile(file, 'utf8')).toBe(eventsSchemaJson());
  });
});
