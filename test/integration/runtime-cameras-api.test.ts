/**
 * Cameras added, changed and removed over HTTP (POST/PUT/DELETE
 * /api/cameras/{id}) while another camera publishes: a real service on the
 * parade clip, real ffmpeg, a real WebSocket client counting frames.
 *
 * - Each change reaches the clients (frames of the added camera, its new
 *   rate after a change, status 'removed'); the steady camera's source
 *   never restarts (its seq only rises, never 'connecting' again) and
 *   frames keep coming during every change.
 * - Invalid changes are refused whole, naming the key (400), or with 404,
 *   409; nothing running changes (same cameras, same ffmpeg children, the
 *   changed camera still running with its old settings).
 * - After a removal no ffmpeg of it is left.
 * - The routes' own rules (token, body size, methods) against a bare server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/log.js';
import type { CamerasApi } from '../../src/serve/api-types.js';
import { createServer } from '../../src/serve/server.js';
import { NeulensService } from '../../src/service/service.js';
import { ffmpegDescendants } from '../helpers/ffmpeg-fixtures.js';
import { PARADE, REPO_ROOT, WsProbe, getJson, testConfig, sendJson } from '../helpers/service.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

const TOKEN = 's3cret';
const AUTH = { authorization: `Bearer ${TOKEN}` };

/** A request with the token unless told otherwise. */
const send = (method: string, url: string, body?: string, headers: Record<string, string> = AUTH) => sendJson(method, url, body, headers);

describe('cameras at runtime over HTTP', () => {
  it('adds, changes and removes a camera while another publishes; bad changes are refused whole and change nothing', async () => {
    const yaml = `server: { port: 0, authToken: ${TOKEN} }\nmodel: { strategy: full }\ncameras:\n  - { id: steady, url: ${PARADE}, loop: true, fps: 5 }\n`;
    const service = await NeulensService.start(testConfig(yaml), { log: silentLogger, source: { text: yaml, name: 'test.yaml', baseDir: REPO_ROOT, env: {} } });
    open.push(service);
    const api = `${service.server.httpUrl}/api/cameras`;
    const client = await WsProbe.connect(service.url, AUTH);
    open.push(client);
    await client.until(() => client.frames('steady').length >= 3, 30_000, 'steady frames');
    const decoders = ffmpegDescendants().length;
    /** Steady frames received since a mark: it published during that change. */
    const steadySince = (from: number) => client.since(from).filter((m) => m.type === 'frame' && m.camera === 'steady').length;

    // Added: a body as in the config's cameras list (the id comes from the path; a relative url from the config's folder).
    let mark = client.mark();
    const added = await send('POST', `${api}/extra`, JSON.stringify({ url: 'samples/parade.mp4', loop: true, fps: 4 }));
    expect(added).toEqual({ status: 201, body: { added: ['extra'], removed: [], changed: [], needsRestart: [] } });
    await client.until(() => client.frames('extra').length >= 3, 30_000, 'frames from the added camera');
    expect(ffmpegDescendants().length).toBe(decoders + 1);
    await client.until(() => steadySince(mark) >= 3, 30_000, 'steady frames during the addition');
    expect(service.config.cameras.find((c) => c.id === 'extra')).toMatchObject({ url: PARADE, fps: 4 });
    expect((await getJson(api, AUTH)).body).toEqual({ cameras: [
      { id: 'steady', kind: 'file', url: PARADE, enabled: true, state: expect.any(String) as unknown },
      { id: 'extra', kind: 'file', url: PARADE, enabled: true, state: expect.any(String) as unknown },
    ] });

    // Refused, and nothing changes: an existing id, a bad key, a zone outside the frame, an unknown camera.
    const before = { ids: service.cameraIds().sort(), config: JSON.stringify(service.config), decoders: ffmpegDescendants().sort() };
    expect((await send('POST', `${api}/extra`, JSON.stringify({ url: PARADE }))).status).toBe(409);
    const badKey = await send('POST', `${api}/third`, JSON.stringify({ url: 'ftp://cam/3' }));
    expect(badKey.status).toBe(400);
    expect(badKey.body).toMatchObject({ key: 'cameras[2].url', code: 'CONFIG_INVALID', error: expect.stringMatching(/cameras\[2\]\.url: unsupported URL scheme 'ftp:\/\/'/) as unknown });
    const typo = await send('PUT', `${api}/extra`, JSON.stringify({ url: PARADE, fsp: 2 }));
    expect(typo.body).toMatchObject({ key: 'cameras[1].fsp', error: expect.stringMatching(/did you mean 'fps'/) as unknown });
    const outside = await send('PUT', `${api}/extra`, JSON.stringify({ url: PARADE, loop: true, fps: 2, zones: { far: { points: [[0, 0], [2000, 0], [0, 100]] } } }));
    expect(outside.status).toBe(400);
    expect(outside.body).toMatchObject({ key: 'cameras[1].zones.far.points[1]', error: expect.stringMatching(/outside the camera's 960x540 frame/) as unknown });
    expect((await send('PUT', `${api}/ghost`, JSON.stringify({ url: PARADE }))).status).toBe(404);
    expect((await send('DELETE', `${api}/ghost`)).status).toBe(404);
    expect((await send('POST', `${api}/other`, JSON.stringify({ id: 'different', url: PARADE }))).body).toMatchObject({ key: 'id' });
    expect({ ids: service.cameraIds().sort(), config: JSON.stringify(service.config), decoders: ffmpegDescendants().sort() }).toEqual(before);
    mark = client.mark();
    await client.until(() => client.since(mark).filter((m) => m.type === 'frame' && m.camera === 'extra').length >= 2, 30_000, 'the extra camera still running after the refusals');

    // Changed: restarted with its new settings, alone.
    mark = client.mark();
    const changed = await send('PUT', `${api}/extra`, `url: ${PARADE}\nloop: true\nfps: 2\n`);
    expect(changed).toEqual({ status: 200, body: { added: [], removed: [], changed: ['extra'], needsRestart: [] } });
    expect(service.config.cameras.find((c) => c.id === 'extra')?.fps).toBe(2);
    await client.until(() => client.since(mark).filter((m) => m.type === 'frame' && m.camera === 'extra').length >= 2, 30_000, 'frames after the change');
    await client.until(() => steadySince(mark) >= 3, 30_000, 'steady frames during the change');
    expect(ffmpegDescendants().length).toBe(decoders + 1);

    // Removed: clients told, its ffmpeg gone by the answer.
    mark = client.mark();
    expect(await send('DELETE', `${api}/extra`)).toEqual({ status: 200, body: { added: [], removed: ['extra'], changed: [], needsRestart: [] } });
    expect(service.cameraIds()).toEqual(['steady']);
    expect(ffmpegDescendants().length).toBe(decoders);
    await client.until(() => client.statuses('extra').some((s) => s.msg.state === 'removed'), 10_000, "the removed camera's status");
    await client.until(() => steadySince(mark) >= 3, 30_000, 'steady frames after the removal');
    // The last camera cannot go: the config needs one.
    expect((await send('DELETE', `${api}/steady`)).body).toMatchObject({ key: 'cameras' });

    // The steady camera's source never restarted.
    const seqs = client.frames('steady').map((f) => f.msg.seq);
    expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!)).toBe(true);
    expect(client.statuses('steady').filter((s) => s.msg.state === 'connecting')).toEqual([]);
  }, 150_000);

  it('the routes: reads need the token like /api/stats; changes need one set (403 without); bodies are capped; other methods 405', async () => {
    const calls: string[] = [];
    const fake: CamerasApi = {
      list: () => ({ cameras: [{ id: 'a' }] }),
      add: async (id, body) => (calls.push(`add ${id} ${body}`), { added: [id] }),
      replace: async (id) => (calls.push(`replace ${id}`), { changed: [id] }),
      remove: async (id) => (calls.push(`remove ${id}`), { removed: [id] }),
    };
    const open1 = await createServer({ port: 0, cameras: fake });
    open.push(open1);
    expect((await getJson(`${open1.httpUrl}/api/cameras`)).body).toEqual({ cameras: [{ id: 'a' }] });
    expect((await getJson(`${open1.httpUrl}/api/cameras/a`)).body).toEqual({ id: 'a' });
    expect((await getJson(`${open1.httpUrl}/api/cameras/b`)).status).toBe(404);
    const refused = await send('POST', `${open1.httpUrl}/api/cameras/b`, '{}', {});
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatch(/needs server\.authToken/);
    expect((await getJson(`${open1.httpUrl}/api/events`)).status).toBe(404);

    const guarded = await createServer({ port: 0, token: TOKEN, cameras: fake });
    open.push(guarded);
    expect((await getJson(`${guarded.httpUrl}/api/cameras`)).status).toBe(401);
    expect((await send('DELETE', `${guarded.httpUrl}/api/cameras/a`, undefined, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await send('POST', `${guarded.httpUrl}/api/cameras/b?token=${TOKEN}`, '{"url": "x.mp4"}', {})).status).toBe(201);
    expect((await send('PUT', `${guarded.httpUrl}/api/cameras/b`, '{}')).status).toBe(200);
    expect((await send('DELETE', `${guarded.httpUrl}/api/cameras/b`)).status).toBe(200);
    expect((await send('POST', `${guarded.httpUrl}/api/cameras/b`, 'x'.repeat(70_000))).status).toBe(413);
    expect((await send('PATCH', `${guarded.httpUrl}/api/cameras/b`, '{}')).status).toBe(405);
    expect((await send('POST', `${guarded.httpUrl}/api/cameras`, '{}')).status).toBe(405);
    expect((await send('DELETE', `${guarded.httpUrl}/api/cameras/%E0%A4%A`)).status).toBe(400);
    expect(calls).toEqual(['add b {"url": "x.mp4"}', 'replace b', 'remove b']);
  });
});
