/**
 * The real CLI, as a user runs it: `node bin/neulens.js serve --config x.yaml`
 * in its own process, then SIGTERM (systemd, docker stop) or SIGINT (Ctrl-C).
 * A graceful stop means: WebSocket clients are told 1001 (going away), the
 * process exits 0, and none of its ffmpeg children survive it.
 *
 * bin/neulens.js runs the compiled dist/ (built by `npm ci` / `npm run build`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegDescendants } from '../helpers/ffmpeg-fixtures.js';
import { PARADE, REPO_ROOT, WsProbe, freePort, getJson, processAlive, waitForAsync } from '../helpers/service.js';

const BIN = path.join(REPO_ROOT, 'bin/neulens.js');
const DIST_MAIN = path.join(REPO_ROOT, 'dist/cli/main.js');

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtimeMs(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

beforeAll(() => {
  if (!existsSync(DIST_MAIN)) throw new Error(`${DIST_MAIN} is missing: run \`npm run build\` first (bin/neulens.js runs the compiled CLI)`);
  if (newestMtimeMs(path.join(REPO_ROOT, 'src')) > statSync(DIST_MAIN).mtimeMs) {
    console.warn('dist/ is older than src/: these tests run the compiled CLI; `npm run build` to test your changes');
  }
});

interface Running {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

function runCli(args: string[]): Running {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return { child, exited, output: () => out };
}

describe('neulens serve (the CLI process)', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s: clients get 1001, the process exits 0, no ffmpeg survives', async (signal) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'neulens-cli-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    // Port 0 would work but nobody could learn the port: pick one that was just free.
    const port = await freePort();
    const configPath = path.join(dir, 'serve.yaml');
    await writeFile(
      configPath,
      `server:
  port: ${port}
model:
  pack: ${path.join(REPO_ROOT, 'models/nanodet-g')}
cameras:
  - id: demo
    url: ${PARADE}
    loop: true
logging:
  level: info
`,
    );
    const cli = runCli(['serve', '--config', configPath]);
    const base = `http://127.0.0.1:${port}`;
    let exitedEarly = false;
    void cli.exited.then(() => (exitedEarly = true));

    await waitForAsync(
      async () => {
        if (exitedEarly) throw new Error(`neulens serve exited before it was ready:\n${cli.output()}`);
        return getJson(`${base}/readyz`).then(
          (r) => r.status === 200,
          () => false, // not listening yet
        );
      },
      45_000,
      '/readyz 200',
      100,
    );
    const client = await WsProbe.connect(`ws://127.0.0.1:${port}/ws`);
    cleanup.push(() => client.close());
    await client.until(() => client.frames('demo').length > 0, 30_000, 'a frame from the CLI');

    const decoders = ffmpegDescendants(cli.child.pid);
    expect(decoders.length).toBeGreaterThan(0);

    cli.child.kill(signal);
    const exit = await cli.exited;
    expect(exit, cli.output()).toEqual({ code: 0, signal: null });
    expect(await client.closed).toBe(1001);
    expect(decoders.filter(processAlive)).toEqual([]);
    expect(cli.output()).toContain(`${signal}: shutting down`);
    // The user's way in: the viewer's address, printed once the service is up.
    expect(cli.output()).toContain(`info  neulens: viewer at http://127.0.0.1:${port}/`);
  });
});
