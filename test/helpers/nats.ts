/**
 * A real NATS server with JetStream for tests: Debian's nats-server
 * (installed by .ci/setup-system.sh), started by the test on a loopback port
 * with its store in a temporary folder (file storage, so a restart keeps
 * the KV buckets). Stopping it is the server going away; starting it again
 * on the same port and store is it coming back. Outside CI a machine
 * without nats-server skips these tests with a message; under CI=true that
 * is a failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './service.js';

/** Debian puts it in /usr/sbin (not on a user's PATH); NATS_SERVER overrides, e.g. for a server from nats.io's releases. */
const NATS_SERVER = process.env.NATS_SERVER ?? ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((p) => existsSync(p)) ?? '/usr/sbin/nats-server';

let unavailable: string | null | undefined;

/** undefined when nats-server 2.x can run here, else why not. */
export function natsUnavailableReason(): string | undefined {
  if (unavailable === undefined) {
    const r = spawnSync(NATS_SERVER, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    unavailable = r.error ? `${NATS_SERVER} not runnable (${r.error.message}); install Debian's nats-server (bash .ci/setup-system.sh)` : /v2\.\d+/.test(r.stdout + r.stderr) ? null : `${NATS_SERVER} is not 2.x: ${(r.stdout + r.stderr).trim()}`;
  }
  return unavailable ?? undefined;
}

/** Throws under CI when nats-server is missing; elsewhere says it skips. Returns the reason to skip, if any. */
export function requireNats(what: string): string | undefined {
  const why = natsUnavailableReason();
  if (why && process.env.CI) throw new Error(`${why}; CI must have it`);
  if (why) console.warn(`skipping ${what}: ${why}`);
  return why;
}

export interface NatsServer {
  port: number;
  url: string;
  pid: number | undefined;
  /** Stop it (SIGTERM by default) and wait for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Start it again on the same port and store. */
  restart(): Promise<void>;
  /** Kill it and remove its store (idempotent). */
  dispose(): Promise<void>;
  log(): string;
}

const cleanups = new Set<() => void>();
process.once('exit', () => {
  for (const c of cleanups) c();
});

/** Starts `nats-server -js` (or, with jetstream: false, a server without JetStream) on a free loopback port; resolves once it accepts connections. */
export async function startNats(opts: { jetstream?: boolean } = {}): Promise<NatsServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'neulens-nats-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let out = '';
  const signal = (sig: NodeJS.Signals): void => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill(sig);
  };
  const cleanup = (): void => {
    signal('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  cleanups.add(cleanup);
  const start = async (): Promise<void> => {
    const js = opts.jetstream === false ? [] : ['-js', '-sd', dir];
    const c = spawn(NATS_SERVER, [...js, '-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    exited = new Promise((resolve) => c.once('close', () => resolve()));
    c.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    c.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    const deadline = Date.now() + 10_000;
    while (!(await accepts(port))) {
      if (c.exitCode !== null) throw new Error(`nats-server exited (${c.exitCode}): ${out}`);
      if (Date.now() > deadline) throw new Error(`nats-server did not listen on ${port} in 10 s: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await start();
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    async stop(sig: NodeJS.Signals = 'SIGTERM') {
      signal(sig);
      await exited;
    },
    restart: start,
    async dispose() {
      signal('SIGKILL');
      await exited;
      cleanup();
      cleanups.delete(cleanup);
    },
    log: () => out,
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}
