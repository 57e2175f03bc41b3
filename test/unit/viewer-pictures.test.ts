/**
 * The viewer's picture feed with the real sharp encoder: nothing is encoded
 * for a camera nobody watches, a watched frame is copied during the offer
 * (its buffer may be reused right after), the fps cap follows the frames'
 * capture times, and a camera has one picture in flight at most.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { CameraResult } from '../../src/camera/camera.js';
import { silentLogger } from '../../src/core/log.js';
import { jpegEncoder, type PictureEncoder } from '../../src/viewer/encoder.js';
import { PictureFeed, type FramePicture } from '../../src/viewer/pictures.js';
import { RateCap } from '../../src/viewer/rate-cap.js';

const W = 64;
const H = 48;

function result(camera: string, seq: number, captureWallMs: number, rgb: [number, number, number]): CameraResult {
  const data = new Uint8Array(W * H * 3);
  for (let i = 0; i < data.length; i += 3) data.set(rgb, i);
  return {
    camera,
    frame: { cameraId: camera, seq, ptsMs: seq * 100, captureWallMs, width: W, height: H, srcWidth: W * 2, srcHeight: H * 2, data },
    detections: [],
    result: { detections: [], detectorMs: 1, workFraction: 1 },
    strategy: 'full',
    startedMs: 0,
    publishedAtMs: captureWallMs,
  };
}

/** The real encoder, counting its calls; `hold` keeps each call waiting until released. */
function counting(opts: { maxWidth?: number; hold?: boolean } = {}) {
  const real = jpegEncoder({ maxWidth: opts.maxWidth ?? 960, quality: 90 });
  const waiting: (() => void)[] = [];
  const enc = {
    calls: 0,
    release: () => waiting.splice(0).forEach((go) => go()),
    encoder: {
      encode: async (rgb, width, height) => {
        enc.calls++;
        if (opts.hold) await new Promise<void>((go) => waiting.push(go));
        return real.encode(rgb, width, height);
      },
    } satisfies PictureEncoder,
  };
  return enc;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function meanColour(jpeg: Buffer): Promise<number[]> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const sum = [0, 0, 0];
  for (let i = 0; i < data.length; i += info.channels) for (let c = 0; c < 3; c++) sum[c]! += data[i + c]!;
  return sum.map((v) => v / (data.length / info.channels));
}

describe('RateCap', () => {
  it('a 10 fps camera capped at 5 gives every second frame, even when its frames come a little early', () => {
    const cap = new RateCap(200);
    const times = Array.from({ length: 20 }, (_, i) => i * 100 - (i % 3));
    const taken = times.filter((t) => cap.take(t));
    expect(taken).toEqual(times.filter((_, i) => i % 2 === 0));
  });

  it('holds the average rate from a faster camera and never bursts after a late frame', () => {
    const cap = new RateCap(200);
    const taken: number[] = [];
    // 30 fps for 10 s, with a 700 ms gap (a stall) in the middle.
    for (let t = 0; t < 10_000; t += 1000 / 30) if ((t < 4000 || t > 4700) && cap.take(t)) taken.push(t);
    expect(taken.length).toBeLessThanOrEqual(10_000 / 200 + 1);
    expect(taken.length).toBeGreaterThanOrEqual(10_000 / 200 - 5);
    // Any m + 1 consecutive pictures span at least m intervals less a quarter interval.
    for (let i = 0; i < taken.length; i++) for (let m = 1; i + m < taken.length; m++) expect(taken[i + m]! - taken[i]!).toBeGreaterThanOrEqual(m * 200 - 50);
  });
});

describe('PictureFeed', () => {
  it('encodes nothing for a camera nobody watches, and starts and stops with its watchers', async () => {
    const enc = counting();
    let watching = false;
    const got: FramePicture[] = [];
    const feed = new PictureFeed({ fps: 5, watched: (c) => watching && c === 'door', encoder: enc.encoder, log: silentLogger });
    for (let i = 0; i < 20; i++) expect(feed.offer(result('door', i, i * 1000, [0, 0, 0]), (p) => got.push(p))).toBe(false);
    expect(enc.calls).toBe(0);
    expect(feed.stats()).toEqual([]);

    watching = true;
    expect(feed.offer(result('door', 20, 20_000, [0, 0, 0]), (p) => got.push(p))).toBe(true);
    expect(feed.offer(result('yard', 21, 21_000, [0, 0, 0]), (p) => got.push(p))).toBe(false);
    await until(() => got.length === 1, 'the picture');
    expect(enc.calls).toBe(1);
    expect(got[0]).toMatchObject({ camera: 'door', seq: 20, width: W, height: H });

    watching = false;
    for (let i = 22; i < 30; i++) feed.offer(result('door', i, i * 1000, [0, 0, 0]), (p) => got.push(p));
    expect(enc.calls).toBe(1);
    expect(feed.encoded).toBe(1);
    await feed.close();
  });

  it('copies the pixels during the offer: a buffer reused right after does not change the picture', async () => {
    const enc = counting();
    const got: FramePicture[] = [];
    const feed = new PictureFeed({ fps: 5, watched: () => true, encoder: enc.encoder, log: silentLogger });
    const r = result('door', 0, 0, [200, 30, 30]);
    expect(feed.offer(r, (p) => got.push(p))).toBe(true);
    // The pool hands the buffer to the next frame as soon as the emission returns.
    r.frame.data.fill(0);
    await until(() => got.length === 1, 'the picture');
    const [red, green, blue] = await meanColour(got[0]!.jpeg);
    expect(red).toBeGreaterThan(180);
    expect(green).toBeLessThan(60);
    expect(blue).toBeLessThan(60);
    await feed.close();
  });

  it('skips frames over the fps cap and while the camera\'s last picture is encoding, and counts both', async () => {
    const enc = counting({ hold: true });
    const got: FramePicture[] = [];
    const feed = new PictureFeed({ fps: 5, watched: () => true, encoder: enc.encoder, log: silentLogger });
    expect(feed.offer(result('door', 0, 0, [0, 0, 0]), (p) => got.push(p))).toBe(true);
    // Due by the cap, but the first picture is still encoding.
    expect(feed.offer(result('door', 1, 400, [0, 0, 0]), (p) => got.push(p))).toBe(false);
    // Another camera has its own encoder slot.
    expect(feed.offer(result('yard', 0, 400, [0, 0, 0]), (p) => got.push(p))).toBe(true);
    enc.release();
    await until(() => got.length === 2, 'two pictures');
    // The busy skip did not use up the slot: the next frame is taken; one 100 ms later is over the cap.
    expect(feed.offer(result('door', 2, 500, [0, 0, 0]), (p) => got.push(p))).toBe(true);
    enc.release();
    await until(() => got.length === 3, 'three pictures');
    expect(feed.offer(result('door', 3, 600, [0, 0, 0]), (p) => got.push(p))).toBe(false);
    const door = feed.stats().find((s) => s.camera === 'door')!;
    expect(door).toMatchObject({ encoded: 2, skipped: { rate: 1, busy: 1 }, failed: 0, width: W, height: H });
    expect(door.bytes).toBeGreaterThan(0);
    expect(enc.calls).toBe(3);
    await feed.close();
  });

  it('scales a wide frame down to maxWidth, keeping its aspect', async () => {
    const enc = counting({ maxWidth: 32 });
    const got: FramePicture[] = [];
    const feed = new PictureFeed({ fps: 5, watched: () => true, encoder: enc.encoder, log: silentLogger });
    feed.offer(result('door', 0, 0, [0, 0, 0]), (p) => got.push(p));
    await until(() => got.length === 1, 'the picture');
    expect(got[0]).toMatchObject({ width: 32, height: 24 });
    expect(await sharp(got[0]!.jpeg).metadata()).toMatchObject({ format: 'jpeg', width: 32, height: 24 });
    await feed.close();
  });

  it('close(): waits for the encoding in flight, delivers nothing more and takes no frame; idempotent', async () => {
    const enc = counting({ hold: true });
    const got: FramePicture[] = [];
    const feed = new PictureFeed({ fps: 5, watched: () => true, encoder: enc.encoder, log: silentLogger });
    feed.offer(result('door', 0, 0, [0, 0, 0]), (p) => got.push(p));
    let closed = false;
    const closing = feed.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(false);
    enc.release();
    await Promise.all([closing, feed.close()]);
    expect(got).toEqual([]);
    expect(feed.offer(result('door', 1, 10_000, [0, 0, 0]), (p) => got.push(p))).toBe(false);
    expect(enc.calls).toBe(1);
  });

  it('a failing encoder is counted and logged, and the camera goes on', async () => {
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (m: string) => warnings.push(m) };
    let fail = true;
    const real = jpegEncoder({ maxWidth: 960, quality: 80 });
    const encoder: PictureEncoder = { encode: (rgb, w, h) => (fail ? Promise.reject(new Error('vips exploded')) : real.encode(rgb, w, h)) };
    const got: FramePicture[] = [];
    const feed = new PictureFeed({ fps: 5, watched: () => true, encoder, log });
    feed.offer(result('door', 0, 0, [0, 0, 0]), (p) => got.push(p));
    await until(() => feed.stats()[0]?.failed === 1, 'the failure counted');
    expect(warnings).toEqual(['picture encoding failed']);
    fail = false;
    await until(() => feed.offer(result('door', 1, 1000, [0, 0, 0]), (p) => got.push(p)), 'the camera free again');
    await until(() => got.length === 1, 'the next picture');
    await feed.close();
  });
});
