/**
 * The running service: one HTTP/WebSocket server, one inference pool shared
 * by every camera, and per camera a CameraSource, a tracker and an RxJS
 * pipeline. It owns all of them and closes them in order:
 * stop accepting clients -> stop pipelines and ffmpeg -> release the pool.
 */
import type { Subscription } from 'rxjs';
import { computeLevels, loadModelPack, type ModelPack } from '../model/manifest.js';
import { loadPackController, type Cgg } from '../importance/cgg.js';
import { CalibrationCache } from '../demux/calibrate.js';
import type { CameraConfig, Config } from '../config/index.js';
import { ConfigError, errorMessage } from '../core/errors.js';
import { makeTiles } from '../arac/geometry.js';
import { createLogger, type Logger } from '../core/log.js';
import type { CameraState } from '../core/types.js';
import { chooseInputSize } from '../model/input-size.js';
import { defaultWorkers, InferencePool } from '../inference/pool.js';
import { CameraSource } from '../ingest/camera-source.js';
import { probeSize } from '../ingest/still.js';
import { buildFrameMessage } from '../serve/protocol.js';
import type { CameraStats, DemuxStats } from '../serve/routes.js';
import { createServer, type ServeHandle } from '../serve/server.js';
import { quantile } from '../core/stats.js';
import { Tracker } from '../track/tracker.js';
import type { ProcessedFrame } from '../camera/pipeline.js';
import { cameraFlow, strategyContext } from '../camera/flow.js';
import { createStrategy } from '../strategy/registry.js';
import type { Strategy, StreamInfo } from '../strategy/types.js';
import { RateMeter, RecentValues } from '../camera/rate.js';
import { FairShare } from '../demux/fair-share.js';

const PROBE_TIMEOUT_MS = 5000;
const DEFAULT_FPS = 10;

interface CameraRuntime {
  config: CameraConfig;
  /** The frame rate its SLO and fair share are held to (sloFps). */
  sloFps: number;
  source: CameraSource;
  tracker: Tracker | undefined;
  subscriptions: Subscription[];
  input: { width: number; height: number };
  strategy: Strategy;
  state: CameraState;
  processed: number;
  dropped: number;
  inRate: RateMeter;
  processedRate: RateMeter;
  droppedRate: RateMeter;
  inferenceMs: RecentValues;
  e2eMs: RecentValues;
  lastPlan: Record<string, unknown> | undefined;
}

/**
 * The frame rate a camera's SLO (one frame interval from capture to publish)
 * and its fair share are held to: the source's own rate, lowered to the
 * configured cap. The cap never raises it, since it drops frames and never
 * repeats them: a 7 fps camera capped at 10 sends 7. A reported rate under
 * 1 fps is not trusted (streams that announce none show odd values); then
 * the cap, else 10 fps.
 */
export function sloFps(cap: number | undefined, source: number | undefined): number {
  const src = source !== undefined && source >= 1 ? source : undefined;
  if (cap !== undefined && src !== undefined) return Math.min(cap, src);
  return cap ?? src ?? DEFAULT_FPS;
}

export interface ServiceOptions {
  log?: Logger;
  /** Called for every processed frame (tests, replay). */
  onFrame?: (r: ProcessedFrame) => void;
}

/**
 * The strategy a camera runs under this model config: `model.strategy` if
 * given, else arac on the grid, or full. A name the registry does not know
 * is a ConfigError on `model.strategy` (also raised by `config validate`).
 */
export function strategyForModel(m: Config['model']): Strategy {
  const spec = m.mode === 'arac' ? (m.strategy ?? `arac:${m.grid[0]}x${m.grid[1]}`) : 'full';
  try {
    return createStrategy(spec, m.mode === 'arac' ? { refreshFrames: m.refresh.frames, refreshMs: m.refresh.ms } : {});
  } catch (err) {
    throw new ConfigError('model.strategy', errorMessage(err));
  }
}

export class NeulensService {
  private readonly cameras = new Map<string, CameraRuntime>();
  private pool: InferencePool | undefined;
  /** DEMUX fair share of the inference workers' time between cameras (arac plans within it). */
  private share = new FairShare();

  private pack: ModelPack | undefined;
  private controller: Cgg | undefined;
  /** DEMUX cost-model calibration, one per (grid, input size), shared by the cameras. */
  private readonly calibration = new CalibrationCache((key, r) => {
    if (r.error) this.log.warn('cost model calibration failed; starting from a prior', { key, error: r.error });
    else this.log.info('cost model calibrated', { key, ms: Math.round(r.elapsedMs ?? 0), runs: r.runs, rmseMs: Number(r.report?.rmseMs.toFixed(2)), mape: Number(r.report?.mape.toFixed(3)) });
  });
  private camerasStarted = false;
  private closing: Promise<void> | undefined;

  private constructor(readonly config: Config, readonly server: ServeHandle, private readonly log: Logger, private readonly opts: ServiceOptions) {}

  /** Starts the server first (so /healthz answers while the model loads), then the pool, then the cameras. */
  static async start(config: Config, opts: ServiceOptions = {}): Promise<NeulensService> {
    strategyForModel(config.model); // a bad model.strategy fails before anything starts
    const log = opts.log ?? createLogger(config.logging.level);
    // The routes ask the service, which needs the server first: a late-bound reference.
    const ref: { service?: NeulensService } = {};
    const server = await createServer({
      host: config.server.host,
      port: config.server.port,
      path: config.server.wsPath,
      ...(config.server.authToken ? { token: config.server.authToken } : {}),
      hub: { maxQueue: config.server.clientQueue, maxBufferedBytes: config.server.clientMaxBufferedBytes, stuckTimeoutMs: config.server.clientStuckTimeoutMs },
      ready: () => ({ modelLoaded: ref.service?.pool !== undefined, camerasStarted: ref.service?.camerasStarted ?? false }),
      stats: () => ref.service?.stats() ?? [],
      demux: () => ref.service?.demuxStats() ?? { policy: 'max-min', capacityMsPerS: 0, workers: 0, threadsPerWorker: 0, calibrations: [] },
    });
    const service = new NeulensService(config, server, log, opts);
    ref.service = service;
    try {
      await service.startPool();
      await service.startCameras();
    } catch (err) {
      await service.close();
      throw err;
    }
    return service;
  }

  get url(): string {
    return this.server.url;
  }

  /** The cameras the service runs (disabled ones are validated, never started). */
  private enabledCameras(): CameraConfig[] {
    return this.config.cameras.filter((c) => c.enabled);
  }

  private async startPool(): Promise<void> {
    const m = this.config.model;
    this.pack = await loadModelPack(m.pack);
    this.controller = await loadPackController(this.pack);
    const wanted = strategyForModel(m).name;
    if (!this.controller && wanted.startsWith('arac-cgg')) {
      throw new ConfigError('model.strategy', `${wanted} needs a model pack with a compression controller; ${m.pack} has none (manifest.json controller)`);
    }
    const t0 = Date.now();
    const workers = m.workers ?? defaultWorkers(this.enabledCameras().length, m.provider);
    this.share = new FairShare({ workers });
    this.pool = await InferencePool.open({
      packDir: m.pack,
      provider: m.provider,
      ...(m.threads ? { threads: m.threads } : {}),
      workers,
      models: m.mode,
      verifyChecksums: false, // loadModelPack above already verified them once
      detect: { minScore: m.minScore, nmsIou: m.nmsIou, maxDetections: m.maxDetections, ...(m.classes ? { classes: m.classes } : {}) },
    });
    this.pool.on('died', (err: Error) => this.log.error('inference worker died; replacing it', { error: err.message }));
    this.log.info('model loaded', { pack: this.pack.manifest.name, mode: m.mode, provider: m.provider, workers, threads: this.pool.threads, ms: Date.now() - t0 });
  }

  /** Detector input size (and the source's frame rate when the probe tells it). */
  private async inputSizeFor(cam: CameraConfig): Promise<{ width: number; height: number; fps?: number }> {
    const manifest = (this.pack as ModelPack).manifest;
    const fixed = cam.inputSize ?? this.config.model.inputSize;
    if (fixed) return { width: fixed[0], height: fixed[1] };
    // The working size follows the source's aspect ratio (16:9 cameras at 512x288, 4:3 at 512x384).
    // A stream that is down at start-up gets the pack's default; set inputSize to pin it.
    try {
      const src = await probeSize(cam.url, { timeoutMs: PROBE_TIMEOUT_MS, ...(cam.kind === 'rtsp' ? { transport: cam.transport } : {}) });
      return { ...chooseInputSize(manifest, src.width, src.height), ...(src.fps ? { fps: src.fps } : {}) };
    } catch (err) {
      this.log.warn('cannot probe the source; using the default input size', { camera: cam.id, error: errorMessage(err) });
    }
    const [width, height] = manifest.input.defaultSize;
    return { width, height };
  }

  private async startCameras(): Promise<void> {
    const cams = this.enabledCameras();
    // Probe every camera at once: start-up takes the slowest probe, not their sum.
    const sizes = await Promise.all(cams.map((c) => this.inputSizeFor(c)));
    // One camera after the other: a camera's start-up calibration (Strategy.prepare) times the
    // device, and cameras of the same shape then reuse it instead of timing it all at once.
    for (const [i, cam] of cams.entries()) await this.startCamera(cam, sizes[i] as { width: number; height: number; fps?: number });
    this.camerasStarted = true;
  }

  private strategyFor(m: Config['model']): Strategy {
    return strategyForModel(m);
  }

  private async startCamera(cam: CameraConfig, probed: { width: number; height: number; fps?: number }): Promise<void> {
    const pool = this.pool as InferencePool;
    const input = { width: probed.width, height: probed.height };
    const fps = sloFps(cam.fps, probed.fps);
    // The camera is pinned to a worker now, by the pixels a second it will send, and its fair
    // share comes out of that worker's time.
    this.share.setCamera(cam.id, { fps, worker: pool.pin(cam.id, input.width * input.height * fps) });
    const m = this.config.model;
    if (m.mode === 'arac') {
      // Catch a grid that cannot tile this input now, not as a failure on every frame.
      try {
        makeTiles(input.width, input.height, { cols: m.grid[0], rows: m.grid[1] });
      } catch (err) {
        throw new ConfigError('model.grid', `${m.grid[0]}x${m.grid[1]} cannot tile camera '${cam.id}' input ${input.width}x${input.height}: ${errorMessage(err)}`);
      }
    }
    const strategy = this.strategyFor(m);
    const source = new CameraSource({
      cameraId: cam.id,
      url: cam.url,
      width: input.width,
      height: input.height,
      ...(cam.kind === 'file' ? { loop: cam.loop, pace: cam.pace } : {}),
      ...(cam.kind === 'rtsp' ? { transport: cam.transport } : {}),
      ...(cam.fps ? { fps: cam.fps } : {}),
      stallTimeoutMs: cam.stallTimeoutMs,
      reconnect: cam.reconnect,
    });
    const t = this.config.tracker;
    const rt: CameraRuntime = {
      config: cam,
      sloFps: fps,
      source,
      tracker: t.enabled ? new Tracker({ highThresh: t.highThresh, lowThresh: t.lowThresh, matchIou: t.matchIou, maxAgeMs: t.maxAgeMs, minHits: t.minHits }) : undefined,
      subscriptions: [],
      input,
      strategy,
      state: 'connecting',
      processed: 0,
      dropped: 0,
      inRate: new RateMeter(),
      processedRate: new RateMeter(),
      droppedRate: new RateMeter(),
      inferenceMs: new RecentValues(),
      e2eMs: new RecentValues(),
      lastPlan: undefined,
    };
    this.cameras.set(cam.id, rt);
    const metrics = this.server.metrics;
    const hub = this.server.hub;
    const log = this.log.child(cam.id);
    let lastReconnects = 0;

    rt.subscriptions.push(
      source.status$.subscribe((st) => {
        rt.state = st.state;
        hub.setCamera(cam.id, st.state);
        hub.publishStatus({ type: 'status', camera: cam.id, state: st.state, atMs: st.atMs, ...(st.error ? { error: st.error } : {}) });
        metrics.setCameraState(cam.id, st.state);
        const reconnects = source.stats().reconnects;
        if (reconnects > lastReconnects) metrics.observeReconnect(cam.id);
        lastReconnects = reconnects;
        if (st.state === 'offline') log.warn('camera offline', { error: st.error });
        else log.info(`camera ${st.state}`);
        // A new connection may bring a different scene: forget the ARAC feature cache and the tracks.
        if (st.state === 'connecting') {
          this.pool?.reset(cam.id);
          rt.tracker?.reset();
          rt.strategy.reset();
        }
      }),
    );

    const frames$ = source.frames$;
    rt.subscriptions.push(
      frames$.subscribe(() => {
        rt.inRate.mark();
        metrics.observeFrameIn(cam.id);
      }),
    );
    const info: StreamInfo = {
      computeLevels: computeLevels(this.pack as ModelPack),
      ...(this.controller ? { controller: this.controller } : {}),
      calibration: this.calibration,
      frameIntervalMs: 1000 / fps,
      paced: cam.kind !== 'file' || cam.pace === 'source',
      share: {
        budgetMs: (now) => {
          // A worker that died and was replaced un-pins its cameras; follow the camera to its new one.
          this.share.moveCamera(cam.id, pool.workerOf(cam.id));
          return this.share.budgetFor(cam.id, now);
        },
        report: (ms, wanted) => this.share.report(cam.id, ms, wanted),
      },
    };
    if (info.paced) await strategy.prepare?.(input, strategyContext({ key: cam.id, info, pool, tracker: rt.tracker }));
    rt.subscriptions.push(
      cameraFlow(frames$, {
        key: cam.id,
        strategy,
        info,
        pool,
        tracker: rt.tracker,
        log,
        publish: (r) => {
          const msg = buildFrameMessage(r.frame, r.detections, r.result.detectorMs, r.result.plan ? { plan: { strategy: strategy.name, ...r.result.plan } } : {});
          hub.publishFrame(msg);
          rt.processed++;
          rt.processedRate.mark();
          rt.inferenceMs.push(r.result.detectorMs);
          rt.e2eMs.push(msg.latencyMs);
          if (r.result.plan) rt.lastPlan = { strategy: strategy.name, ...r.result.plan, measuredMs: r.result.detectorMs };
          metrics.observeFrame(cam.id, r.result.detectorMs, msg.latencyMs);
          this.opts.onFrame?.(r);
        },
        onDrop: (_frame, reason) => {
          rt.dropped++;
          rt.droppedRate.mark();
          metrics.observeDrop(cam.id, reason);
        },
      }).subscribe({
        error: (err: unknown) => log.error('pipeline stopped', { error: errorMessage(err) }),
      }),
    );
    source.start();
    log.info('camera started', { url: redact(cam.url), input: `${input.width}x${input.height}`, strategy: strategy.name });
  }

  demuxStats(): DemuxStats {
    return {
      policy: this.share.policy,
      capacityMsPerS: this.share.capacityMsPerS,
      workers: this.pool?.size ?? 0,
      threadsPerWorker: this.pool?.threads ?? 0,
      calibrations: [...this.calibration.done].map(([key, r]) => ({ key, samples: r.samples, runs: r.runs, elapsedMs: Math.round(r.elapsedMs), rmseMs: Number.isFinite(r.rmseMs) ? r.rmseMs : null, mape: Number.isFinite(r.mape) ? r.mape : null, ...(r.error ? { error: r.error } : {}) })),
    };
  }

  stats(): CameraStats[] {
    const shares = new Map(this.share.snapshot(Date.now()).filter((c) => Number.isFinite(c.budgetMs)).map((c) => [c.cameraId, c]));
    return [...this.cameras.values()].map((rt) => {
      const s = rt.source.stats();
      const e2e = rt.e2eMs.all();
      const share = shares.get(rt.config.id);
      return {
        camera: rt.config.id,
        state: rt.state,
        fpsIn: rt.inRate.rate(),
        fpsProcessed: rt.processedRate.rate(),
        fpsDropped: rt.droppedRate.rate(),
        inferenceMs: rt.inferenceMs.mean(),
        reconnects: s.reconnects,
        framesIn: s.framesIn,
        processed: rt.processed,
        dropped: rt.dropped,
        e2eMs: { p50: e2e.length ? quantile(e2e, 0.5) : 0, p95: e2e.length ? quantile(e2e, 0.95) : 0 },
        input: { ...rt.input, mode: rt.strategy.name },
        sloFps: rt.sloFps,
        ...(rt.lastPlan ? { lastPlan: rt.lastPlan } : {}),
        ...(share ? { shareBudgetMs: share.budgetMs, worker: share.worker } : {}),
        ...(s.lastError ? { lastError: s.lastError } : {}),
      };
    });
  }

  /** Idempotent: stop accepting, close clients (1001), stop ffmpeg children, release the pool. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.server.close().catch((err: unknown) => this.log.warn('server close failed', { error: errorMessage(err) }));
      const cams = [...this.cameras.values()];
      for (const rt of cams) for (const s of rt.subscriptions) s.unsubscribe();
      await Promise.all(cams.map((rt) => rt.source.close()));
      await this.pool?.close();
      this.log.info('stopped');
    })();
    return this.closing;
  }
}

/** Hide credentials in camera URLs before logging them. */
export function redact(url: string): string {
  return url.replace(/\/\/([^/@]*)@/, '//<redacted>@');
}
