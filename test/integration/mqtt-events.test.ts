/**
 * The service's MQTT output against a real Mosquitto (started here on a
 * loopback port), real ffmpeg and the real model, on the bundled parade
 * clip, whose objects samples/README.md lists: an astronaut (person) walks
 * left to right along the top band and a man with a camera (person) right to
 * left after her; a cat, later a horse, cross the bottom band left to right;
 * a cup drifts in from the right (reported as cup, or now and then toilet,
 * at scores the tracker does not start tracks from).
 *
 * A subscriber sees `available`, a new and an end event for each object (at
 * most one extra new/end pair per object, for a track the tracker loses),
 * the retained counts, zone membership for a zone drawn along the left half
 * of the persons' walk, stats, Home Assistant discovery; every payload
 * validates against docs/mqtt.schema.json.
 */
import type { IClientOptions } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../../src/core/log.js';
import type { WireEvent } from '../../src/mqtt/payloads.js';
import { checkPayload, type PayloadKind } from '../../src/mqtt/schema.js';
import { NeulensService } from '../../src/service/service.js';
import type { StatsBody } from '../../src/serve/routes.js';
import { MqttProbe, requireMosquitto, startBroker, type Broker, type Received } from '../helpers/mosquitto.js';
import { PARADE, WsProbe, getJson, getText, testConfig, waitForAsync } from '../helpers/service.js';

const skip = requireMosquitto('MQTT event tests');

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function broker(): Promise<Broker> {
  const b = await startBroker();
  open.push({ close: () => b.dispose() });
  return b;
}

async function probe(url: string, filters: string[], opts: IClientOptions = {}): Promise<MqttProbe> {
  const p = await MqttProbe.connect(url, filters, opts);
  open.push(p);
  return p;
}

/** Which schema a topic's payload follows, and the value it stands for. */
function payloadOf(r: Received): { kind: PayloadKind; value: unknown } | undefined {
  const t = r.topic;
  if (t === 'neulens/available') return { kind: 'available', value: r.payload };
  if (t === 'neulens/events') return { kind: 'event', value: JSON.parse(r.payload) };
  if (t === 'neulens/stats') return { kind: 'stats', value: JSON.parse(r.payload) };
  if (t.startsWith('homeassistant/')) return { kind: 'discovery', value: JSON.parse(r.payload) };
  if (t === 'neulens/parade/status') return { kind: 'status', value: JSON.parse(r.payload) };
  if (t.startsWith('neulens/parade/')) return { kind: 'count', value: JSON.parse(r.payload) };
  return undefined;
}

const events = (p: MqttProbe): WireEvent[] => p.on('neulens/events').map((r) => JSON.parse(r.payload) as WireEvent);

/** Every event of one track id, in order. */
function byTrack(evs: WireEvent[]): Map<string, WireEvent[]> {
  const m = new Map<string, WireEvent[]>();
  for (const e of evs) m.set(e.after.id, [...(m.get(e.after.id) ?? []), e]);
  return m;
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));

describe.skipIf(skip !== undefined)('MQTT events from the sample clip (real Mosquitto)', () => {
  it('available, new and end per object, retained counts, zone membership, stats and discovery; every payload valid', async () => {
    const b = await broker();
    // An earlier run crashed with a dog in view: its retained counts must not stay at 1.
    const crashed = await probe(b.url, []);
    await crashed.client.publishAsync('neulens/parade/dog', '1', { qos: 1, retain: true });
    await crashed.client.publishAsync('neulens/parade/left_walk/dog/active', '1', { qos: 1, retain: true });
    const all = await probe(b.url, ['neulens/#', 'homeassistant/#']);
    const service = await NeulensService.start(
      testConfig(`
server: { port: 0 }
mqtt:
  url: ${b.url}
  statsIntervalMs: 1000
  homeAssistant: { discovery: true }
cameras:
  - id: parade
    url: ${PARADE}
    loop: false
    pace: source
    zones:
      left_walk: { points: [[0, 200], [480, 200], [480, 360], [0, 360]] }
`),
      { log: silentLogger },
    );
    open.push(service);
    await all.until(() => all.on('neulens/available').some((r) => r.payload === 'online'), 15_000, 'online');

    // While a person is in view, a new subscriber gets the count at once: it is retained.
    await all.until(() => all.on('neulens/parade/person').some((r) => r.payload === '1'), 30_000, 'a person counted');
    const late = await probe(b.url, ['neulens/parade/person', 'neulens/parade/status', 'neulens/available']);
    await late.until(() => late.received.length >= 3, 5000, 'the retained person count, status and availability');
    expect(late.on('neulens/parade/person')[0]).toMatchObject({ retain: true });
    expect(Number(late.on('neulens/parade/person')[0]?.payload)).toBeGreaterThanOrEqual(1);
    expect(late.on('neulens/available')[0]).toMatchObject({ payload: 'online', retain: true });

    // The clip plays once (12 s); the camera stops, every open event ends.
    await waitForAsync(async () => service.stats()[0]?.state === 'stopped', 60_000, 'the clip to end');
    await all.until(() => all.on('neulens/parade/all').at(-1)?.payload === '0' && all.on('neulens/stats').length >= 3, 10_000, 'counts back to 0');
    const stats = (await getJson(`${service.server.httpUrl}/api/stats`)).body as StatsBody;
    await service.close();
    await all.until(() => all.on('neulens/available').at(-1)?.payload === 'offline', 10_000, 'offline at shutdown');

    // Every payload is valid.
    for (const r of all.received) {
      const p = payloadOf(r);
      expect(p, r.topic).toBeDefined();
      if (p) expect(checkPayload(p.kind, p.value), `${r.topic}: ${r.payload.slice(0, 200)}`).toBeNull();
    }

    // Events: seq 1, 2, 3, ... with nothing lost; per track one new first and one end last.
    const evs = events(all);
    expect(evs.map((e) => e.seq)).toEqual(evs.map((_, i) => i + 1));
    expect(stats.mqtt).toMatchObject({ connected: true, dropped: 0, failed: 0, events: evs.length });
    const tracks = byTrack(evs);
    for (const [id, es] of tracks) {
      expect(es[0]?.type, id).toBe('new');
      expect(es.at(-1)?.type, id).toBe('end');
      expect(es.slice(1, -1).every((e) => e.type === 'update'), id).toBe(true);
      expect(es[0]?.before).toEqual(es[0]?.after);
      expect(es.at(-1)?.after.end_time).not.toBeNull();
      // An update says something material: stationary or not, zones, or a best score up by 0.05.
      for (const u of es.filter((e) => e.type === 'update')) {
        const material = u.before.label !== u.after.label || u.before.stationary !== u.after.stationary || !sameSet(u.before.current_zones, u.after.current_zones) || u.after.entered_zones.length > u.before.entered_zones.length || u.after.top_score >= u.before.top_score + 0.05 - 1e-9;
        expect(material, JSON.stringify(u)).toBe(true);
      }
    }
    // The clip's objects, each seen, none more than twice (one extra new/end pair for a lost track).
    const labelsOf = [...tracks.values()].map((es) => (es[0] as WireEvent).after.label);
    const n = (label: string) => labelsOf.filter((l) => l === label).length;
    expect(new Set(labelsOf).size).toBeGreaterThan(0);
    for (const l of labelsOf) expect(['person', 'cat', 'horse', 'cup', 'toilet']).toContain(l);
    expect(n('person')).toBeGreaterThanOrEqual(2);
    expect(n('person')).toBeLessThanOrEqual(4);
    expect(n('cat')).toBeGreaterThanOrEqual(1);
    expect(n('cat')).toBeLessThanOrEqual(2);
    expect(n('horse')).toBeGreaterThanOrEqual(1);
    expect(n('horse')).toBeLessThanOrEqual(2);

    // Zone: the astronaut starts in the left half of the walk and leaves it; the camera man walks into it.
    // The cat and the horse, in the bottom band, never stand in it.
    const persons = [...tracks.values()].filter((es) => es[0]?.after.label === 'person');
    const zoneSteps = persons.flat().map((e) => [e.before.current_zones.includes('left_walk'), e.after.current_zones.includes('left_walk')]);
    expect(persons[0]?.[0]?.after.current_zones).toEqual(['left_walk']);
    expect(zoneSteps).toContainEqual([true, false]);
    expect(zoneSteps).toContainEqual([false, true]);
    expect(persons.flat().some((e) => e.after.entered_zones.includes('left_walk'))).toBe(true);
    const animals = [...tracks.values()].filter((es) => ['cat', 'horse'].includes(es[0]?.after.label ?? '')).flat();
    expect(animals.flatMap((e: WireEvent) => [...e.after.entered_zones, ...e.before.entered_zones])).toEqual([]);

    // Counts: the person count rose while they walked, every count ended at 0, the zone was counted.
    const values = (topic: string) => all.on(topic).map((r) => Number(r.payload));
    expect(Math.max(...values('neulens/parade/person'))).toBeGreaterThanOrEqual(1);
    expect(Math.max(...values('neulens/parade/left_walk/person'))).toBe(1);
    for (const topic of ['neulens/parade/all', 'neulens/parade/person', 'neulens/parade/cat', 'neulens/parade/horse', 'neulens/parade/left_walk/all', 'neulens/parade/person/active', 'neulens/parade/dog', 'neulens/parade/left_walk/dog/active']) {
      expect(values(topic).at(-1), topic).toBe(0);
    }
    // A counted object is one with an open event: replaying the events gives the same peaks.
    let openPersons = 0;
    let peak = 0;
    for (const e of evs.filter((x) => x.after.label === 'person')) {
      openPersons += e.type === 'new' ? 1 : e.type === 'end' ? -1 : 0;
      peak = Math.max(peak, openPersons);
    }
    expect(Math.max(...values('neulens/parade/person'))).toBe(peak);

    // Camera status, retained; stats with this camera; Home Assistant entities for each label seen.
    expect(all.on('neulens/parade/status').map((r) => (JSON.parse(r.payload) as { state: string }).state)).toEqual(expect.arrayContaining(['online', 'stopped']));
    const lastStats = JSON.parse(all.on('neulens/stats').at(-1)?.payload ?? '{}') as StatsBody;
    expect(lastStats.cameras.map((c) => c.camera)).toEqual(['parade']);
    expect(lastStats.mqtt?.connected).toBe(true);
    for (const label of ['all', ...new Set(labelsOf)]) {
      expect(all.on(`homeassistant/binary_sensor/neulens_parade/${label}_occupancy/config`).length, label).toBeGreaterThan(0);
      expect(all.on(`homeassistant/sensor/neulens_parade/${label}_count/config`).length, label).toBeGreaterThan(0);
    }

    // After the service is gone, a new subscriber still reads the retained state.
    const after = await probe(b.url, ['neulens/available', 'neulens/parade/+', 'neulens/parade/status', 'homeassistant/sensor/neulens_parade/person_count/config']);
    const wanted = ['neulens/available', 'neulens/parade/person', 'neulens/parade/dog', 'neulens/parade/status', 'homeassistant/sensor/neulens_parade/person_count/config'];
    await after.until(() => wanted.every((t) => after.on(t).length > 0), 5000, 'retained state');
    expect(after.on('neulens/available')[0]).toMatchObject({ payload: 'offline', retain: true });
    expect(after.on('neulens/parade/person')[0]).toMatchObject({ payload: '0', retain: true });
    expect(after.on('neulens/parade/dog')[0]).toMatchObject({ payload: '0', retain: true });
    expect(after.on('neulens/parade/status')[0]?.payload).toMatch(/"state":"stopped"/);
    expect(after.on('homeassistant/sensor/neulens_parade/person_count/config')[0]).toMatchObject({ retain: true });
  }, 120_000);

  it('credentials from ${VAR}: accepted by a broker with a password file, refused when wrong, never shown', async () => {
    const password = 's3cr3t-Pw-4711';
    const b = await startBroker({ users: { neulens: password, watcher: 'w' } });
    open.push({ close: () => b.dispose() });
    const watch = await probe(b.url, ['neulens/available', 'other/available'], { username: 'watcher', password: 'w' });
    const lines: string[] = [];
    const log = createLogger('debug', 'neulens', (l) => lines.push(l));
    const start = (prefix: string, pw: string) =>
      NeulensService.start(
        testConfig(
          `
server: { port: 0 }
mqtt: { url: "${b.url}", topicPrefix: ${prefix}, user: neulens, password: "\${MQTT_PASSWORD}", reconnect: { initialMs: 100, maxMs: 300 } }
cameras:
  - { id: parade, url: ${PARADE}, loop: true }
`,
          { MQTT_PASSWORD: pw },
        ),
        { log },
      );
    const good = await start('neulens', password);
    open.push(good);
    const bad = await start('other', 'wrong-Pw-0815');
    open.push(bad);
    await watch.until(() => watch.on('neulens/available').some((r) => r.payload === 'online'), 15_000, 'the service with the right password online');
    const badStats = async () => ((await getJson(`${bad.server.httpUrl}/api/stats`)).body as StatsBody).mqtt;
    await waitForAsync(async () => ((await badStats())?.reconnects ?? 0) >= 2, 15_000, 'the refused service to retry');
    expect(await badStats()).toMatchObject({ connected: false, published: 0 });
    expect((await badStats())?.lastError).toMatch(/Connection refused: (Not authorized|Bad username or password)/);
    expect(watch.on('other/available')).toEqual([]);
    // The password is nowhere: logs, stats, metrics.
    const shown = [lines.join('\n'), (await getText(`${good.server.httpUrl}/api/stats`)).text, (await getText(`${bad.server.httpUrl}/api/stats`)).text, (await getText(`${good.server.httpUrl}/metrics`)).text];
    expect(lines.some((l) => l.includes('mqtt: broker unavailable'))).toBe(true);
    for (const text of shown) {
      expect(text).not.toContain(password);
      expect(text).not.toContain('wrong-Pw-0815');
    }
  }, 120_000);

  it('an unreachable broker at start-up delays nothing: WebSocket clients get frames, events wait, and go out once the broker is there', async () => {
    // The subscriber's session is made first (and kept by the broker across its restart), so it misses
    // nothing the service publishes the moment it connects.
    const b = await startBroker({ persistence: true });
    open.push({ close: () => b.dispose() });
    const session = { clientId: 'neulens-test-probe', clean: false };
    await (await MqttProbe.connect(b.url, ['neulens/#'], session)).close();
    await b.stop();
    const port = b.port;
    const service = await NeulensService.start(
      testConfig(`
server: { port: 0 }
mqtt:
  url: mqtt://127.0.0.1:${port}
  reconnect: { initialMs: 100, maxMs: 500 }
cameras:
  - id: parade
    url: ${PARADE}
    loop: true
`),
      { log: silentLogger },
    );
    open.push(service);
    const ws = await WsProbe.connect(service.url);
    open.push(ws);
    await ws.until(() => ws.frames('parade').length >= 20, 30_000, '20 frames over the WebSocket');
    const stats = async () => ((await getJson(`${service.server.httpUrl}/api/stats`)).body as StatsBody).mqtt;
    await waitForAsync(async () => ((await stats())?.events ?? 0) >= 2, 30_000, 'events generated while the broker is away');
    const down = await stats();
    expect(down).toMatchObject({ connected: false, published: 0 });
    expect(down?.reconnects).toBeGreaterThan(0);
    expect(down?.lastError).toMatch(/ECONNREFUSED/);
    const metrics = (await getText(`${service.server.httpUrl}/metrics`)).text;
    expect(metrics).toMatch(/^neulens_mqtt_connected 0$/m);
    expect(metrics).toMatch(/^neulens_mqtt_events_total [1-9]/m);

    // The broker appears on that port: the service connects, says online, and its queued events follow in order.
    await b.restart();
    const p = await probe(b.url, ['neulens/#'], session);
    await waitForAsync(async () => (await stats())?.connected === true, 15_000, 'the service to connect');
    await p.until(() => events(p).length >= (down?.events ?? 0), 15_000, 'the events queued while the broker was away');
    const seqs = events(p).map((e) => e.seq);
    expect(seqs.slice(0, down?.events)).toEqual(Array.from({ length: down?.events ?? 0 }, (_, i) => i + 1));
    expect(p.on('neulens/available').map((r) => r.payload)).toContain('online');
    expect((await stats())?.dropped).toBe(0);
  }, 120_000);
});
