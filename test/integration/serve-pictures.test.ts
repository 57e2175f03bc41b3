/**
 * Pictures through the hub (protocol v3), with real ws clients on loopback:
 * only clients that ask get them, as binary messages after the frame of the
 * same seq; JSON-only clients see nothing new; a client that stops reading
 * holds a bounded number of pictures and never holds up anyone else.
 * The pictures here are opaque bytes: encoding is the viewer's (see
 * test/integration/viewer-pictures.test.ts for the real encoder).
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createServer, type ServeHandle, type ServeOptions } from '../../src/serve/server.js';
import { decodePictureMessage } from '../../src/serve/picture-message.js';
import { PROTOCOL_VERSION, checkMessage, type FrameMessage, type PictureHeader, type ServerMessage } from '../../src/serve/protocol.js';
import { stuckWsClient } from '../helpers/service.js';

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

type Got = { kind: 'text'; msg: ServerMessage } | { kind: 'picture'; header: PictureHeader; jpeg: Buffer };

/** A ws client that keeps text and binary messages in arrival order, each checked against the published schema. */
class Viewer {
  readonly got: Got[] = [];
  readonly schemaErrors: string[] = [];
  private pingSeq = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        const { header, jpeg } = decodePictureMessage(data);
        this.got.push({ kind: 'picture', header, jpeg: Buffer.from(jpeg) });
        return;
      }
      const msg = JSON.parse(data.toString('utf8')) as ServerMessage;
      const err = checkMessage('serverMessage', msg);
      if (err) this.schemaErrors.push(err);
      this.got.push({ kind: 'text', msg });
    });
    ws.on('error', () => undefined);
  }

  static async connect(url: string): Promise<Viewer> {
    const v = new Viewer(new WebSocket(url));
    open.push(v);
    await until(() => v.texts().some((m) => m.type === 'hello'), 'hello');
    return v;
  }

  texts(): ServerMessage[] {
    return this.got.flatMap((g) => (g.kind === 'text' ? [g.msg] : []));
  }

  frames(): FrameMessage[] {
    return this.texts().filter((m): m is FrameMessage => m.type === 'frame');
  }

  pictures(): { header: PictureHeader; jpeg: Buffer }[] {
    return this.got.flatMap((g) => (g.kind === 'picture' ? [g] : []));
  }

  send(msg: object): void {
    this.ws.send(JSON.stringify(msg));
  }

  /** Round-trips a ping: whatever the server queued for us before it has arrived, and our earlier messages were handled. */
  async sync(): Promise<void> {
    const id = `sync-${++this.pingSeq}`;
    this.send({ type: 'ping', id });
    await until(() => this.texts().some((m) => m.type === 'pong' && m.id === id), `pong ${id}`);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

let seq = 0;
function frame(camera: string): FrameMessage {
  const now = Date.now();
  return { type: 'frame', camera, seq: seq++, ptsMs: 0, captureTs: now - 5, publishTs: now, latencyMs: 5, inferenceMs: 3, width: 960, height: 540, boxes: [{ x: 1, y: 2, w: 30, h: 40, label: 'person', classId: 0, score: 0.9, trackId: 4 }] };
}

/** Opaque bytes that start like a JPEG file (the hub never looks inside). */
function jpegLike(bytes: number, fill: number): Buffer {
  const b = Buffer.alloc(bytes, fill);
  b[0] = 0xff;
  b[1] = 0xd8;
  return b;
}

/** Frame then picture of the same seq, as the service sends them. */
function publish(s: ServeHandle, camera: string, bytes = 200): FrameMessage {
  const f = frame(camera);
  s.hub.publishFrame(f);
  s.hub.publishPicture({ frame: f, width: 512, height: 288, jpeg: jpegLike(bytes, f.seq % 251) });
  return f;
}

/** A client that never reads after its handshake (stuckWsClient), destroyed after the test. */
async function stuckClient(port: number, path: string): Promise<Socket> {
  const socket = await stuckWsClient(port, path);
  open.push({ close: () => socket.destroy() });
  return socket;
}

describe('pictures over the WebSocket', () => {
  it('go only to clients that ask, after the frame of the same seq, carrying that frame; JSON-only clients see no binary message', async () => {
    const s = await serve({ hub: { pictures: true } });
    const json = await Viewer.connect(`${s.url}?cameras=*`);
    const pic = await Viewer.connect(`${s.url}?cameras=*&pictures=1`);
    expect(json.texts()[0]).toMatchObject({ type: 'hello', version: PROTOCOL_VERSION });
    expect(PROTOCOL_VERSION).toBe(3);
    expect(s.hub.picturesWanted('door')).toBe(true);
    expect(s.hub.pictureWatchers('door')).toBe(1);

    const sent = [publish(s, 'door'), publish(s, 'door'), publish(s, 'door')];
    await until(() => pic.pictures().length === 3, 'three pictures');
    await json.sync();

    // In order: frame n, picture n, frame n+1, ...
    const order = pic.got.filter((g) => g.kind === 'picture' || g.msg.type === 'frame').map((g) => (g.kind === 'picture' ? `p${g.header.seq}` : `f${(g.msg as FrameMessage).seq}`));
    expect(order).toEqual(sent.flatMap((f) => [`f${f.seq}`, `p${f.seq}`]));
    for (const [i, p] of pic.pictures().entries()) {
      expect(p.header).toEqual({ type: 'picture', camera: 'door', seq: sent[i]!.seq, format: 'jpeg', width: 512, height: 288, frame: sent[i] });
      expect(p.jpeg).toEqual(jpegLike(200, sent[i]!.seq % 251));
    }
    expect(json.frames().map((f) => f.seq)).toEqual(sent.map((f) => f.seq));
    expect(json.got.filter((g) => g.kind === 'picture')).toEqual([]);
    expect(json.schemaErrors).toEqual([]);
    expect(pic.schemaErrors).toEqual([]);
    expect(s.hub.stats().totals).toMatchObject({ picturesPublished: 3, picturesSent: 3, picturesDropped: 0 });
  });

  it('follow the subscription: pictures: false stops them while frames go on; unsubscribe stops both; a closed viewer stops them', async () => {
    const s = await serve({ hub: { pictures: true } });
    const v = await Viewer.connect(s.url);
    expect(s.hub.picturesWanted('a')).toBe(false);
    v.send({ type: 'subscribe', cameras: ['a', 'b'], pictures: true });
    await v.sync();
    expect([s.hub.picturesWanted('a'), s.hub.picturesWanted('b'), s.hub.picturesWanted('c')]).toEqual([true, true, false]);

    v.send({ type: 'subscribe', cameras: ['a'], pictures: false });
    await v.sync();
    expect([s.hub.picturesWanted('a'), s.hub.picturesWanted('b')]).toEqual([false, true]);
    const a = publish(s, 'a');
    const b = publish(s, 'b');
    await until(() => v.pictures().length === 1, 'the picture of b');
    await v.sync();
    expect(v.frames().map((f) => f.seq)).toEqual([a.seq, b.seq]);
    expect(v.pictures().map((p) => p.header.seq)).toEqual([b.seq]);

    // A subscribe without `pictures` leaves them as they were.
    v.send({ type: 'subscribe', cameras: ['b'] });
    await v.sync();
    expect(s.hub.picturesWanted('b')).toBe(true);
    v.send({ type: 'unsubscribe', cameras: ['b'] });
    await v.sync();
    expect(s.hub.picturesWanted('b')).toBe(false);

    // '*' with an exclusion, as the viewer's large view does.
    v.send({ type: 'subscribe', cameras: '*', pictures: true });
    v.send({ type: 'unsubscribe', cameras: ['c'] });
    await v.sync();
    expect([s.hub.picturesWanted('a'), s.hub.picturesWanted('new-camera'), s.hub.picturesWanted('c')]).toEqual([true, true, false]);
    expect(s.hub.stats().clients[0]).toMatchObject({ subscribed: '*', excluded: ['c'], pictures: '*' });

    await v.close();
    await until(() => s.hub.clientCount === 0, 'the viewer gone');
    expect(s.hub.picturesWanted('a')).toBe(false);
  });

  it('a server that encodes none answers pictures: true with PICTURES_DISABLED and still subscribes the frames', async () => {
    const s = await serve();
    const v = await Viewer.connect(s.url);
    v.send({ type: 'subscribe', cameras: ['a'], pictures: true });
    await v.sync();
    expect(v.texts().find((m) => m.type === 'error' && m.code !== 'UNKNOWN_CAMERA')).toMatchObject({ type: 'error', code: 'PICTURES_DISABLED', message: expect.stringMatching(/viewer\.enabled: false/) as unknown });
    expect(s.hub.picturesWanted('a')).toBe(false);
    const f = publish(s, 'a');
    await until(() => v.frames().length === 1, 'the frame');
    expect(v.frames()[0]!.seq).toBe(f.seq);
    expect(v.schemaErrors).toEqual([]);
  });

  it('refuses a bad ?pictures= upgrade query with 400 naming the problem', async () => {
    const s = await serve({ hub: { pictures: true } });
    const refusal = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const ws = new WebSocket(`${s.url.replace(/\/ws$/, '')}${path}`);
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        ws.on('open', () => reject(new Error(`${path} was accepted`)));
        ws.on('error', () => undefined);
      });
    expect(await refusal('/ws?pictures=1')).toMatchObject({ status: 400, body: expect.stringMatching(/add cameras=\*/) as unknown });
    expect(await refusal('/ws?cameras=*&pictures=maybe')).toMatchObject({ status: 400, body: expect.stringMatching(/expected 1, true, 0 or false/) as unknown });
  });

  it('a viewer that never reads holds at most maxQueuedPictures pictures and never holds up a reading viewer', async () => {
    const maxQueuedPictures = 2;
    const pictureMaxBufferedBytes = 256 * 1024;
    // Frames may fill the socket up to 4 MiB; pictures stop at 256 KiB.
    const s = await serve({ hub: { pictures: true, maxQueuedPictures, pictureMaxBufferedBytes, maxBufferedBytes: 4 * 1024 * 1024, stuckTimeoutMs: 60_000, pongTimeoutMs: 0 } });
    const stuck = await stuckClient(s.port, '/ws?cameras=cam&pictures=1');
    const good = await Viewer.connect(`${s.url}?cameras=cam&pictures=1`);
    await until(() => s.hub.stats().totals.clients === 2, 'both viewers registered');
    const stuckId = s.hub.stats().clients[0]!.id;

    // 400 pictures of 40 KB: 16 MB, more than the kernel absorbs for a reader that stopped.
    const total = 400;
    const bytes = 40_000;
    let maxQueuedBytes = 0;
    let maxBuffered = 0;
    let frameBytes = 0;
    for (let i = 0; i < total; i++) {
      frameBytes = Math.max(frameBytes, JSON.stringify(publish(s, 'cam', bytes)).length);
      const st = s.hub.stats().clients.find((c) => c.id === stuckId)!;
      maxQueuedBytes = Math.max(maxQueuedBytes, st.queuedBytes);
      maxBuffered = Math.max(maxBuffered, st.bufferedAmount);
      // The good viewer reads as it goes: it must get every picture.
      if (i % 10 === 9) await until(() => good.pictures().length === i + 1, `good viewer picture ${i}`);
    }
    await until(() => good.pictures().length === total, 'every picture at the good viewer');
    const st = s.hub.stats().clients.find((c) => c.id === stuckId)!;
    const goodSt = s.hub.stats().clients.find((c) => c.id !== stuckId)!;
    expect(goodSt).toMatchObject({ picturesSent: total, picturesDropped: 0, dropped: 0 });
    // Bounded: at most two pictures queued (with their header) and the frames' own queue; past the
    // picture cap the socket takes no more pictures, only the small frames (allowed up to 4 MiB).
    const pictureBytes = bytes + 4 + 2 * frameBytes;
    expect(maxQueuedBytes).toBeLessThanOrEqual(maxQueuedPictures * pictureBytes + 32 * frameBytes);
    expect(maxBuffered).toBeLessThanOrEqual(pictureMaxBufferedBytes + pictureBytes + total * frameBytes);
    expect(st.picturesDropped).toBeGreaterThan(0);
    expect(st.picturesSent + st.picturesDropped).toBeLessThanOrEqual(total);
    expect(s.hub.stats().totals.picturesDropped).toBe(st.picturesDropped);
    stuck.destroy();
  });
});
