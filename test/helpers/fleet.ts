/**
 * Fleet tests run the real CLI: `neulens serve --fleet` instances and a
 * `neulens gateway` as child processes (so SIGKILL and SIGTERM are real),
 * against a real nats-server. This file starts them, waits for them, reads
 * their /api/stats, and listens on the fleet's subjects with its own NATS
 * client to count who publishes what.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { connect, type NatsConnection } from 'nats';
import type { StatsBody } from '../../src/serve/routes.js';
import { INSTANCE_HEADER } from '../../src/fleet/subjects.js';
import { REPO_ROOT, freePort, getJson, waitForAsync } from './service.js';

const BIN = path.join(REPO_ROOT, 'bin/neulens.js');

export interface Cli {
  name: string;
  child: ChildProcess;
  port: number;
  http: string;
  ws: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  alive(): boolean;
  stats(): Promise<StatsBody>;
}

/** Runs `node bin/neulens.js <args>` with PORT in its environment (configs say `port: ${PORT}`). */
export function runCli(name: string, args: string[], port: number, env: Record<string, string> = {}): Cli {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PORT: String(port), ...env } });
  let out = '';
  const keep = (d: Buffer): void => {
    out = (out + d.toString()).slice(-60_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  const http = `http://127.0.0.1:${port}`;
  return {
    name,
    child,
    port,
    http,
    ws: `ws://127.0.0.1:${port}/ws`,
    exited,
    output: () => out,
    alive: () => child.exitCode === null && child.signalCode === null,
    stats: async () => (await getJson(`${http}/api/stats`)).body as StatsBody,
  };
}

/** Waits for /readyz 200, failing early (with its output) if the process exits. */
export async function waitReady(cli: Cli, timeoutMs = 60_000): Promise<void> {
  await waitForAsync(
    async () => {
      if (!cli.alive()) throw new Error(`${cli.name} exited before it was ready:\n${cli.output()}`);
      return getJson(`${cli.http}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
    },
    timeoutMs,
    `${cli.name} /readyz 200`,
    100,
  );
}

/** Starts an instance (`serve --config <config> --fleet <url>`) on a free port. */
export async function startInstance(name: string, config: string, fleetUrl: string, env: Record<string, string> = {}): Promise<Cli> {
  return runCli(name, ['serve', '--config', config, '--fleet', fleetUrl], await freePort(), { NEULENS_INSTANCE: name, ...env });
}

/** Starts a gateway on a free port. */
export async function startGateway(config: string, fleetUrl: string): Promise<Cli> {
  return runCli('gateway', ['gateway', '--config', config, '--fleet', fleetUrl], await freePort(), { NEULENS_INSTANCE: 'main' });
}

export async function writeConfig(file: string, yaml: string): Promise<string> {
  await writeFile(file, yaml);
  return file;
}

export interface Published {
  camera: string;
  instance: string;
  seq: number;
  atMs: number;
}

/**
 * A NATS client of the test's own on the fleet's frames and events: every
 * one with the instance that published it (the INSTANCE_HEADER), as it arrives.
 */
export class FrameRecorder {
  readonly frames: Published[] = [];
  /** Every event on <prefix>.<camera>.events: its payload, the camera its subject names, and its publisher. */
  readonly events: Array<{ camera: string; instance: string; payload: unknown }> = [];

  private constructor(private readonly nc: NatsConnection) {}

  static async start(url: string, prefix = 'neulens'): Promise<FrameRecorder> {
    const nc = await connect({ servers: url, reconnectTimeWait: 200, maxReconnectAttempts: -1 });
    const r = new FrameRecorder(nc);
    nc.subscribe(`${prefix}.*.frames`, {
      callback: (_err, m) => {
        const msg = JSON.parse(Buffer.from(m.data).toString('utf8')) as { camera: string; seq: number };
        r.frames.push({ camera: msg.camera, seq: msg.seq, instance: m.headers?.get(INSTANCE_HEADER) ?? '?', atMs: Date.now() });
      },
    });
    nc.subscribe(`${prefix}.*.events`, {
      callback: (_err, m) => {
        r.events.push({ camera: m.subject.split('.').at(-2) ?? '?', instance: m.headers?.get(INSTANCE_HEADER) ?? '?', payload: JSON.parse(Buffer.from(m.data).toString('utf8')) });
      },
    });
    await nc.flush();
    return r;
  }

  get connection(): NatsConnection {
    return this.nc;
  }

  /** Who published each camera's frames since `fromMs`. */
  publishers(fromMs = 0): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const f of this.frames) {
      if (f.atMs < fromMs) continue;
      const s = out.get(f.camera) ?? new Set<string>();
      s.add(f.instance);
      out.set(f.camera, s);
    }
    return out;
  }

  /** Per camera, the whole seconds (of the epoch) in which more than one instance published its frames. */
  doubleSeconds(): Map<string, number[]> {
    const per = new Map<string, Map<number, Set<string>>>();
    for (const f of this.frames) {
      const secs = per.get(f.camera) ?? new Map<number, Set<string>>();
      const s = Math.floor(f.atMs / 1000);
      const who = secs.get(s) ?? new Set<string>();
      who.add(f.instance);
      secs.set(s, who);
      per.set(f.camera, secs);
    }
    const out = new Map<string, number[]>();
    for (const [camera, secs] of per) out.set(camera, [...secs].filter(([, who]) => who.size > 1).map(([s]) => s));
    return out;
  }

  /** The first frame of `camera` from an instance other than `not`, at or after `fromMs`. */
  firstFrom(camera: string, fromMs: number, not: string): Published | undefined {
    return this.frames.find((f) => f.camera === camera && f.atMs >= fromMs && f.instance !== not);
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}
