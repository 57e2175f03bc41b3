/**
 * The event history with its real SQLite file, real ffmpeg and the real
 * model on the bundled parade clip (samples/README.md lists what crosses
 * it: two persons along the top band, a cat then a horse along the bottom).
 *
 * - The clip's events are written (ended, each with its snapshot), every
 *   page matches docs/events.schema.json, and a restart keeps them.
 * - Pages stay stable while new events arrive: paging with a cursor over a
 *   camera that keeps making events neither repeats nor skips one.
 * - The snapshots decode, have the frame's size (the detector's input),
 *   and their outline colour lies inside the event's box, around it.
 * - Retention deletes the old events (with their files) at start-up and
 *   while running, by age and by count.
 * - The snapshots' byte cap takes the oldest snapshots first (files and
 *   all); their events stay.
 * - A corrupt database file: the service starts, frames flow, the history
 *   says failed naming history.path (stats, log, a 503 from the API).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../../src/core/log.js';
import { SnapshotFiles } from '../../src/history/files.js';
import { EventStore, type EventRow } from '../../src/history/store.js';
import { checkPayload } from '../../src/mqtt/schema.js';
import type { StatsBody } from '../../src/serve/routes.js';
import { NeulensService } from '../../src/service/service.js';
import { allEvents, eventsPage, getBytes, outlineCheck } from '../helpers/history.js';
import { PARADE, WsProbe, getJson, testConfig, waitForAsync } from '../helpers/service.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'neulens-history-'));
  open.push({ close: () => rm(dir, { recursive: true, force: true }) });
  return dir;
}

async function start(yaml: string, opts: Parameters<typeof NeulensService.start>[1] = {}): Promise<NeulensService> {
  const service = await NeulensService.start(testConfig(yaml), { log: silentLogger, ...opts });
  open.push(service);
  return service;
}

async function stats(service: NeulensService): Promise<StatsBody> {
  return (await getJson(`${service.server.httpUrl}/api/stats`)).body as StatsBody;
}

const DAY = 86_400_000;

/** An ended event row, `ageMs` ago. */
function oldRow(n: number, ageMs: number, camera = 'parade'): EventRow {
  const start = Date.now() - ageMs;
  return { id: `${(start / 1000).toFixed(3)}-${camera}-${n}`, camera, label: 'dog', zones: [], startMs: start, endMs: start + 2000, lastMs: start + 2000, topScore: 0.7, box: { x: 1, y: 2, w: 30, h: 40 }, trackId: n, stationaryMs: 0 };
}

describe('event history (real SQLite file, sample clip)', () => {
  it('writes the clip\'s events with snapshots; a restart keeps them; pages stay stable while new events arrive', async () => {
    const dir = await dataDir();
    const yaml = (loop: boolean) => `server: { port: 0 }\nhistory: { path: ${dir} }\ncameras:\n  - { id: parade, url: ${PARADE}, loop: ${loop} }\n`;
    const first = await start(yaml(false));
    const http = first.server.httpUrl;
    // The clip plays once (12 s): the camera stops, every event ends and gets its last snapshot.
    await waitForAsync(async () => first.stats()[0]?.state === 'stopped', 60_000, 'the clip to end');
    await waitForAsync(async () => {
      const evs = await allEvents(http);
      const h = (await stats(first)).history;
      return evs.length > 0 && evs.every((e) => e.endMs !== null && e.snapshot !== null) && h?.snapshots.pending === 0 && h.queued === 0;
    }, 15_000, 'every event ended with a snapshot');

    const events = await allEvents(http);
    const body = await stats(first);
    expect(checkPayload('stats', body)).toBeNull();
    expect(body.history).toMatchObject({ state: 'ok', events: events.length, dropped: 0, failed: 0, snapshots: { failed: 0, heldFrames: 0 } });
    // The clip's objects: persons, a cat and a horse; one event each at least.
    const labels = new Set(events.map((e) => e.label));
    expect(labels.has('person')).toBe(true);
    expect(events.length).toBeGreaterThanOrEqual(3);
    for (const e of events) {
      expect(e.id).toMatch(new RegExp(`^\\d+\\.\\d{3}-parade-${e.trackId}$`));
      expect(e.endMs).toBeGreaterThanOrEqual(e.startMs);
      expect(e.topScore).toBeGreaterThanOrEqual(0.5);
    }
    // Small pages walk the same list.
    expect((await allEvents(http, '', 2)).map((e) => e.id)).toEqual(events.map((e) => e.id));
    // Filters.
    const persons = await allEvents(http, 'label=person');
    expect(persons.length).toBeGreaterThan(0);
    expect(persons.every((e) => e.label === 'person')).toBe(true);
    expect(await allEvents(http, 'camera=nobody')).toEqual([]);
    const newest = events[0]!;
    expect((await allEvents(http, `after=${newest.startMs}`)).map((e) => e.id)).toContain(newest.id);
    expect((await allEvents(http, `before=${newest.startMs}`)).map((e) => e.id)).not.toContain(newest.id);
    const bad = await getJson(`${http}/api/events?limit=0`);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: expect.stringMatching(/^limit: /) as unknown });

    // Snapshots: JPEGs of the frame's size (the detector's input), the outline around the event's box.
    const input = body.cameras[0]!.input;
    for (const e of events) {
      const pic = await getBytes(`${http}${e.snapshot!.url}`);
      expect(pic.status).toBe(200);
      expect(pic.type).toBe('image/jpeg');
      const meta = await sharp(pic.body).metadata();
      expect({ format: meta.format, width: meta.width, height: meta.height }).toEqual({ format: 'jpeg', width: input.width, height: input.height });
      expect(e.snapshot).toMatchObject({ width: input.width, height: input.height });
      const o = await outlineCheck(pic.body, e.box, 960, 540);
      expect(o.coloured, `${e.id}: no outline colour`).toBeGreaterThan(50);
      expect(o.insideShare, `${e.id}: outline colour outside the box`).toBeGreaterThan(0.97);
      expect(o.outlineShare, `${e.id}: the box's edges are not drawn`).toBeGreaterThan(0.9);
      const crop = await getBytes(`${http}${e.snapshot!.cropUrl}`);
      expect(crop.status).toBe(200);
      const cm = await sharp(crop.body).metadata();
      expect(cm.format).toBe('jpeg');
      expect(cm.width * cm.height).toBeLessThan(input.width * input.height);
    }
    expect((await getBytes(`${http}/api/events/nope/snapshot.jpg`)).status).toBe(404);
    await first.close();

    // A restart keeps them; the clip now loops, so new events keep arriving.
    const second = await start(yaml(true));
    const http2 = second.server.httpUrl;
    const kept = await allEvents(http2);
    expect(kept.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(kept.map((e) => e.snapshot?.frameMs)).toEqual(events.map((e) => e.snapshot?.frameMs));

    // Paging while events arrive: between pages, wait for a newer event than any seen.
    const seen: string[] = [];
    let cursor: string | null = null;
    let newestStart = events[0]!.startMs;
    let pages = 0;
    do {
      const q: string = `limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await eventsPage(http2, q);
      seen.push(...page.events.map((e) => e.id));
      cursor = page.nextCursor;
      pages++;
      if (cursor && pages <= 2) {
        const before = newestStart;
        await waitForAsync(async () => {
          newestStart = (await eventsPage(http2, 'limit=1')).events[0]!.startMs;
          return newestStart > before;
        }, 40_000, 'a new event while paging');
      }
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    // Every event that existed before paging began is on some page, in order.
    const order = seen.filter((id) => events.some((e) => e.id === id));
    expect(order).toEqual(events.map((e) => e.id));
  }, 180_000);

  it('retention: old events and their snapshots go at start-up, by age and by count, and while running', async () => {
    const dir = await dataDir();
    // An earlier run's history: two events from 20 days ago (one with snapshot files), three recent ones.
    const store = EventStore.open(dir);
    const files = new SnapshotFiles(path.join(dir, 'snapshots'));
    const ancient = [oldRow(1, 20 * DAY), oldRow(2, 20 * DAY + 1000)];
    const recent = [oldRow(3, 3 * 60_000), oldRow(4, 2 * 60_000), oldRow(5, 60_000)];
    await files.write('parade', ancient[0]!.id, Buffer.from('jpeg'), Buffer.from('crop'));
    store.write([...ancient, ...recent], [{ id: ancient[0]!.id, camera: 'parade', info: { width: 4, height: 4, bytes: 8, frameMs: ancient[0]!.startMs } }]);
    store.close();
    expect(existsSync(path.join(dir, 'snapshots/parade', `${ancient[0]!.id}.jpg`))).toBe(true);

    const service = await start(`server: { port: 0 }\nhistory: { path: ${dir}, retention: { days: 10, maxEvents: 4 } }\ncameras:\n  - { id: parade, url: ${PARADE}, loop: true }\n`, { history: { retentionCheckMs: 200 } });
    const http = service.server.httpUrl;
    const atStart = await allEvents(http);
    // By age: the 20-day-old ones are gone with their files; the recent three stay (under the count).
    expect(atStart.map((e) => e.id).sort()).toEqual(recent.map((r) => r.id).sort());
    expect(existsSync(path.join(dir, 'snapshots/parade', `${ancient[0]!.id}.jpg`))).toBe(false);

    // By count while running: as the clip's events come, the oldest recent ones make room.
    await waitForAsync(async () => (await allEvents(http)).every((e) => !recent.some((r) => r.id === e.id)), 90_000, 'the clip\'s events to push out the old ones');
    const now = await allEvents(http);
    expect(now.length).toBeLessThanOrEqual(4);
    expect(now.every((e) => e.label !== 'dog')).toBe(true);
    expect((await stats(service)).history?.expired).toBeGreaterThanOrEqual(5);

    // By age while running: an old event written into the file now is gone at the next check.
    const late = oldRow(9, 30 * DAY);
    const side = EventStore.open(dir);
    side.write([late], []);
    expect(side.get(late.id)?.label).toBe('dog');
    side.close();
    await waitForAsync(async () => {
      const s = EventStore.open(dir);
      try {
        return s.get(late.id) === undefined;
      } finally {
        s.close();
      }
    }, 10_000, 'the old event written while running to expire');
  }, 150_000);

  it('the snapshot byte cap: the oldest snapshots go first (their files too), their events stay', async () => {
    const dir = await dataDir();
    // An earlier run's three events, each with 400 kB of snapshot files: 1.2 MB, over a 1 MiB cap.
    const store = EventStore.open(dir);
    const files = new SnapshotFiles(path.join(dir, 'snapshots'));
    const big = [oldRow(1, 3 * 60_000), oldRow(2, 2 * 60_000), oldRow(3, 60_000)];
    for (const r of big) await files.write('parade', r.id, Buffer.alloc(200_000, 1), Buffer.alloc(200_000, 2));
    store.write(big, big.map((r) => ({ id: r.id, camera: 'parade', info: { width: 512, height: 288, bytes: 400_000, frameMs: r.startMs } })));
    store.close();
    const file = (r: EventRow) => path.join(dir, 'snapshots/parade', `${r.id}.jpg`);

    const service = await start(`server: { port: 0 }\nhistory: { path: ${dir}, snapshots: { maxBytes: 1048576 } }\ncameras:\n  - { id: parade, url: ${PARADE}, loop: false }\n`);
    const http = service.server.httpUrl;
    expect((await stats(service)).history?.snapshots.bytes).toBe(1_200_000);
    // The clip plays once; its events' snapshots push the total over the cap at the first write.
    await waitForAsync(async () => service.stats()[0]?.state === 'stopped', 60_000, 'the clip to end');
    await waitForAsync(async () => {
      const evs = await allEvents(http);
      const h = (await stats(service)).history;
      return evs.some((e) => e.label !== 'dog') && evs.every((e) => e.label === 'dog' || (e.endMs !== null && e.snapshot !== null)) && h?.snapshots.pending === 0 && h.queued === 0;
    }, 15_000, 'every clip event ended with a snapshot');
    const events = await allEvents(http);
    const h = (await stats(service)).history!;
    // The oldest alone made room (the clip's few snapshots are tens of kB): its event stays, without its snapshot.
    expect(h.snapshots.evicted).toBe(1);
    expect(h.snapshots.bytes).toBeLessThanOrEqual(1_048_576);
    expect(h.snapshots.bytes).toBeGreaterThan(800_000);
    expect(events.find((e) => e.id === big[0]!.id)).toMatchObject({ label: 'dog', snapshot: null });
    expect(events.filter((e) => e.id === big[1]!.id || e.id === big[2]!.id).map((e) => e.snapshot?.frameMs)).toEqual([big[2]!.startMs, big[1]!.startMs]);
    expect((await getBytes(`${http}/api/events/${big[0]!.id}/snapshot.jpg`)).status).toBe(404);
    await waitForAsync(async () => !existsSync(file(big[0]!)), 5000, "the evicted snapshot's file to go");
    expect(existsSync(path.join(dir, 'snapshots/parade', `${big[0]!.id}-crop.jpg`))).toBe(false);
    expect(existsSync(file(big[1]!)) && existsSync(file(big[2]!))).toBe(true);
    expect(events.filter((e) => e.label !== 'dog').every((e) => e.snapshot !== null)).toBe(true);
  }, 120_000);

  it('a corrupt database: the service starts, frames flow, the history says failed naming history.path', async () => {
    const dir = await dataDir();
    await writeFile(path.join(dir, 'events.sqlite'), Buffer.alloc(8192, 0x5a));
    const lines: string[] = [];
    const service = await start(`server: { port: 0 }\nhistory: { path: ${dir} }\ncameras:\n  - { id: parade, url: ${PARADE}, loop: true }\n`, { log: createLogger('info', 'neulens', (l) => lines.push(l)) });
    const client = await WsProbe.connect(service.url);
    open.push(client);
    await client.until(() => client.frames('parade').length >= 5, 30_000, 'frames despite the broken history');
    const body = await stats(service);
    expect(checkPayload('stats', body)).toBeNull();
    expect(body.history).toMatchObject({ state: 'failed', error: expect.stringMatching(/^history\.path: .*events\.sqlite.*not a database/) as unknown });
    expect(lines.some((l) => /error .*event history failed.*key=history\.path/.test(l))).toBe(true);
    const api = await getJson(`${service.server.httpUrl}/api/events`);
    expect(api.status).toBe(503);
    expect(api.body).toMatchObject({ error: expect.stringMatching(/history\.path/) as unknown });
    // What the tracker made meanwhile is counted as lost, not silently dropped.
    await waitForAsync(async () => ((await stats(service)).history?.failed ?? 0) > 0, 30_000, 'events counted as failed');
  }, 90_000);
});
