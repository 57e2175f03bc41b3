#!/usr/bin/env node
// The README's picture: the viewer on the demo clip (pipelines/demo.yaml, on a
// free port) with the tile plan on, in headless Chromium (Debian's, driven by
// playwright-core). It waits for the charts to fill for a while, then for a
// frame that shows a fresh box and computed, skipped and held tiles, and
// keeps the screenshot only if that frame was still on screen after it.
// Usage: node scripts/viewer-screenshot.mjs [out.png] [--wait S]   (default docs/viewer.png, 40 s;
// needs `npm run build` and /usr/bin/chromium, or CHROMIUM_PATH)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { WebSocket } from 'ws';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({ allowPositionals: true, options: { wait: { type: 'string', default: '40' } } });
const out = path.resolve(positionals[0] ?? path.join(root, 'docs/viewer.png'));
const { loadConfig } = await import(path.join(root, 'dist/config/index.js'));
const { NeulensService } = await import(path.join(root, 'dist/service/service.js'));
const { createLogger } = await import(path.join(root, 'dist/core/log.js'));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const config = await loadConfig(path.join(root, 'pipelines/demo.yaml'), {});
config.server.port = 0;
const service = await NeulensService.start(config, { log: createLogger('warn') });
const profile = await mkdtemp(path.join(tmpdir(), 'neulens-chromium-'));
const frames = new Map();
const ws = new WebSocket(`${service.url}?cameras=*`);
ws.on('message', (d) => {
  const m = JSON.parse(d.toString());
  if (m.type === 'frame') frames.set(m.seq, m);
});
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    // Root needs --no-sandbox; the rest keep Chromium from reaching for a network there is none of.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    viewport: { width: 1280, height: 800 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(service.server.viewerUrl);
  await page.locator('label.toggle:has(#plan-toggle)').click();
  await page.waitForSelector('canvas.picture:not([data-seq=""])', { timeout: 45_000 });
  await sleep(Number(values.wait) * 1000);
  const shown = () => page.evaluate(`document.querySelector('canvas.picture').dataset.boxesSeq`);
  for (let tries = 0; ; tries++) {
    if (tries > 600) throw new Error('no suitable frame in a minute');
    const seq = Number(await shown());
    const f = frames.get(seq);
    const plan = f?.plan?.kind === 'tiles' ? f.plan : undefined;
    const fresh = f?.boxes.some((b) => !b.stale && b.w > 80);
    const stale = f?.boxes.filter((b) => b.stale) ?? [];
    const skipped = plan ? plan.levels.filter((l) => l >= 1).length : 0;
    if (plan && fresh && stale.length > 0 && skipped >= 4 && skipped <= 12) {
      await page.screenshot({ path: out });
      if (Number(await shown()) === seq) {
        console.log(`${path.relative(root, out)}: frame #${seq}, ${f.boxes.length} boxes, ${16 - skipped} of 16 tiles computed`);
        break;
      }
    }
    await sleep(100);
  }
} finally {
  ws.close();
  await context?.close();
  await rm(profile, { recursive: true, force: true });
  await service.close();
}
