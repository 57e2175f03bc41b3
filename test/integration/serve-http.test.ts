import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ConfigError } from '../../src/core/errors.js';
import { Metrics } from '../../src/serve/metrics.js';
import type { ServedCameraStats, Readiness, StatsBody } from '../../src/serve/routes.js';
import { createServer, type ServeHandle, type ServeOptions } from '../../src/serve/server.js';

const open: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function serve(opts: ServeOptions = {}): Promise<ServeHandle> {
  const s = await createServer({ port: 0, closeTimeoutMs: 500, ...opts });
  open.push(s);
  return s;
}

async function get(url: string, init?: RequestInit): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(url, init);
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

async function connectWs(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once('message', () => resolve());
    ws.once('error', reject);
  });
  open.push({ close: () => new Promise<void>((r) => (ws.readyState === WebSocket.CLOSED ? r() : (ws.once('close', () => r()), ws.close()))) });
  return ws;
}

describe('serve: HTTP routes', () => {
  it('/healthz answers 200 while the process is alive', async () => {
    const s = await serve({ ready: () => ({ modelLoaded: false, camerasStarted: false }) });
    const r = await get(`${s.httpUrl}/healthz`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ ok: true });
  });

  it('/readyz is 503 with a reason until the model is loaded and cameras started, then 200', async () => {
    const state: Readiness = { modelLoaded: false, camerasStarted: false };
    const s = await serve({ ready: () => state });
    let r = await get(`${s.httpUrl}/readyz`);
    expect(r.status).toBe(503);
    expect(r.type).toMatch(/application\/json/);
    expect(JSON.parse(r.text)).toMatchObject({ ready: false, reason: 'model not loaded, cameras not started' });

    state.modelLoaded = true;
    r = await get(`${s.httpUrl}/readyz`);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.text)).toMatchObject({ ready: false, modelLoaded: true, reason: 'cameras not started' });

    state.camerasStarted = true;
    r = await get(`${s.httpUrl}/readyz`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toMatchObject({ ready: true });
  });

  it('/readyz reports a readiness callback that throws as 503, not a crash', async () => {
    const s = await serve({
      ready: async () => {
        throw new Error('pipeline gone');
      },
    });
    const r = await get(`${s.httpUrl}/readyz`);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.text)).toMatchObject({ ready: false, reason: 'readiness check failed: pipeline gone' });
  });

  it('/api/stats merges the pipeline stats with the hub client stats', async () => {
    const cameras: ServedCameraStats[] = [cameraStats('door', { fpsIn: 25, fpsProcessed: 12.5, fpsDropped: 12.5, inferenceMs: 18.2, reconnects: 1 })];
    const s = await serve({ stats: async () => cameras });
    await connectWs(`${s.url}?cameras=door`);
    const r = await get(`${s.httpUrl}/api/stats`);
    expect(r.status).toBe(200);
    const body = JSON.parse(r.text) as StatsBody;
    expect(body.cameras).toEqual(cameras);
    expect(body.ws.totals.clients).toBe(1);
    expect(body.ws.clients[0]).toMatchObject({ subscribed: ['door'], queued: 0, dropped: 0 });
    expect(typeof body.ws.clients[0]!.bufferedAmount).toBe('number');
    expect(body.uptimeMs).toBeGreaterThanOrEqual(0);
  });

  it('/api/stats answers 500 JSON when the stats callback throws', async () => {
    const s = await serve({
      stats: () => {
        throw new Error('boom');
      },
    });
    const r = await get(`${s.httpUrl}/api/stats`);
    expect(r.status).toBe(500);
    expect(JSON.parse(r.text)).toEqual({ error: 'stats unavailable: boom' });
  });

  it('/metrics serves Prometheus text with every metric, per camera', async () => {
    const metrics = new Metrics();
    const s = await serve({ metrics });
    await connectWs(s.url);
    // Counters read the cameras' own totals at scrape time; the histograms take every frame.
    metrics.bindCameras(() => [
      cameraStats('door', { framesIn: 2, processed: 1, droppedBy: { gate: 1, error: 0 }, reconnects: 1 }),
      cameraStats('yard', { state: 'offline' }),
    ]);
    metrics.observeFrame('door', 12, 48);
    const r = await get(`${s.httpUrl}/metrics`);
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/plain/);
    for (const line of [
      'neulens_frames_in_total{camera="door"} 2',
      'neulens_frames_processed_total{camera="door"} 1',
      'neulens_frames_dropped_total{camera="door",reason="gate"} 1',
      'neulens_frames_dropped_total{camera="door",reason="error"} 0',
      'neulens_inference_ms_bucket{le="20",camera="door"} 1',
      'neulens_e2e_latency_ms_count{camera="door"} 1',
      'neulens_reconnects_total{camera="door"} 1',
      'neulens_camera_online{camera="door"} 1',
      'neulens_camera_online{camera="yard"} 0',
      'neulens_ws_clients 1',
      'neulens_ws_dropped_messages_total 0',
    ]) {
      expect(r.text).toContain(line);
    }
  });

  it('unknown routes are 404 JSON, the WebSocket path over plain HTTP is 426, other methods 405', async () => {
    const s = await serve();
    let r = await get(`${s.httpUrl}/nope`);
    expect(r.status).toBe(404);
    expect(JSON.parse(r.text)).toEqual({ error: 'no route /nope' });
    r = await get(`${s.httpUrl}/ws`);
    expect(r.status).toBe(426);
    r = await get(`${s.httpUrl}/healthz`, { method: 'POST' });
    expect(r.status).toBe(405);
  });

  it('a port already in use is a ConfigError naming it', async () => {
    const s = await serve();
    const err = await createServer({ port: s.port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    // The key the user writes in the YAML (server.port), not an internal name.
    expect((err as ConfigError).message).toMatch(new RegExp(`^server\\.port: 127\\.0\\.0\\.1:${s.port} is already in use`));
    expect((err as ConfigError).path).toBe('server.port');
  });
});

describe('Metrics', () => {
  it('owns its registry: two instances never collide', async () => {
    const a = new Metrics();
    const b = new Metrics();
    a.bindCameras(() => [cameraStats('x', { framesIn: 1 })]);
    expect(await a.render()).toContain('neulens_frames_in_total{camera="x"} 1');
    expect(await b.render()).not.toContain('camera="x"');
  });
});

/** A camera's stats with every field, zero unless given. */
function cameraStats(camera: string, o: Partial<ServedCameraStats> = {}): ServedCameraStats {
  return {
    camera, state: 'online', fpsIn: 0, fpsProcessed: 0, fpsDropped: 0, inferenceMs: 0, reconnects: 0, framesIn: 0, processed: 0, dropped: 0,
    droppedBy: { gate: 0, error: 0 }, e2eMs: { p50: 0, p95: 0 }, workFraction: 0, sloAttainment: null, input: { width: 512, height: 288, strategy: 'arac' }, sloFps: 10, ...o,
  };
}
