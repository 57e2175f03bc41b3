/**
 * The service's MQTT output: each attached camera's events, counts and
 * status, the service's stats, and Home Assistant discovery, through one
 * MqttLink (./link.ts, the client's owner). Subscribers do only synchronous
 * work per frame (events, counts, queueing), so a camera never waits on it.
 *
 * On every connection the current state is queued again (camera status,
 * every count, discovery): a broker restarted without persistence has lost
 * the retained messages. Counts a previous run left retained for labels this
 * run has not seen (it crashed with a cat in view) come back when the
 * camera's topics are subscribed, and are set to 0.
 *
 * close() (idempotent) is called once the cameras have closed: their
 * results$ completed, so every open event has ended and every count is 0.
 */
import type { Observable, Subscription } from 'rxjs';
import type { CameraResult, CameraStatus } from '../camera/camera.js';
import { mqttClientId, type MqttConfig } from '../config/mqtt.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { ALL, CameraCounts, type Count } from '../events/counts.js';
import { CameraEvents, type ObjectEvent } from '../events/objects.js';
import type { Zone } from '../events/zones.js';
import type { MqttTotals } from '../serve/metrics.js';
import { discoveryFor } from './discovery.js';
import { MqttLink } from './link.js';
import { lostEnd, wireEvent, wireObject, wireStatus, type EndReason, type WireEvent, type WireObject } from './payloads.js';
import { availableTopic, countTopic, eventsTopic, instanceAvailableTopic, parseCountTopic, snapshotTopic, statsTopic, statusTopic } from './topics.js';

export interface MqttOutputOptions {
  config: MqttConfig;
  /** Counted (and announced to Home Assistant) from the start, besides the labels seen: model.classes. */
  labels?: readonly string[];
  /** The /api/stats body. */
  stats: () => Promise<unknown>;
  log: Logger;
  /**
   * In a fleet: this instance's id. Its client id is the configured one (or
   * the prefix) with '-<instance>' appended, its last will goes to
   * <prefix>/available/<instance>, <prefix>/available says the fleet is
   * online (never offline: other instances may run), and events carry it.
   */
  instance?: string;
  /** Every event as it is queued (a fleet also publishes it on NATS). */
  onEvent?: (camera: string, e: WireEvent) => void;
  /** A camera's open events as their subscribers last heard them, after every change (a fleet records them for a new owner). */
  onOpen?: (camera: string, open: WireObject[]) => void;
}

/** What the output needs of a camera (Camera has it). */
export interface MqttCamera {
  id: string;
  results$: Observable<CameraResult>;
  status$: Observable<CameraStatus>;
}

interface Attached {
  events: CameraEvents;
  counts: CameraCounts;
  zones: readonly string[];
  /** Labels announced to Home Assistant. */
  announced: Set<string>;
  status: CameraStatus | undefined;
  subs: Subscription[];
}

export class MqttOutput {
  private readonly link: MqttLink;
  private readonly cameras = new Map<string, Attached>();
  private readonly subscribed = new Set<string>();
  private readonly prefix: string;
  private seq = 0;
  private readonly statsTimer: NodeJS.Timeout;
  private closing: Promise<void> | undefined;

  constructor(private readonly o: MqttOutputOptions) {
    const c = o.config;
    this.prefix = c.topicPrefix;
    const instance = o.instance;
    this.link = new MqttLink({
      url: c.url,
      clientId: instance === undefined ? mqttClientId(c) : `${mqttClientId(c)}-${instance}`,
      ...(c.user !== undefined ? { user: c.user } : {}),
      ...(c.password !== undefined ? { password: c.password } : {}),
      qos: c.qos,
      retain: c.retain,
      availableTopic: instance === undefined ? availableTopic(c.topicPrefix) : instanceAvailableTopic(c.topicPrefix, instance),
      outboxSize: c.outboxSize,
      reconnect: c.reconnect,
      log: o.log,
      onConnect: () => this.republish(),
      onRetained: (topic, payload) => this.onRetained(topic, payload),
    });
    this.statsTimer = setInterval(() => void this.publishStats(), c.statsIntervalMs);
    this.statsTimer.unref();
  }

  /** Publishes a camera's events, counts and status from now until its results$ completes. */
  attach(camera: MqttCamera, zones: readonly Zone[]): void {
    if (this.closing) return;
    const a: Attached = {
      events: new CameraEvents({ camera: camera.id, zones, updateIntervalMs: this.o.config.updateIntervalMs }),
      counts: new CameraCounts(
        zones.map((z) => z.name),
        this.o.labels ?? [],
      ),
      zones: zones.map((z) => z.name),
      announced: new Set(),
      status: undefined,
      subs: [],
    };
    for (const s of this.cameras.get(camera.id)?.subs.splice(0) ?? []) s.unsubscribe();
    this.cameras.set(camera.id, a);
    // Once per camera id: a camera changed at runtime attaches again under the same id.
    const filter = `${this.prefix}/${camera.id}/#`;
    if (!this.subscribed.has(filter)) {
      this.subscribed.add(filter);
      this.link.subscribe(filter);
    }
    // The counts start at 0 (and replace what an earlier run left retained).
    this.publishCounts(camera.id, a, a.counts.changed([]));
    a.subs.push(
      camera.status$.subscribe((st) => {
        a.status = st;
        this.publishStatus(st);
      }),
      camera.results$.subscribe({
        next: (r) => {
          if (r.tracks) this.onFrame(camera.id, a, a.events.frame(r.frame.captureWallMs, r.tracks));
        },
        // The camera stopped: its open events end, its counts fall to 0.
        complete: () => this.onFrame(camera.id, a, a.events.endAll()),
      }),
    );
  }

  /**
   * The camera was removed at runtime (after its results$ completed: its
   * events have ended, its counts are 0). Its retained state says so rather
   * than lie: the status becomes 'removed', and its Home Assistant entities
   * are deleted (an empty retained config). Its counts stay at 0 and its last
   * snapshots stay: both still true. It is not said again on a reconnect.
   */
  detach(id: string): void {
    const a = this.cameras.get(id);
    if (!a || this.closing) return;
    for (const s of a.subs.splice(0)) s.unsubscribe();
    this.cameras.delete(id);
    const { qos, retain } = this.o.config;
    this.link.publishState({ topic: statusTopic(this.prefix, id), payload: JSON.stringify(wireStatus({ camera: id, state: 'removed', atMs: Date.now() })), qos, retain });
    const ha = this.o.config.homeAssistant;
    if (!ha.discovery) return;
    for (const label of a.announced) {
      for (const d of discoveryFor({ discoveryPrefix: ha.discoveryPrefix, topicPrefix: this.prefix, camera: id, label })) this.link.publishState({ topic: d.topic, payload: '', qos, retain: true });
    }
  }

  /** An event's snapshot (the history's crop around its box), retained as Frigate's <prefix>/<camera>/<label>/snapshot: the latest of each label. */
  publishSnapshot(camera: string, label: string, jpeg: Buffer): void {
    if (this.closing) return;
    this.link.publishState({ topic: snapshotTopic(this.prefix, camera, label), payload: jpeg, qos: this.o.config.qos, retain: true });
  }

  /**
   * Ends events a lost owner of `camera` left open (a fleet's new owner
   * calls this before it starts the camera): one end each, with the reason.
   * Returns how many.
   */
  endLost(camera: string, said: readonly WireObject[], reason: EndReason): number {
    if (this.closing) return 0;
    const { qos } = this.o.config;
    for (const obj of said) {
      const e = lostEnd(obj, ++this.seq, this.o.instance, reason);
      this.link.publishEvent({ topic: eventsTopic(this.prefix), payload: JSON.stringify(e), qos, retain: false });
      this.o.onEvent?.(camera, e);
    }
    return said.length;
  }

  stats(): MqttTotals {
    return { ...this.link.stats(), events: this.seq };
  }

  /** Idempotent; never rejects. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.statsTimer);
      for (const a of this.cameras.values()) for (const s of a.subs.splice(0)) s.unsubscribe();
      await this.link.close();
    })();
    return this.closing;
  }

  private onFrame(camera: string, a: Attached, events: ObjectEvent[]): void {
    const { qos } = this.o.config;
    const topic = eventsTopic(this.prefix);
    for (const e of events) {
      const w = wireEvent(e, ++this.seq, this.o.instance);
      this.link.publishEvent({ topic, payload: JSON.stringify(w), qos, retain: false });
      this.o.onEvent?.(camera, w);
    }
    if (events.length > 0) this.o.onOpen?.(camera, a.events.said().map(wireObject));
    // Only the counts that moved (objects came, went, stopped, started, changed zones).
    this.publishCounts(camera, a, a.counts.changed(a.events.objects()));
  }

  private publishCounts(camera: string, a: Attached, counts: readonly Count[]): void {
    const { qos, retain } = this.o.config;
    for (const c of counts) {
      // A label seen for the first time gets its Home Assistant entities before its first count.
      if (c.zone === null && !c.active) this.announce(camera, a, c.label);
      this.link.publishState({ topic: countTopic(this.prefix, camera, c), payload: String(c.value), qos, retain });
    }
  }

  private publishStatus(st: CameraStatus): void {
    const { qos, retain } = this.o.config;
    this.link.publishState({ topic: statusTopic(this.prefix, st.camera), payload: JSON.stringify(wireStatus(st)), qos, retain });
  }

  private announce(camera: string, a: Attached, label: string): void {
    const ha = this.o.config.homeAssistant;
    if (!ha.discovery || a.announced.has(label)) return;
    a.announced.add(label);
    for (const d of discoveryFor({ discoveryPrefix: ha.discoveryPrefix, topicPrefix: this.prefix, camera, label })) {
      this.link.publishState({ topic: d.topic, payload: JSON.stringify(d.config), qos: this.o.config.qos, retain: true });
    }
  }

  /** After each (re)connection: the state as it is now (the broker may have lost its retained copy). */
  private republish(): void {
    // In a fleet <prefix>/available is the fleet's: online while any instance is (each one's own will is under it).
    if (this.o.instance !== undefined) {
      const { qos, retain } = this.o.config;
      this.link.publishState({ topic: availableTopic(this.prefix), payload: 'online', qos, retain });
    }
    for (const [camera, a] of this.cameras) {
      if (a.status) this.publishStatus(a.status);
      const labels = [...a.announced];
      a.announced.clear();
      for (const label of labels) this.announce(camera, a, label);
      this.publishCounts(camera, a, a.counts.current());
    }
  }

  /** A retained count of a label this run has not counted (left by an earlier run) is set to 0. */
  private onRetained(topic: string, payload: string): void {
    for (const [camera, a] of this.cameras) {
      const key = parseCountTopic(this.prefix, camera, a.zones, topic);
      if (!key || key.label === ALL || a.counts.knows(key.label) || payload === '0') continue;
      this.publishCounts(camera, a, a.counts.adopt(key.label, a.events.objects()));
    }
  }

  private async publishStats(): Promise<void> {
    try {
      const body = await this.o.stats();
      this.link.publishState({ topic: statsTopic(this.prefix), payload: JSON.stringify(body), qos: 0, retain: false });
    } catch (err) {
      this.o.log.warn('mqtt: stats unavailable', { error: errorMessage(err) });
    }
  }
}
