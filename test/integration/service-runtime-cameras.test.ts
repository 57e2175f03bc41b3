/**
 * Cameras added, changed and removed while another camera runs: the service
 * starts and stops one camera without touching the others. The steady
 * camera keeps publishing throughout (no gap longer than a few frame
 * intervals), clients are told of a removal, and a removed camera's ffmpeg
 * is gone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { NeulensService } from '../../src/service/service.js';
import { ffmpegDescendants } from '../helpers/ffmpeg-fixtures.js';
import { checkSchema } from '../../src/core/json-schema.js';
import type { StatsBody } from '../../src/serve/routes.js';
import { statsSchema } from '../../src/serve/stats-schema.js';
import { PARADE, WsProbe, getJson, testConfig } from '../helpers/service.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

/** A camera as the start-up schema makes it (every default filled in). */
function cameraConfig(id: string, fps: number) {
  return testConfig(`cameras:\n  - { id: ${id}, url: ${PARADE}, loop: true, fps: ${fps} }\n`).cameras[0]!;
}

/** Largest gap between consecutive frames of a camera, ms (its frames received between two marks). */
function largestGap(times: number[]): number {
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, (times[i] as number) - (times[i - 1] as number));
  return gap;
}

describe('cameras at runtime', () => {
  it('adds, changes and removes a camera while another keeps publishing', async () => {
    const service = await NeulensService.start(testConfig(`server: { port: 0 }\nmodel: { strategy: full }\ncameras:\n  - { id: steady, url: ${PARADE}, loop: true, fps: 5 }\n`), { log: silentLogger });
    open.push(service);
    const client = await WsProbe.connect(service.url);
    open.push(client);
    await client.until(() => client.frames('steady').length >= 3, 30_000, 'steady frames');
    const ffmpegBefore = ffmpegDescendants().length;
    const from = client.mark();

    await service.addCamera(cameraConfig('extra', 4));
    expect(service.cameraIds().sort()).toEqual(['extra', 'steady']);
    expect(service.config.cameras.map((c) => c.id)).toEqual(['steady', 'extra']);
    await client.until(() => client.frames('extra').length >= 3, 30_000, 'frames from the added camera');
    expect(ffmpegDescendants().length).toBe(ffmpegBefore + 1);
    // /api/stats lists it, and the body (viewer section included) is what its schema says.
    const stats = await getJson(`${service.server.httpUrl}/api/stats`);
    expect((stats.body as StatsBody).cameras.map((c) => c.camera).sort()).toEqual(['extra', 'steady']);
    expect(checkSchema(statsSchema, stats.body)).toBeNull();
    expect((stats.body as StatsBody).viewer).toBeDefined();

    // A second camera of the same id is refused, and nothing changes.
    await expect(service.addCamera(cameraConfig('extra', 2))).rejects.toThrow(ConfigError);
    await expect(service.addCamera(cameraConfig('extra', 2))).rejects.toThrow(/camera 'extra' already runs/);
    expect(service.cameraIds().sort()).toEqual(['extra', 'steady']);

    // Changed: restarted with its new rate; its frames come at the new cap.
    await service.replaceCamera(cameraConfig('extra', 2));
    expect(service.config.cameras.find((c) => c.id === 'extra')?.fps).toBe(2);
    const afterChange = client.mark();
    await client.until(() => client.frames('extra').filter((_, i, all) => client.received.indexOf(all[i]!) >= afterChange).length >= 2, 30_000, 'frames after the change');

    await service.removeCamera('extra');
    expect(service.cameraIds()).toEqual(['steady']);
    expect(client.statuses('extra').some((s) => s.msg.state === 'removed')).toBe(true);
    // Its ffmpeg is gone by the time removeCamera resolves.
    expect(ffmpegDescendants().length).toBe(ffmpegBefore);
    await expect(service.removeCamera('extra')).rejects.toThrow(/no camera 'extra'/);

    // The steady camera never paused: its frames kept coming at about its 5 fps.
    const removedAt = client.mark();
    await client.until(() => client.since(removedAt).filter((m) => m.type === 'frame' && m.camera === 'steady').length >= 5, 30_000, 'steady frames after the removal');
    const steady = client.received.slice(from).filter((r) => r.msg.type === 'frame' && r.msg.camera === 'steady').map((r) => r.atMs);
    expect(steady.length).toBeGreaterThan(10);
    expect(largestGap(steady)).toBeLessThan(1500);
    // A newly connected client's hello lists only what runs.
    const late = await WsProbe.connect(service.url);
    open.push(late);
    const hello = late.received.find((r) => r.msg.type === 'hello')!.msg;
    expect(hello.type === 'hello' && hello.cameras.map((c) => c.id)).toEqual(['steady']);
  }, 120_000);
});
