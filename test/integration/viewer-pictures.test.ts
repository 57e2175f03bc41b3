/**
 * The viewer's pictures from a real service on the sample clip: no JPEG is
 * encoded while no client watches (JSON clients do not count), encoding
 * starts when a client asks for pictures and stops when it leaves; each
 * picture is a real JPEG of the frame whose message it carries, at most
 * viewer.fps a second. The encoder is the real one (sharp), counted.
 */
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { silentLogger } from '../../src/core/log.js';
import { decodePictureMessage } from '../../src/serve/picture-message.js';
import type { FrameMessage, PictureHeader, ServerMessage } from '../../src/serve/protocol.js';
import { NeulensService } from '../../src/service/service.js';
import { jpegEncoder, type PictureEncoder } from '../../src/viewer/encoder.js';
import { PARADE, getText, testConfig, waitForAsync } from '../helpers/service.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** sharp's encoder, counting its calls. */
function countedEncoder(): { calls: () => number; encoder: PictureEncoder } {
  const real = jpegEncoder({ maxWidth: 960, quality: 75 });
  let calls = 0;
  return { calls: () => calls, encoder: { encode: (rgb, w, h) => (calls++, real.encode(rgb, w, h)) } };
}

/** A ws client keeping text and binary messages apart, in arrival order. */
class Client {
  readonly got: ({ text: ServerMessage } | { picture: PictureHeader; jpeg: Buffer })[] = [];
  readonly closed: Promise<void>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        const { header, jpeg } = decodePictureMessage(data);
        this.got.push({ picture: header, jpeg: Buffer.from(jpeg) });
      } else {
        this.got.push({ text: JSON.parse(data.toString('utf8')) as ServerMessage });
      }
    });
    ws.on('error', () => undefined);
    this.closed = new Promise((resolve) => ws.once('close', () => resolve()));
    cleanup.push(() => this.close());
  }

  frames(): FrameMessage[] {
    return this.got.flatMap((g) => ('text' in g && g.text.type === 'frame' ? [g.text] : []));
  }

  pictures(): { picture: PictureHeader; jpeg: Buffer }[] {
    return this.got.flatMap((g) => ('picture' in g ? [g] : []));
  }

  texts(): ServerMessage[] {
    return this.got.flatMap((g) => ('text' in g ? [g.text] : []));
  }

  async until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    await waitForAsync(async () => pred(), timeoutMs, what, 20);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await this.closed;
  }
}

async function connect(url: string): Promise<Client> {
  const c = new Client(new WebSocket(url));
  await c.until(() => c.texts().some((m) => m.type === 'hello'), 15_000, 'hello');
  return c;
}

/** The value of a counter's sample for a camera in Prometheus text (0 when the sample is absent). */
function counter(metrics: string, name: string, camera: string): number {
  const m = new RegExp(`^${name}\\{camera="${camera}"\\} (\\d+)$`, 'm').exec(metrics);
  return m ? Number(m[1]) : 0;
}

describe('viewer pictures from a live service', () => {
  it('encodes nothing without a viewer; starts when one asks for pictures, stops when it leaves', async () => {
    const counted = countedEncoder();
    const service = await NeulensService.start(
      testConfig(`
server: { port: 0 }
viewer: { fps: 5 }
cameras:
  - id: demo
    url: ${PARADE}
    loop: true
`),
      { log: silentLogger, pictureEncoder: counted.encoder },
    );
    cleanup.push(() => service.close());
    const metrics = async () => (await getText(`${service.server.httpUrl}/metrics`)).text;

    // A JSON-only client (as `neulens watch` is): frames flow, nothing is encoded, no binary message.
    const json = await connect(`${service.url}?cameras=*`);
    await json.until(() => json.frames().length >= 20, 60_000, '20 frames');
    expect(counted.calls()).toBe(0);
    expect(counter(await metrics(), 'neulens_viewer_pictures_encoded_total', 'demo')).toBe(0);

    // A viewer asks for pictures: they come, each after its frame and carrying it, as real JPEGs.
    const viewer = await connect(`${service.url}?cameras=demo&pictures=1`);
    await viewer.until(() => viewer.pictures().length >= 6, 30_000, 'six pictures');
    expect(counted.calls()).toBeGreaterThanOrEqual(6);
    const pictures = viewer.pictures();
    for (const { picture, jpeg } of pictures) {
      const frameIndex = viewer.got.findIndex((g) => 'text' in g && g.text.type === 'frame' && g.text.seq === picture.seq);
      const pictureIndex = viewer.got.findIndex((g) => 'picture' in g && g.picture.seq === picture.seq);
      expect(frameIndex).toBeGreaterThanOrEqual(0);
      expect(frameIndex).toBeLessThan(pictureIndex);
      expect(picture.frame).toEqual((viewer.got[frameIndex] as { text: FrameMessage }).text);
      expect(picture).toMatchObject({ camera: 'demo', format: 'jpeg', width: 512, height: 288 });
      expect(await sharp(jpeg).metadata()).toMatchObject({ format: 'jpeg', width: 512, height: 288 });
    }
    // At most viewer.fps by the frames' own capture times: m + 1 pictures span m intervals, less a quarter.
    const times = pictures.map((p) => p.picture.frame.captureTs);
    for (let i = 0; i < times.length; i++) for (let m = 1; i + m < times.length; m++) expect(times[i + m]! - times[i]!).toBeGreaterThanOrEqual(m * 200 - 50);
    // Frames between pictures still reach the viewer: it got more frames than pictures.
    expect(viewer.frames().length).toBeGreaterThan(pictures.length);
    expect(json.got.some((g) => 'picture' in g)).toBe(false);

    // The viewer leaves: once the hub has let it go, no encoder call starts again.
    await viewer.close();
    await waitForAsync(async () => service.server.hub.clientCount === 1, 10_000, 'the viewer gone');
    const after = counted.calls();
    const seen = json.frames().length;
    await json.until(() => json.frames().length >= seen + 20, 60_000, '20 more frames');
    expect(counted.calls()).toBe(after);
    expect(counter(await metrics(), 'neulens_viewer_pictures_encoded_total', 'demo')).toBe(after);
    const stats = JSON.parse((await getText(`${service.server.httpUrl}/api/stats`)).text) as { viewer: { cameras: { camera: string; encoded: number; watchers: number }[] } };
    expect(stats.viewer.cameras).toEqual([expect.objectContaining({ camera: 'demo', encoded: after, watchers: 0 }) as unknown]);
  }, 120_000);

  it('viewer.enabled: false: no page, and pictures are refused with a typed error while frames flow', async () => {
    const counted = countedEncoder();
    const service = await NeulensService.start(
      testConfig(`
server: { port: 0 }
viewer: { enabled: false }
cameras:
  - id: demo
    url: ${PARADE}
    loop: true
`),
      { log: silentLogger, pictureEncoder: counted.encoder },
    );
    cleanup.push(() => service.close());
    expect(service.server.viewerUrl).toBeUndefined();
    expect((await getText(`${service.server.httpUrl}/`)).status).toBe(404);
    expect((await getText(`${service.server.httpUrl}/viewer/config.json`)).status).toBe(404);

    const client = await connect(service.url);
    client.ws.send(JSON.stringify({ type: 'subscribe', cameras: ['demo'], pictures: true }));
    await client.until(() => client.frames().length >= 10, 60_000, '10 frames');
    expect(client.texts().find((m) => m.type === 'error')).toMatchObject({ code: 'PICTURES_DISABLED' });
    expect(client.pictures()).toEqual([]);
    expect(counted.calls()).toBe(0);
  }, 120_000);
});
