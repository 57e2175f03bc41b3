/**
 * `neulens serve --fleet` and `neulens gateway` refusing what they cannot
 * run, as a user sees it: the real CLI process, a real nats-server (with and
 * without JetStream) on a loopback port. A bad fleet config exits 2 naming
 * the key; a NATS server that is unreachable, has no JetStream, or holds
 * buckets made with another lease TTL exits 1 naming the key to look at,
 * before any model loads.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, writeConfig, type Cli } from '../helpers/fleet.js';
import { requireNats, startNats, type NatsServer } from '../helpers/nats.js';
import { PARADE, REPO_ROOT, freePort } from '../helpers/service.js';

const skip = requireNats('fleet CLI tests');
const PACK = path.join(REPO_ROOT, 'models/nanodet-g');

function yaml(fleet: string): string {
  return `server:\n  port: \${PORT}\nmodel:\n  pack: ${PACK}\n${fleet}cameras:\n  - { id: cam1, url: ${PARADE}, loop: true }\n`;
}

async function exitOf(cli: Cli): Promise<{ code: number | null; out: string }> {
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), 30_000);
  const { code } = await cli.exited;
  clearTimeout(timer);
  return { code, out: cli.output() };
}

describe.skipIf(skip !== undefined)('neulens serve --fleet / neulens gateway: bad input', () => {
  let dir: string;
  let js: NatsServer;
  let plain: NatsServer;
  const run = async (name: string, args: string[]): Promise<{ code: number | null; out: string }> => exitOf(runCli(name, args, await freePort()));
  const config = (name: string, fleet: string): Promise<string> => writeConfig(path.join(dir, `${name}.yaml`), yaml(fleet));

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'neulens-fleet-cli-'));
    [js, plain] = await Promise.all([startNats(), startNats({ jetstream: false })]);
  });
  afterAll(async () => {
    await js?.dispose();
    await plain?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['maxCameras 0', 'fleet.maxCameras', 'fleet:\n  url: nats://127.0.0.1:4222\n  maxCameras: 0\n'],
    ['an unknown key', 'fleet.leaseTTL', 'fleet:\n  url: nats://127.0.0.1:4222\n  leaseTTL: 5000\n'],
    ['a lease TTL under a second', 'fleet.leaseTtlMs', 'fleet:\n  url: nats://127.0.0.1:4222\n  leaseTtlMs: 200\n'],
    ['an http:// url', 'fleet.url', 'fleet:\n  url: http://127.0.0.1:4222\n'],
    ['credentials in the url', 'fleet.url', 'fleet:\n  url: nats://me:secret@127.0.0.1:4222\n'],
    ['a password without a user', 'fleet.password', 'fleet:\n  url: nats://127.0.0.1:4222\n  password: secret\n'],
    ['an instance id with a dot', 'fleet.instance', 'fleet:\n  url: nats://127.0.0.1:4222\n  instance: a.b\n'],
    ['no url anywhere', 'fleet.url', 'fleet:\n  maxCameras: 2\n'],
  ])('a fleet config with %s exits 2 naming %s', async (name, key, fleet) => {
    const { code, out } = await run('serve', ['serve', '--config', await config(name.replace(/[^A-Za-z0-9]+/g, '-'), fleet)]);
    expect(code, out).toBe(2);
    expect(out).toContain(key);
    expect(out).not.toContain('secret');
  });

  it('--fleet with a URL that is not nats:// exits 2 naming fleet.url (from --fleet)', async () => {
    const { code, out } = await run('serve', ['serve', '--config', await config('plain', ''), '--fleet', 'redis://127.0.0.1:6379']);
    expect(code, out).toBe(2);
    expect(out).toMatch(/fleet\.url: .*\(from --fleet\)/);
  });

  it('an unreachable NATS server at start-up exits 1 naming fleet.url, for serve and gateway alike', async () => {
    const nobody = `nats://127.0.0.1:${await freePort()}`;
    const file = await config('unreachable', 'fleet:\n  connectTimeoutMs: 1000\n');
    for (const args of [['serve', '--config', file, '--fleet', nobody], ['gateway', '--config', file, '--fleet', nobody]]) {
      const { code, out } = await run(args[0] as string, args);
      expect(code, out).toBe(1);
      expect(out).toContain(`fleet.url: cannot reach the NATS server at ${nobody}`);
      // Nothing was loaded: the model and cameras never started.
      expect(out).not.toContain('serving');
    }
  });

  it('a NATS server without JetStream exits 1 saying so', async () => {
    const { code, out } = await run('serve', ['serve', '--config', await config('nojs', ''), '--fleet', plain.url]);
    expect(code, out).toBe(1);
    expect(out).toContain(`fleet.url: the NATS server at ${plain.url} has no JetStream`);
  });

  it('buckets made with another lease TTL exit 1 naming fleet.leaseTtlMs', async () => {
    // Another fleet's instance made the lease bucket with a 4 s TTL.
    const nc = await connect({ servers: js.url });
    await nc.jetstream().views.kv('ttl-leases', { history: 1, ttl: 4000 });
    await nc.close();
    const { code, out } = await run('serve', ['serve', '--config', await config('ttl', 'fleet:\n  bucket: ttl\n  leaseTtlMs: 5000\n'), '--fleet', js.url]);
    expect(code, out).toBe(1);
    expect(out).toContain('fleet.leaseTtlMs: the bucket ttl-leases was made with a TTL of 4000 ms, this config says 5000 ms');
  });

  it('gateway without --fleet or a fleet: section exits 2 with its usage', async () => {
    const { code, out } = await run('gateway', ['gateway']);
    expect(code, out).toBe(2);
    expect(out).toContain('usage: neulens gateway --fleet');
  });
});
