/**
 * Prometheus metrics. Each Metrics owns its own Registry (never prom-client's
 * global one) so two servers in one process, or one per test, never collide
 * on metric names.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CameraState } from '../core/types.js';

export interface MetricsOptions {
  /** Prepended to every metric name. Default 'neulens_'. */
  prefix?: string;
  inferenceBucketsMs?: number[];
  e2eBucketsMs?: number[];
}

const INFERENCE_BUCKETS = [1, 2, 5, 10, 20, 35, 50, 75, 100, 150, 250, 500, 1000];
const E2E_BUCKETS = [5, 10, 20, 35, 50, 75, 100, 150, 250, 500, 1000, 2500, 5000];

export class Metrics {
  readonly registry = new Registry();
  private readonly framesIn: Counter<'camera'>;
  private readonly framesProcessed: Counter<'camera'>;
  private readonly framesDropped: Counter<'camera' | 'reason'>;
  private readonly inferenceMs: Histogram<'camera'>;
  private readonly e2eMs: Histogram<'camera'>;
  private readonly reconnects: Counter<'camera'>;
  private readonly cameraOnline: Gauge<'camera'>;
  private readonly wsClients: Gauge;
  private readonly wsDropped: Counter;
  private clientCount: () => number = () => 0;

  constructor(opts: MetricsOptions = {}) {
    const p = opts.prefix ?? 'neulens_';
    const registers = [this.registry];
    this.framesIn = new Counter({ name: `${p}frames_in_total`, help: 'Frames read from the source', labelNames: ['camera'], registers });
    this.framesProcessed = new Counter({
      name: `${p}frames_processed_total`,
      help: 'Frames that went through detection and were published',
      labelNames: ['camera'],
      registers,
    });
    this.framesDropped = new Counter({
      name: `${p}frames_dropped_total`,
      help: 'Frames skipped before detection, by reason',
      labelNames: ['camera', 'reason'],
      registers,
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
    this.reconnects = new Counter({ name: `${p}reconnects_total`, help: 'Source reconnect attempts', labelNames: ['camera'], registers });
    this.cameraOnline = new Gauge({ name: `${p}camera_online`, help: '1 while the camera is online, else 0', labelNames: ['camera'], registers });
    // Read at scrape time so the gauge cannot drift from the hub's real client set.
    const count = (): number => this.clientCount();
    this.wsClients = new Gauge({
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
  }

  observeFrameIn(camera: string): void {
    this.framesIn.inc({ camera });
  }

  /** One processed frame: counts it and records its inference and end-to-end times. */
  observeFrame(camera: string, inferenceMs: number, e2eMs: number): void {
    this.framesProcessed.inc({ camera });
    this.inferenceMs.observe({ camera }, inferenceMs);
    this.e2eMs.observe({ camera }, e2eMs);
  }

  observeDrop(camera: string, reason: string, count = 1): void {
    this.framesDropped.inc({ camera, reason }, count);
  }

  observeReconnect(camera: string): void {
    this.reconnects.inc({ camera });
  }

  setCameraState(camera: string, state: CameraState): void {
    this.cameraOnline.set({ camera }, state === 'online' ? 1 : 0);
  }

  observeWsDropped(count: number): void {
    this.wsDropped.inc(count);
  }

  /** Where ws_clients reads its value at scrape time. */
  bindClientCount(fn: () => number): void {
    this.clientCount = fn;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Prometheus text exposition. */
  async render(): Promise<string> {
    return this.registry.metrics();
  }
}
