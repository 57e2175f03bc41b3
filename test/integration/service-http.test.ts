/**
 * The service's HTTP gates, end to end: readiness follows the model load, a
 * token in the config locks the WebSocket endpoint, the stats and the metrics,
 * and a camera's credentials never leave the process.
 *
 * Readiness without sleeps: the model pack's manifest.json is a FIFO, so the
 * service's manifest read blocks until the test writes it. Until then the
 * model cannot be loaded, whatever the machine's speed.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, readdirSync, renameSync, symlinkSync, writeSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createLogger, silentLogger } from '../../src/core/log.js';
import type { StatsBody } from '../../src/serve/routes.js';
import { NeulensService } from '../../src/service/service.js';
import { ffmpegDescendants } from '../helpers/ffmpeg-fixtures.js';
import { PARADE, REPO_ROOT, WsProbe, freePort, getJson, getText, testConfig, waitForAsync, type HttpAnswer } from '../helpers/service.js';

const PACK = path.join(REPO_ROOT, 'models/nanodet-g');

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function tmp(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Opens the FIFO's write end once a reader has it open (never blocking the event loop), writes `data`, closes it. */
async function writeFifo(fifo: string, data: Buffer, onClosed: () => void = () => undefined): Promise<void> {
  let fd: number | undefined;
  while (fd === undefined) {
    try {
      fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err; // ENXIO: no reader yet
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  closeSync(fd);
  // Same turn as the close: the reader's callback cannot run before this.
  onClosed();
}

/** Status of a WebSocket upgrade made by a real ws client: 101 when it opened, else the refusal's status. */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<{ status: number; authenticate?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, ...(res.headers['www-authenticate'] ? { authenticate: res.headers['www-authenticate'] } : {}) });
      ws.terminate();
    });
    ws.on('open', () => {
      resolve({ status: 101 });
      ws.close();
    });
    ws.on('error', (err) => reject(err));
  });
}

describe('NeulensService HTTP gates', () => {
  it('/readyz is 503 while the model loads and 200 once it is loaded and the cameras started', async () => {
    const dir = await tmp('neulens-ready-');
    const pack = path.join(dir, 'pack');
    await mkdir(pack);
    for (const f of readdirSync(PACK)) if (f !== 'manifest.json') symlinkSync(path.join(PACK, f), path.join(pack, f));
    const manifest = await readFile(path.join(PACK, 'manifest.json'));
    const fifo = path.join(pack, 'manifest.json');
    const mk = spawnSync('mkfifo', [fifo], { encoding: 'utf8' });
    expect(mk.status, mk.stderr).toBe(0);
    // The inference workers read the manifest again later: a regular copy takes the FIFO's place.
    await copyFile(path.join(PACK, 'manifest.json'), path.join(dir, 'manifest.json'));
    let released = false;

    const port = await freePort();
    const starting = NeulensService.start(
      testConfig(`
server: { port: ${port} }
model: { pack: ${pack} }
cameras:
  - id: demo
    url: ${PARADE}
    loop: true
`),
      { log: silentLogger },
    );
    cleanup.push(async () => {
      // If the test failed before feeding the FIFO, end-of-file unblocks the reader (the start then fails).
      if (!released) await writeFifo(fifo, Buffer.alloc(0)).catch(() => undefined);
      await starting.then((s) => s.close(), () => undefined);
    });
    const base = `http://127.0.0.1:${port}`;

    let first: HttpAnswer | undefined;
    await waitForAsync(
      () => getJson(`${base}/readyz`).then((r) => ((first = r), true), () => false),
      30_000,
      'the server to answer',
    );
    expect(first).toMatchObject({ status: 503, body: { ready: false, modelLoaded: false, camerasStarted: false } });
    expect((first?.body as { reason: string }).reason).toMatch(/model not loaded/);
    expect((await getJson(`${base}/healthz`)).status).toBe(200);

    await writeFifo(fifo, manifest, () => {
      renameSync(path.join(dir, 'manifest.json'), fifo);
      released = true;
    });
    const service = await starting;
    expect(await getJson(`${base}/readyz`)).toMatchObject({ status: 200, body: { ready: true, modelLoaded: true, camerasStarted: true } });
    await service.close();
    expect(ffmpegDescendants()).toEqual([]);
  });

  it('server.authToken: upgrades without the right token get 401; with it, frames flow', async () => {
    const service = await NeulensService.start(
      testConfig(`
server: { port: 0, authToken: "\${CAM_TOKEN}" }
cameras:
  - id: demo
    url: ${PARADE}
    loop: true
`, { CAM_TOKEN: 's3cret-token' }),
      { log: silentLogger },
    );
    cleanup.push(() => service.close());

    expect(await upgradeStatus(service.url)).toEqual({ status: 401, authenticate: 'Bearer' });
    expect((await upgradeStatus(`${service.url}?token=wrong`)).status).toBe(401);
    expect((await upgradeStatus(service.url, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect(service.server.hub.stats().totals.connected).toBe(0);

    expect((await upgradeStatus(`${service.url}?token=s3cret-token`)).status).toBe(101);
    const client = await WsProbe.connect(service.url, { authorization: 'Bearer s3cret-token' });
    cleanup.push(() => client.close());
    await client.until(() => client.frames('demo').length > 0, 30_000, 'a frame for the authorized client');
  });

  it('a camera URL\'s password appears nowhere: not in status messages, /api/stats, /metrics or the logs', async () => {
    const lines: string[] = [];
    const log = createLogger('debug', 'neulens', (l) => lines.push(l));
    const service = await NeulensService.start(
      testConfig(`
server: { port: 0, authToken: tok3n }
cameras:
  - id: door
    url: rtsp://admin:s3cretPW@127.0.0.1:1/x
    reconnect: { initialMs: 50, maxMs: 100 }
  - id: demo
    url: ${PARADE}
    loop: true
`),
      { log },
    );
    cleanup.push(() => service.close());
    // Lower-case scheme: RFC 7235 makes it case-insensitive.
    const auth = { authorization: 'bearer tok3n' };
    const client = await WsProbe.connect(`${service.url}?cameras=*`, auth);
    cleanup.push(() => client.close());
    await client.until(() => client.statuses('door').filter((s) => s.msg.state === 'offline').length >= 2, 30_000, 'the broken camera offline twice');
    await client.until(() => client.frames('demo').length > 0, 30_000, 'a frame from the healthy camera');

    // Without the token, neither stats nor metrics; with it, both. Probes stay open.
    expect((await getText(`${service.server.httpUrl}/api/stats`)).status).toBe(401);
    expect((await getText(`${service.server.httpUrl}/metrics`)).status).toBe(401);
    expect((await getText(`${service.server.httpUrl}/healthz`)).status).toBe(200);
    expect((await getText(`${service.server.httpUrl}/readyz`)).status).toBe(200);
    const stats = await getText(`${service.server.httpUrl}/api/stats`, auth);
    const metrics = await getText(`${service.server.httpUrl}/metrics?token=tok3n`);
    expect(stats.status).toBe(200);
    expect(metrics.status).toBe(200);

    const door = (JSON.parse(stats.text) as StatsBody).cameras.find((c) => c.camera === 'door')!;
    expect(door.lastError).toMatch(/rtsp:\/\/<redacted>@127\.0\.0\.1:1\/x|Connection refused/);
    const statusText = client.statuses('door').map((s) => JSON.stringify(s.msg)).join('\n');
    expect(statusText).toContain('offline');
    for (const [where, text] of [['status messages', statusText], ['/api/stats', stats.text], ['/metrics', metrics.text], ['logs', lines.join('\n')]] as const) {
      expect(text, where).not.toContain('s3cretPW');
      expect(text, where).not.toContain('admin:');
    }
    // The logs did say what went wrong, and which camera.
    expect(lines.join('\n')).toMatch(/door: camera offline/);
  });

  it('server.publicMetrics opens /metrics to a scraper without the token, and nothing else', async () => {
    const service = await NeulensService.start(
      testConfig(`
server: { port: 0, authToken: tok3n, publicMetrics: true }
cameras:
  - id: demo
    url: ${PARADE}
    loop: true
`),
      { log: silentLogger },
    );
    cleanup.push(() => service.close());
    const m = await getText(`${service.server.httpUrl}/metrics`);
    expect(m.status).toBe(200);
    expect(m.text).toContain('neulens_camera_online{camera="demo"}');
    expect((await getText(`${service.server.httpUrl}/api/stats`)).status).toBe(401);
    expect((await upgradeStatus(service.url)).status).toBe(401);
  });
});
