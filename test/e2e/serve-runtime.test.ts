/**
 * `neulens serve` living with change, as a user runs it (its own process,
 * the compiled CLI):
 *
 * - SIGHUP reads the config file again: an added camera starts, a bad file
 *   is refused whole (the log names the key, every camera runs on), a
 *   removed camera stops (clients told, its ffmpeg gone), and keys outside
 *   `cameras` are named as waiting for a restart. The other camera's frames
 *   keep coming throughout: its source never restarts (its seq only rises).
 * - A read-only database file: the service serves live detections anyway;
 *   /api/stats and the log say the history failed, naming history.path.
 *   Root writes through file modes, so as root the file is made immutable
 *   (chattr +i: even root's writes fail, as on a read-only mount); where the
 *   file system has no such flag, the service runs as nobody (setpriv),
 *   which needs the checkout readable by nobody.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStore } from '../../src/history/store.js';
import type { StatsBody } from '../../src/serve/routes.js';
import { runCli, waitOutput, waitReady, type Running } from '../helpers/cli.js';
import { ffmpegDescendants } from '../helpers/ffmpeg-fixtures.js';
import { PARADE, REPO_ROOT, WsProbe, freePort, getJson, waitForAsync } from '../helpers/service.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'neulens-runtime-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function cli(args: string[], prefix: string[] = []): Running {
  const r = runCli(args, prefix);
  cleanup.push(() => r.dispose());
  return r;
}

const PACK = path.join(REPO_ROOT, 'models/nanodet-g');
const camera = (id: string, fps: number, extra = '') => `  - id: ${id}\n    url: ${PARADE}\n    loop: true\n    fps: ${fps}\n${extra}`;
const config = (port: number, cams: string, level = 'info') => `server:\n  port: ${port}\nmodel:\n  pack: ${PACK}\n  strategy: full\ncameras:\n${cams}logging:\n  level: ${level}\n`;

describe('neulens serve at runtime', () => {
  it('SIGHUP: adds a camera, refuses a bad file whole naming the key, removes a camera; the other camera never stops', async () => {
    const dir = await tempDir();
    const port = await freePort();
    const file = path.join(dir, 'serve.yaml');
    await writeFile(file, config(port, camera('steady', 5)));
    const serve = cli(['serve', '--config', file]);
    await waitReady(serve, port);
    const client = await WsProbe.connect(`ws://127.0.0.1:${port}/ws`);
    cleanup.push(() => client.close());
    await client.until(() => client.frames('steady').length >= 3, 30_000, 'steady frames');
    const decoders = ffmpegDescendants(serve.child.pid).length;

    // Added (and a log level changed: it waits for a restart, and the reload says so).
    await writeFile(file, config(port, camera('steady', 5) + camera('extra', 4), 'debug'));
    let from = serve.output().length;
    serve.child.kill('SIGHUP');
    await waitOutput(serve, /config reloaded added=extra removed= changed= needsRestart=logging.level/, 30_000, 'the reload', from);
    await client.until(() => client.frames('extra').length >= 3, 30_000, 'frames from the added camera');
    expect(ffmpegDescendants(serve.child.pid).length).toBe(decoders + 1);

    // A bad file: refused whole, naming the key; both cameras run on.
    await writeFile(file, config(port, camera('steady', 5) + camera('extra', 4) + '  - id: broken\n    url: ftp://cam/1\n'));
    from = serve.output().length;
    const mark = client.mark();
    serve.child.kill('SIGHUP');
    const refused = await waitOutput(serve, /error .*config reload refused.*/, 30_000, 'the refusal', from);
    expect(refused).toContain('key=cameras[2].url');
    expect(refused).toContain("unsupported URL scheme 'ftp://'");
    await client.until(() => client.since(mark).filter((m) => m.type === 'frame' && m.camera === 'extra').length >= 3, 30_000, 'the added camera still running');
    expect(ffmpegDescendants(serve.child.pid).length).toBe(decoders + 1);
    const cams = (await getJson(`http://127.0.0.1:${port}/api/cameras`)).body as { cameras: Array<{ id: string; state: string }> };
    expect(cams.cameras.map((c) => c.id)).toEqual(['steady', 'extra']);

    // Removed: clients told, its ffmpeg gone.
    await writeFile(file, config(port, camera('steady', 5)));
    from = serve.output().length;
    serve.child.kill('SIGHUP');
    await waitOutput(serve, /config reloaded added= removed=extra changed= needsRestart=\s/, 30_000, 'the removal', from);
    await client.until(() => client.statuses('extra').some((s) => s.msg.state === 'removed'), 10_000, "the removed camera's status");
    expect(ffmpegDescendants(serve.child.pid).length).toBe(decoders);

    // The steady camera never restarted: one source, its seq only rising, frames in every phase.
    const after = client.mark();
    await client.until(() => client.since(after).filter((m) => m.type === 'frame' && m.camera === 'steady').length >= 3, 30_000, 'steady frames after the removal');
    const seqs = client.frames('steady').map((f) => f.msg.seq);
    expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!)).toBe(true);
    expect(client.statuses('steady').filter((s) => s.msg.state === 'connecting')).toEqual([]);

    serve.child.kill('SIGTERM');
    expect((await serve.exited).code, serve.output()).toBe(0);
  }, 180_000);

  it('a read-only database file: live detections flow; the history says failed, naming history.path', async () => {
    const dir = await tempDir();
    await chmod(dir, 0o755);
    const data = path.join(dir, 'data');
    await mkdir(data);
    EventStore.open(data).close();
    await chmod(data, 0o777);
    await chmod(path.join(data, 'events.sqlite'), 0o444);
    const port = await freePort();
    const file = path.join(dir, 'serve.yaml');
    await writeFile(file, `${config(port, camera('steady', 5))}history:\n  path: ${data}\n`);
    await chmod(file, 0o644);
    const asRoot = process.getuid?.() === 0;
    const dbFile = path.join(data, 'events.sqlite');
    // Root is not held back by a file's mode: the immutable flag holds it back (a read-only mount's
    // effect); without that flag on this file system, the service runs as nobody, as a deployment would.
    let immutable = false;
    if (asRoot) {
      try {
        execFileSync('chattr', ['+i', dbFile], { stdio: 'pipe' });
        immutable = true;
        cleanup.push(async () => execFileSync('chattr', ['-i', dbFile], { stdio: 'pipe' }));
      } catch {
        immutable = false;
      }
    }
    const serve = cli(['serve', '--config', file], asRoot && !immutable ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : []);
    await waitReady(serve, port);
    const client = await WsProbe.connect(`ws://127.0.0.1:${port}/ws`);
    cleanup.push(() => client.close());
    await client.until(() => client.frames('steady').length >= 5, 30_000, 'frames despite the read-only history');
    const stats = (await getJson(`http://127.0.0.1:${port}/api/stats`)).body as StatsBody;
    expect(stats.history).toMatchObject({ state: 'failed', error: expect.stringMatching(/^history\.path: .*events\.sqlite.*(readonly|read-only|unable to open)/i) as unknown });
    expect(serve.output()).toMatch(/error .*event history failed.*key=history\.path/);
    const api = await getJson(`http://127.0.0.1:${port}/api/events`);
    expect(api.status).toBe(503);
    await waitForAsync(async () => (((await getJson(`http://127.0.0.1:${port}/api/stats`)).body as StatsBody).cameras[0]?.processed ?? 0) > 10, 30_000, 'frames processed');
    serve.child.kill('SIGTERM');
    expect((await serve.exited).code, serve.output()).toBe(0);
  }, 120_000);
});
