/**
 * The lease rules of src/fleet/member.ts against a real nats-server -js
 * (loopback, file storage): many members in this process, each with its own
 * NATS connection, racing for the same keys. What runs a camera is the
 * member's CameraHost; here it records when each member started and stopped
 * each camera, so that "never two runners at once" can be checked to the
 * millisecond. (The real service behind it, ffmpeg and model, is
 * test/e2e/fleet.test.ts; this file is the engine's arbitration alone.)
 *
 * Proved here: racing claims give each camera one runner; maxCameras caps
 * a member; a change to the fleet's camera list (the KV key) stops a
 * removed camera and places a new one; a member cut off from NATS fences
 * its cameras before their leases can expire; a graceful close hands them
 * over well inside the TTL. Every test also checks no camera ever had two
 * runs at once.
 *
 * One member reaches NATS through a TCP relay in this test, so that it
 * alone can be cut off: the relay stops passing bytes, as a partitioned
 * network does (the socket stays open; only pings notice).
 */
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { connect } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CameraConfig } from '../../src/config/index.js';
import { FLEET_DEFAULTS, FleetSchema } from '../../src/config/index.js';
import { createLogger } from '../../src/core/log.js';
import { openBucket } from '../../src/fleet/instance.js';
import { FleetCameraList, encodeCameraList } from '../../src/fleet/camera-list.js';
import { NatsLink } from '../../src/fleet/link.js';
import { FleetMember } from '../../src/fleet/member.js';
import { CAMERAS_KEY, bucketNames } from '../../src/fleet/subjects.js';
import { requireNats, startNats, type NatsServer } from '../helpers/nats.js';
import { PARADE, freePort, testConfig, waitForAsync } from '../helpers/service.js';

const skip = requireNats('fleet lease tests');
const log = createLogger('error');

interface Run {
  member: string;
  camera: string;
  startMs: number;
  stopMs?: number;
}

/** Every start and stop of every member, in one list. */
const runs: Run[] = [];

function cameras(n: number): CameraConfig[] {
  const yaml = `model:\n  pack: models/nanodet-g\ncameras:\n${Array.from({ length: n }, (_, i) => `  - { id: cam${i + 1}, url: ${PARADE} }`).join('\n')}\n`;
  return testConfig(yaml).cameras;
}

/** No camera ever had two runs at once, across all members. */
function overlaps(): string[] {
  const out: string[] = [];
  const byCamera = new Map<string, Run[]>();
  for (const r of runs) byCamera.set(r.camera, [...(byCamera.get(r.camera) ?? []), r]);
  for (const [camera, rs] of byCamera) {
    const sorted = [...rs].sort((a, b) => a.startMs - b.startMs);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1] as Run;
      const cur = sorted[i] as Run;
      if (prev.stopMs === undefined || prev.stopMs > cur.startMs) out.push(`${camera}: ${prev.member} [${prev.startMs}, ${prev.stopMs ?? 'running'}) and ${cur.member} from ${cur.startMs}`);
    }
  }
  return out;
}

/** A relay to NATS that can stop passing bytes (a partition) and pass them again. */
class Relay {
  private cut = false;
  private readonly pairs = new Set<[Socket, Socket]>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: number): Promise<Relay> {
    const port = await freePort();
    const server = createServer();
    const relay = new Relay(server, port);
    server.on('connection', (a) => {
      const b = netConnect({ host: '127.0.0.1', port: target });
      const pair: [Socket, Socket] = [a, b];
      relay.pairs.add(pair);
      a.on('data', (d) => relay.cut || b.write(d));
      b.on('data', (d) => relay.cut || a.write(d));
      const end = (): void => {
        a.destroy();
        b.destroy();
        relay.pairs.delete(pair);
      };
      a.on('close', end).on('error', end);
      b.on('close', end).on('error', end);
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    return relay;
  }

  /** Bytes are dropped both ways; sockets stay open. */
  partition(): void {
    this.cut = true;
  }

  /** Healed: the client's next connection passes (the old, silent one it drops by itself). */
  heal(): void {
    this.cut = false;
  }

  async close(): Promise<void> {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

interface Joined {
  name: string;
  member: FleetMember;
  link: NatsLink;
  close(): Promise<void>;
}

async function join(name: string, url: string, list: CameraConfig[] | (() => readonly CameraConfig[]), ttlMs: number, bucket: string, maxCameras?: number): Promise<Joined> {
  const f = { ...FleetSchema.parse({ url, bucket, leaseTtlMs: ttlMs, storage: 'file' }), url };
  const link = await NatsLink.open({ url, instance: name, connectTimeoutMs: 3000, outboxSize: FLEET_DEFAULTS.outboxSize, maxPendingBytes: FLEET_DEFAULTS.maxPendingBytes, log });
  const names = bucketNames(bucket);
  const leases = await openBucket(link, names.leases, f, ttlMs);
  const members = await openBucket(link, names.members, f, ttlMs);
  const member = new FleetMember({
    link,
    leases,
    members,
    instance: name,
    leaseTtlMs: ttlMs,
    maxCameras,
    subjectPrefix: `t${bucket}`,
    cameras: typeof list === 'function' ? list : () => list,
    log,
    host: {
      start: async (cam) => {
        runs.push({ member: name, camera: cam.id, startMs: Date.now() });
      },
      stop: async (id) => {
        const r = runs.find((x) => x.member === name && x.camera === id && x.stopMs === undefined);
        if (r) r.stopMs = Date.now();
      },
    },
  });
  await member.join();
  return {
    name,
    member,
    link,
    close: async () => {
      await member.close();
      await link.close();
    },
  };
}

const running = (name: string): string[] =>
  runs
    .filter((r) => r.member === name && r.stopMs === undefined)
    .map((r) => r.camera)
    .sort();

describe.skipIf(skip !== undefined)('fleet leases on a real nats-server -js', () => {
  let nats: NatsServer;
  const open: Joined[] = [];

  beforeAll(async () => {
    nats = await startNats();
  });
  afterEach(async () => {
    for (const j of open.splice(0)) await j.close();
    runs.length = 0;
  });
  afterAll(async () => {
    await nats?.dispose();
  });

  it('five members racing for ten cameras from the same instant: each camera runs on exactly one, two each', async () => {
    const list = cameras(10);
    for (const name of ['m1', 'm2', 'm3', 'm4', 'm5']) open.push(await join(name, nats.url, list, 3000, 'race'));
    for (const j of open) j.member.begin();
    await waitForAsync(async () => open.every((j) => running(j.name).length === 2), 20_000, 'two cameras each');
    const all = open.flatMap((j) => running(j.name)).sort();
    expect(all).toEqual(list.map((c) => c.id).sort());
    // And the members' own view agrees with what ran.
    for (const j of open) expect(j.member.heldCameras().sort(), j.name).toEqual(running(j.name));
    // Held through several renewals: nothing moves, nothing is lost.
    await new Promise((r) => setTimeout(r, 3000));
    expect(open.flatMap((j) => running(j.name)).sort()).toEqual(all);
    expect(runs).toHaveLength(10);
    expect(overlaps()).toEqual([]);
    for (const j of open) expect(j.member.stats().totals, j.name).toMatchObject({ lost: 0, fenced: 0 });
  });

  it('fleet.maxCameras caps a member; the others take the rest, and a camera no member has room for waits unclaimed', async () => {
    const list = cameras(5);
    const small = await join('small', nats.url, list, 3000, 'cap', 1);
    const big = await join('big', nats.url, list, 3000, 'cap', 3);
    open.push(small, big);
    small.member.begin();
    big.member.begin();
    await waitForAsync(async () => running('small').length === 1 && running('big').length === 3, 20_000, 'one and three');
    // Several rounds later: still at their caps, and the fifth camera is nobody's.
    await new Promise((r) => setTimeout(r, 3000));
    expect(running('small')).toHaveLength(1);
    expect(running('big')).toHaveLength(3);
    const unassigned = big.member.stats().unassigned;
    expect(unassigned).toHaveLength(1);
    expect([...running('small'), ...running('big'), ...unassigned].sort()).toEqual(list.map((c) => c.id).sort());
    expect(overlaps()).toEqual([]);
  });

  it("a change to the fleet's camera list in the bucket: a removed camera stops where it ran, a new one starts on one member", async () => {
    const first = cameras(4);
    const f = { ...FleetSchema.parse({ url: nats.url, bucket: 'listed', leaseTtlMs: 3000 }), url: nats.url };
    const lists: FleetCameraList[] = [];
    const joined: Joined[] = [];
    // Each member's camera list reads through a link of its own, as an instance's does through the instance's.
    const listLinks: NatsLink[] = [];
    try {
      for (const name of ['l1', 'l2']) {
        const link = await NatsLink.open({ url: nats.url, instance: `${name}-list`, connectTimeoutMs: 3000, outboxSize: 10, maxPendingBytes: FLEET_DEFAULTS.maxPendingBytes, log });
        listLinks.push(link);
        const kv = await openBucket(link, bucketNames('listed').fleet, f, undefined);
        const late: { j?: Joined } = {};
        const list = await FleetCameraList.open({ kv, instance: name, mode: 'seed', cameras: first, log, onChange: (cams) => void late.j?.member.listChanged(cams) });
        lists.push(list);
        late.j = await join(name, nats.url, () => list.cameras, 3000, 'listed');
        joined.push(late.j);
        late.j.member.begin();
      }
      await waitForAsync(async () => running('l1').length === 2 && running('l2').length === 2, 20_000, 'two cameras each');
      const gone = 'cam1';
      const holder = running('l1').includes(gone) ? 'l1' : 'l2';

      // Someone (an instance with fleet.cameraList: config, or `nats kv put`) writes a new list: cam1 out, cam5 in.
      const next = cameras(5).filter((c) => c.id !== gone);
      const writer = await connect({ servers: nats.url });
      const kv = await writer.jetstream().views.kv(bucketNames('listed').fleet);
      await kv.put(CAMERAS_KEY, encodeCameraList(next, 'test'));
      await writer.close();

      await waitForAsync(async () => !running(holder).includes(gone), 10_000, `${gone} to stop on ${holder}`);
      await waitForAsync(async () => [...running('l1'), ...running('l2')].includes('cam5'), 15_000, 'cam5 to start');
      expect([...running('l1'), ...running('l2')].sort()).toEqual(next.map((c) => c.id).sort());
      for (const l of lists) expect(l.cameras.map((c) => c.id)).toEqual(next.map((c) => c.id));
      expect(overlaps()).toEqual([]);
    } finally {
      for (const l of lists) l.close();
      for (const j of joined) await j.close();
      for (const l of listLinks) await l.close();
    }
  });

  it('a member cut off from NATS stops its cameras itself before their leases expire; the other claims them after; never two at once', async () => {
    const TTL = 3000;
    const list = cameras(4);
    const relay = await Relay.start(nats.port);
    try {
      const cutoff = await join('cut', `nats://127.0.0.1:${relay.port}`, list, TTL, 'partition');
      const other = await join('other', nats.url, list, TTL, 'partition');
      open.push(cutoff, other);
      cutoff.member.begin();
      other.member.begin();
      await waitForAsync(async () => running('cut').length === 2 && running('other').length === 2, 20_000, 'two cameras each');
      const lost = running('cut');

      relay.partition();
      // The other takes the cut-off member's cameras once their keys expire (TTL after their last renewal).
      await waitForAsync(async () => running('other').length === 4, 3 * TTL + 10_000, 'the other to run all four');
      expect(running('cut')).toEqual([]);
      expect(cutoff.member.stats().totals.fenced).toBe(2);
      // The fence came first: each lost camera stopped on the cut-off member before the other started it.
      for (const cam of lost) {
        const stopped = runs.find((r) => r.member === 'cut' && r.camera === cam)?.stopMs;
        const started = runs.find((r) => r.member === 'other' && r.camera === cam)?.startMs;
        expect(stopped, cam).toBeDefined();
        expect(started, cam).toBeDefined();
        expect(stopped as number, cam).toBeLessThan(started as number);
      }
      expect(overlaps()).toEqual([]);

      // Healed: it reconnects and, as a member again, gets cameras back without any running twice.
      relay.heal();
      await waitForAsync(async () => cutoff.link.connected && running('cut').length >= 1, 10 * TTL, 'the healed member to run a camera again');
      expect(overlaps()).toEqual([]);
    } finally {
      for (const j of open.splice(0)) await j.close();
      await relay.close();
    }
  });

  it('a graceful close releases every lease at once: the other member claims them well inside the TTL', async () => {
    const TTL = 20_000;
    const list = cameras(4);
    const leaving = await join('leaving', nats.url, list, TTL, 'graceful');
    const staying = await join('staying', nats.url, list, TTL, 'graceful');
    open.push(staying);
    leaving.member.begin();
    staying.member.begin();
    await waitForAsync(async () => running('leaving').length === 2 && running('staying').length === 2, 30_000, 'two cameras each');
    await leaving.close();
    expect(running('leaving')).toEqual([]);
    // Bounded by a quarter of the TTL: expiry alone would take the whole 20 s.
    await waitForAsync(async () => running('staying').length === 4, TTL / 4, 'the staying member to run all four');
    expect(overlaps()).toEqual([]);
  });
});
