/**
 * A real NATS server with JetStream for tests: Debian's nats-server
 * (installed by .ci/setup-system.sh), started by the test on a loopback port
 * with its store in a temporary folder (file storage, so a restart keeps
 * the KV buckets). Stopping it is the server going away; starting it again
 * on the same port and store is it coming back. Outside CI a machine
 * without nats-server skips these tests with a message; under CI=true that
 * is a failure.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLoopbackServer, type LoopbackServer } from './loopback-server.js';
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

/** A running nats-server (see ./loopback-server.ts). */
export type NatsServer = LoopbackServer;

/** Starts `nats-server -js` (or, with jetstream: false, a server without JetStream) on a free loopback port; resolves once it accepts connections. */
export async function startNats(opts: { jetstream?: boolean } = {}): Promise<NatsServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'neulens-nats-'));
  const port = await freePort();
  const js = opts.jetstream === false ? [] : ['-js', '-sd', dir];
  return startLoopbackServer({ name: 'nats-server', command: NATS_SERVER, args: [...js, '-a', '127.0.0.1', '-p', String(port)], port, url: `nats://127.0.0.1:${port}`, dir });
}
