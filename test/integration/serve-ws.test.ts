import { request } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createServer, type ServeHandle, type ServeOptions } from '../../src/serve/server.js';
import { checkMessage, PROTOCOL_VERSION, type FrameMessage, type ServerMessage, type WireBox } from '../../src/serve/protocol.js';
import { stuckWsClient } from '../helpers/service.js';

// ---------------------------------------------------------------- helpers

const open: { close(): unknown }[] = [];

afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function serve(opts: ServeOptions = {}): Promise<ServeHandle> {
  const s = await createServer({ port: 0, closeTimeoutMs: 500, ...opts });
  open.push(s);
  return s;
}

async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A real ws client that records every message, each one checked against the published schema. */
class Client {
  readonly messages: ServerMessage[] = [];
  readonly schemaErrors: string[] = [];
  closeCode: number | null = null;
  private pingSeq = 0;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse((data as Buffer).toString('utf8')) as ServerMessage;
      const err = checkMessage('serverMessage', msg);
      if (err) this.schemaErrors.push(err);
      this.messages.push(msg);
    });
    ws.on('close', (code) => {
      this.closeCode = code;
    });
    ws.on('error', () => undefined);
  }

  static async connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
    const c = new Client(new WebSocket(url, { headers }));
    open.push(c);
    await until(() => c.messages.some((m) => m.type === 'hello'), 'hello');
    return c;
  }

  frames(): FrameMessage[] {
    return this.messages.filter((m): m is FrameMessage => m.type === 'frame');
  }

  of<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }>[] {
    return this.messages.filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);
  }

  send(data: string | Buffer): void {
    this.ws.send(data);
  }

  /** Round-trips a ping: everything the server queued for us before it has arrived. */
  async sync(): Promise<void> {
    const id = `sync-${++this.pingSeq}`;
    this.send(JSON.stringify({ type: 'ping', id }));
    await until(() => this.messages.some((m) => m.type === 'pong' && m.id === id), `pong ${id}`);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/** Status code of an upgrade attempt, without a WebSocket library in the way. */
function upgradeStatus(httpUrl: string, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${httpUrl}${path}`, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': Buffer.from('0123456789abcdef').toString('base64'),
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A client that never reads after its handshake (stuckWsClient), destroyed after the test. */
async function stuckClient(port: number, path: string): Promise<Socket> {
  const socket = await stuckWsClient(port, path);
  open.push({ close: () => socket.destroy() });
  return socket;
}

let seq = 0;
function frame(camera: string, boxes: WireBox[] = []): FrameMessage {
  const now = Date.now();
  return { type: 'frame', camera, seq: seq++, ptsMs: 0, captureTs: now - 5, publishTs: now, latencyMs: 5, inferenceMs: 3, width: 640, height: 480, boxes };
}

function cams(c: Client): string[] {
  return c.frames().map((f) => f.camera);
}

// ---------------------------------------------------------------- tests

describe('serve: auth', () => {
  it('refuses an upgrade without a valid token with 401 and accepts header or query token', async () => {
    const s = await serve({ token: 's3cret' });
    expect(await upgradeStatus(s.httpUrl, '/ws')).toBe(401);
    expect(await upgradeStatus(s.httpUrl, '/ws', { authorization: 'Bearer wrong' })).toBe(401);
    expect(await upgradeStatus(s.httpUrl, '/ws?token=wrong')).toBe(401);
    expect(await upgradeStatus(s.httpUrl, '/elsewhere', { authorization: 'Bearer s3cret' })).toBe(404);

    const byHeader = await Client.connect(s.url, { authorization: 'Bearer s3cret' });
    const byQuery = await Client.connect(`${s.url}?token=s3cret`);
    for (const c of [byHeader, byQuery]) {
      const [hello] = c.of('hello');
      expect(hello).toMatchObject({ type: 'hello', version: PROTOCOL_VERSION, cameras: [] });
      expect(c.schemaErrors).toEqual([]);
    }
    expect(s.hub.stats().totals.clients).toBe(2);
  });

  it('answers 404 for upgrades on other paths even without auth, and 400 for a bad camera query', async () => {
    const s = await serve({ path: '/live' });
    expect(await upgradeStatus(s.httpUrl, '/ws')).toBe(404);
    expect(await upgradeStatus(s.httpUrl, `/live?cameras=${'x'.repeat(300)}`)).toBe(400);
    expect(s.url).toMatch(/\/live$/);
    const c = await Client.connect(s.url);
    expect(c.of('hello')).toHaveLength(1);
  });
});

describe('serve: subscriptions', () => {
  it('delivers nothing but hello/status until subscribed, then exactly the subscribed cameras', async () => {
    const s = await serve();
    s.hub.setCamera('a', 'online');
    const c = await Client.connect(s.url);
    expect(c.of('hello')[0]!.cameras).toEqual([{ id: 'a', state: 'online' }]);

    s.hub.publishFrame(frame('a'));
    s.hub.publishStatus({ type: 'status', camera: 'b', state: 'connecting', atMs: Date.now() });
    await c.sync();
    expect(c.frames()).toHaveLength(0);
    expect(c.of('status').map((m) => m.camera)).toEqual(['b']);

    const publishAll = async (): Promise<void> => {
      c.messages.length = 0;
      for (const id of ['a', 'b', 'c', 'd']) s.hub.publishFrame(frame(id));
      await c.sync();
    };

    c.send(JSON.stringify({ type: 'subscribe', cameras: ['a'] }));
    await c.sync();
    await publishAll();
    expect(cams(c)).toEqual(['a']);

    c.send(JSON.stringify({ type: 'subscribe', cameras: ['b', 'c'] }));
    await c.sync();
    await publishAll();
    expect(cams(c)).toEqual(['a', 'b', 'c']);

    c.send(JSON.stringify({ type: 'unsubscribe', cameras: ['a', 'c'] }));
    await c.sync();
    await publishAll();
    expect(cams(c)).toEqual(['b']);

    c.send(JSON.stringify({ type: 'subscribe', cameras: '*' }));
    await c.sync();
    await publishAll();
    expect(cams(c)).toEqual(['a', 'b', 'c', 'd']);
    // '*' covers a camera that appears only now.
    s.hub.publishStatus({ type: 'status', camera: 'late', state: 'online', atMs: Date.now() });
    s.hub.publishFrame(frame('late'));
    await c.sync();
    expect(cams(c)).toContain('late');

    c.send(JSON.stringify({ type: 'unsubscribe', cameras: ['b'] }));
    await c.sync();
    await publishAll();
    expect(cams(c)).toEqual(['a', 'c', 'd']);
    expect(s.hub.stats().clients[0]).toMatchObject({ subscribed: '*', excluded: ['b'] });

    c.send(JSON.stringify({ type: 'unsubscribe', cameras: '*' }));
    await c.sync();
    await publishAll();
    expect(cams(c)).toEqual([]);
    expect(c.schemaErrors).toEqual([]);
  });

  it('says so when a subscription names a camera it does not know (and keeps it, for a camera added later)', async () => {
    const s = await serve();
    s.hub.setCamera('door', 'online');
    const c = await Client.connect(s.url);
    c.send(JSON.stringify({ type: 'subscribe', cameras: ['door', 'dor'] }));
    await c.sync();
    const [err] = c.of('error');
    expect(err).toMatchObject({ code: 'UNKNOWN_CAMERA', cameras: ['dor'] });
    expect(err!.message).toContain("no camera 'dor' (cameras: door)");
    expect(c.schemaErrors).toEqual([]);
    // From the upgrade query too, after hello.
    const q = await Client.connect(`${s.url}?cameras=nope`);
    await q.sync();
    expect(q.of('error').map((e) => e.cameras)).toEqual([['nope']]);
    // Kept: a camera added under that name reaches the client.
    s.hub.publishFrame(frame('dor'));
    await c.sync();
    expect(cams(c)).toEqual(['dor']);
  });

  it('subscribes from the upgrade query: a list or *', async () => {
    const s = await serve();
    const two = await Client.connect(`${s.url}?cameras=a,b`);
    const all = await Client.connect(`${s.url}?cameras=*`);
    for (const id of ['a', 'b', 'c']) s.hub.publishFrame(frame(id));
    await two.sync();
    await all.sync();
    expect(cams(two)).toEqual(['a', 'b']);
    expect(cams(all)).toEqual(['a', 'b', 'c']);
  });
});

describe('serve: bad client messages', () => {
  it('answers each with a typed error, keeps the socket usable and leaves other clients alone', async () => {
    const s = await serve({ hub: { maxClientMessageBytes: 1024 } });
    s.hub.setCamera('a', 'online');
    const bad = await Client.connect(`${s.url}?cameras=a`);
    const good = await Client.connect(`${s.url}?cameras=a`);

    bad.send('this is not json');
    bad.send(JSON.stringify({ type: 'dance' }));
    bad.send(JSON.stringify({ type: 'ping', id: 'x'.repeat(2000) }));
    bad.send(JSON.stringify({ type: 'subscribe', cameras: [] }));
    bad.send(JSON.stringify({ type: 'subscribe', cameras: [42] }));
    bad.send(JSON.stringify({ type: 'subscribe', cameras: ['a'], extra: true }));
    bad.send(Buffer.from([1, 2, 3]));
    bad.ws.send(Buffer.from('{"type":"ping"}'), { binary: true });
    await bad.sync();

    const codes = bad.of('error').map((e) => e.code);
    expect(codes).toEqual(['NOT_JSON', 'UNKNOWN_TYPE', 'MESSAGE_TOO_LARGE', 'BAD_MESSAGE', 'BAD_MESSAGE', 'BAD_MESSAGE', 'BINARY_NOT_SUPPORTED', 'BINARY_NOT_SUPPORTED']);
    expect(bad.of('error')[4]!.message).toMatch(/cameras/);
    expect(bad.ws.readyState).toBe(WebSocket.OPEN);

    s.hub.publishFrame(frame('a'));
    await bad.sync();
    await good.sync();
    expect(cams(bad)).toEqual(['a']);
    expect(cams(good)).toEqual(['a']);
    expect(good.of('error')).toEqual([]);
    expect(bad.schemaErrors).toEqual([]);
  });

  it('closes only the offender (1009) when a message exceeds the hard payload cap', async () => {
    const s = await serve({ maxPayloadBytes: 16 * 1024 });
    const bad = await Client.connect(`${s.url}?cameras=a`);
    const good = await Client.connect(`${s.url}?cameras=a`);
    bad.send('x'.repeat(64 * 1024));
    await until(() => bad.closeCode !== null, 'offender closed');
    expect(bad.closeCode).toBe(1009);
    s.hub.publishFrame(frame('a'));
    await good.sync();
    expect(cams(good)).toEqual(['a']);
    await until(() => s.hub.stats().totals.clients === 1, 'hub forgets the offender');
  });
});

describe('serve: slow clients', () => {
  it('a client that never reads neither delays others nor grows server memory, and is terminated', async () => {
    const maxQueue = 32;
    const maxBufferedBytes = 256 * 1024;
    const s = await serve({ hub: { maxQueue, maxBufferedBytes, stuckTimeoutMs: 3000, pongTimeoutMs: 0 } });
    const stuck = await stuckClient(s.port, '/ws?cameras=cam');
    const good = await Client.connect(`${s.url}?cameras=cam`);
    await until(() => s.hub.stats().totals.clients === 2, 'both clients registered');
    // The stuck client completed its handshake first, so it is the first one the hub registered.
    const stuckId = s.hub.stats().clients[0]!.id;

    // ~5 KB per frame.
    const boxes: WireBox[] = Array.from({ length: 50 }, (_, i) => ({ x: i, y: i, w: 10.25, h: 20.5, label: 'person', classId: 0, score: 0.5, trackId: i }));
    const first = seq;
    const total = 2000;
    expect(JSON.stringify(frame('cam', boxes)).length).toBeGreaterThan(4500);
    seq = first;

    let maxQueued = 0;
    let maxQueuedBytes = 0;
    let maxBuffered = 0;
    let maxDropped = 0;
    let frameBytes = 0;
    for (let i = 0; i < total; i++) {
      const f = frame('cam', boxes);
      frameBytes = Math.max(frameBytes, JSON.stringify(f).length);
      expect(s.hub.publishFrame(f)).toBeGreaterThanOrEqual(1);
      const st = s.hub.stats().clients.find((c) => c.id === stuckId);
      if (st) {
        maxQueued = Math.max(maxQueued, st.queued);
        maxQueuedBytes = Math.max(maxQueuedBytes, st.queuedBytes);
        maxBuffered = Math.max(maxBuffered, st.bufferedAmount);
        maxDropped = Math.max(maxDropped, st.dropped);
      }
      // Let the good client catch up every few frames: it must never be held back by the stuck one.
      if (i % 20 === 19) await until(() => good.frames().length === i + 1, `good client frame ${i}`);
    }
    await until(() => good.frames().length === total, 'all frames at the good client');

    const got = good.frames().map((f) => f.seq);
    expect(got).toEqual(Array.from({ length: total }, (_, i) => first + i));
    expect(good.schemaErrors).toEqual([]);
    const goodStats = s.hub.stats().clients.find((c) => c.id !== stuckId)!;
    expect(goodStats.dropped).toBe(0);

    // Bounded: the queue never exceeds maxQueue and the socket buffer never grows past the cap by more than one message.
    expect(maxQueued).toBeLessThanOrEqual(maxQueue);
    expect(maxQueuedBytes).toBeLessThanOrEqual(maxQueue * frameBytes);
    expect(maxBuffered).toBeLessThanOrEqual(maxBufferedBytes + frameBytes);
    expect(maxDropped).toBeGreaterThan(0);

    await until(() => s.hub.stats().totals.terminatedStuck === 1, 'stuck client terminated', 20_000);
    // terminate() is immediate; the hub forgets the client once its socket has actually closed.
    await until(() => !s.hub.stats().clients.some((c) => c.id === stuckId), 'stuck client removed');
    expect(s.hub.stats().totals.dropped).toBeGreaterThanOrEqual(maxDropped);
    stuck.destroy();
  });
});

describe('serve: clients that stop reading', () => {
  it('a quiet client that never reads is terminated by the ping rule, although the kernel absorbs every byte', async () => {
    // A camera's worth of small frames: far below what the socket buffers hold, so bufferedAmount never moves
    // and the byte rule alone never fired (the README used to promise it would).
    const s = await serve({ hub: { stuckTimeoutMs: 1000 } });
    const quiet = await stuckClient(s.port, '/ws?cameras=cam');
    const live = await Client.connect(`${s.url}?cameras=cam`);
    await until(() => s.hub.stats().totals.clients === 2, 'both clients registered');
    const quietId = s.hub.stats().clients[0]!.id;
    let sent = 0;
    while (s.hub.stats().clients.some((c) => c.id === quietId)) {
      s.hub.publishFrame(frame('cam'));
      sent++;
      if (sent > 400) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(s.hub.stats().clients.some((c) => c.id === quietId)).toBe(false);
    expect(s.hub.stats().totals.terminatedDead).toBe(1);
    expect(s.hub.stats().totals.terminatedStuck).toBe(0);
    // The bytes it never read stayed in the kernel: the hub's own buffer never passed its cap.
    expect(s.hub.stats().totals.dropped).toBe(0);
    await live.sync();
    expect(live.frames().length).toBe(sent);
    quiet.destroy();
  });

  it('terminates a client that stops answering protocol pings and keeps one that answers', async () => {
    // 300 ms: short enough for a quick test, long enough that a live client on a loaded machine answers in time.
    const s = await serve({ hub: { pongTimeoutMs: 300 } });
    const silent = await stuckClient(s.port, '/ws');
    const live = await Client.connect(s.url);
    await until(() => s.hub.stats().totals.terminatedDead === 1, 'silent client terminated');
    // Termination is asynchronous: the socket leaves the client set once its close completes.
    await until(() => s.hub.stats().totals.clients === 1, 'silent client removed');
    expect(s.hub.stats().totals.terminatedDead).toBe(1);
    await live.sync();
    expect(live.ws.readyState).toBe(WebSocket.OPEN);
    silent.destroy();
  });
});

describe('serve: close()', () => {
  it('closes every client with 1001, terminates ones that do not answer, and is idempotent', async () => {
    const s = await createServer({ port: 0, closeTimeoutMs: 300 });
    const a = await Client.connect(s.url);
    const b = await Client.connect(`${s.url}?cameras=*`);
    const stuck = await stuckClient(s.port, '/ws');
    await until(() => s.hub.stats().totals.clients === 3, 'three clients');

    const first = s.close();
    const second = s.close();
    await Promise.all([first, second]);
    await s.close();
    await until(() => a.closeCode !== null && b.closeCode !== null, 'clients closed');
    expect(a.closeCode).toBe(1001);
    expect(b.closeCode).toBe(1001);
    expect(s.hub.stats().totals.clients).toBe(0);
    expect(s.hub.publishFrame(frame('x'))).toBe(0);
    stuck.destroy();

    // The port is free again: nothing is listening.
    await expect(upgradeStatus(s.httpUrl, '/ws')).rejects.toThrow(/ECONNREFUSED/);
  });
});
