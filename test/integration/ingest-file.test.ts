/**
 * CameraSource on local files, with the real ffmpeg resolveFfmpegPath picks.
 * The clip is 320x240, 10 fps, 3 s (30 frames), generated per run.
 */
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../src/core/types.js';
import { CameraSource, type CameraStatus } from '../../src/ingest/index.js';
import { ffmpegDescendants, makeTestClip, runFfmpeg, waitFor } from '../helpers/ffmpeg-fixtures.js';

let dir: string;
let clip: string;
const opened: CameraSource[] = [];

function camera(spec: ConstructorParameters<typeof CameraSource>[0]): CameraSource {
  const cam = new CameraSource(spec);
  opened.push(cam);
  return cam;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'neulens-ingest-file-'));
  clip = await makeTestClip(dir, { width: 320, height: 240, fps: 10, seconds: 3 });
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('CameraSource on a file', () => {
  it('pace fast: every frame, scaled in ffmpeg, with source size and pts; then stopped', async () => {
    const cam = camera({ cameraId: 'f1', url: clip, width: 96, height: 64, pace: 'fast' });
    const statuses: CameraStatus[] = [];
    cam.status$.subscribe((s) => statuses.push(s));
    const all = lastValueFrom(cam.frames$.pipe(toArray()));
    cam.start();
    const frames = await all;

    expect(frames).toHaveLength(30);
    for (const [i, f] of frames.entries()) {
      expect(f).toMatchObject({ cameraId: 'f1', seq: i, width: 96, height: 64, srcWidth: 320, srcHeight: 240 });
      expect(f.data.length).toBe(96 * 64 * 3);
      expect(f.ptsMs).toBeCloseTo(i * 100, 3);
    }
    // A testsrc2 frame is colourful, not an all-zero buffer.
    expect(new Set(frames[5]!.data.subarray(0, 3000)).size).toBeGreaterThan(5);
    expect(statuses.map((s) => s.state)).toEqual(['connecting', 'online', 'stopped']);
    const st = cam.stats();
    expect(st).toMatchObject({ framesIn: 30, bytesIn: 30 * 96 * 64 * 3, reconnects: 0, state: 'stopped' });
    expect(st.lastError).toBeUndefined();
    expect(ffmpegDescendants()).toEqual([]);
  });

  it('accepts file:// URLs and caps the rate with fps', async () => {
    const cam = camera({ cameraId: 'f2', url: pathToFileURL(clip).href, width: 32, height: 32, pace: 'fast', fps: 5 });
    const all = lastValueFrom(cam.frames$.pipe(toArray()));
    cam.start();
    const frames = await all;
    // 3 s at 5 fps: 15 frames, give or take the filter's rounding at the ends.
    expect(frames.length).toBeGreaterThanOrEqual(14);
    expect(frames.length).toBeLessThanOrEqual(16);
    expect(frames[1]!.ptsMs - frames[0]!.ptsMs).toBeCloseTo(200, 0);
  });

  it('a cap above the source rate passes the source through: no duplicated frames', async () => {
    const cam = camera({ cameraId: 'f2b', url: clip, width: 32, height: 32, pace: 'fast', fps: 25 });
    const all = lastValueFrom(cam.frames$.pipe(toArray()));
    cam.start();
    const frames = await all;
    // 3 s at the clip's own 10 fps (ffmpeg's fps filter would make 75 of them, two in three repeats).
    expect(frames.length).toBe(30);
    const pts = frames.map((f) => f.ptsMs);
    expect(new Set(pts).size).toBe(frames.length);
    expect(pts[1]! - pts[0]!).toBeCloseTo(100, 0);
  });

  it('pace source: about real time, not as fast as possible', async () => {
    const cam = camera({ cameraId: 'f3', url: clip, width: 32, height: 32, pace: 'source' });
    let first = 0;
    let fpsSeen = 0;
    const sub = cam.frames$.subscribe((f) => {
      if (f.seq === 0) first = f.captureWallMs;
      if (f.seq === 20) fpsSeen = cam.stats().fpsIn;
    });
    const all = lastValueFrom(cam.frames$.pipe(toArray()));
    cam.start();
    const frames = await all;
    sub.unsubscribe();
    expect(frames).toHaveLength(30);
    // 30 frames at 10 fps span 2.9 s of media; real-time delivery cannot be much faster.
    expect(frames.at(-1)!.captureWallMs - first).toBeGreaterThan(2000);
    expect(fpsSeen).toBeGreaterThan(5);
    expect(fpsSeen).toBeLessThan(20);
  });

  it('loop: keeps going past the end with rising pts; close() leaves no ffmpeg', async () => {
    const cam = camera({ cameraId: 'f4', url: clip, width: 32, height: 32, pace: 'fast', loop: true });
    const firstLoops = firstValueFrom(cam.frames$.pipe(take(75), toArray()));
    cam.start();
    const frames: Frame[] = await firstLoops;
    expect(frames.map((f) => f.seq)).toEqual([...Array(75).keys()]);
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.ptsMs).toBeGreaterThan(frames[i - 1]!.ptsMs);
    expect(cam.stats().state).toBe('online');
    expect(ffmpegDescendants().length).toBe(1);

    const done = lastValueFrom(cam.status$);
    await cam.close();
    await cam.close(); // idempotent
    expect((await done).state).toBe('stopped');
    expect(ffmpegDescendants()).toEqual([]);
    expect(cam.stats().state).toBe('stopped');
  });

  it('http stream: frames arrive; the end of a live stream is a loss (offline, retried), not a stop', async () => {
    // MPEG-TS: streamable over plain HTTP without range requests, like a camera's /stream.ts.
    const ts = path.join(dir, 'clip.ts');
    await runFfmpeg(['-i', clip, '-c', 'copy', '-f', 'mpegts', ts]);
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp2t' });
      createReadStream(ts).pipe(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const cam = camera({
        cameraId: 'h1',
        url: `http://127.0.0.1:${port}/clip.ts`,
        width: 32,
        height: 24,
        reconnect: { initialMs: 100, maxMs: 200, factor: 2, jitter: 0 },
      });
      const statuses: CameraStatus[] = [];
      cam.status$.subscribe((s) => statuses.push(s));
      cam.start();
      await waitFor(() => cam.stats().reconnects >= 1, 20_000, 'a reconnect after the stream ended');
      expect(cam.stats().framesIn).toBeGreaterThanOrEqual(30);
      const off = statuses.find((s) => s.state === 'offline');
      expect(off?.error).toMatch(/stream ended/);
      await cam.close();
      expect(ffmpegDescendants()).toEqual([]);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('close() before any frame (right after start) still reaps ffmpeg', async () => {
    const cam = camera({ cameraId: 'f5', url: clip, width: 32, height: 32, pace: 'source', loop: true });
    cam.start();
    await cam.close();
    expect(cam.stats().state).toBe('stopped');
    await waitFor(() => ffmpegDescendants().length === 0, 3000, 'no ffmpeg children');
  });
});
