/**
 * Bad cameras must not hurt good ones: a truncated video file and an RTSP
 * URL nobody listens on run next to the demo clip. The bad ones go offline
 * with ffmpeg's reason and retry on their backoff schedule, while the WebSocket
 * client keeps getting the good camera's frames the whole time.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { backoffBaseMs } from '../../src/ingest/backoff.js';
import { defaultThreads, defaultWorkers } from '../../src/inference/pool.js';
import { NeulensService } from '../../src/service/service.js';
import type { StatsBody } from '../../src/serve/routes.js';
import { createServer } from '../../src/serve/server.js';
import { PACK_DIR } from '../helpers/pack.js';
import { ffmpegDescendants } from '../helpers/ffmpeg-fixtures.js';
import { PARADE, WsProbe, freePort, getJson, testConfig, waitForAsync } from '../helpers/service.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

const backoff = { initialMs: 200, maxMs: 800, factor: 2, jitter: 0 };

async function cameraStats(service: NeulensService): Promise<StatsBody['cameras']> {
  const res = await getJson(`${service.server.httpUrl}/api/stats`);
  expect(res.status).toBe(200);
  return (res.body as StatsBody).cameras;
}

describe('NeulensService with failing cameras beside a healthy one', () => {
  it('bad cameras report errors and retry with backoff; the healthy camera keeps publishing', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'neulens-cams-'));
    open.push({ close: () => rm(dir, { recursive: true, force: true }) });
    // Cut inside the moov atom (the clip is faststart): the container cannot be read at all.
    const truncated = path.join(dir, 'truncated.mp4');
    await writeFile(truncated, (await readFile(PARADE)).subarray(0, 1500));
    const closedPort = await freePort();

    const service = await NeulensService.start(
      testConfig(`
server: { port: 0 }
cameras:
  - id: good
    url: ${PARADE}
    loop: true
    fps: 25
  - id: broken-file
    url: ${truncated}
    loop: true
    reconnect: { initialMs: ${backoff.initialMs}, maxMs: ${backoff.maxMs}, factor: ${backoff.factor}, jitter: 0 }
  - id: no-server
    url: rtsp://127.0.0.1:${closedPort}/cam
    reconnect: { initialMs: ${backoff.initialMs}, maxMs: ${backoff.maxMs}, factor: ${backoff.factor}, jitter: 0 }
  - id: switched-off
    url: ${PARADE}
    enabled: false
`),
      { log: silentLogger },
    );
    open.push(service);
    const client = await WsProbe.connect(service.url);
    open.push(client);
    const watchFrom = Date.now();

    // Each bad camera fails at least four times (three retries after the first run).
    await client.until(
      () => ['broken-file', 'no-server'].every((id) => client.statuses(id).filter((r) => r.msg.state === 'offline').length >= 4),
      30_000,
      'four failures of each bad camera',
    );
    const first = await cameraStats(service);
    // DEMUX's cost model was calibrated before the cameras started, once per input shape
    // (the unreadable cameras fall back to the default size, the clip has its own).
    const demux = ((await getJson(`${service.server.httpUrl}/api/stats`)).body as StatsBody).demux!;
    // The healthy camera's last plan names its strategy, with DEMUX's prediction beside the measured time.
    const healthy = first.find((c) => c.camera === 'good')!;
    expect(healthy.input.strategy).toBe('arac');
    expect(healthy.lastPlan).toMatchObject({ kind: 'tiles', grid: { cols: 4, rows: 4 } });
    expect(healthy.lastPlan?.measuredMs).toEqual(expect.any(Number));
    // Capped at 25 fps, the 10 fps clip is held to its own rate (the cap never repeats frames).
    expect(healthy.sloFps).toBe(10);
    expect(demux.policy).toBe('max-min');
    // No model.workers / threads in the config: a worker per enabled camera (three; the fourth is
    // switched off) up to the cores, the cores split between them.
    const workers = defaultWorkers(3, 'cpu');
    expect(demux).toMatchObject({ workers, threadsPerWorker: defaultThreads(workers) });
    expect(demux.capacityMsPerS).toBeCloseTo(workers * 900);
    expect(demux.calibrations.length).toBeGreaterThanOrEqual(1);
    expect(demux.calibrations.length).toBeLessThanOrEqual(2);
    for (const c of demux.calibrations) {
      expect(c.key).toMatch(/^4x4@\d+x\d+\/windowed:64:0$/);
      expect(c.samples).toBeGreaterThanOrEqual(5);
      expect(c.rmseMs).toEqual(expect.any(Number));
    }

    for (const [id, why] of [
      // ffmpeg's own words differ between builds (4.1 static, distro 5.x): only their presence is checked.
      ['broken-file', /ffmpeg .+: \S/],
      ['no-server', /refused|connection/i],
    ] as const) {
      const statuses = client.statuses(id).map((r) => r.msg);
      expect(statuses.some((s) => s.state === 'online')).toBe(false);
      const offline = statuses.filter((s) => s.state === 'offline');
      for (const s of offline) expect(s.error).toMatch(why);
      // Retries wait out the backoff: a timer never fires early, so each gap
      // from a failure to the next attempt is at least the scheduled delay.
      const states = statuses.filter((s) => s.state === 'offline' || s.state === 'connecting');
      let attempt = 0;
      for (let i = 1; i < states.length; i++) {
        const prev = states[i - 1]!;
        const cur = states[i]!;
        if (prev.state !== 'offline' || cur.state !== 'connecting') continue;
        expect(cur.atMs - prev.atMs).toBeGreaterThanOrEqual(backoffBaseMs(attempt++, backoff) - 5);
      }
      expect(attempt).toBeGreaterThanOrEqual(3);
      const s = first.find((c) => c.camera === id);
      expect(s?.reconnects).toBeGreaterThanOrEqual(3);
      expect(s?.lastError).toMatch(why);
      expect(s?.processed).toBe(0);
    }

    // The retries go on: /api/stats shows the reconnect counters growing.
    await waitForAsync(
      async () => {
        const now = await cameraStats(service);
        return ['broken-file', 'no-server'].every((id) => (now.find((c) => c.camera === id)?.reconnects ?? 0) > (first.find((c) => c.camera === id)?.reconnects ?? 0));
      },
      15_000,
      'reconnect counters to grow',
      200,
    );

    // Meanwhile the healthy camera was never interrupted.
    const good = client.frames('good');
    const during = good.filter((r) => r.atMs >= watchFrom);
    const watchedS = (Date.now() - watchFrom) / 1000;
    expect(during.length).toBeGreaterThan(watchedS * 3); // the clip runs at 10 fps; loose on a busy machine
    const gaps = during.slice(1).map((r, i) => r.atMs - during[i]!.atMs);
    expect(Math.max(...gaps)).toBeLessThan(3000);
    expect(good.some((r) => r.msg.boxes.some((b) => b.label === 'person'))).toBe(true);
    expect(client.statuses('good').map((r) => r.msg.state)).not.toContain('offline');
    const goodStats = (await cameraStats(service)).find((c) => c.camera === 'good');
    expect(goodStats).toMatchObject({ state: 'online', reconnects: 0 });

    await service.close();
    expect(ffmpegDescendants()).toEqual([]);
  });
});

describe('NeulensService with a strategy the pack cannot serve', () => {
  it('arac-cgg on a pack without a compression controller: a ConfigError naming model.strategy, nothing left open', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'neulens-nocgg-'));
    open.push({ close: () => rm(dir, { recursive: true, force: true }) });
    await cp(PACK_DIR, dir, { recursive: true });
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    delete manifest['controller'];
    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    const port = await freePort();
    const err = await NeulensService.start(
      testConfig(`
server: { port: ${port} }
model: { pack: ${dir}, strategy: arac-cgg }
cameras:
  - id: good
    url: ${PARADE}
`),
      { log: silentLogger },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/^model\.strategy: arac-cgg needs a model pack with a compression controller/);
    // The port was given back: a second server can take it.
    const again = await createServer({ port });
    await again.close();
  });
});
