/**
 * Headless Chromium for the viewer's tests: Debian's `chromium` package
 * (.ci/setup-system.sh installs it), driven by playwright-core, which never
 * downloads a browser of its own. A fresh profile per launch; the flags keep
 * it from reaching for the network (there is none: without them it hangs on
 * connection attempts).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox', // the tests run as root
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage', // a container's small /dev/shm must not crash the renderer
];

/** Why Chromium cannot run here, or undefined when it can. */
export function chromiumUnavailableReason(): string | undefined {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing: \`bash .ci/setup-system.sh\` installs Debian's chromium (or set CHROMIUM_PATH)`;
  return undefined;
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** What the page said on its console and any error it threw, for failure messages. */
  log: string[];
  close(): Promise<void>;
}

/** A fresh Chromium with one page; close() ends it and removes its profile. */
export async function launchBrowser(viewport = { width: 1280, height: 860 }): Promise<Browser> {
  const profile = await mkdtemp(path.join(tmpdir(), 'neulens-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport, timeout: 60_000 });
    const page = context.pages()[0] ?? (await context.newPage());
    const log: string[] = [];
    page.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => log.push(`page error: ${e.message}`));
    let closed: Promise<void> | undefined;
    return {
      context,
      page,
      log,
      close: () => (closed ??= context.close().finally(() => rm(profile, { recursive: true, force: true }))),
    };
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
}

/**
 * A canvas's pixels as the page drew them (RGBA), read through its PNG export.
 * Code that runs in the page is written as text: the tests are compiled
 * without the DOM's types, which the server's code must not lean on.
 */
export async function canvasPixels(page: Page, selector: string): Promise<{ data: Buffer; width: number; height: number }> {
  const url = String(await page.evaluate(`document.querySelector(${JSON.stringify(selector)}).toDataURL('image/png')`));
  const png = Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** '#rrggbb' -> [r, g, b]. */
export function rgb(hex: string): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new Error(`not a #rrggbb colour: ${hex}`);
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

/**
 * The share of positions along a rectangle's outline where `colour` shows
 * (within `tolerance` per channel) at most `band` pixels across the line.
 */
export function outlineShare(img: { data: Buffer; width: number; height: number }, rect: { x: number; y: number; w: number; h: number }, colour: [number, number, number], band = 3, tolerance = 12): number {
  const at = (x: number, y: number): boolean => {
    if (x < 0 || y < 0 || x >= img.width || y >= img.height) return false;
    const i = (y * img.width + x) * 4;
    return Math.abs(img.data[i]! - colour[0]) <= tolerance && Math.abs(img.data[i + 1]! - colour[1]) <= tolerance && Math.abs(img.data[i + 2]! - colour[2]) <= tolerance;
  };
  const x0 = Math.round(rect.x);
  const y0 = Math.round(rect.y);
  const x1 = Math.round(rect.x + rect.w);
  const y1 = Math.round(rect.y + rect.h);
  let hits = 0;
  let total = 0;
  const near = (x: number, y: number, dx: number, dy: number): boolean => {
    for (let d = -band; d <= band; d++) if (at(x + d * dx, y + d * dy)) return true;
    return false;
  };
  for (let x = x0 + band; x <= x1 - band; x++) {
    for (const y of [y0, y1]) {
      total++;
      if (near(x, y, 0, 1)) hits++;
    }
  }
  for (let y = y0 + band; y <= y1 - band; y++) {
    for (const x of [x0, x1]) {
      total++;
      if (near(x, y, 1, 0)) hits++;
    }
  }
  return total ? hits / total : 0;
}

/** Mean of R + G + B over a rectangle (clipped to the image). */
export function meanBrightness(img: { data: Buffer; width: number; height: number }, rect: { x: number; y: number; w: number; h: number }): number {
  let sum = 0;
  let n = 0;
  for (let y = Math.max(0, Math.round(rect.y)); y < Math.min(img.height, Math.round(rect.y + rect.h)); y++) {
    for (let x = Math.max(0, Math.round(rect.x)); x < Math.min(img.width, Math.round(rect.x + rect.w)); x++) {
      const i = (y * img.width + x) * 4;
      sum += img.data[i]! + img.data[i + 1]! + img.data[i + 2]!;
      n++;
    }
  }
  return n ? sum / n : 0;
}
