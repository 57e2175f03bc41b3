/**
 * A fleet as a user runs it: `neulens serve --fleet` instances and a
 * `neulens gateway`, each its own process (so SIGKILL and SIGTERM are real),
 * against a real nats-server -js (Debian's, started here on a loopback port
 * with a file store), a real Mosquitto, real ffmpeg on the paced sample
 * clip, the real model, real WebSocket clients. A NATS client of the test's
 * own counts who publishes each camera's frames, second by second.
 *
 * 1. Three instances, six cameras, lease TTL 4 s: every camera runs on
 *    exactly one instance (two each), the gateway's client gets all six,
 *    /api/stats names each one's instance, pictures flow only while a
 *    gateway client watches; then one instance is SIGKILLed while one of its
 *    MQTT events is open: its cameras resume elsewhere within TTL + 10 s,
 *    never with two publishers for more than a lease period, the gateway's
 *    client sees offline then online for those cameras only, its last will
 *    says offline, and the new owner ends its open events (owner-lost).
 *    Then a fourth instance joins: it takes one camera from each survivor,
 *    a lease period apart, and no camera changes owner more than once.
 * 2. Two instances, lease TTL 20 s: NATS restarted (3 s away, file storage):
 *    both reconnect and keep their cameras, nothing runs twice; then SIGTERM
 *    on one: its cameras move within seconds, far inside the TTL.
 *
 * The CLI's errors (a bad fleet config exits 2 naming the key, an
 * unreachable or JetStream-less NATS exits 1 naming fleet.url) are in
 * fleet-cli.test.ts. bin/neulens.js runs the compiled dist/.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { WireEvent } from '../../src/mqtt/payloads.js';
import { checkSchema } from '../../src/core/json-schema.js';
import { decodePictureMessage } from '../../src/serve/picture-message.js';
import { statsSchema } from '../../src/serve/stats-schema.js';
import { checkMessage, type HelloMessage, type ServerMessage } from '../../src/serve/protocol.js';
import type { FleetInstanceStats } from '../../src/fleet/instance.js';
import { FrameRecorder, startGateway, startInstance, waitReady, writeConfig, type Cli } from '../helpers/fleet.js';
import { MqttProbe, requireMosquitto, startBroker, type Broker } from '../helpers/mosquitto.js';
import { requireNats, startNats, type NatsServer } from '../helpers/nats.js';
import { PARADE, REPO_ROOT, WsProbe, getText, waitForAsync } from '../helpers/service.js';

const skip = requireNats('fleet tests') ?? requireMosquitto('fleet tests');

const PACK = path.join(REPO_ROOT, 'models/nanodet-g');

function fleetYaml(o: { ttlMs: number; cameras: number; mqtt?: string }): string {
  const cams = Array.from({ length: o.cameras }, (_, i) => `  - { id: cam${i + 1}, url: ${PARADE}, loop: true, fps: 5, stallTimeoutMs: 2000 }`).join('\n');
  return `server:
  port: \${PORT}
model:
  pack: ${PACK}
  strategy: full
  inputSize: [320, 192]
  workers: 1
  threads: 1
viewer:
  fps: 2
${o.mqtt ? `mqtt:\n  url: ${o.mqtt}\n  statsIntervalMs: 60000\n` : ''}fleet:
  instance: \${NEULENS_INSTANCE}
  leaseTtlMs: ${o.ttlMs}
cameras:
${cams}
logging:
  level: info
`;
}

const fleetOf = async (cli: Cli): Promise<FleetInstanceStats> => (await cli.stats()).fleet as unknown as FleetInstanceStats;
const heldBy = async (cli: Cli): Promise<string[]> => (await fleetOf(cli)).member.held.map((h) => h.camera).sort();

async function holdings(clis: readonly Cli[]): Promise<Map<string, string[]>> {
  return new Map(await Promise.all(clis.map(async (c) => [c.name, await heldBy(c)] as [string, string[]])));
}

/** Every process started here, ended (SIGKILL) at the end, whatever happened. */
async function endAll(clis: readonly Cli[]): Promise<void> {
  for (const c of clis) if (c.alive()) c.child.kill('SIGKILL');
  await Promise.all(clis.map((c) => c.exited));
}

describe.skipIf(skip !== undefined)('a fleet of three instances and a gateway (lease TTL 4 s)', () => {
  const TTL = 4000;
  let dir: string;
  let nats: NatsServer;
  let broker: Broker;
  let mqtt: MqttProbe;
  let recorder: FrameRecorder;
  let instances: Cli[] = [];
  let gateway: Cli;
  let client: WsProbe;
  let config: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'neulens-fleet-'));
    nats = await startNats();
    broker = await startBroker();
    mqtt = await MqttProbe.connect(broker.url, ['neulens/#']);
    recorder = await FrameRecorder.start(nats.url);
    config = await writeConfig(path.join(dir, 'fleet.yaml'), fleetYaml({ ttlMs: TTL, cameras: 6, mqtt: broker.url }));
    instances = await Promise.all(['a', 'b', 'c'].map((n) => startInstance(n, config, nats.url)));
    gateway = await startGateway(config, nats.url);
    await Promise.all([...instances, gateway].map((c) => waitReady(c, 90_000)));
    client = await WsProbe.connect(gateway.ws);
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await endAll([...instances, ...(gateway ? [gateway] : [])]);
    await recorder?.close();
    await mqtt?.close();
    await broker?.dispose();
    await nats?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('spreads six cameras over three instances, one each at a time; the gateway serves all six as a single instance would', async () => {
    const hello = client.received[0]?.msg as HelloMessage;
    expect(hello.type).toBe('hello');
    expect(hello.cameras.map((c) => c.id).sort()).toEqual(['cam1', 'cam2', 'cam3', 'cam4', 'cam5', 'cam6']);

    await client.until(() => new Set(client.frames().map((f) => f.msg.camera)).size === 6, 60_000, 'frames of all six cameras at the gateway');
    // Two each: instances started together count each other before they claim.
    await waitForAsync(async () => [...(await holdings(instances)).values()].every((h) => h.length === 2), 30_000, 'two cameras per instance');
    const held = await holdings(instances);
    expect([...held.values()].flat().sort()).toEqual(['cam1', 'cam2', 'cam3', 'cam4', 'cam5', 'cam6']);

    // Over three seconds, each camera's frames come from its holder alone.
    const from = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    const owner = new Map([...held].flatMap(([inst, cams]) => cams.map((c) => [c, inst] as [string, string])));
    const publishers = recorder.publishers(from);
    for (const [cam, inst] of owner) expect([...(publishers.get(cam) ?? [])], cam).toEqual([inst]);

    // The gateway's stats name each camera's instance; its messages are the protocol's.
    const stats = await gateway.stats();
    expect(checkSchema(statsSchema, stats)).toBeNull();
    // And the viewer's page, from the same gateway.
    const page = await getText(`${gateway.http}/`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<html');
    for (const c of instances) expect(checkSchema(statsSchema, await c.stats()), c.name).toBeNull();
    for (const c of stats.cameras) {
      expect(c.instance, c.camera).toBe(owner.get(c.camera));
      expect(c.state).toBe('online');
      expect(c.fpsProcessed).toBeGreaterThan(0);
    }
    for (const r of client.received) expect(checkMessage('serverMessage', r.msg), JSON.stringify(r.msg).slice(0, 200)).toBeNull();
    const frame = client.frames('cam1').at(-1)?.msg;
    expect(frame && checkMessage('frame', frame)).toBeNull();
  });

  it("encodes a camera's pictures only while a gateway client watches them", async () => {
    const encoded = async (): Promise<Map<string, number>> => {
      const m = new Map<string, number>();
      for (const cli of instances) for (const p of (await cli.stats()).viewer?.cameras ?? []) m.set(p.camera, p.encoded);
      return m;
    };
    expect([...(await encoded()).values()].every((n) => n === 0)).toBe(true);

    const pics: Buffer[] = [];
    const ws = new WebSocket(`${gateway.ws}?cameras=cam3&pictures=1`);
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) pics.push(data);
    });
    await waitForAsync(async () => pics.length >= 2, 20_000, 'pictures of cam3 through the gateway');
    const { header, jpeg } = decodePictureMessage(pics[0] as Buffer);
    expect(header.camera).toBe('cam3');
    expect(header.frame.camera).toBe('cam3');
    expect(jpeg.length).toBeGreaterThan(1000);
    const during = await encoded();
    expect(during.get('cam3')).toBeGreaterThan(0);
    for (const [cam, n] of during) if (cam !== 'cam3') expect(n, cam).toBe(0);

    ws.close();
    // The demand lapses within its 3 s (or at once: the gateway says when nobody watches).
    await new Promise((r) => setTimeout(r, 4000));
    const stopped = (await encoded()).get('cam3') ?? 0;
    await new Promise((r) => setTimeout(r, 2000));
    expect((await encoded()).get('cam3')).toBe(stopped);
  });

  it("SIGKILL on an instance: its cameras resume on the others within TTL + 10 s, never twice for a lease period; its open events end (owner-lost)", async () => {
    const events = (): Array<WireEvent & { atMs: number }> => mqtt.on('neulens/events').map((r) => ({ ...(JSON.parse(r.payload) as WireEvent), atMs: r.atMs }));
    /** Events an instance opened and has not ended. */
    const openBy = (inst: string): Map<string, WireEvent> => {
      const open = new Map<string, WireEvent>();
      for (const e of events()) {
        if (e.type === 'new' && e.instance === inst) open.set(e.after.id, e);
        if (e.type === 'end') open.delete(e.after.id);
      }
      return open;
    };
    // The victim: an instance with an open event now, so that its end by the new owner can be seen.
    let victim: Cli | undefined;
    await waitForAsync(async () => (victim = instances.find((c) => openBy(c.name).size > 0)) !== undefined, 30_000, 'an instance with an open event');
    const v = victim as Cli;
    const lost = await heldBy(v);
    const others = instances.filter((c) => c !== v);
    const mark = client.mark();
    const t0 = Date.now();
    v.child.kill('SIGKILL');
    const openAtKill = openBy(v.name);
    expect(openAtKill.size).toBeGreaterThan(0);

    // Resumed elsewhere within TTL + 10 s.
    for (const cam of lost) {
      await waitForAsync(async () => recorder.firstFrom(cam, t0, v.name) !== undefined, TTL + 10_000 - (Date.now() - t0), `${cam} resumed after the SIGKILL`);
      const first = recorder.firstFrom(cam, t0, v.name);
      console.log(`fleet: ${cam} resumed on ${first?.instance} ${(first?.atMs ?? 0) - t0} ms after the SIGKILL (lease TTL ${TTL} ms)`);
    }
    // Its cameras are the others' now, every camera exactly once.
    await waitForAsync(async () => [...(await holdings(others)).values()].flat().length === 6, 10_000, 'the survivors to hold all six');
    expect([...(await holdings(others)).values()].flat().sort()).toEqual(['cam1', 'cam2', 'cam3', 'cam4', 'cam5', 'cam6']);

    // Never processed twice for more than one lease period (counted per camera per second, over the whole run).
    for (const [cam, secs] of recorder.doubleSeconds()) expect(secs.length, `${cam}: seconds with two publishers`).toBeLessThanOrEqual(TTL / 1000);

    // The gateway's client: offline (frames stopped for the stall timeout) then online, for those cameras only.
    await client.until(() => lost.every((cam) => client.since(mark).some((m) => m.type === 'status' && m.camera === cam && m.state === 'online')), 10_000, 'online again at the gateway');
    const statuses = client.since(mark).filter((m): m is Extract<ServerMessage, { type: 'status' }> => m.type === 'status');
    for (const cam of lost) {
      const states = statuses.filter((s) => s.camera === cam).map((s) => s.state);
      const off = states.indexOf('offline');
      expect(off, `${cam}: ${states.join(',')}`).toBeGreaterThanOrEqual(0);
      expect(states.slice(off).includes('online'), `${cam}: ${states.join(',')}`).toBe(true);
    }
    const bystanders = statuses.filter((s) => !lost.includes(s.camera));
    expect(bystanders.filter((s) => s.state === 'offline')).toEqual([]);

    // MQTT: the victim's own last will, and its open events ended by their new owners.
    await mqtt.until(() => mqtt.on(`neulens/available/${v.name}`).at(-1)?.payload === 'offline', 15_000, "the victim's last will");
    await mqtt.until(() => [...openAtKill.keys()].every((id) => events().some((e) => e.type === 'end' && e.after.id === id && e.atMs >= t0)), 15_000, 'the open events ended');
    for (const id of openAtKill.keys()) {
      const end = events().find((e) => e.type === 'end' && e.after.id === id && e.atMs >= t0) as WireEvent;
      expect(end.reason, id).toBe('owner-lost');
      expect(others.map((c) => c.name)).toContain(end.instance);
      expect(end.after.end_time).not.toBeNull();
      // The same end went out on NATS, on its camera's events subject, from the new owner.
      const onNats = recorder.events.find((r) => (r.payload as WireEvent).type === 'end' && (r.payload as WireEvent).after.id === id && (r.payload as WireEvent).reason === 'owner-lost');
      expect(onNats, id).toBeDefined();
      expect(onNats?.camera).toBe(end.after.camera);
      expect(onNats?.instance).toBe(end.instance);
    }
    expect(mqtt.on('neulens/available').at(-1)?.payload).toBe('online');
  });

  it('an instance joining takes one camera per lease period from the fullest, and no camera changes owner more than once', async () => {
    const live = instances.filter((c) => c.alive());
    const before = await holdings(live);
    // After the SIGKILL above: two survivors, three cameras each.
    expect([...before.values()].map((h) => h.length)).toEqual([3, 3]);
    const t0 = Date.now();
    const joiner = await startInstance('d', config, nats.url);
    instances.push(joiner);
    await waitReady(joiner, 90_000);
    await waitForAsync(async () => (await heldBy(joiner)).length === 2, 6 * TTL + 30_000, 'the newcomer to hold two cameras');
    const all = [...live, joiner];
    const settled = await holdings(all);
    expect([...settled.values()].map((h) => h.length)).toEqual([2, 2, 2]);
    expect([...settled.values()].flat().sort()).toEqual(['cam1', 'cam2', 'cam3', 'cam4', 'cam5', 'cam6']);

    // One from each survivor (the fullest gives), each one a lease period after the last arrived.
    const mine = (await fleetOf(joiner)).member.held;
    expect(mine.every((h) => h.moved)).toBe(true);
    const [first, second] = mine.map((h) => h.sinceMs).sort((a, b) => a - b) as [number, number];
    expect(second - first).toBeGreaterThanOrEqual(TTL);
    for (const c of live) expect((await fleetOf(c)).member.totals.handedOff, c.name).toBe(1);

    // Two more lease periods: nothing else moves.
    await new Promise((r) => setTimeout(r, 2 * TTL));
    expect(await holdings(all)).toEqual(settled);

    // Owner changes since the join, from who published each camera's frames in arrival order: at most one per
    // camera, only for the newcomer's two. Runs of one publisher, never interleaved: the giver stopped first.
    for (const cam of ['cam1', 'cam2', 'cam3', 'cam4', 'cam5', 'cam6']) {
      const seq = recorder.frames.filter((f) => f.camera === cam && f.atMs >= t0).map((f) => f.instance);
      const owners = seq.filter((who, i) => i === 0 || who !== seq[i - 1]);
      const moved = (settled.get('d') ?? []).includes(cam);
      expect(owners, cam).toEqual(moved ? [owners[0], 'd'] : [owners[0]]);
      expect(owners[0], cam).not.toBe('d');
    }
    console.log(`fleet: instance d joined; received ${mine.map((h) => h.camera).join(', ')} ${second - first} ms apart (lease TTL ${TTL} ms)`);
  });
});

describe.skipIf(skip !== undefined)('a fleet of two instances (lease TTL 20 s): NATS restarted, then a graceful stop', () => {
  const TTL = 20_000;
  let dir: string;
  let nats: NatsServer;
  let recorder: FrameRecorder;
  let instances: Cli[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'neulens-fleet-'));
    nats = await startNats();
    recorder = await FrameRecorder.start(nats.url);
    const config = await writeConfig(path.join(dir, 'fleet.yaml'), fleetYaml({ ttlMs: TTL, cameras: 4 }));
    instances = await Promise.all(['d', 'e'].map((n) => startInstance(n, config, nats.url)));
    await Promise.all(instances.map((c) => waitReady(c, 90_000)));
    await waitForAsync(async () => [...(await holdings(instances)).values()].every((h) => h.length === 2), 60_000, 'two cameras per instance');
    await waitForAsync(async () => new Set(recorder.frames.map((f) => f.camera)).size === 4, 30_000, 'frames of all four cameras');
  }, 150_000);

  afterAll(async () => {
    await endAll(instances);
    await recorder?.close();
    await nats?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('NATS away for 3 s and back (file storage): every instance reconnects and keeps its cameras; nothing runs twice', async () => {
    const before = await holdings(instances);
    await nats.stop('SIGTERM');
    const down = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    // Away: the cameras run on, for their local clients (NATS is only the fan-out).
    for (const c of instances) expect((await c.stats()).cameras.every((s) => s.state === 'online'), c.name).toBe(true);
    await nats.restart();
    const up = Date.now();
    await waitForAsync(async () => (await Promise.all(instances.map(fleetOf))).every((f) => f.nats.connected && f.nats.reconnects >= 1), 15_000, 'both reconnected');
    await waitForAsync(async () => new Set(recorder.frames.filter((f) => f.atMs > up).map((f) => f.camera)).size === 4, 15_000, 'frames of all four after the restart');
    // Two lease renewals later, nothing has moved.
    await new Promise((r) => setTimeout(r, TTL / 2));
    expect(await holdings(instances)).toEqual(before);
    for (const c of instances) {
      const f = await fleetOf(c);
      expect(f.member.totals, c.name).toMatchObject({ lost: 0, fenced: 0 });
      // The frames NATS missed were dropped at once and counted, not queued behind the outage.
      expect(f.nats.dropped.disconnected, c.name).toBeGreaterThan(0);
    }
    const owner = new Map([...before].flatMap(([inst, cams]) => cams.map((cam) => [cam, inst] as [string, string])));
    for (const [cam, who] of recorder.publishers(up)) expect([...who], cam).toEqual([owner.get(cam)]);
    for (const [cam, secs] of recorder.doubleSeconds()) expect(secs, cam).toEqual([]);
    console.log(`fleet: NATS away ${up - down} ms; both instances kept their cameras`);
  });

  it("SIGTERM on an instance: it exits 0 and its cameras move within seconds, without waiting for the lease's 20 s", async () => {
    const [d, e] = instances as [Cli, Cli];
    const moving = await heldBy(d);
    const t0 = Date.now();
    d.child.kill('SIGTERM');
    expect(await d.exited, d.output()).toEqual({ code: 0, signal: null });
    for (const cam of moving) {
      await waitForAsync(async () => recorder.firstFrom(cam, t0, d.name) !== undefined, 8000, `${cam} on ${e.name}`);
      const first = recorder.firstFrom(cam, t0, d.name);
      expect(first?.instance).toBe(e.name);
      console.log(`fleet: ${cam} resumed on ${e.name} ${(first?.atMs ?? 0) - t0} ms after SIGTERM (lease TTL ${TTL} ms)`);
    }
    expect(await heldBy(e)).toEqual(['cam1', 'cam2', 'cam3', 'cam4']);
    for (const [cam, secs] of recorder.doubleSeconds()) expect(secs.length, cam).toBeLessThanOrEqual(1);
  });
});
