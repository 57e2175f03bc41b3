/**
 * The camera routes of a fleet: POST/PUT/DELETE /api/cameras/{id} on an
 * instance edit the fleet's camera list (the key `cameras` of
 * <bucket>-fleet), and the leases place or stop the camera on whichever
 * instance holds it. Two real fleet instances in this process (each its own
 * NATS connection, service, model and HTTP server) against a real
 * nats-server -js; real ffmpeg on the parade clip; a NATS client of the
 * test's own records who publishes each camera's frames.
 *
 * Instance a has a token; b has none, so b refuses every change (403) and
 * still lists the fleet's cameras with their owners. The fleet starts with
 * one disabled camera (a config needs one; nothing runs), so the only
 * ffmpeg is the added camera's.
 *
 * Proved: a POST on a adds a camera that then runs on exactly one of the
 * two (its frames on NATS from that instance alone, which GET on b names as
 * its owner); a bad camera is refused whole naming the key, with the KV
 * list unchanged (same revision); 409/404 for an existing/unknown id; a PUT
 * changes a camera in the list; two writers at once both land (the
 * revision check); a DELETE stops the camera: no ffmpeg left, no frames.
 */
import { connect, type KV, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigSource } from '../../src/config/edit.js';
import { resolveFleet } from '../../src/config/index.js';
import { silentLogger } from '../../src/core/log.js';
import { FleetCameras } from '../../src/fleet/camera-api.js';
import { parseCameraList } from '../../src/fleet/camera-list.js';
import { FleetInstance } from '../../src/fleet/instance.js';
import { CAMERAS_KEY, bucketNames } from '../../src/fleet/subjects.js';
import { ffmpegDescendants } from '../helpers/ffmpeg-fixtures.js';
import { FrameRecorder } from '../helpers/fleet.js';
import { requireNats, startNats, type NatsServer } from '../helpers/nats.js';
import { REPO_ROOT, getJson, testConfig, waitForAsync, sendJson } from '../helpers/service.js';

const skip = requireNats('fleet camera routes tests');

const TOKEN = 's3cret';
const AUTH = { authorization: `Bearer ${TOKEN}` };

/** A request with the token unless told otherwise. */
const send = (method: string, url: string, body?: string, headers: Record<string, string> = AUTH) => sendJson(method, url, body, headers);

function yaml(o: { instance: string; natsUrl: string; token: boolean }): string {
  return `server: { port: 0${o.token ? `, authToken: ${TOKEN}` : ''} }
model: { pack: models/nanodet-g, strategy: full, inputSize: [320, 192], workers: 1, threads: 1 }
viewer: { enabled: false }
fleet: { url: ${o.natsUrl}, instance: ${o.instance}, leaseTtlMs: 4000, storage: memory }
cameras:
  - { id: parked, url: samples/parade.mp4, enabled: false }
`;
}

async function startInstance(o: { instance: string; natsUrl: string; token: boolean }): Promise<{ fleet: FleetInstance; api: string; source: ConfigSource }> {
  const text = yaml(o);
  const source: ConfigSource = { text, name: `${o.instance}.yaml`, baseDir: REPO_ROOT, env: {} };
  const config = testConfig(text);
  const fleet = await FleetInstance.start({ ...config, fleet: resolveFleet(config.fleet, undefined)! }, silentLogger, source);
  return { fleet, api: `${fleet.service.server.httpUrl}/api/cameras`, source };
}

describe.skipIf(skip !== undefined)('camera routes in a fleet of two instances', () => {
  let nats: NatsServer;
  let recorder: FrameRecorder;
  let nc: NatsConnection;
  let kv: KV;
  let a: Awaited<ReturnType<typeof startInstance>>;
  let b: Awaited<ReturnType<typeof startInstance>>;

  /** The stored list's ids and revision. */
  const stored = async (): Promise<{ ids: string[]; revision: number; fps: Record<string, number | undefined> }> => {
    const e = await kv.get(CAMERAS_KEY);
    const cams = e ? parseCameraList(e.value) : [];
    if (typeof cams === 'string') throw new Error(cams);
    return { ids: cams.map((c) => c.id), revision: e?.revision ?? 0, fps: Object.fromEntries(cams.map((c) => [c.id, c.fps])) };
  };
  const heldBy = (i: FleetInstance): string[] => i.stats().member.held.map((h) => h.camera);

  beforeAll(async () => {
    nats = await startNats();
    recorder = await FrameRecorder.start(nats.url);
    nc = await connect({ servers: nats.url });
    a = await startInstance({ instance: 'a', natsUrl: nats.url, token: true });
    b = await startInstance({ instance: 'b', natsUrl: nats.url, token: false });
    kv = await nc.jetstream().views.kv(bucketNames('neulens').fleet);
  }, 120_000);

  afterAll(async () => {
    await a?.fleet.close();
    await b?.fleet.close();
    await nc?.close();
    await recorder?.close();
    await nats?.dispose();
  });

  it('a POST on one instance adds a camera that runs on exactly one; bad changes are refused and change nothing; a DELETE stops it', async () => {
    // b has no token: it refuses changes, and still lists the fleet's cameras.
    expect((await send('POST', `${b.api}/cam1`, '{"url": "samples/parade.mp4"}', {})).status).toBe(403);
    expect((await getJson(b.api)).body).toEqual({ cameras: [{ id: 'parked', kind: 'file', url: expect.stringContaining('parade.mp4') as unknown, enabled: false, state: 'disabled', owner: null }] });
    // a has one: a change without it is 401.
    expect((await send('POST', `${a.api}/cam1`, '{"url": "samples/parade.mp4"}', {})).status).toBe(401);

    // Added on a (a relative url, as in a's config file): the list in KV has it, and one instance runs it.
    const added = await send('POST', `${a.api}/cam1`, '{"url": "samples/parade.mp4", "loop": true, "fps": 5, "stallTimeoutMs": 2000}');
    expect(added).toMatchObject({ status: 201, body: { added: ['cam1'], removed: [], changed: [], needsRestart: [] } });
    expect((await stored()).ids).toEqual(['parked', 'cam1']);
    await waitForAsync(async () => recorder.frames.filter((f) => f.camera === 'cam1').length >= 3, 60_000, 'frames of cam1 on NATS');
    const owners = [a.fleet, b.fleet].filter((i) => heldBy(i).includes('cam1'));
    expect(owners).toHaveLength(1);
    const owner = (owners[0] as FleetInstance).instance;
    const from = Date.now();
    await new Promise((r) => setTimeout(r, 1000));
    expect([...(recorder.publishers(from).get('cam1') ?? [])]).toEqual([owner]);
    // Either instance names its owner.
    const listed = (await getJson(b.api)).body as { cameras: Array<{ id: string; owner: string | null; state: string }> };
    const entry = listed.cameras.find((c) => c.id === 'cam1');
    expect(entry?.owner, JSON.stringify(entry)).toBe(owner);
    // b's own camera has its running state (connecting, running, ...); a's is elsewhere to b.
    if (owner === 'b') expect(['elsewhere', 'unassigned', 'disabled']).not.toContain(entry?.state);
    else expect(entry?.state).toBe('elsewhere');

    // Refused whole, the key named; the list in KV is not written.
    const before = await stored();
    const bad = await send('POST', `${a.api}/cam2`, '{"url": "samples/parade.mp4", "fps": -1}');
    expect(bad.status).toBe(400);
    expect(bad.body.key).toBe('cameras[2].fps');
    expect(bad.body.error).toMatch(/cameras\[2\]\.fps/);
    expect((await send('POST', `${a.api}/cam1`, '{"url": "samples/parade.mp4"}')).status).toBe(409);
    expect((await send('DELETE', `${a.api}/nope`)).status).toBe(404);
    expect((await send('PUT', `${a.api}/nope`, '{"url": "samples/parade.mp4"}')).status).toBe(404);
    expect(await stored()).toEqual(before);

    // A PUT changes the list (a disabled camera: nothing starts).
    expect(await send('PUT', `${a.api}/parked`, '{"url": "samples/parade.mp4", "enabled": false, "fps": 2}')).toMatchObject({ status: 200, body: { added: [], removed: [], changed: ['parked'] } });
    expect((await stored()).fps.parked).toBe(2);

    // Two writers at once (as two instances would be: no queue between them), both reading the same
    // revision before either writes: the second write is refused, made again on the new list, and lands.
    const leases = await nc.jetstream().views.kv(bucketNames('neulens').leases);
    const writer = (instance: string): FleetCameras => new FleetCameras({ fleet: kv, leases, instance, source: a.source, cameras: () => [], states: () => new Map(), log: silentLogger });
    const [x1, x2] = await Promise.all([writer('w1').add('x1', '{"url": "samples/parade.mp4", "enabled": false}'), writer('w2').add('x2', '{"url": "samples/parade.mp4", "enabled": false}')]);
    expect([x1.added, x2.added]).toEqual([['x1'], ['x2']]);
    expect((await stored()).ids.sort()).toEqual(['cam1', 'parked', 'x1', 'x2']);

    // Removed on b's side of the fleet too: its owner stops it, ffmpeg and all.
    expect(await send('DELETE', `${a.api}/cam1`)).toMatchObject({ status: 200, body: { added: [], removed: ['cam1'], changed: [] } });
    await waitForAsync(() => Promise.resolve(heldBy(a.fleet).length + heldBy(b.fleet).length === 0), 20_000, 'cam1 released');
    await waitForAsync(() => Promise.resolve(ffmpegDescendants().length === 0), 10_000, 'no ffmpeg left');
    const stoppedAt = Date.now();
    await new Promise((r) => setTimeout(r, 1000));
    expect(recorder.frames.filter((f) => f.camera === 'cam1' && f.atMs > stoppedAt)).toHaveLength(0);
    expect((await stored()).ids.sort()).toEqual(['parked', 'x1', 'x2']);
  }, 120_000);
});
