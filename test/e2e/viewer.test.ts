/**
 * The live viewer as a user sees it: a real service on the sample clip (real
 * ffmpeg, model and tracker), the page it serves at /, opened in headless
 * Chromium (Debian's, driven by playwright-core). The checks read the
 * canvas's own pixels: a box's colour lies on the box the server reported
 * for the frame on screen, the tile plan's overlay appears and goes again,
 * and a camera nobody serves shows as offline with its error. Screenshots go
 * to out/test/ (git-ignored).
 *
 * Without Chromium the tests skip, saying so; under CI (CI=true), where
 * .ci/setup-system.sh installs it, its absence fails them.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { silentLogger } from '../../src/core/log.js';
import type { FrameMessage, WireBox } from '../../src/serve/protocol.js';
import { NeulensService } from '../../src/service/service.js';
import { canvasPixels, chromiumUnavailableReason, launchBrowser, meanBrightness, outlineShare, rgb, type Browser } from '../helpers/browser.js';
import { PARADE, REPO_ROOT, WsProbe, freePort, getText, testConfig, waitForAsync } from '../helpers/service.js';

const unavailable = chromiumUnavailableReason();
// On CI the browser is installed by .ci/setup-system.sh: missing there is a failure, not a skip.
if (unavailable && process.env.CI) throw new Error(unavailable);
if (unavailable) console.warn(`skipping the viewer's browser tests: ${unavailable}`);

const OUT = path.join(REPO_ROOT, 'out/test');
const CYAN = rgb('#22d3ee');

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function browser(): Promise<Browser> {
  const b = await launchBrowser();
  cleanup.push(() => b.close());
  return b;
}

/** Source-pixel rectangle -> canvas pixels. */
function toCanvas(r: { x: number; y: number; w: number; h: number }, frame: FrameMessage, canvas: { width: number; height: number }) {
  const sx = canvas.width / frame.width;
  const sy = canvas.height / frame.height;
  return { x: r.x * sx, y: r.y * sy, w: r.w * sx, h: r.h * sy };
}

type TilesPlan = Extract<NonNullable<FrameMessage['plan']>, { kind: 'tiles' }>;

/** The plan's tiles in source pixels, with what the page should show: computed, skipped, or held (a stale box's centre in a skipped tile). */
function tiles(plan: TilesPlan, boxes: readonly WireBox[]) {
  const out: { x: number; y: number; w: number; h: number; state: 'computed' | 'skipped' | 'held' }[] = [];
  for (let r = 0; r < plan.grid.rows; r++) {
    for (let c = 0; c < plan.grid.cols; c++) {
      const x = plan.edges.x[c]!;
      const y = plan.edges.y[r]!;
      const w = plan.edges.x[c + 1]! - x;
      const h = plan.edges.y[r + 1]! - y;
      const skipped = plan.levels[r * plan.grid.cols + c]! >= 1;
      const held = skipped && boxes.some((b) => b.stale && b.x + b.w / 2 >= x && b.x + b.w / 2 < x + w && b.y + b.h / 2 >= y && b.y + b.h / 2 < y + h);
      out.push({ x, y, w, h, state: held ? 'held' : skipped ? 'skipped' : 'computed' });
    }
  }
  return out;
}

const inset = (r: { x: number; y: number; w: number; h: number }, d: number) => ({ x: r.x + d, y: r.y + d, w: r.w - 2 * d, h: r.h - 2 * d });

describe.skipIf(unavailable !== undefined)('the live viewer in Chromium', () => {
  it('draws the demo clip with the boxes of the same frame, toggles the tile plan, shows an unserved camera offline', async () => {
    const ghostPort = await freePort();
    const service = await NeulensService.start(
      testConfig(`
server: { port: 0 }
# Fewer pictures than the camera's 10 fps even on a slow machine: the newest boxes get ahead of them.
viewer: { fps: 3 }
cameras:
  - id: demo
    url: ${PARADE}
    loop: true
  - id: ghost
    url: rtsp://127.0.0.1:${ghostPort}/nobody-serves-this
    reconnect: { initialMs: 200, maxMs: 1000 }
`),
      { log: silentLogger },
    );
    cleanup.push(() => service.close());
    // The server's own record of every frame, to check the page against.
    const probe = await WsProbe.connect(`${service.url}?cameras=*`);
    cleanup.push(() => probe.close());
    const frameBySeq = (seq: number) => probe.frames('demo').find((f) => f.msg.seq === seq)?.msg;

    const { page, log } = await browser();
    const viewerUrl = service.server.viewerUrl;
    expect(viewerUrl).toBe(`${service.server.httpUrl}/`);
    await page.goto(viewerUrl!);
    const canvas = '[data-camera="demo"] canvas.picture';
    await page.waitForSelector(`${canvas}:not([data-seq=""])`, { timeout: 45_000 });

    // While the page shows pictures, the server encodes them for it: one client watches each camera's pictures.
    await waitForAsync(async () => service.server.hub.pictureWatchers('demo') === 1, 10_000, 'the page to watch the pictures');

    // A camera nobody serves: offline, with the reason, on the page.
    const ghost = page.locator('[data-camera="ghost"]');
    await page.waitForSelector('[data-camera="ghost"][data-state="offline"]', { timeout: 30_000 });
    expect(await ghost.locator('.state').textContent()).toBe('offline');
    expect(await ghost.locator('.stage-title').textContent()).toBe('offline');
    expect(await ghost.locator('.stage-detail').textContent()).toMatch(/refused|failed|error|exited/i);

    // Freeze a frame that shows every kind of thing: a fresh box big enough to measure, and computed,
    // skipped and held tiles. Pause first, then read what is frozen: nothing can change in between.
    // The colour the page itself gives a person (its drawing module, loaded in the page).
    const personColour = String(await page.evaluate('import("/viewer/draw.js").then((m) => m.classColour(0))'));
    let frame: FrameMessage | undefined;
    let box: WireBox | undefined;
    const deadline = Date.now() + 90_000;
    for (;;) {
      const seq = Number(await page.evaluate(`(() => {
        document.getElementById('pause').click();
        return document.querySelector('${canvas}').dataset.boxesSeq;
      })()`));
      frame = frameBySeq(seq);
      const plan = frame?.plan?.kind === 'tiles' ? frame.plan : undefined;
      box = frame?.boxes.find((b) => !b.stale && b.classId === 0 && b.w > 60 && b.h > 60 && b.x > 8 && b.y > 8 && b.x + b.w < frame!.width - 8 && b.y + b.h < frame!.height - 8);
      const states = new Set(plan ? tiles(plan, frame!.boxes).map((t) => t.state) : []);
      if (frame && box && states.size === 3) break;
      if (Date.now() > deadline) throw new Error(`no frame with a fresh person and computed, skipped and held tiles in 90 s\n${log.join('\n')}`);
      await page.locator('#pause').click();
      // Selectors, not waitForFunction: that evaluates text, which the page's content policy forbids.
      await page.waitForSelector(`${canvas}:not([data-boxes-seq="${seq}"])`, { timeout: 10_000 });
    }
    // In sync: the boxes drawn are the picture's own frame's.
    expect([await page.locator(canvas).getAttribute('data-seq'), await page.locator(canvas).getAttribute('data-boxes-seq')]).toEqual([String(frame.seq), String(frame.seq)]);
    expect(await page.locator('[data-camera="demo"] .badge').textContent()).toBe(`paused · frame #${frame.seq}`);

    const plain = await canvasPixels(page, canvas);
    const boxOnCanvas = toCanvas(box, frame, plain);
    // The person's colour runs along the box the server reported for this very frame.
    expect(outlineShare(plain, boxOnCanvas, rgb(personColour))).toBeGreaterThan(0.7);

    // The plan overlay: computed tiles outlined in cyan, skipped ones darkened, held ones tinted amber.
    await page.locator('label.toggle:has(#plan-toggle)').click();
    const planned = await canvasPixels(page, canvas);
    const planTiles = tiles(frame.plan as TilesPlan, frame.boxes).map((t) => ({ ...t, rect: toCanvas(t, frame, planned) }));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const computed = planTiles.filter((t) => t.state === 'computed');
    expect(mean(computed.map((t) => outlineShare(planned, inset(t.rect, 1), CYAN)))).toBeGreaterThan(0.5);
    expect(mean(computed.map((t) => outlineShare(plain, inset(t.rect, 1), CYAN)))).toBeLessThan(0.1);
    const skipped = planTiles.filter((t) => t.state === 'skipped');
    const darker = mean(skipped.map((t) => meanBrightness(planned, inset(t.rect, 8)))) / mean(skipped.map((t) => meanBrightness(plain, inset(t.rect, 8))));
    expect(darker).toBeLessThan(0.75);
    const held = planTiles.filter((t) => t.state === 'held');
    expect(mean(held.map((t) => outlineShare(planned, inset(t.rect, 1), rgb('#f59e0b'))))).toBeGreaterThan(0.25);
    expect(await page.locator('[data-camera="demo"] .plan-info').textContent()).toMatch(new RegExp(`${computed.length} of 16 tiles computed, ${held.length} held`));
    // The box is drawn over the plan, in its own colour.
    expect(outlineShare(planned, boxOnCanvas, rgb(personColour))).toBeGreaterThan(0.7);
    await mkdir(OUT, { recursive: true });
    await page.screenshot({ path: path.join(OUT, 'viewer-plan.png') });

    // Off again: the very same pixels as before.
    await page.locator('label.toggle:has(#plan-toggle)').click();
    const again = await canvasPixels(page, canvas);
    expect(again.data.equals(plain.data)).toBe(true);

    // Running again, with the newest boxes: between pictures they are ahead of it, and the page says by how much.
    await page.locator('#pause').click();
    await page.locator('label.toggle:has(#newest-toggle)').click();
    // Read together, in one turn of the page, at a moment the badge shows the boxes ahead (a new
    // picture may catch up with them a moment later on a loaded machine: then the next turn is read).
    const ahead = await page.waitForFunction(
      `(() => {
        const badge = document.querySelector('[data-camera="demo"] .badge.ahead');
        if (!badge) return null;
        const c = document.querySelector('${canvas}');
        return [Number(c.dataset.seq), Number(c.dataset.boxesSeq), badge.textContent];
      })()`,
      undefined,
      { timeout: 20_000 },
    );
    const [pictureSeq, boxesSeq, badge] = (await ahead.jsonValue()) as [number, number, string];
    expect(boxesSeq).toBeGreaterThan(pictureSeq);
    expect(badge).toMatch(new RegExp(`^boxes ${boxesSeq - pictureSeq} frames? newer than the picture$`));
    await page.locator('label.toggle:has(#newest-toggle)').click();

    // Large: one camera, and the server encodes only its pictures for this page.
    await page.locator('[data-camera="demo"] .cam-name').click();
    await page.waitForSelector('[data-camera="demo"].large');
    expect(await ghost.isVisible()).toBe(false);
    const pageClient = () => service.server.hub.stats().clients.find((c) => c.pictures !== '*' && c.pictures.length > 0) ?? service.server.hub.stats().clients.find((c) => c.pictures === '*');
    await waitForAsync(async () => JSON.stringify(pageClient()?.pictures) === '["demo"]', 10_000, 'pictures of the large camera only');
    await page.screenshot({ path: path.join(OUT, 'viewer-large.png') });
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-camera="demo"]:not(.large)');
    expect(await ghost.isVisible()).toBe(true);
    await waitForAsync(async () => pageClient()?.pictures === '*', 10_000, 'pictures of every camera again');
    await page.screenshot({ path: path.join(OUT, 'viewer-grid.png') });
    expect(log.filter((l) => l.startsWith('page error'))).toEqual([]);
  }, 240_000);

  it('with server.authToken: the page asks for the token once and keeps it; without it no stats, WebSocket or pictures', async () => {
    const service = await NeulensService.start(
      testConfig(`
server: { port: 0, authToken: viewer-s3cret }
cameras:
  - id: demo
    url: ${PARADE}
    loop: true
`),
      { log: silentLogger },
    );
    cleanup.push(() => service.close());
    const http = service.server.httpUrl;

    // The page itself is open (it holds no data) and says that a token is needed.
    expect((await getText(`${http}/`)).status).toBe(200);
    expect((await getText(`${http}/viewer/app.js`)).status).toBe(200);
    expect(JSON.parse((await getText(`${http}/viewer/config.json`)).text)).toMatchObject({ authRequired: true, wsPath: '/ws', protocol: 3 });
    // The data is not.
    expect((await getText(`${http}/api/stats`)).status).toBe(401);
    expect((await getText(`${http}/api/stats?token=wrong`)).status).toBe(401);
    const upgrade = (url: string) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.on('unexpected-response', (_req, res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('error', reject);
      });
    expect(await upgrade(`${service.url}?cameras=*&pictures=1`)).toBe(401);
    expect(await upgrade(`${service.url}?cameras=*&pictures=1&token=wrong`)).toBe(401);
    expect(service.server.hub.stats().totals.connected).toBe(0);

    const { page, context } = await browser();
    await page.goto(`${http}/`);
    const dialog = page.locator('#token-dialog');
    await dialog.waitFor({ state: 'visible' });
    // Nothing is drawn, and nothing connects, until the token is given.
    expect(await page.locator('#grid > *').count()).toBe(0);
    expect(service.server.hub.stats().totals.connected).toBe(0);

    await page.fill('#token-input', 'not-it');
    await page.press('#token-input', 'Enter');
    await page.waitForSelector('#token-error:not([hidden])');
    expect(await page.locator('#token-error').textContent()).toMatch(/refused/);
    expect(service.server.hub.stats().totals.connected).toBe(0);

    await page.fill('#token-input', 'viewer-s3cret');
    await page.press('#token-input', 'Enter');
    await dialog.waitFor({ state: 'hidden' });
    await page.waitForSelector('[data-camera="demo"] canvas.picture:not([data-seq=""])', { timeout: 45_000 });
    expect(service.server.hub.pictureWatchers('demo')).toBe(1);
    // Figures come from /api/stats, which needs the token too.
    await page.locator('[data-camera="demo"] [data-metric="fps"] dd', { hasText: '/' }).waitFor({ timeout: 15_000 });

    // Kept: a reload (and a second tab) asks nothing and shows the camera again.
    const second = await context.newPage();
    await second.goto(`${http}/`);
    await second.waitForSelector('[data-camera="demo"] canvas.picture:not([data-seq=""])', { timeout: 45_000 });
    expect(await second.locator('#token-dialog').isVisible()).toBe(false);
    await second.close();
  }, 180_000);
});
