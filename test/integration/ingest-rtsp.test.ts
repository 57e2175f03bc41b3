/**
 * CameraSource pulling a real RTSP server on loopback. The server (GStreamer,
 * see test/helpers/rtsp-server.ts) is the camera: killing it is the camera
 * vanishing, starting it again on the same port is the camera coming back.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { filter, firstValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { CameraSource, type CameraStatus } from '../../src/ingest/index.js';
import { ffmpegDescendants, waitFor } from '../helpers/ffmpeg-fixtures.js';
import { gstRtspUnavailableReason, startGstRtspServer, type GstRtspServer } from '../helpers/rtsp-server.js';

const unavailable = gstRtspUnavailableReason();
// On CI the packages are installed by .ci/setup-system.sh: missing there is a failure, not a skip.
if (unavailable && process.env.CI) throw new Error(unavailable);
if (unavailable) console.warn(`skipping RTSP ingest tests: ${unavailable}`);

const cameras: CameraSource[] = [];
const servers: GstRtspServer[] = [];

afterEach(async () => {
  await Promise.all(cameras.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

const fastRetry = { initialMs: 200, maxMs: 1000, factor: 2, jitter: 0.2 };
// The servers run at 25 fps because ffmpeg's stream probing counts frames
// (about 20) before it starts decoding: at 10 fps that alone takes 2 s.

describe.skipIf(unavailable !== undefined)('CameraSource over RTSP', () => {
  it('TCP: frames flow; camera killed → offline; camera back → online and frames resume', async () => {
    const server = await startGstRtspServer({ width: 320, height: 240, fps: 25 });
    servers.push(server);
    const cam = new CameraSource({
      cameraId: 'rtsp-tcp',
      url: server.url,
      width: 64,
      height: 48,
      transport: 'tcp',
      stallTimeoutMs: 8000,
      reconnect: fastRetry,
    });
    cameras.push(cam);
    const statuses: CameraStatus[] = [];
    cam.status$.subscribe((s) => statuses.push(s));

    const firstFrames = firstValueFrom(cam.frames$.pipe(take(5), toArray()));
    cam.start();
    const frames = await firstFrames;
    expect(frames[0]).toMatchObject({ cameraId: 'rtsp-tcp', width: 64, height: 48, srcWidth: 320, srcHeight: 240 });
    expect(frames[0]!.data.length).toBe(64 * 48 * 3);
    expect(frames.map((f) => f.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(cam.stats().state).toBe('online');

    // The camera vanishes.
    const offline = firstValueFrom(cam.status$.pipe(filter((s) => s.state === 'offline')));
    await server.stop('SIGKILL');
    const off = await offline;
    expect(off.error).toBeTruthy();
    const seqBefore = cam.stats().framesIn;

    // While it is gone, retries fail (connection refused) and are counted.
    await waitFor(() => cam.stats().reconnects >= 2, 10_000, 'two reconnect attempts');

    // The camera comes back on the same address.
    const backAt = Date.now();
    const again = await startGstRtspServer({ port: server.port, width: 320, height: 240, fps: 25 });
    servers.push(again);
    const resumed = await firstValueFrom(cam.frames$.pipe(take(3), toArray()));
    expect(Date.now() - backAt).toBeLessThan(10_000);
    expect(resumed[0]!.seq).toBe(seqBefore); // seq keeps counting across reconnects
    expect(cam.stats().state).toBe('online');

    const states = statuses.map((s) => s.state);
    expect(states.slice(0, 3)).toEqual(['connecting', 'online', 'offline']);
    expect(states.at(-1)).toBe('online');

    await cam.close();
    expect(statuses.at(-1)!.state).toBe('stopped');
    expect(ffmpegDescendants()).toEqual([]);
  });

  it('UDP transport pulls frames too', async () => {
    const server = await startGstRtspServer({ width: 160, height: 120, fps: 25 });
    servers.push(server);
    const cam = new CameraSource({
      cameraId: 'rtsp-udp',
      url: server.url,
      width: 32,
      height: 32,
      transport: 'udp',
      stallTimeoutMs: 8000,
      reconnect: fastRetry,
    });
    cameras.push(cam);
    const frames = firstValueFrom(cam.frames$.pipe(take(3), toArray()));
    cam.start();
    const got = await frames;
    expect(got[2]).toMatchObject({ seq: 2, srcWidth: 160, srcHeight: 120, width: 32, height: 32 });
    await cam.close();
    expect(ffmpegDescendants()).toEqual([]);
  });

  it('an ffmpeg orphaned by a SIGKILLed service while its camera is frozen exits by itself (socket read timeout)', async () => {
    const server = await startGstRtspServer({ width: 320, height: 240, fps: 25 });
    servers.push(server);
    // Stall timeout 4 s: ffmpeg's socket read timeout is a quarter of it, and it gives up after a few.
    const child = spawn(process.execPath, ['--import', 'tsx', HELD, server.url, '4000'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let pid = 0;
    try {
      await waitFor(() => /PID (\d+)/.test(out), 20_000, 'a frame in the child');
      pid = Number(/PID (\d+)/.exec(out)?.[1]);
      expect(pid).toBeGreaterThan(0);
      // The camera freezes (its process stops, its socket stays open), then the service dies without a word.
      process.kill(server.pid!, 'SIGSTOP');
      child.kill('SIGKILL');
      await exited;
      expect(alive(pid)).toBe(true);
      await waitFor(() => !alive(pid), 20_000, `orphaned ffmpeg ${pid} to time out on its frozen camera`);
    } finally {
      if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
      process.kill(server.pid!, 'SIGCONT');
    }
  });
});

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HELD = fileURLToPath(new URL('../helpers/ffmpeg-held-child.ts', import.meta.url));

/** Running (not gone, not a zombie nobody reaped). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}
