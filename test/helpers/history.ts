/**
 * Helpers for the event-history tests: paging through GET /api/events as a
 * client does (each page checked against docs/events.schema.json), binary
 * GETs for the snapshots, and where the snapshot's outline colour lies in a
 * decoded JPEG.
 */
import { get } from 'node:http';
import sharp from 'sharp';
import { expect } from 'vitest';
import type { ApiEvent, EventsPage } from '../../src/serve/api-types.js';
import { checkEventsPage } from '../../src/history/schema.js';
import { getJson } from './service.js';

/** One page, checked against the schema. */
export async function eventsPage(httpUrl: string, query: string, headers: Record<string, string> = {}): Promise<EventsPage> {
  const r = await getJson(`${httpUrl}/api/events${query ? `?${query}` : ''}`, headers);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  expect(checkEventsPage(r.body)).toBeNull();
  return r.body as EventsPage;
}

/** Every event, newest first, `limit` a page. */
export async function allEvents(httpUrl: string, query = '', limit = 50, headers: Record<string, string> = {}): Promise<ApiEvent[]> {
  const out: ApiEvent[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams(query);
    q.set('limit', String(limit));
    if (cursor) q.set('cursor', cursor);
    const page = await eventsPage(httpUrl, q.toString(), headers);
    out.push(...page.events);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/** GET as bytes, with status and content type. */
export function getBytes(url: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${url}: no answer in 10 s`)));
    req.on('error', reject);
  });
}

export interface OutlineCheck {
  width: number;
  height: number;
  /** Pixels of the outline's colour (magenta, after JPEG) in all. */
  coloured: number;
  /** Of those, the share inside the event's box (grown by `slack` px for JPEG's blur). */
  insideShare: number;
  /** The share of the box's outline (along its inner edge) where the colour shows. */
  outlineShare: number;
}

const magenta = (r: number, g: number, b: number): boolean => r > 170 && b > 170 && g < 110;

/** Where the snapshot's outline colour lies against `box` (source pixels of a `srcW` x `srcH` source). */
export async function outlineCheck(jpeg: Buffer, box: { x: number; y: number; w: number; h: number }, srcW: number, srcH: number, slack = 2): Promise<OutlineCheck> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  const sx = width / srcW;
  const sy = height / srcH;
  const x0 = box.x * sx;
  const y0 = box.y * sy;
  const x1 = (box.x + box.w) * sx;
  const y1 = (box.y + box.h) * sy;
  const at = (x: number, y: number): boolean => {
    if (x < 0 || y < 0 || x >= width || y >= height) return false;
    const i = (y * width + x) * channels;
    return magenta(data[i]!, data[i + 1]!, data[i + 2]!);
  };
  let coloured = 0;
  let inside = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!at(x, y)) continue;
      coloured++;
      if (x >= x0 - slack && x <= x1 + slack && y >= y0 - slack && y <= y1 + slack) inside++;
    }
  }
  // Along each edge, 1-2 px inside it (the line is drawn inward from the edge).
  let hits = 0;
  let total = 0;
  const near = (x: number, y: number): boolean => {
    for (let dy = -1; dy <= 3; dy++) for (let dx = -1; dx <= 3; dx++) if (at(x + dx, y + dy)) return true;
    return false;
  };
  const cx0 = Math.max(0, Math.round(x0));
  const cy0 = Math.max(0, Math.round(y0));
  const cx1 = Math.min(width - 1, Math.round(x1) - 3);
  const cy1 = Math.min(height - 1, Math.round(y1) - 3);
  const probe = (x: number, y: number): void => {
    total++;
    if (near(x, y)) hits++;
  };
  for (let x = cx0 + 4; x < cx1 - 4; x++) for (const y of [cy0, cy1]) probe(x, y);
  for (let y = cy0 + 4; y < cy1 - 4; y++) for (const x of [cx0, cx1]) probe(x, y);
  return { width, height, coloured, insideShare: coloured ? inside / coloured : 0, outlineShare: total ? hits / total : 0 };
}
