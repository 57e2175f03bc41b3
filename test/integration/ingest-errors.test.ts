/**
 * Broken sources: each failure is reported on status$ with ffmpeg's reason
 * and retried with growing backoff, while a healthy camera next to them keeps
 * delivering frames. Nothing throws, nothing is left running.
 */
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { filter, firstValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  backoffBaseMs,
  CameraSource,
  resetFfmpegPathCache,
  type BackoffPolicy,
  type CameraStatus,
} from '../../src/ingest/index.js';
import { liveDecoderPids } from '../../src/ingest/ffmpeg-process.js';
import { ffmpegDescendants, makeTestClip, runFfmpeg, waitFor } from '../helpers/ffmpeg-fixtures.js';
import { startSilentServer } from '../helpers/rtsp-silent-server.js';

let dir: string;
let clip: string;
let truncated: string;
let garbage: string;
const cameras: CameraSource[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'neulens-ingest-err-'));
  clip = await makeTestClip(dir, { width: 320, height: 240, fps: 10, seconds: 3 });
  // The encoder writes the mp4 index (moov) at the end: cutting the file in
  // half leaves a file no demuxer can open.
  truncated = path.join(dir, 'truncated.mp4');
  copyFileSync(clip, truncated);
  const bytes = readFileSync(truncated);
  writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  garbage = path.join(dir, 'garbage.mp4');
  writeFileSync(garbage, Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7919) % 251)));
});

afterEach(async () => {
  await Promise.all(cameras.splice(0).map((c) => c.close()));
  await Promise.all(cleanups.splice(0).map((f) => f()));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const retry: BackoffPolicy = { initialMs: 100, maxMs: 800, factor: 2, jitter: 0.2 };

function track(cam: CameraSource): CameraStatus[] {
  cameras.push(cam);
  const seen: CameraStatus[] = [];
  cam.status$.subscribe((s) => seen.push(s));
  return seen;
}

/** Time from each failure (offline) to the next attempt (connecting). */
function retryGaps(statuses: CameraStatus[]): number[] {
  const gaps: number[] = [];
  for (let i = 1; i < statuses.length; i++) {
    if (statuses[i]!.state === 'connecting' && statuses[i - 1]!.state === 'offline') {
      gaps.push(statuses[i]!.atMs - statuses[i - 1]!.atMs);
    }
  }
  return gaps;
}

describe('CameraSource failure handling', () => {
  it('unreachable RTSP, truncated and garbage files: reported, retried with backoff; a healthy camera is unaffected', async () => {
    const port = await closedPort();
    const broken = {
      rtsp: new CameraSource({ cameraId: 'gone', url: `rtsp://127.0.0.1:${port}/cam`, width: 32, height: 32, reconnect: retry }),
      truncated: new CameraSource({ cameraId: 'cut', url: truncated, width: 32, height: 32, reconnect: retry }),
      garbage: new CameraSource({ cameraId: 'junk', url: garbage, width: 32, height: 32, reconnect: retry }),
    };
    const healthy = new CameraSource({ cameraId: 'ok', url: clip, width: 32, height: 32, loop: true, pace: 'source' });
    const seen = Object.fromEntries(Object.entries(broken).map(([k, c]) => [k, track(c)])) as Record<
      keyof typeof broken,
      CameraStatus[]
    >;
    const healthyStatus = track(healthy);
    let healthyFrames = 0;
    healthy.frames$.subscribe(() => healthyFrames++);

    healthy.start();
    for (const c of Object.values(broken)) c.start();
    // Let each broken camera fail at least five times (delays 100, 200, 400, 800, 800 ms).
    await Promise.all(
      Object.values(broken).map((c) =>
        firstValueFrom(c.status$.pipe(filter(() => c.stats().reconnects >= 5))),
      ),
    );
    const framesDuring = healthyFrames;

    expect(seen.rtsp.find((s) => s.error)?.error).toMatch(/Connection refused/i);
    expect(seen.truncated.find((s) => s.error)?.error).toMatch(/moov atom not found|Invalid data/i);
    expect(seen.garbage.find((s) => s.error)?.error).toMatch(/Invalid data|could not find|error/i);

    for (const [name, statuses] of Object.entries(seen)) {
      const cam = broken[name as keyof typeof broken];
      const st = cam.stats();
      expect(st.framesIn, name).toBe(0);
      expect(st.lastError, name).toBeTruthy();
      expect(statuses.some((s) => s.state === 'online'), name).toBe(false);
      expect(statuses.filter((s) => s.state === 'connecting').length, name).toBe(st.reconnects + 1);
      // Each retry waits at least the jittered lower bound of its backoff step:
      // a constant or missing backoff fails here; a slow machine only adds time.
      const gaps = retryGaps(statuses);
      expect(gaps.length, name).toBeGreaterThanOrEqual(5);
      gaps.slice(0, 5).forEach((g, i) => {
        expect(g, `${name} retry ${i}`).toBeGreaterThanOrEqual(backoffBaseMs(i, retry) * (1 - retry.jitter) - 5);
      });
    }

    // Meanwhile the healthy camera delivered at ~10 fps and never went offline.
    expect(framesDuring).toBeGreaterThan(10);
    expect(healthy.stats().state).toBe('online');
    expect(healthyStatus.map((s) => s.state)).toEqual(['connecting', 'online']);

    await Promise.all([...Object.values(broken), healthy].map((c) => c.close()));
    expect(ffmpegDescendants()).toEqual([]);
  });

  it('stall watchdog: a server that accepts but never answers is killed and retried', async () => {
    const silent = await startSilentServer();
    cleanups.push(() => silent.close());
    const cam = new CameraSource({
      cameraId: 'hung',
      url: silent.url,
      width: 32,
      height: 32,
      stallTimeoutMs: 1000,
      reconnect: retry,
    });
    const seen = track(cam);
    cam.start();
    const stalled = await firstValueFrom(cam.status$.pipe(filter((s) => s.state === 'offline')));
    expect(stalled.error).toMatch(/stalled: no first frame for 1000 ms/);
    await firstValueFrom(cam.status$.pipe(filter(() => cam.stats().reconnects >= 1)));
    expect(seen.map((s) => s.state).slice(0, 3)).toEqual(['connecting', 'offline', 'connecting']);
    await cam.close();
    expect(ffmpegDescendants()).toEqual([]);
  });

  it('an ffmpeg that exits non-zero at once: error line reported, retried, never thrown', async () => {
    const fake = path.join(dir, 'broken-ffmpeg');
    writeFileSync(fake, '#!/bin/sh\necho "boom: this ffmpeg is broken" >&2\nexit 1\n');
    chmodSync(fake, 0o755);
    const saved = process.env.FFMPEG_PATH;
    process.env.FFMPEG_PATH = fake;
    resetFfmpegPathCache();
    try {
      const cam = new CameraSource({ cameraId: 'bad-bin', url: clip, width: 32, height: 32, reconnect: retry });
      const seen = track(cam);
      cam.start();
      await firstValueFrom(cam.status$.pipe(filter(() => cam.stats().reconnects >= 2)));
      const errors = seen.filter((s) => s.state === 'offline').map((s) => s.error);
      expect(errors.length).toBeGreaterThanOrEqual(2);
      // Whether fluent-ffmpeg's format probe or the decode run hits it first, the exit code is named.
      for (const e of errors) expect(e).toMatch(/exited with code 1(: boom: this ffmpeg is broken)?$/);
      await cam.close();
    } finally {
      if (saved === undefined) delete process.env.FFMPEG_PATH;
      else process.env.FFMPEG_PATH = saved;
      resetFfmpegPathCache();
    }
  });

  it('the reason a run ended comes from the end, not from a warning the decoder printed long before', async () => {
    // A stream whose 5 % mark is garbage: the decoder says "error while decoding MB ...", conceals it and goes on.
    const ts = path.join(dir, 'scarred.ts');
    await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10', '-t', '20', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '10', '-f', 'mpegts', ts]);
    const bytes = readFileSync(ts);
    const at = Math.floor(bytes.length * 0.05);
    for (let i = 0; i < 3000; i++) bytes[at + i] = (i * 7919 + 13) % 251;
    writeFileSync(ts, bytes);

    const cam = new CameraSource({ cameraId: 'scarred', url: ts, width: 160, height: 128, pace: 'source', reconnect: { initialMs: 60_000, maxMs: 60_000, factor: 1, jitter: 0 } });
    const seen = track(cam);
    let frames = 0;
    cam.frames$.subscribe(() => frames++);
    cam.start();
    // Well past the scar (frame ~10 of 200): the warning is seconds old.
    await waitFor(() => frames >= 30, 20_000, 'frames past the scar');
    const [pid] = liveDecoderPids();
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    const offline = await firstValueFrom(cam.status$.pipe(filter((st) => st.state === 'offline')));
    expect(offline.error).toBe('ffmpeg killed by SIGKILL');
    expect(seen.some((st) => st.state === 'online')).toBe(true);
  });
});
