/**
 * The broker goes away while a camera runs (a real Mosquitto, stopped for
 * 10 s and started again on the same port; the real service on the looping
 * parade clip at its own 10 fps):
 *
 *  - the camera goes on: the frames it processes during the outage are
 *    within 10 % of those it processed in the 10 s before (counted, not
 *    timed);
 *  - the events made meanwhile arrive after the reconnect, in order (`seq`),
 *    as many as the outbox holds;
 *  - with an outbox smaller than the outage's events, the oldest are dropped,
 *    and the count in /metrics is exactly what the subscriber never got.
 *
 * The subscriber keeps a persistent session, which the broker saves when it
 * stops and restores when it starts, so it misses nothing published before
 * it is back itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/log.js';
import type { WireEvent } from '../../src/mqtt/payloads.js';
import { checkPayload } from '../../src/mqtt/schema.js';
import { NeulensService } from '../../src/service/service.js';
import type { StatsBody } from '../../src/serve/routes.js';
import { MqttProbe, requireMosquitto, startBroker, type Broker } from '../helpers/mosquitto.js';
import { PARADE, getText, testConfig, waitForAsync } from '../helpers/service.js';

const skip = requireMosquitto('MQTT fault tests');

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

const OUTAGE_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Setup {
  broker: Broker;
  probe: MqttProbe;
  service: NeulensService;
  mqtt: () => Promise<NonNullable<StatsBody['mqtt']>>;
  processed: () => number;
}

async function setup(outboxSize: number, clientId: string): Promise<Setup> {
  const broker = await startBroker({ persistence: true });
  open.push({ close: () => broker.dispose() });
  const probe = await MqttProbe.connect(broker.url, ['neulens/events', 'neulens/available'], { clientId, clean: false });
  open.push(probe);
  const service = await NeulensService.start(
    testConfig(`
server: { port: 0 }
mqtt:
  url: ${broker.url}
  outboxSize: ${outboxSize}
  reconnect: { initialMs: 200, maxMs: 1000 }
cameras:
  - id: parade
    url: ${PARADE}
    loop: true
    pace: source
`),
    { log: silentLogger },
  );
  open.push(service);
  const mqtt = async () => (await service.server.statsBody()).mqtt as NonNullable<StatsBody['mqtt']>;
  await probe.until(() => probe.on('neulens/available').some((r) => r.payload === 'online'), 15_000, 'online');
  // Past the start-up: the tracker has objects and events flow.
  await probe.until(() => probe.on('neulens/events').length >= 2, 30_000, 'the first events');
  return { broker, probe, service, mqtt, processed: () => service.stats()[0]?.processed ?? 0 };
}

const seqOf = (payload: string): number => (JSON.parse(payload) as WireEvent).seq;

/** Seqs in arrival order, with QoS 1's redeliveries (the same seq again at once) folded. */
function folded(seqs: number[]): number[] {
  return seqs.filter((s, i) => i === 0 || s !== seqs[i - 1]);
}

/**
 * The broker away for OUTAGE_MS. Returns what the subscriber had before it
 * went, and, just before it comes back, the camera's processed frames and
 * the service's event count.
 */
async function outage(s: Setup): Promise<{ deliveredBefore: number; processedAtStop: number; processedBeforeBack: number; eventsBeforeBack: number; restartedAt: number }> {
  const stoppedAt = Date.now();
  const processedAtStop = s.processed();
  const deliveredBefore = Math.max(0, ...s.probe.on('neulens/events').map((r) => seqOf(r.payload)));
  await s.broker.stop();
  await waitForAsync(async () => !(await s.mqtt()).connected, 5000, 'the service to see the broker gone');
  await sleep(OUTAGE_MS - (Date.now() - stoppedAt));
  // Every event up to here was made while the broker was away (or before): the service cannot be connected yet.
  const eventsBeforeBack = (await s.mqtt()).events;
  const processedBeforeBack = s.processed();
  const restartedAt = Date.now();
  await s.broker.restart();
  await waitForAsync(async () => (await s.mqtt()).connected, 15_000, 'the service to reconnect');
  return { deliveredBefore, processedAtStop, processedBeforeBack, eventsBeforeBack, restartedAt };
}

describe.skipIf(skip !== undefined)('the broker away for 10 s (real Mosquitto, real service)', () => {
  it('the camera goes on at its pace; the outage\'s events arrive after the reconnect, in order, all of them', async () => {
    const s = await setup(1000, 'faults-probe-a');
    const p0 = s.processed();
    await sleep(OUTAGE_MS);
    const o = await outage(s);
    const before = o.processedAtStop - p0;
    const during = o.processedBeforeBack - o.processedAtStop;
    expect(before).toBeGreaterThan(50);
    expect(Math.abs(during - before)).toBeLessThanOrEqual(0.1 * before);

    // The outage had events (the looping clip's objects come and go), and every one arrives.
    expect(o.eventsBeforeBack - o.deliveredBefore).toBeGreaterThanOrEqual(2);
    await s.probe.until(() => s.probe.on('neulens/events').some((r) => seqOf(r.payload) > o.eventsBeforeBack), 20_000, 'the outage\'s events and a live one');
    const after = s.probe.on('neulens/events').filter((r) => r.atMs >= o.restartedAt);
    const outageSeqs = folded(after.map((r) => seqOf(r.payload)).filter((q) => q > o.deliveredBefore && q <= o.eventsBeforeBack));
    expect(outageSeqs).toEqual(Array.from({ length: o.eventsBeforeBack - o.deliveredBefore }, (_, i) => o.deliveredBefore + 1 + i));
    // Nothing was lost, and after the outage the order holds too.
    const all = folded(s.probe.on('neulens/events').map((r) => seqOf(r.payload)));
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
    expect((await s.mqtt()).dropped).toBe(0);
    for (const r of s.probe.on('neulens/events')) expect(checkPayload('event', JSON.parse(r.payload))).toBeNull();
    expect(s.probe.on('neulens/available').filter((r) => r.atMs >= o.restartedAt).map((r) => r.payload)).toContain('online');
  }, 120_000);

  it('an outbox smaller than the outage\'s events drops the oldest, and /metrics counts exactly the events never delivered', async () => {
    const OUTBOX = 3;
    const s = await setup(OUTBOX, 'faults-probe-b');
    const o = await outage(s);
    expect(o.eventsBeforeBack - o.deliveredBefore).toBeGreaterThan(OUTBOX);
    // Settled: the outbox flushed, and live events flow again.
    await s.probe.until(() => s.probe.on('neulens/events').some((r) => seqOf(r.payload) > o.eventsBeforeBack + 1), 30_000, 'live events after the reconnect');
    await waitForAsync(async () => (await s.mqtt()).queued === 0 && (await s.mqtt()).inFlight === 0, 10_000, 'the outbox to drain');

    const got = new Set(s.probe.on('neulens/events').map((r) => seqOf(r.payload)));
    const last = Math.max(...got);
    const missing = Array.from({ length: last }, (_, i) => i + 1).filter((q) => !got.has(q));
    const dropped = (await s.mqtt()).dropped;
    const metrics = (await getText(`${s.service.server.httpUrl}/metrics`)).text;
    expect(metrics).toContain(`neulens_mqtt_dropped_total{reason="outbox_full"} ${dropped}`);
    // Exactly the events the subscriber never got, all of them from the outage, the oldest of it, in one run.
    expect(dropped).toBeGreaterThan(0);
    expect(missing).toHaveLength(dropped);
    expect(missing).toEqual(Array.from({ length: dropped }, (_, i) => (missing[0] as number) + i));
    expect(missing[0]).toBeGreaterThan(o.deliveredBefore);
    expect(missing.at(-1)).toBeLessThanOrEqual(o.eventsBeforeBack);
    // The outage's events that did arrive: no more than the outbox holds, after the reconnect, in order.
    const after = s.probe.on('neulens/events').filter((r) => r.atMs >= o.restartedAt);
    const kept = folded(after.map((r) => seqOf(r.payload)).filter((q) => q > (missing.at(-1) as number) && q <= o.eventsBeforeBack));
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThanOrEqual(OUTBOX);
    expect(kept).toEqual([...kept].sort((a, b) => a - b));
    expect(new Set(kept).size).toBe(kept.length);
  }, 120_000);
});
