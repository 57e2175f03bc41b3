/** The MQTT metrics in /metrics (src/serve/metrics.ts): absent without an MQTT output, its own counters with one. */
import { describe, expect, it } from 'vitest';
import { Metrics, type MqttTotals } from '../../src/serve/metrics.js';

describe('MQTT metrics', () => {
  it('a service without mqtt: shows none (not a broker that looks disconnected)', async () => {
    expect(await new Metrics().render()).not.toContain('mqtt');
  });

  it('read at scrape time from the output: connected, queued, published, dropped by reason, reconnects, events', async () => {
    const m = new Metrics();
    let totals: MqttTotals = { connected: false, queued: 7, inFlight: 0, published: 0, dropped: 3, failed: 1, reconnects: 4, events: 10 };
    m.bindMqtt(() => totals);
    const first = await m.render();
    expect(first).toMatch(/^neulens_mqtt_connected 0$/m);
    expect(first).toMatch(/^neulens_mqtt_queued 7$/m);
    expect(first).toMatch(/^neulens_mqtt_dropped_total\{reason="outbox_full"\} 3$/m);
    expect(first).toMatch(/^neulens_mqtt_dropped_total\{reason="failed"\} 1$/m);
    expect(first).toMatch(/^neulens_mqtt_reconnects_total 4$/m);
    expect(first).toMatch(/^neulens_mqtt_events_total 10$/m);
    totals = { ...totals, connected: true, queued: 0, published: 12 };
    m.bindMqtt(() => totals);
    const second = await m.render();
    expect(second).toMatch(/^neulens_mqtt_connected 1$/m);
    expect(second).toMatch(/^neulens_mqtt_published_total 12$/m);
    expect(second).toMatch(/^neulens_mqtt_dropped_total\{reason="outbox_full"\} 3$/m);
  });
});
