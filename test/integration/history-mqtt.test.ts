/**
 * The history's snapshots over MQTT, against a real Mosquitto: each event's
 * crop goes to <prefix>/<camera>/<label>/snapshot as retained JPEG bytes
 * (Frigate's topic): every event's last crop is published, the same bytes
 * GET /api/events/{id}/crop.jpg serves, and a late subscriber gets the
 * latest at once. A camera removed at runtime leaves a retained status that
 * says 'removed', not its last state, and its Home Assistant entities are
 * deleted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/log.js';
import { checkPayload } from '../../src/mqtt/schema.js';
import { NeulensService } from '../../src/service/service.js';
import { allEvents, getBytes } from '../helpers/history.js';
import { MqttProbe, requireMosquitto, startBroker } from '../helpers/mosquitto.js';
import { PARADE, REPO_ROOT, testConfig, waitForAsync } from '../helpers/service.js';

const skip = requireMosquitto('MQTT snapshot tests');

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

describe.skipIf(skip !== undefined)('event snapshots over MQTT (real Mosquitto)', () => {
  it('retained JPEG crops per camera and label, the API\'s bytes; a removed camera says removed', async () => {
    const b = await startBroker();
    open.push({ close: () => b.dispose() });
    const dir = await mkdtemp(path.join(tmpdir(), 'neulens-history-mqtt-'));
    open.push({ close: () => rm(dir, { recursive: true, force: true }) });
    const all = await MqttProbe.connect(b.url, ['neulens/#', 'homeassistant/#']);
    open.push(all);
    const yaml = `server: { port: 0, authToken: tok }
mqtt: { url: ${b.url}, homeAssistant: { discovery: true } }
history: { path: ${dir} }
cameras:
  - { id: parade, url: ${PARADE}, loop: false }
  - { id: spare, url: ${PARADE}, loop: true, fps: 2 }
`;
    const service = await NeulensService.start(testConfig(yaml), { log: silentLogger, source: { text: yaml, name: 'test.yaml', baseDir: REPO_ROOT, env: {} } });
    open.push(service);
    const auth = { authorization: 'Bearer tok' };

    // The clip plays once; every parade event ends with its snapshot.
    await waitForAsync(async () => service.stats().find((c) => c.camera === 'parade')?.state === 'stopped', 60_000, 'the clip to end');
    await waitForAsync(async () => {
      const evs = await allEvents(service.server.httpUrl, 'camera=parade', 50, auth);
      return evs.length > 0 && evs.every((e) => e.endMs !== null && e.snapshot !== null);
    }, 15_000, 'every event ended with a snapshot');
    const persons = await allEvents(service.server.httpUrl, 'camera=parade&label=person', 50, auth);
    expect(persons.length).toBeGreaterThan(0);
    const crops = await Promise.all(persons.map(async (e) => (await getBytes(`${service.server.httpUrl}${e.snapshot!.cropUrl}`, auth)).body));
    // Every person event's crop went out, byte for byte (an event that goes on is also published on the way: those
    // earlier crops are replaced in the API by its last one, so they are only checked to be JPEGs).
    await all.until(() => crops.every((c) => all.on('neulens/parade/person/snapshot').some((m) => m.bytes.equals(c))), 10_000, "every person event's crop published");
    for (const m of all.on('neulens/parade/person/snapshot')) expect((await sharp(m.bytes).metadata()).format).toBe('jpeg');

    // A late subscriber gets the latest, retained.
    const late = await MqttProbe.connect(b.url, ['neulens/parade/person/snapshot']);
    open.push(late);
    await late.until(() => late.received.length > 0, 5000, 'the retained snapshot');
    expect(late.received[0]).toMatchObject({ retain: true });
    expect(late.received[0]!.bytes.equals(all.on('neulens/parade/person/snapshot').at(-1)!.bytes), 'the retained snapshot is not the latest').toBe(true);
    expect(crops.some((c) => c.equals(late.received[0]!.bytes))).toBe(true);

    // Removed at runtime: its retained status says so; its Home Assistant entities go.
    const announced = all.received.filter((r) => r.topic.startsWith('homeassistant/') && r.topic.includes('neulens_parade') && r.payload !== '').map((r) => r.topic);
    expect(announced.length).toBeGreaterThan(0);
    await service.removeCamera('parade');
    await all.until(() => all.on('neulens/parade/status').some((r) => r.payload.includes('"removed"')), 10_000, "the status 'removed'");
    const status = JSON.parse(all.on('neulens/parade/status').at(-1)!.payload) as unknown;
    expect(checkPayload('status', status)).toBeNull();
    expect(status).toMatchObject({ camera: 'parade', state: 'removed' });
    await all.until(() => announced.every((t) => all.on(t).at(-1)?.payload === ''), 10_000, 'the Home Assistant entities deleted');
    const fresh = await MqttProbe.connect(b.url, ['neulens/parade/status', 'homeassistant/#']);
    open.push(fresh);
    await fresh.until(() => fresh.on('neulens/parade/status').length > 0, 5000, 'the retained status');
    expect(JSON.parse(fresh.on('neulens/parade/status')[0]!.payload)).toMatchObject({ state: 'removed' });
    expect(fresh.received.filter((r) => r.topic.includes('neulens_parade'))).toEqual([]);
  }, 120_000);
});
