/**
 * The viewer's events panel as a user sees it: a real service with its
 * history (real SQLite file, ffmpeg, model and tracker on the parade clip,
 * played once), behind a token, the page in headless Chromium (the viewer
 * test's setup). The page is checked against the API it reads:
 *
 * - the latest events, newest first, one page of 24; "Older events" brings
 *   the rest (the file holds 30 older events from an earlier run, so there
 *   is always a second page);
 * - each thumbnail is the event's crop (its size, fetched with the token in
 *   a header: the server answers pictures only with it);
 * - the label filter shows that label's events only, all of them;
 * - a click opens the event's snapshot, the API's bytes; an event without
 *   one says so.
 *
 * Without Chromium the test skips, saying so; under CI its absence fails it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/log.js';
import { EventStore, type EventRow } from '../../src/history/store.js';
import type { StatsBody } from '../../src/serve/routes.js';
import { NeulensService } from '../../src/service/service.js';
import { chromiumUnavailableReason, launchBrowser } from '../helpers/browser.js';
import { allEvents, getBytes } from '../helpers/history.js';
import { PARADE, getJson, testConfig, waitForAsync } from '../helpers/service.js';

const unavailable = chromiumUnavailableReason();
// On CI the browser is installed by .ci/setup-system.sh: missing there is a failure, not a skip.
if (unavailable && process.env.CI) throw new Error(unavailable);
if (unavailable) console.warn(`skipping the events panel's browser test: ${unavailable}`);

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const TOKEN = 'events-s3cret';
const AUTH = { authorization: `Bearer ${TOKEN}` };
/** The panel's page size (src/viewer/web/events.js). */
const PAGE = 24;

/** An ended event of an earlier run, without a snapshot, `ageMs` ago. */
function earlier(n: number, ageMs: number): EventRow {
  const start = Date.now() - ageMs;
  return { id: `${(start / 1000).toFixed(3)}-parade-${n}`, camera: 'parade', label: 'dog', zones: [], startMs: start, endMs: start + 2000, lastMs: start + 2000, topScore: 0.7, box: { x: 1, y: 2, w: 30, h: 40 }, trackId: n, stationaryMs: 0 };
}

/** The ids of the rows the page shows, in its order (page code as text: the tests compile without the DOM's types). */
async function listIds(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(`[...document.querySelectorAll('#events-list li.event')].map((e) => e.dataset.id)`);
}

describe.skipIf(unavailable !== undefined)('the events panel in Chromium', () => {
  it('lists the events newest first with their crops, pages, filters by label, opens a snapshot', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'neulens-viewer-events-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const store = EventStore.open(dir);
    const old = Array.from({ length: 30 }, (_, i) => earlier(i + 1, 3_600_000 + i * 60_000));
    store.write(old, []);
    store.close();
    const oldIds = new Set(old.map((o) => o.id));

    const service = await NeulensService.start(testConfig(`server: { port: 0, authToken: ${TOKEN} }\nhistory: { path: ${dir} }\ncameras:\n  - { id: parade, url: ${PARADE}, loop: false }\n`), { log: silentLogger });
    cleanup.push(() => service.close());
    const http = service.server.httpUrl;
    // The clip plays once: every event ends with its last snapshot, and then nothing changes.
    await waitForAsync(async () => service.stats()[0]?.state === 'stopped', 60_000, 'the clip to end');
    await waitForAsync(async () => {
      const evs = await allEvents(http, '', 50, AUTH);
      const h = ((await getJson(`${http}/api/stats`, AUTH)).body as StatsBody).history;
      return evs.length > old.length && evs.every((e) => e.endMs !== null && (oldIds.has(e.id) || e.snapshot !== null)) && h?.snapshots.pending === 0 && h.queued === 0;
    }, 15_000, 'every event of the clip ended with a snapshot');
    const events = await allEvents(http, '', 50, AUTH);
    const clip = events.filter((e) => !oldIds.has(e.id));
    expect(events.length).toBeGreaterThan(PAGE);

    const b = await launchBrowser();
    cleanup.push(() => b.close());
    const { page, log } = b;
    await page.goto(`${http}/`);
    await page.fill('#token-input', TOKEN);
    await page.press('#token-input', 'Enter');
    await page.waitForSelector('#events:not([hidden])', { timeout: 30_000 });

    // The newest page, newest first, then the older ones on demand.
    await page.waitForSelector(`#events-list li.event:nth-child(${PAGE})`, { timeout: 30_000 });
    expect(await listIds(page), log.join('\n')).toEqual(events.slice(0, PAGE).map((e) => e.id));
    await page.locator('#events-more').click();
    await page.waitForSelector(`#events-list li.event:nth-child(${events.length})`, { timeout: 15_000 });
    expect(await listIds(page)).toEqual(events.map((e) => e.id));
    expect(await page.locator('#events-more').isHidden()).toBe(true);

    // Each of the clip's thumbnails is its event's crop: loaded (with the token, from a blob: URL) at the crop's size.
    await page.waitForSelector(`#events-list li.event img.thumb[src^="blob:"] >> nth=${clip.length - 1}`, { timeout: 15_000 });
    const thumbs = await page.evaluate<{ id: string; src: string; w: number; h: number }[]>(`[...document.querySelectorAll('#events-list li.event')].map((e) => {
      const img = e.querySelector('img.thumb');
      return { id: e.dataset.id, src: img.getAttribute('src') ?? '', w: img.naturalWidth, h: img.naturalHeight };
    })`);
    for (const e of clip) {
      const crop = await sharp((await getBytes(`${http}${e.snapshot!.cropUrl}`, AUTH)).body).metadata();
      expect(thumbs.find((t) => t.id === e.id), e.id).toMatchObject({ src: expect.stringMatching(/^blob:/) as unknown, w: crop.width, h: crop.height });
    }
    // The earlier run's events have no picture to show.
    expect(thumbs.filter((t) => oldIds.has(t.id)).map((t) => t.src)).toEqual(old.map(() => ''));

    // The label filter: that label's events only, every one of them.
    const persons = clip.filter((e) => e.label === 'person');
    expect(persons.length).toBeGreaterThan(0);
    await page.selectOption('#events-label', 'person');
    await page.waitForSelector('#events-list li.event:not([data-label="person"])', { state: 'detached', timeout: 15_000 });
    await page.waitForSelector(`#events-list li.event:nth-child(${persons.length})`, { timeout: 15_000 });
    expect(await listIds(page)).toEqual(persons.map((e) => e.id));

    // A click opens the snapshot: the API's bytes, at the frame's size.
    const first = persons[0]!;
    await page.locator(`#events-list li.event[data-id="${first.id}"] button`).click();
    await page.waitForSelector('#event-dialog[open] #event-picture[src^="blob:"]', { timeout: 15_000 });
    expect(await page.locator('#event-title').textContent()).toBe('person on parade');
    // Its pixels, as the page decoded them (the page's content policy lets it fetch no blob: URL, so a canvas reads them).
    const shown = await page.evaluate<{ w: number; h: number; b64: string }>(`(async () => {
      const img = document.getElementById('event-picture');
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const ctx = c.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const px = ctx.getImageData(0, 0, c.width, c.height).data;
      let s = '';
      for (let i = 0; i < px.length; i += 0x8000) s += String.fromCharCode(...px.subarray(i, i + 0x8000));
      return { w: c.width, h: c.height, b64: btoa(s) };
    })()`);
    expect({ w: shown.w, h: shown.h }).toEqual({ w: first.snapshot!.width, h: first.snapshot!.height });
    const api = await sharp((await getBytes(`${http}${first.snapshot!.url}`, AUTH)).body).removeAlpha().raw().toBuffer();
    const rgba = Buffer.from(shown.b64, 'base64');
    let diff = 0;
    for (let i = 0, j = 0; j < api.length; i += 4, j += 3) diff += Math.abs(rgba[i]! - api[j]!) + Math.abs(rgba[i + 1]! - api[j + 1]!) + Math.abs(rgba[i + 2]! - api[j + 2]!);
    // The same JPEG, decoded by Chromium and by libjpeg: equal to within rounding (another event's snapshot of
    // this clip differs by ~55 a channel on average).
    expect(diff / api.length, 'the dialog shows another picture than the API serves').toBeLessThan(2);
    await page.locator('#event-dialog button[type="submit"]').click();
    await page.waitForSelector('#event-dialog', { state: 'hidden' });

    // An event without a snapshot says so.
    await page.selectOption('#events-label', 'dog');
    await page.waitForSelector('#events-list li.event:not([data-label="dog"])', { state: 'detached', timeout: 15_000 });
    await page.waitForSelector(`#events-list li.event[data-id="${old[0]!.id}"]`, { timeout: 15_000 });
    await page.locator(`#events-list li.event[data-id="${old[0]!.id}"] button`).click();
    await page.waitForSelector('#event-dialog[open] #event-empty:not([hidden])', { timeout: 15_000 });
    expect(await page.locator('#event-picture').isHidden()).toBe(true);
    expect(log.filter((l) => l.startsWith('page error'))).toEqual([]);
  }, 180_000);
});
