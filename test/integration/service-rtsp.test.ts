/**
 * The whole service against a real RTSP camera: a GStreamer RTSP server on
 * loopback serves the demo clip (real people, a cat, a horse) in a loop over
 * TCP; NeulensService decodes, detects and tracks it; a real WebSocket client
 * reads the boxes. Killing the server is the camera vanishing, starting it
 * again on the same port is the camera coming back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/log.js';
import { NeulensService } from '../../src/service/service.js';
import { checkMessage, type FrameMessage } from '../../src/serve/protocol.js';
import { ffmpegDescendants } from '../helpers/ffmpeg-fixtures.js';
import { gstRtspUnavailableReason, startGstRtspServer, type GstRtspServer } from '../helpers/rtsp-server.js';
import { PARADE, WsProbe, isFrame, testConfig } from '../helpers/service.js';

const unavailable = gstRtspUnavailableReason({ file: true });
// On CI the packages are installed by .ci/setup-system.sh: missing there is a failure, not a skip.
if (unavailable && process.env.CI) throw new Error(unavailable);
if (unavailable) console.warn(`skipping service RTSP tests: ${unavailable}`);

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

function serveClip(port = 0): Promise<GstRtspServer> {
  return startGstRtspServer({ port, file: PARADE }).then((s) => {
    open.push({ close: () => s.stop() });
    return s;
  });
}

/** A frame with a tracked person: what a user of the demo expects to see. */
const trackedPerson = (f: FrameMessage): boolean => f.boxes.some((b) => b.label === 'person' && b.trackId !== undefined);

describe.skipIf(unavailable !== undefined)('NeulensService with an RTSP camera', () => {
  it('streams tracked person boxes; camera lost → offline; camera back → online and detections resume', async () => {
    const camera = await serveClip();
    const service = await NeulensService.start(
      testConfig(`
server: { port: 0 }
cameras:
  - id: gate
    url: ${camera.url}
    transport: tcp
    stallTimeoutMs: 8000
    reconnect: { initialMs: 200, maxMs: 1000 }
`),
      { log: silentLogger },
    );
    open.push(service);
    const client = await WsProbe.connect(service.url);
    open.push(client);

    // Detections in source pixels, with track ids, from the camera's real scene.
    await client.until(() => client.frames('gate').some((r) => trackedPerson(r.msg)), 30_000, 'a frame with a tracked person');
    const frames = client.frames('gate').map((r) => r.msg);
    for (const f of frames) expect(checkMessage('serverMessage', f)).toBeNull();
    expect(frames[0]).toMatchObject({ width: 960, height: 540 });
    const boxes = frames.flatMap((f) => f.boxes);
    const people = boxes.filter((b) => b.label === 'person');
    expect(people.length).toBeGreaterThan(0);
    for (const b of boxes) {
      expect(b.x).toBeGreaterThanOrEqual(0);
      expect(b.y).toBeGreaterThanOrEqual(0);
      expect(b.x + b.w).toBeLessThanOrEqual(960 + 0.5);
      expect(b.y + b.h).toBeLessThanOrEqual(540 + 0.5);
    }
    expect(client.statuses('gate').at(-1)?.msg.state).toBe('online');
    expect(ffmpegDescendants()).toHaveLength(1);

    // The camera vanishes mid-stream.
    const beforeKill = client.mark();
    await camera.stop('SIGKILL');
    await client.until(() => client.since(beforeKill).some((m) => m.type === 'status' && m.camera === 'gate' && m.state === 'offline'), 20_000, 'status offline');
    const offline = client.statuses('gate').find((r) => r.msg.state === 'offline');
    expect(offline?.msg.error).toEqual(expect.any(String));
    expect(offline?.msg.error?.length).toBeGreaterThan(0);

    // It comes back on the same port: online again, and detections resume within 10 s.
    const beforeBack = client.mark();
    await serveClip(camera.port);
    const deadline = Date.now() + 10_000;
    const left = (): number => Math.max(0, deadline - Date.now());
    await client.until(() => client.since(beforeBack).some((m) => m.type === 'status' && m.camera === 'gate' && m.state === 'online'), left(), 'status online after the camera came back');
    await client.until(() => client.since(beforeBack).filter(isFrame).some((f) => f.camera === 'gate' && f.boxes.some((b) => b.label === 'person')), left(), 'person boxes after the camera came back');
    const stats = service.stats().find((s) => s.camera === 'gate');
    expect(stats?.state).toBe('online');
    expect(stats?.reconnects).toBeGreaterThanOrEqual(1);

    // Shutdown: the client is told the server is going away, and no decoder outlives the service.
    await service.close();
    expect(await client.closed).toBe(1001);
    expect(ffmpegDescendants()).toEqual([]);
  });
});
