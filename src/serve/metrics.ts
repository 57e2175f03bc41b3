/**
 * Prometheus metrics. Each Metrics owns its own Registry (never prom-client's
 * global one) so two servers in one process, or one per test, never collide
 * on metric names.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CameraState } from '../core/types.js';
import type { PictureStats } from './viewer-types.js';

export interface MetricsOptions {
  /** Prepended to every metric name. Default 'neulens_'. */
  prefix?: string;
  inferenceBucketsMs?: number[];
  e2eBucketsMs?: number[];
}

const INFERENCE_BUCKETS = [1, 2, 5, 10, 20, 35, 50, 75, 100, 150, 250, 500, 1000];
const E2E_BUCKETS = [5, 10, 20, 35, 50, 75, 100, 150, 250, 500, 1000, 2500, 5000];
const ENCODE_BUCKETS = [1, 2, 3, 5, 10, 20, 50, 100];

/** The per-camera totals the counters read at scrape time (Camera.stats() has them). */
export interface CameraTotals {
  camera: string;
  state: CameraState;
  framesIn: number;
  processed: number;
  droppedBy: Record<string, number>;
  reconnects: number;
}

/**
 * What the MQTT output counts (src/mqtt/link.ts fills it), for /metrics and
 * /api/stats. Every message handed to the MQTT output ends up published,
 * dropped, failed, or is still queued or in flight.
 */
export interface MqttTotals {
  connected: boolean;
  /** Messages waiting for the broker: queued events, and the latest message of each state topic. */
  queued: number;
  /** Handed to the MQTT client, not yet acknowledged (QoS 1/2) or written (QoS 0). */
  inFlight: number;
  /** Acknowledged by the broker (QoS 1/2) or written to it (QoS 0). */
  published: number;
  /** Events dropped, oldest first, because the outbox was full (mqtt.outboxSize). */
  dropped: number;
  /** Messages the client failed to deliver, and those still queued when the service stopped. */
  failed: number;
  /** Connection attempts after the first. */
  reconnects: number;
  /** While disconnected: how long the client waits before its next attempt (the backoff schedule's current step), ms. */
  retryDelayMs?: number;
  /** Events generated since start: the seq of the latest. */
  events: number;
  /** Why the broker connection last failed (no credentials in it). */
  lastError?: string;
}

/**
 * Counters and the online gauge are read from the cameras at scrape time, so
 * they cannot drift from what /api/stats shows (each camera owns its
 * meters); the latency histograms need every frame, so the service feeds
 * them from each camera's results.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly inferenceMs: Histogram<'camera'>;
  private readonly e2eMs: Histogram<'camera'>;
  private readonly wsDropped: Counter;
  private readonly encodeMs: Histogram<'camera'>;
  private clientCount: () => number = () => 0;
  private cameras: () => readonly CameraTotals[] = () => [];
  private pictures: () => { cameras: readonly PictureStats[]; dropped: number } = () => ({ cameras: [], dropped: 0 });
  private mqtt: () => MqttTotals | undefined = () => undefined;
  private mqttBound = false;
  private readonly prefix: string;

  constructor(opts: MetricsOptions = {}) {
    const p = opts.prefix ?? 'neulens_';
    this.prefix = p;
    const registers = [this.registry];
    const cams = (): readonly CameraTotals[] => this.cameras();
    /** A counter whose values are the cameras' own totals, set at scrape time. */
    const totals = <L extends string>(name: string, help: string, labelNames: L[], values: (c: CameraTotals) => Array<[Partial<Record<L, string>>, number]>) =>
      new Counter<L>({
        name: `${p}${name}`,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const c of cams()) for (const [labels, v] of values(c)) this.inc({ camera: c.camera, ...labels } as Record<L, string>, v);
        },
      });
    totals('frames_in_total', 'Frames read from the source', ['camera'], (c) => [[{}, c.framesIn]]);
    totals('frames_processed_total', 'Frames that went through detection and were published', ['camera'], (c) => [[{}, c.processed]]);
    totals('frames_dropped_total', 'Frames skipped before detection, by reason', ['camera', 'reason'], (c) => Object.entries(c.droppedBy).map(([reason, v]) => [{ reason }, v]));
    totals('reconnects_total', 'Source reconnect attempts', ['camera'], (c) => [[{}, c.reconnects]]);
    new Gauge({
      name: `${p}camera_online`,
      help: '1 while the camera is online, else 0',
      labelNames: ['camera'],
      registers,
      collect() {
        this.reset();
        for (const c of cams()) this.set({ camera: c.camera }, c.state === 'online' ? 1 : 0);
      },
    });
    this.inferenceMs = new Histogram({
      name: `${p}inference_ms`,
      help: 'Detector time per processed frame, milliseconds',
      labelNames: ['camera'],
      buckets: opts.inferenceBucketsMs ?? INFERENCE_BUCKETS,
      registers,
    });
    this.e2eMs = new Histogram({
      name: `${p}e2e_latency_ms`,
      help: 'Capture to publish latency per processed frame, milliseconds',
      labelNames: ['camera'],
      buckets: opts.e2eBucketsMs ?? E2E_BUCKETS,
      registers,
    });
    // Read at scrape time so the gauge cannot drift from the hub's real client set.
    const count = (): number => this.clientCount();
    new Gauge({
      name: `${p}ws_clients`,
      help: 'Connected WebSocket clients',
      registers,
      collect() {
        this.set(count());
      },
    });
    this.wsDropped = new Counter({
      name: `${p}ws_dropped_messages_total`,
      help: 'Messages dropped for WebSocket clients that could not keep up',
      registers,
    });
    // The viewer's pictures, read at scrape time from the picture feed and the hub like the cameras' totals.
    const pics = () => this.pictures();
    new Counter({
      name: `${p}viewer_pictures_encoded_total`,
      help: 'JPEG encoder calls for the viewer (none while no client watches the camera\'s pictures)',
      labelNames: ['camera'],
      registers,
      collect() {
        this.reset();
        for (const c of pics().cameras) this.inc({ camera: c.camera }, c.encoded);
      },
    });
    new Counter({
      name: `${p}viewer_pictures_skipped_total`,
      help: 'Watched frames that got no picture: over viewer.fps (rate), or the last picture was still encoding (busy)',
      labelNames: ['camera', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const c of pics().cameras) for (const [reason, v] of Object.entries(c.skipped)) this.inc({ camera: c.camera, reason }, v);
      },
    });
    new Counter({
      name: `${p}viewer_pictures_dropped_total`,
      help: 'Pictures dropped for viewers that could not keep up (also in ws_dropped_messages_total)',
      registers,
      collect() {
        this.reset();
        this.inc(pics().dropped);
      },
    });
    this.encodeMs = new Histogram({
      name: `${p}viewer_encode_ms`,
      help: 'Time from taking a frame to its JPEG, milliseconds',
      labelNames: ['camera'],
      buckets: ENCODE_BUCKETS,
      registers,
    });
  }

  /** One picture's encoding time. */
  observePicture(camera: string, encodeMs: number): void {
    this.encodeMs.observe({ camera }, encodeMs);
  }

  /** Where the viewer counters read their values at scrape time: the picture feed's per-camera counts and the pictures dropped for slow clients. */
  bindPictures(fn: () => { cameras: readonly PictureStats[]; dropped: number }): void {
    this.pictures = fn;
  }

  /** The MQTT metrics, read at scrape time from the output's own counters; registered only with an MQTT output. */
  private registerMqtt(): void {
    const mqtt = (): MqttTotals | undefined => this.mqtt();
    const registers = [this.registry];
    const p = this.prefix;
    const mqttGauge = (name: string, help: string, value: (m: MqttTotals) => number) =>
      new Gauge({
        name: `${p}${name}`,
        help,
        registers,
        collect() {
          this.reset();
          const m = mqtt();
          if (m) this.set(value(m));
        },
      });
    const mqttCounter = <L extends string>(name: string, help: string, labelNames: L[], values: (m: MqttTotals) => Array<[Partial<Record<L, string>>, number]>) =>
      new Counter<L>({
        name: `${p}${name}`,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          const m = mqtt();
          if (m) for (const [labels, v] of values(m)) this.inc(labels as Record<L, string>, v);
        },
      });
    mqttGauge('mqtt_connected', '1 while connected to the MQTT broker, else 0', (m) => (m.connected ? 1 : 0));
    mqttGauge('mqtt_queued', 'MQTT messages waiting for the broker (events, and the latest message of each state topic)', (m) => m.queued);
    mqttCounter('mqtt_published_total', 'MQTT messages the broker acknowledged (QoS 1/2) or that were written to it (QoS 0)', [], (m) => [[{}, m.published]]);
    mqttCounter('mqtt_dropped_total', 'MQTT messages lost: outbox_full (oldest events dropped from a full outbox), failed (delivery failed, or still queued at shutdown)', ['reason'], (m) => [
      [{ reason: 'outbox_full' }, m.dropped],
      [{ reason: 'failed' }, m.failed],
    ]);
    mqttCounter('mqtt_reconnects_total', 'Connection attempts to the MQTT broker after the first', [], (m) => [[{}, m.reconnects]]);
    mqttCounter('mqtt_events_total', 'Tracked-object events generated (new, update, end), published or not', [], (m) => [[{}, m.events]]);
  }

  /** One processed frame's inference and end-to-end times. */
  observeFrame(camera: string, inferenceMs: number, e2eMs: number): void {
    this.inferenceMs.observe({ camera }, inferenceMs);
    this.e2eMs.observe({ camera }, e2eMs);
  }

  observeWsDropped(count: number): void {
    this.wsDropped.inc(count);
  }

  /** Where ws_clients reads its value at scrape time. */
  bindClientCount(fn: () => number): void {
    this.clientCount = fn;
  }

  /** Where the MQTT metrics read their values at scrape time; they exist only once this is called (config mqtt:). */
  bindMqtt(fn: () => MqttTotals | undefined): void {
    if (!this.mqttBound) this.registerMqtt();
    this.mqttBound = true;
    this.mqtt = fn;
  }

  /** Where the per-camera counters read their totals at scrape time. */
  bindCameras(fn: () => readonly CameraTotals[]): void {
    this.cameras = fn;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Prometheus text exposition. */
  async render(): Promise<string> {
    return this.registry.metrics();
  }
}
