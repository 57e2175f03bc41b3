/**
 * The one owner of the MQTT client (the `mqtt` npm package) and of the
 * outbox in front of it. Nothing here waits on the broker on anyone's
 * behalf: `publishEvent` / `publishState` queue and return at once, so a
 * camera's pipeline never stalls on MQTT.
 *
 * - Connecting starts in the constructor and goes on in the background: an
 *   unreachable broker at start-up delays nothing else.
 * - The last will is `offline` on the availability topic; every connection
 *   (the first and each reconnect) publishes `online` first.
 * - Lost or refused connections are retried with exponential backoff and
 *   jitter (mqtt.reconnect): mqtt.js retries at `reconnectPeriod`, which is
 *   set before each attempt to the next delay of the schedule.
 * - Messages reach the client only while it is connected, at most
 *   MAX_IN_FLIGHT at a time; the rest wait in the outbox (events bounded,
 *   oldest dropped and counted; state topics latest-only). What the client
 *   holds when a connection drops, it sends again first on the next one, so
 *   events arrive in the order they were made (QoS 1 may repeat one: `seq`).
 * - `close()` (idempotent) gives queued messages a moment to go out,
 *   publishes `offline` itself (a clean disconnect discards the last will),
 *   ends the client, and counts whatever was still queued as failed.
 */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { redactCredentials } from '../core/redact.js';
import { backoffDelayMs, type BackoffPolicy } from '../ingest/backoff.js';
import type { MqttTotals } from '../serve/metrics.js';
import { Outbox, type OutMessage } from './outbox.js';

/** Messages handed to the client and not yet acknowledged; more wait in the outbox. */
export const MAX_IN_FLIGHT = 16;
const KEEPALIVE_S = 30;
const CONNECT_TIMEOUT_MS = 10_000;

export interface LinkOptions {
  url: string;
  clientId: string;
  user?: string;
  password?: string;
  /** QoS and retain of the availability messages (and the last will). */
  qos: 0 | 1 | 2;
  retain: boolean;
  availableTopic: string;
  outboxSize: number;
  reconnect: BackoffPolicy;
  log: Logger;
  /** After each (re)connection, once `online` is on its way: the owner queues its current state again. */
  onConnect?: () => void;
  /** Retained messages on the topics of subscribe(), as each subscription (on every connection) brings them. */
  onRetained?: (topic: string, payload: string) => void;
  /** How long close() lets queued messages (and its own `offline`) go out before giving up on them. Default 3000 ms. */
  closeTimeoutMs?: number;
}

export type LinkStats = Omit<MqttTotals, 'events'>;

export class MqttLink {
  private readonly client: MqttClient;
  private readonly outbox: Outbox;
  private inFlight = 0;
  private published = 0;
  private failed = 0;
  private reconnects = 0;
  /** Consecutive failed attempts: the backoff's attempt number. */
  private attempt = 0;
  private lastError: string | undefined;
  private everConnected = false;
  private closing: Promise<void> | undefined;
  private closed = false;
  private idle: Array<() => void> = [];
  /** Subscribed again on each connection: a clean session keeps none. */
  private readonly subscriptions: string[] = [];

  constructor(private readonly o: LinkOptions) {
    this.outbox = new Outbox(o.outboxSize);
    const opts: IClientOptions = {
      clientId: o.clientId,
      ...(o.user !== undefined ? { username: o.user } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      clean: true,
      keepalive: KEEPALIVE_S,
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectPeriod: backoffDelayMs(0, o.reconnect),
      // A refused connection (a bad password, a broker starting up) is retried like a lost one.
      reconnectOnConnackError: true,
      // Nothing is handed to the client while it is offline; were it, it would not queue it unbounded.
      queueQoSZero: false,
      resubscribe: false,
      will: { topic: o.availableTopic, payload: Buffer.from('offline'), qos: o.qos, retain: o.retain },
    };
    this.client = connect(o.url, opts);
    this.client.on('connect', () => this.onConnect());
    this.client.on('reconnect', () => {
      this.reconnects++;
      // mqtt.js waits reconnectPeriod after this attempt fails: the schedule's next delay.
      this.client.options.reconnectPeriod = backoffDelayMs(++this.attempt, o.reconnect);
    });
    this.client.on('close', () => {
      if (this.closed) return;
      if (this.lastError === undefined && this.everConnected) this.noteError('connection closed');
    });
    this.client.on('error', (err) => this.noteError(errorMessage(err)));
    this.client.on('message', (topic, payload, packet) => {
      if (packet.retain) o.onRetained?.(topic, payload.toString('utf8'));
    });
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** Subscribes to `filter` now (when connected) and on every connection from now on; see onRetained. */
  subscribe(filter: string): void {
    this.subscriptions.push(filter);
    if (this.client.connected) this.subscribeTo([filter]);
  }

  /** Queues an event (in order; the oldest dropped when the outbox is full). */
  publishEvent(m: OutMessage): void {
    if (this.refuseClosed()) return;
    this.outbox.pushEvent(m);
    this.pump();
  }

  /** Queues the latest message of a state topic (replacing one still waiting). */
  publishState(m: OutMessage): void {
    if (this.refuseClosed()) return;
    this.outbox.setState(m);
    this.pump();
  }

  /** After close() there is nobody to send it: counted as failed, not dropped in silence. */
  private refuseClosed(): boolean {
    if (this.closed) this.failed++;
    return this.closed;
  }

  stats(): LinkStats {
    return {
      connected: this.client.connected,
      queued: this.outbox.size,
      inFlight: this.inFlight,
      published: this.published,
      dropped: this.outbox.dropped,
      failed: this.failed,
      reconnects: this.reconnects,
      ...(this.client.connected ? {} : { retryDelayMs: this.client.options.reconnectPeriod ?? 0 }),
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  /** Idempotent: flush (briefly), say offline, disconnect. Never rejects. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const deadline = Date.now() + (this.o.closeTimeoutMs ?? 3000);
      if (this.client.connected) {
        await this.drained(deadline - Date.now());
        if (this.client.connected) {
          this.send({ topic: this.o.availableTopic, payload: 'offline', qos: this.o.qos, retain: this.o.retain });
          await this.drained(Math.max(0, deadline - Date.now()));
        }
      }
      this.closed = true;
      const left = this.outbox.clear() + this.inFlight;
      if (left > 0) {
        this.failed += left;
        this.o.log.warn('mqtt: messages not delivered at shutdown', { count: left, connected: this.client.connected });
      }
      this.inFlight = 0;
      await this.end();
      for (const resolve of this.idle.splice(0)) resolve();
    })();
    return this.closing;
  }

  private onConnect(): void {
    if (this.closed) return;
    if (this.everConnected) this.o.log.info('mqtt: reconnected', { attempts: this.attempt });
    else this.o.log.info('mqtt: connected', { url: redactCredentials(this.o.url) });
    this.everConnected = true;
    this.attempt = 0;
    this.lastError = undefined;
    this.client.options.reconnectPeriod = backoffDelayMs(0, this.o.reconnect);
    // First thing on every connection: the service is online (the broker may have published the will).
    this.send({ topic: this.o.availableTopic, payload: 'online', qos: this.o.qos, retain: this.o.retain });
    if (this.subscriptions.length > 0) this.subscribeTo(this.subscriptions);
    this.o.onConnect?.();
    this.pump();
  }

  private subscribeTo(filters: readonly string[]): void {
    this.client.subscribe([...filters], { qos: 0 }, (err) => {
      if (err) this.noteError(errorMessage(err), 'mqtt: subscribe failed');
    });
  }

  /** Hands queued messages to the client while it is connected and has room. */
  private pump(): void {
    while (!this.closed && this.client.connected && this.inFlight < MAX_IN_FLIGHT) {
      const m = this.outbox.take();
      if (!m) break;
      this.send(m);
    }
    if (this.inFlight === 0 && this.outbox.size === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  private send(m: OutMessage): void {
    this.inFlight++;
    this.client.publish(m.topic, m.payload, { qos: m.qos, retain: m.retain }, (err) => {
      if (this.closed) return; // counted by close()
      this.inFlight--;
      if (err) {
        this.failed++;
        this.noteError(`${m.topic}: ${errorMessage(err)}`, 'mqtt: publish failed');
      } else {
        this.published++;
      }
      // Not from inside the client's callback: it may still be in the middle of its own bookkeeping.
      setImmediate(() => this.pump());
    });
  }

  /** Resolves when nothing is queued or in flight, or after `ms`. */
  private drained(ms: number): Promise<void> {
    if (this.inFlight === 0 && this.outbox.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Ends the client: cleanly when connected (a DISCONNECT, so no last will), else at once; never hangs. */
  private async end(): Promise<void> {
    const force = !this.client.connected;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.client.end(true);
        resolve();
      }, 2000);
      this.client.end(force, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Logs a problem once (warn), and again only when it changes (debug while it repeats: retries run for as long as the broker is away). */
  private noteError(message: string, what = 'mqtt: broker unavailable'): void {
    const text = redactCredentials(message);
    if (text === this.lastError) {
      this.o.log.debug(what, { error: text, attempt: this.attempt });
    } else {
      this.o.log.warn(what, { url: redactCredentials(this.o.url), error: text });
    }
    this.lastError = text;
  }
}
