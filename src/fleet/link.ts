/**
 * The one owner of a NATS connection (npm `nats`), for an instance or a
 * gateway. Nothing here waits on the server on a camera's behalf: the
 * publish* methods decide at once and return.
 *
 * - Start-up: `open()` connects within fleet.connectTimeoutMs and checks
 *   JetStream, or throws a FleetError naming fleet.url (the CLI exits 1).
 *   Once up, a lost connection is retried forever (every 250-750 ms), and a
 *   dead server is noticed by pings within about 4 s.
 * - Frames and pictures are live: they go out only while connected and while
 *   fewer than maxPendingBytes published are unacknowledged (a flush round
 *   trip every 200 ms acknowledges them); otherwise they are dropped and
 *   counted. nats.js would otherwise buffer without limit while reconnecting.
 * - Status and stats are state: while away, only the latest per subject
 *   waits, and goes out on reconnect.
 * - Events are history: while away they wait in a FIFO of outboxSize (the
 *   oldest dropped and counted), and go out in order on reconnect.
 * - `close()` (idempotent) drains (2 s at most) and closes.
 */
import { connect, Events, headers, type KV, type KvOptions, type Msg, type MsgHdrs, type NatsConnection, type NatsError, type Subscription } from 'nats';
import { errorMessage, FleetError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { redactCredentials } from '../core/redact.js';
import { INSTANCE_HEADER } from './subjects.js';

/** A KV create or revision-checked update that lost: the key exists, or changed since it was read (JetStream's 10071). */
export const isWrongSequence = (err: unknown): boolean => (err as NatsError | undefined)?.api_error?.err_code === 10071;

export interface LinkOptions {
  url: string;
  /** This process's id: the connection's name, and the INSTANCE_HEADER of what it publishes. */
  instance: string;
  user?: string | undefined;
  password?: string | undefined;
  connectTimeoutMs: number;
  outboxSize: number;
  maxPendingBytes: number;
  log: Logger;
  /** Called after each reconnection, once the waiting state and events are on their way. */
  onReconnect?: () => void;
  /** Called when the connection is lost (the link retries by itself). */
  onDisconnect?: () => void;
}

export interface LinkStats {
  url: string;
  connected: boolean;
  published: number;
  /** Frames and pictures not sent: the server away, or too much unacknowledged; events that overflowed the outbox. */
  dropped: { disconnected: number; congested: number; outbox: number };
  /** Events and state messages waiting for the connection. */
  queued: number;
  pendingBytes: number;
  reconnects: number;
  lastError?: string;
}

const FLUSH_EVERY_MS = 200;

interface Waiting {
  subject: string;
  data: Uint8Array;
}

export class NatsLink {
  private up = true;
  private pendingBytes = 0;
  private flushing = false;
  private published = 0;
  private reconnects = 0;
  private readonly dropped = { disconnected: 0, congested: 0, outbox: 0 };
  private readonly events: Waiting[] = [];
  private readonly states = new Map<string, Uint8Array>();
  private lastError: string | undefined;
  private readonly hdrs: MsgHdrs;
  private readonly timer: NodeJS.Timeout;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly nc: NatsConnection,
    private readonly o: LinkOptions,
  ) {
    this.hdrs = headers();
    this.hdrs.set(INSTANCE_HEADER, o.instance);
    this.timer = setInterval(() => this.flush(), FLUSH_EVERY_MS).unref();
    void this.watchStatus();
  }

  /** Connects, or throws a FleetError naming fleet.url: the server unreachable, refusing us, or without JetStream. */
  static async open(o: LinkOptions): Promise<NatsLink> {
    const where = redactCredentials(o.url);
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: o.url,
        name: o.instance,
        ...(o.user !== undefined ? { user: o.user } : {}),
        ...(o.password !== undefined ? { pass: o.password } : {}),
        timeout: o.connectTimeoutMs,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        reconnectJitter: 250,
        // A server that died without closing the socket is found in 2 missed pings.
        pingInterval: 2000,
        maxPingOut: 2,
      });
    } catch (err) {
      throw new FleetError('fleet.url', `cannot reach the NATS server at ${where} (${describeNatsError(err)}); start it (nats-server -js) or fix fleet.url / --fleet`, { cause: err });
    }
    try {
      await (await nc.jetstreamManager()).getAccountInfo();
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw new FleetError('fleet.url', `the NATS server at ${where} has no JetStream (${describeNatsError(err)}); start it with -js`, { cause: err });
    }
    o.log.info('fleet: connected to NATS', { url: where, instance: o.instance });
    return new NatsLink(nc, o);
  }

  get connected(): boolean {
    return this.up && !this.nc.isClosed();
  }

  /** A KV bucket (created with `opts` when absent). */
  kv(name: string, opts: Partial<KvOptions>): Promise<KV> {
    return this.nc.jetstream().views.kv(name, opts);
  }

  /** A frame or picture: sent now, or dropped and counted. Returns whether it went. */
  publishLive(subject: string, data: Uint8Array): boolean {
    if (!this.connected) {
      this.dropped.disconnected++;
      return false;
    }
    if (this.pendingBytes >= this.o.maxPendingBytes) {
      this.dropped.congested++;
      return false;
    }
    this.send(subject, data);
    return true;
  }

  /** A state message (status, stats): sent now, or the latest per subject kept for the reconnection. */
  publishState(subject: string, data: Uint8Array): void {
    if (this.connected) return this.send(subject, data);
    this.states.set(subject, data);
  }

  /** An event: sent now, or queued in order (the oldest dropped and counted when outboxSize is reached). */
  publishEvent(subject: string, data: Uint8Array): void {
    if (this.connected && this.events.length === 0) return this.send(subject, data);
    this.events.push({ subject, data });
    while (this.events.length > this.o.outboxSize) {
      this.events.shift();
      this.dropped.outbox++;
    }
  }

  subscribe(subject: string, onMessage: (m: Msg) => void): Subscription {
    return this.nc.subscribe(subject, {
      callback: (err, m) => {
        if (err) return this.note(errorMessage(err), 'fleet: subscription failed');
        try {
          onMessage(m);
        } catch (e) {
          // A bad message must not end the subscription (nats.js would close it on a throw).
          this.o.log.warn('fleet: a message could not be handled', { subject: m.subject, error: errorMessage(e) });
        }
      },
    });
  }

  stats(): LinkStats {
    return {
      url: redactCredentials(this.o.url),
      connected: this.connected,
      published: this.published,
      dropped: { ...this.dropped },
      queued: this.events.length + this.states.size,
      pendingBytes: this.pendingBytes,
      reconnects: this.reconnects,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  /** Idempotent: what is queued goes if it can (2 s at most), then the connection closes. Never rejects. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.timer);
      if (this.nc.isClosed()) return;
      const drained = this.nc.drain().then(
        () => true,
        () => false,
      );
      const ok = await Promise.race([drained, new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref())]);
      if (!ok) await this.nc.close().catch(() => undefined);
      this.up = false;
    })();
    return this.closing;
  }

  private send(subject: string, data: Uint8Array): void {
    try {
      this.nc.publish(subject, data, { headers: this.hdrs });
      this.published++;
      this.pendingBytes += data.length;
    } catch (err) {
      // Closed or draining: the message is lost like a disconnected one.
      this.dropped.disconnected++;
      this.note(errorMessage(err), 'fleet: publish failed');
    }
  }

  /** One round trip at a time: what was published before it is then acknowledged by the server. */
  private flush(): void {
    if (this.flushing || this.pendingBytes === 0 || !this.connected) return;
    this.flushing = true;
    const before = this.pendingBytes;
    this.nc.flush().then(
      () => {
        this.pendingBytes = Math.max(0, this.pendingBytes - before);
        this.flushing = false;
      },
      () => {
        this.flushing = false;
      },
    );
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      const data = typeof s.data === 'string' || typeof s.data === 'number' ? String(s.data) : '';
      if (s.type === Events.Disconnect) {
        if (!this.up) continue;
        this.up = false;
        this.note(`disconnected from ${redactCredentials(data)}`, 'fleet: NATS connection lost; retrying');
        this.o.onDisconnect?.();
      } else if (s.type === Events.Reconnect) {
        this.up = true;
        this.reconnects++;
        this.flushing = false;
        // What was pending went down with the old socket, or goes out now: either way it is not owed.
        this.pendingBytes = 0;
        this.lastError = undefined;
        this.o.log.info('fleet: NATS reconnected', { url: redactCredentials(this.o.url) });
        for (const e of this.events.splice(0)) this.send(e.subject, e.data);
        for (const [subject, data] of this.states) this.send(subject, data);
        this.states.clear();
        this.o.onReconnect?.();
      } else if (s.type === Events.Error) {
        this.note(data, 'fleet: NATS error');
      }
    }
  }

  /** Logs a problem once (warn), and again only when it changes. */
  private note(message: string, what: string): void {
    const text = redactCredentials(message);
    if (text !== this.lastError) this.o.log.warn(what, { error: text });
    this.lastError = text;
  }
}

/** NATS errors say their code more plainly than their message ("CONNECTION_REFUSED", "TIMEOUT", "503"). */
export function describeNatsError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const msg = errorMessage(err);
  if (code === '503') return 'JetStream not enabled';
  if (typeof code === 'string' && code !== msg) return `${code.toLowerCase().replaceAll('_', ' ')}: ${msg}`;
  return msg.toLowerCase().replaceAll('_', ' ');
}
