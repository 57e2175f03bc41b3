/**
 * A real MQTT broker for tests: Debian's mosquitto (installed by
 * .ci/setup-system.sh), started by the test on a loopback port with a config
 * file it writes (mosquitto 2.x needs an explicit listener and
 * allow_anonymous, or a password file), no persistence. Stopping it is the
 * broker going away; starting it again on the same port is it coming back.
 * Outside CI a machine without mosquitto skips these tests with a message;
 * under CI=true that is a failure (the file throws at load).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { startLoopbackServer, type LoopbackServer } from './loopback-server.js';
import { freePort } from './service.js';

const MOSQUITTO = '/usr/sbin/mosquitto';
const MOSQUITTO_PASSWD = '/usr/bin/mosquitto_passwd';

let unavailable: string | null | undefined;

/** undefined when mosquitto can run here, else why not. */
export function mosquittoUnavailableReason(): string | undefined {
  if (unavailable === undefined) {
    const r = spawnSync(MOSQUITTO, ['-h'], { encoding: 'utf8', timeout: 10_000 });
    // `mosquitto -h` prints its usage and exits 3; a missing binary has no status.
    unavailable = r.error ? `${MOSQUITTO} not runnable (${r.error.message}); install Debian's mosquitto (bash .ci/setup-system.sh)` : /mosquitto version 2\./.test(r.stdout + r.stderr) ? null : `${MOSQUITTO} is not mosquitto 2.x: ${(r.stdout + r.stderr).split('\n')[0] ?? ''}`;
  }
  return unavailable ?? undefined;
}

/** Throws under CI when mosquitto is missing; elsewhere says it skips. Returns the reason to skip, if any. */
export function requireMosquitto(what: string): string | undefined {
  const why = mosquittoUnavailableReason();
  if (why && process.env.CI) throw new Error(`${why}; CI must have it`);
  if (why) console.warn(`skipping ${what}: ${why}`);
  return why;
}

/**
 * A running mosquitto (see ./loopback-server.ts). stop() with SIGTERM closes its clients'
 * connections (the last wills go out); restart() keeps the port and the users.
 */
export type Broker = LoopbackServer;

export interface BrokerOptions {
  port?: number;
  /** Users (name -> password); then anonymous clients are refused. */
  users?: Record<string, string>;
  /**
   * Keep sessions across a restart (saved on SIGTERM, read back at start): a
   * subscriber with a persistent session (clean: false) then gets, once it is
   * back, every QoS 1 message published while it was away, in order.
   */
  persistence?: boolean;
}

/** Starts mosquitto on a free loopback port (or `port`); resolves once it accepts connections. */
export async function startBroker(o: BrokerOptions = {}): Promise<Broker> {
  const dir = mkdtempSync(path.join(tmpdir(), 'neulens-mosquitto-'));
  // Started as root, mosquitto runs as the 'mosquitto' user: it must read its files and write its database here.
  chmodSync(dir, 0o777);
  const port = o.port ?? (await freePort());
  const persistence = o.persistence ? ['persistence true', `persistence_location ${dir}/`, 'max_queued_messages 100000'] : ['persistence false'];
  const lines = [`listener ${port} 127.0.0.1`, ...persistence, 'log_dest stderr', 'log_type error', 'log_type warning', 'log_type notice', 'log_type information'];
  if (o.users) {
    const file = path.join(dir, 'passwd');
    writeFileSync(file, '');
    for (const [user, password] of Object.entries(o.users)) {
      const r = spawnSync(MOSQUITTO_PASSWD, ['-b', file, user, password], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr}`);
    }
    chmodSync(file, 0o644);
    lines.push(`password_file ${file}`, 'allow_anonymous false');
  } else {
    lines.push('allow_anonymous true');
  }
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`);

  return startLoopbackServer({ name: 'mosquitto', command: MOSQUITTO, args: ['-c', conf], port, url: `mqtt://127.0.0.1:${port}`, dir });
}

export interface Received {
  topic: string;
  payload: string;
  /** The payload as sent (a snapshot's JPEG is no text). */
  bytes: Buffer;
  retain: boolean;
  atMs: number;
}

/** A real MQTT subscriber that keeps every message (topic, text, retain flag, arrival time). */
export class MqttProbe {
  readonly received: Received[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.received.push({ topic, payload: payload.toString('utf8'), bytes: payload, retain: packet.retain, atMs: Date.now() });
    });
  }

  /** Connects to `url` and subscribes to `filters`; resolves once subscribed (retained messages follow). */
  static async connect(url: string, filters: string[], opts: IClientOptions = {}): Promise<MqttProbe> {
    const client = connect(url, { reconnectPeriod: 200, connectTimeout: 5000, clean: true, ...opts });
    const probe = new MqttProbe(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    if (filters.length > 0) await client.subscribeAsync(filters, { qos: 1 });
    return probe;
  }

  on(topic: string): Received[] {
    return this.received.filter((r) => r.topic === topic);
  }

  async until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
