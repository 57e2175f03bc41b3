/**
 * The service with model.batch: three live cameras (the demo clip, paced,
 * looping) on one inference worker whose frames run in batches. Every
 * camera publishes its own boxes, and /api/stats shows the batches (valid
 * against the published stats schema).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/log.js';
import { checkSchema } from '../../src/core/json-schema.js';
import { mqttSchema } from '../../src/mqtt/schema.js';
import { NeulensService } from '../../src/service/service.js';
import type { StatsBody } from '../../src/serve/routes.js';
import { PARADE, WsProbe, getJson, testConfig, waitForAsync } from '../helpers/service.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

describe('NeulensService with cross-camera batching', () => {
  it('three cameras share one batched worker; each gets its frames, the stats show batches', async () => {
    const cams = ['a', 'b', 'c'].map((id) => `  - { id: ${id}, url: ${JSON.stringify(PARADE)}, loop: true, pace: source, fps: 5 }`).join('\n');
    const config = testConfig(`
server: { port: 0 }
model: { strategy: full, workers: 1, threads: 2, batch: { maxSize: 4, timeoutMs: 150 } }
cameras:
${cams}
logging: { level: error }
`);
    const service = await NeulensService.start(config, { log: silentLogger });
    open.push(service);
    const client = await WsProbe.connect(service.url);
    open.push(client);
    await waitForAsync(async () => ['a', 'b', 'c'].every((id) => client.frames(id).length >= 8), 60_000, 'frames of every camera');
    const body = (await getJson(`${service.server.httpUrl}/api/stats`)).body as StatsBody;
    // The demux section against the published stats schema (docs/mqtt.schema.json, $defs/statsDemux).
    expect(checkSchema({ $ref: '#/$defs/statsDemux' }, body.demux, mqttSchema)).toBeNull();
    const batch = body.demux!.batch!;
    expect(batch).toMatchObject({ maxSize: 4, timeoutMs: 150 });
    const w = batch.workers[0]!;
    expect(w.requests).toBeGreaterThanOrEqual(24);
    expect(w.calls).toBeGreaterThan(0);
    // Three cameras at 5 fps with a 150 ms push timeout: their frames meet in calls.
    expect(w.items / w.calls).toBeGreaterThan(1);
    expect(w.dispatches).toBeLessThan(w.requests);
    // Each camera's frames are its own: the clip's people, at its own sequence numbers.
    for (const id of ['a', 'b', 'c']) {
      const frames = client.frames(id).map((r) => r.msg);
      expect(frames.every((f) => f.camera === id)).toBe(true);
      expect(frames.some((f) => f.boxes.some((b) => b.label === 'person'))).toBe(true);
      const seqs = frames.map((f) => f.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    }
  }, 120_000);
});
