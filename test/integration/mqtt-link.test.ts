/**
 * The MQTT client's owner (src/mqtt/link.ts) with a real mqtt client on real
 * sockets: retries follow the backoff schedule while nothing listens, the
 * outbox keeps the newest events and counts the oldest it drops, a broker
 * appearing gets `online` and the queued events in order, and close() is
 * idempotent, says `offline`, and counts what it could not deliver.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/log.js';
import { backoffBaseMs } from '../../src/ingest/backoff.js';
import { MqttLink, type LinkStats } from '../../src/mqtt/link.js';
import { MqttProbe, requireMosquitto, startBroker } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/service.js';

const skipBroker = requireMosquitto('MQTT link tests with a broker');

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

const policy = { initialMs: 50, maxMs: 400, factor: 2, jitter: 0 };

function link(port: number, outboxSize: number): MqttLink {
  const l = new MqttLink({ url: `mqtt://127.0.0.1:${port}`, clientId: `link-test-${port}`, qos: 1, retain: true, availableTopic: 'lt/available', outboxSize, reconnect: policy, log: silentLogger, closeTimeoutMs: 1000 });
  open.push(l);
  return l;
}

const event = (n: number) => ({ topic: 'lt/events', payload: String(n), qos: 1 as const, retain: false });

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('MqttLink', () => {
  it('while nothing listens: retries on the backoff schedule, keeps the newest events, counts the dropped, never blocks the caller', async () => {
    const l = link(await freePort(), 3);
    for (let i = 1; i <= 5; i++) l.publishEvent(event(i));
    expect(l.stats()).toMatchObject({ connected: false, queued: 3, dropped: 2, inFlight: 0, published: 0 });
    // Every (attempts, wait) pair seen is the schedule's: 50, 100, 200, 400, 400 ms.
    const seen: Array<Pick<LinkStats, 'reconnects' | 'retryDelayMs'>> = [];
    await until(
      () => {
        const s = l.stats();
        seen.push({ reconnects: s.reconnects, retryDelayMs: s.retryDelayMs });
        return s.reconnects >= 5;
      },
      20_000,
      'five retries',
    );
    for (const s of seen) expect(s.retryDelayMs, `after ${s.reconnects} retries`).toBe(backoffBaseMs(s.reconnects, policy));
    // The waits grew, up to the cap.
    expect(seen.at(-1)?.retryDelayMs).toBe(policy.maxMs);
    expect(new Set(seen.map((s) => s.retryDelayMs)).size).toBeGreaterThanOrEqual(3);
    expect(l.stats().lastError).toMatch(/ECONNREFUSED/);
    // Closing with the broker away: nothing to wait for; what was queued is counted, not lost silently.
    await Promise.all([l.close(), l.close()]);
    expect(l.stats()).toMatchObject({ queued: 0, failed: 3, dropped: 2 });
  }, 30_000);

  it.skipIf(skipBroker !== undefined)('a broker appearing gets online first, then the queued events in order; close() says offline once', async () => {
    const b = await startBroker({ persistence: true });
    open.push({ close: () => b.dispose() });
    const session = { clientId: 'link-test-probe', clean: false };
    await (await MqttProbe.connect(b.url, ['lt/#'], session)).close();
    await b.stop();
    const l = link(b.port, 10);
    for (let i = 1; i <= 4; i++) l.publishEvent(event(i));
    l.publishState({ topic: 'lt/cam/person', payload: '1', qos: 1, retain: true });
    l.publishState({ topic: 'lt/cam/person', payload: '2', qos: 1, retain: true });
    await until(() => l.stats().reconnects >= 2, 10_000, 'retries');

    await b.restart();
    await until(() => l.stats().connected && l.stats().queued === 0 && l.stats().inFlight === 0, 10_000, 'connected and drained');
    expect(l.stats()).toMatchObject({ published: 1 + 4 + 1, dropped: 0, failed: 0 });
    expect(l.stats().retryDelayMs).toBeUndefined();
    const p = await MqttProbe.connect(b.url, ['lt/#'], session);
    open.push(p);
    await p.until(() => p.received.length >= 6, 5000, 'what was published while the probe was away');
    expect(p.received.slice(0, 6).map((r) => `${r.topic}=${r.payload}`)).toEqual(['lt/available=online', 'lt/events=1', 'lt/events=2', 'lt/events=3', 'lt/events=4', 'lt/cam/person=2']);

    await Promise.all([l.close(), l.close()]);
    // (Its own subscription also brings the retained copy; the service's messages are the others.)
    const said = () => p.on('lt/available').filter((r) => !r.retain);
    await p.until(() => said().length >= 2, 5000, 'offline');
    expect(said().map((r) => r.payload)).toEqual(['online', 'offline']);
    expect(l.stats()).toMatchObject({ failed: 0, queued: 0 });
  }, 30_000);
});
