/**
 * The MQTT output's pure parts: the outbox (bounded, oldest event dropped and
 * counted, state latest-only, events before state), the topic tree, and the
 * payloads against their published JSON Schemas (docs/mqtt.schema.json).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ObjectEvent, ObjectState } from '../../src/events/objects.js';
import { discoveryFor } from '../../src/mqtt/discovery.js';
import { Outbox, type OutMessage } from '../../src/mqtt/outbox.js';
import { wireEvent, wireStatus } from '../../src/mqtt/payloads.js';
import { checkPayload, mqttSchemaJson } from '../../src/mqtt/schema.js';
import { countTopic, parseCountTopic } from '../../src/mqtt/topics.js';

const ev = (n: number): OutMessage => ({ topic: 'p/events', payload: String(n), qos: 1, retain: false });
const st = (topic: string, payload: string): OutMessage => ({ topic, payload, qos: 1, retain: true });

describe('Outbox', () => {
  it('keeps events in order; when full drops the oldest and counts it', () => {
    const box = new Outbox(3);
    for (let i = 1; i <= 5; i++) box.pushEvent(ev(i));
    expect(box.dropped).toBe(2);
    expect(box.size).toBe(3);
    const out: string[] = [];
    for (let m = box.take(); m; m = box.take()) out.push(String(m.payload));
    expect(out).toEqual(['3', '4', '5']);
    expect(box.take()).toBeUndefined();
  });

  it('keeps only the latest message of a state topic, and sends events first', () => {
    const box = new Outbox(10);
    box.setState(st('p/cam/person', '1'));
    box.pushEvent(ev(1));
    box.setState(st('p/cam/status', 'online'));
    box.setState(st('p/cam/person', '2'));
    box.pushEvent(ev(2));
    const out: string[] = [];
    for (let m = box.take(); m; m = box.take()) out.push(`${m.topic}=${String(m.payload)}`);
    expect(out).toEqual(['p/events=1', 'p/events=2', 'p/cam/person=2', 'p/cam/status=online']);
    expect(box.dropped).toBe(0);
  });

  it('stays bounded and in order over a long outage (memory follows the queue)', () => {
    const box = new Outbox(1000);
    for (let i = 1; i <= 50_000; i++) box.pushEvent(ev(i));
    expect(box.dropped).toBe(49_000);
    expect(box.take()?.payload).toBe('49001');
    expect(box.clear()).toBe(999);
    expect(box.size).toBe(0);
  });

  it('rejects a capacity below 1', () => {
    expect(() => new Outbox(0)).toThrow(RangeError);
  });
});

describe('topics', () => {
  it('count topics: camera, zone, active, labels with spaces as _', () => {
    expect(countTopic('neulens', 'front', { zone: null, label: 'person', active: false })).toBe('neulens/front/person');
    expect(countTopic('home/cams', 'front', { zone: null, label: 'all', active: true })).toBe('home/cams/front/all/active');
    expect(countTopic('neulens', 'front', { zone: 'driveway', label: 'traffic light', active: false })).toBe('neulens/front/driveway/traffic_light');
  });

  it('parseCountTopic reads back what countTopic writes, and nothing else', () => {
    const keys = [
      { zone: null, label: 'person', active: false },
      { zone: null, label: 'traffic light', active: true },
      { zone: 'driveway', label: 'car', active: false },
      { zone: 'driveway', label: 'all', active: true },
    ];
    for (const k of keys) expect(parseCountTopic('n', 'front', ['driveway'], countTopic('n', 'front', k))).toEqual(k);
    expect(parseCountTopic('n', 'front', ['driveway'], 'n/front/status')).toBeUndefined();
    expect(parseCountTopic('n', 'front', ['driveway'], 'n/back/person')).toBeUndefined();
    expect(parseCountTopic('n', 'front', ['driveway'], 'n/front/garden/person')).toBeUndefined();
    expect(parseCountTopic('n', 'front', ['driveway'], 'n/front/driveway/car/active/x')).toBeUndefined();
  });
});

const T = 1_796_000_000_000;
const state = (o: Partial<ObjectState> = {}): ObjectState => ({
  id: '1796000000.000-front-3',
  camera: 'front',
  trackId: 3,
  label: 'person',
  score: 0.8123,
  topScore: 0.9,
  box: { x: 10.4, y: 20.6, w: 100.2, h: 200.3 },
  frameTimeMs: T + 1500,
  startTimeMs: T,
  endTimeMs: null,
  currentZones: ['driveway'],
  enteredZones: ['yard', 'driveway'],
  stationary: false,
  ...o,
});

describe('payloads against docs/mqtt.schema.json', () => {
  it('an event: Frigate field names, seconds, box as integer corners', () => {
    const e: ObjectEvent = { type: 'update', before: state({ currentZones: ['yard'], enteredZones: ['yard'] }), after: state({ stationary: true }) };
    const w = wireEvent(e, 42);
    expect(w).toMatchObject({ type: 'update', seq: 42, after: { id: '1796000000.000-front-3', track_id: 3, box: [10, 21, 111, 221], area: 101 * 200, frame_time: 1796000001.5, start_time: 1796000000, end_time: null, current_zones: ['driveway'], stationary: true, active: false } });
    expect(checkPayload('event', w)).toBeNull();
    const ended = wireEvent({ type: 'end', before: state(), after: state({ endTimeMs: T + 2000 }) }, 43);
    expect(ended.after.end_time).toBe(1796000002);
    expect(checkPayload('event', ended)).toBeNull();
  });

  it('rejects payloads that drift from the schema (so the checks in the integration tests can fail)', () => {
    const w = wireEvent({ type: 'new', before: state(), after: state() }, 1);
    expect(checkPayload('event', { ...w, type: 'started' })).toMatch(/type: expected one of/);
    expect(checkPayload('event', { ...w, seq: 0 })).toMatch(/seq: below minimum 1/);
    expect(checkPayload('event', { ...w, after: { ...w.after, box: [1, 2, 3] } })).toMatch(/box: fewer than 4 items/);
    expect(checkPayload('event', { ...w, after: { ...w.after, extra: 1 } })).toMatch(/unexpected property 'extra'/);
    expect(checkPayload('count', -1)).toMatch(/below minimum 0/);
    expect(checkPayload('count', 1.5)).toMatch(/expected integer/);
    expect(checkPayload('available', 'maybe')).toMatch(/expected one of/);
    expect(checkPayload('status', { camera: 'front', state: 'asleep', atMs: 1 })).toMatch(/state: expected one of/);
  });

  it('camera status, counts and availability', () => {
    expect(checkPayload('status', wireStatus({ camera: 'front', state: 'offline', error: 'ffmpeg exited', atMs: T }))).toBeNull();
    expect(checkPayload('count', JSON.parse('3'))).toBeNull();
    expect(checkPayload('available', 'online')).toBeNull();
    expect(checkPayload('available', 'offline')).toBeNull();
  });

  it('Home Assistant discovery: an occupancy binary_sensor and a count sensor on the count topic', () => {
    const ds = discoveryFor({ discoveryPrefix: 'homeassistant', topicPrefix: 'home/neulens', camera: 'front', label: 'traffic light' });
    expect(ds.map((d) => d.topic)).toEqual(['homeassistant/binary_sensor/home_neulens_front/traffic_light_occupancy/config', 'homeassistant/sensor/home_neulens_front/traffic_light_count/config']);
    for (const d of ds) {
      expect(checkPayload('discovery', d.config)).toBeNull();
      expect(d.config).toMatchObject({ state_topic: 'home/neulens/front/traffic_light', availability_topic: 'home/neulens/available', device: { identifiers: ['home_neulens_front'], name: 'front' } });
    }
    expect(ds[0]!.config).toMatchObject({ device_class: 'occupancy', value_template: "{{ 'ON' if (value | int(0)) > 0 else 'OFF' }}" });
    expect(ds[1]!.config).toMatchObject({ state_class: 'measurement' });
  });

  it('docs/mqtt.schema.json is the exported schema', async () => {
    const file = fileURLToPath(new URL('../../docs/mqtt.schema.json', import.meta.url));
    // Regenerate: npm run build && node -e "import('./dist/mqtt/schema.js').then(m => m.writeMqttSchema('docs/mqtt.schema.json'))"
    expect(await readFile(file, 'utf8')).toBe(mqttSchemaJson());
  });
});
