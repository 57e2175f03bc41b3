/**
 * The running service: the HTTP/WebSocket server, one inference pool shared
 * by every camera, DEMUX's fair share of that pool, and a map of Cameras
 * (src/camera/camera.ts), each of which owns its own source, strategy,
 * tracker and meters. The service only wires a camera's `results$` and
 * `status$` to the outputs (the WebSocket hub, the metrics, the viewer's
 * pictures, the event history, MQTT), and closes everything in order: stop
 * accepting clients -> close the cameras (ffmpeg gone; their open events
 * end) -> finish the pictures in flight -> close the history (its last
 * snapshots and rows written) -> close MQTT (the last events, counts and
 * snapshots go out, then `offline`) -> release the pool. Cameras change at
 * runtime through ./camera-control.ts.
 */
import type { Subscription } from 'rxjs';
import { makeTiles } from '../arac/geometry.js';
import { Camera, type CameraResult } from '../camera/camera.js';
import type { ConfigSource } from '../config/edit.js';
import { cameraStrategy, type CameraConfig, type Config } from '../config/index.js';
import { regionOutsideFrame } from '../config/regions.js';
import { ConfigError, errorMessage, ModelPackError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/log.js';
import { redactCredentials } from '../core/redact.js';
import { CalibrationCache } from '../demux/calibrate.js';
import { FairShare } from '../demux/fair-share.js';
import { loadPackController, type Cgg } from '../importance/cgg.js';
import { defaultWorkers, InferencePool, type WorkerStats } from '../inference/pool.js';
import { probeSize } from '../ingest/still.js';
import { chooseInputSize } from '../model/input-size.js';
import { computeLevels, loadModelPack, type ModelPack } from '../model/manifest.js';
import { zoneList } from '../events/zones.js';
import { EventHistory, type HistoryOptions } from '../history/history.js';
import { MqttOutput, type MqttOutputOptions } from '../mqtt/output.js';
import type { EndReason, WireObject } from '../mqtt/payloads.js';
import type { CamerasApi } from '../serve/api-types.js';
import type { OutgoingPicture } from '../serve/hub.js';
import { buildFrameMessage, type FrameMessage, type StatusMessage } from '../serve/protocol.js';
import type { DemuxStats, FleetStatsSection, ServedCameraStats } from '../serve/routes.js';
import { emptyPictureStats, type ViewerStats } from '../serve/viewer-types.js';
import { createServer, type ServeHandle } from '../serve/server.js';
import { createStrategy } from '../strategy/registry.js';
import { CameraControl } from './camera-control.js';
import { formatSpec, isTiled } from '../strategy/spec.js';
import { loadViewerAssets } from '../viewer/assets.js';
import { jpegEncoder, type PictureEncoder } from '../viewer/encoder.js';
import { PictureFeed } from '../viewer/pictures.js';

const PROBE_TIMEOUT_MS = 5000;
const DEFAULT_FPS = 10;

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

/** What start-up learnt of a camera: the detector input size, and the source's own size and rate when the probe told them. */
export interface Probed {
  width: number;
  height: number;
  source?: { width: number; height: number };
  fps?: number;
}

/**
 * An output beside the WebSocket hub (a fleet's NATS publisher,
 * src/fleet/): it gets the same messages as the hub, as the hub gets them,
 * synchronously, and must never block.
 */
export interface ServiceTap {
  frame(msg: FrameMessage): void;
  status(msg: StatusMessage): void;
  /** Whether it wants the camera's pictures now: the picture feed encodes while the hub's clients or this do. */
  picturesWanted(camera: string): boolean;
  picture(p: OutgoingPicture): void;
}

export interface ServiceOptions {
  log?: Logger;
  /** The viewer's picture encoder; default sharp's JPEG at the config's viewer.maxWidth and quality. */
  pictureEncoder?: PictureEncoder;
  /**
   * The config's text and where it came from: with it, cameras can change at
   * runtime (POST/PUT/DELETE /api/cameras/{id}, reloadConfig on SIGHUP),
   * checked by the start-up parser. `neulens serve` passes its file's.
   */
  source?: ConfigSource;
  /** The history's timings and limits (tests shorten them); its config is history:. */
  history?: Pick<HistoryOptions, 'flushMs' | 'retentionCheckMs' | 'snapshotEveryMs' | 'heldFramesMax' | 'queueMax' | 'encoder'>;
  /** Another output beside the hub (a fleet instance's NATS publisher). */
  tap?: ServiceTap;
  /** In a fleet: the MQTT output's instance id and its hooks on events (see MqttOutputOptions). */
  mqtt?: Pick<MqttOutputOptions, 'instance' | 'onEvent' | 'onOpen'>;
  /** In a fleet: its section of /api/stats. */
  fleetStats?: () => FleetStatsSection | undefined;
  /**
   * In a fleet: the camera routes answer from this (the fleet's list in
   * its KV bucket) instead of this service's own cameras, which the
   * fleet's leases start and stop.
   */
  cameras?: CamerasApi;
}

/** A model pack that cannot be loaded is a config error on model.pack (exit 2), in `serve` as in `config validate`. */
export async function loadPackFor(config: Config): Promise<ModelPack> {
  try {
    return await loadModelPack(config.model.pack);
  } catch (err) {
    if (err instanceof ModelPackError) throw new ConfigError('model.pack', err.message, { cause: err });
    throw err;
  }
}

export class NeulensService {
  private readonly cameras = new Map<string, Camera>();
  private readonly wiring = new Map<string, Subscription[]>();
  private pool: InferencePool | undefined;
  /** The viewer's pictures (config viewer.enabled); encodes only while a client watches. */
  private pictures: PictureFeed | undefined;
  /** The MQTT output (config mqtt:), connecting in the background from start-up on. */
  private mqtt: MqttOutput | undefined;
  /** The event history (config history:); failed, not absent, when its database cannot be used. */
  private history: EventHistory | undefined;
  /** Runtime camera changes (HTTP and SIGHUP). */
  private control!: CameraControl<Probed>;
  /** DEMUX fair share of the inference workers' time between cameras (arac plans within it). */
  private share: FairShare | undefined;
  private pack: ModelPack | undefined;
  private controller: Cgg | undefined;
  /** DEMUX cost-model calibration, one per (grid, input size), shared by the cameras. */
  private readonly calibration = new CalibrationCache((key, r) => {
    if (r.error) this.log.warn('cost model calibration failed; starting from a prior', { key, error: r.error });
    else this.log.info('cost model calibrated', { key, ms: Math.round(r.elapsedMs ?? 0), runs: r.runs, rmseMs: Number(r.report?.rmseMs.toFixed(2)), mape: Number(r.report?.mape.toFixed(3)) });
  });
  private camerasStarted = false;
  /** Cameras being added at runtime (probe and start-up under way): a second add of the same id is refused. */
  private readonly starting = new Set<string>();
  private closing: Promise<void> | undefined;

  /** Set first thing in start(): the routes answer from this very service, so it exists before its server. */
  private serveHandle!: ServeHandle;

  private constructor(
    private cfg: Config,
    private readonly log: Logger,
    private readonly tap: ServiceTap | undefined,
  ) {}

  /** The configuration running now: start-up's, with the cameras changed at runtime since. */
  get config(): Config {
    return this.cfg;
  }

  /** Starts the server first (so /healthz answers while the model loads), then the pool, then the cameras. */
  static async start(config: Config, opts: ServiceOptions = {}): Promise<NeulensService> {
    const service = new NeulensService(config, opts.log ?? createLogger(config.logging.level), opts.tap);
    const s = config.server;
    const v = config.viewer;
    // Before the server: an install without the page's files fails here, holding nothing yet.
    const assets = v.enabled ? await loadViewerAssets() : undefined;
    service.control = new CameraControl(service.runtime(), opts.source, service.log.child('cameras'));
    const h = config.history;
    if (h?.enabled) {
      // Synchronous and quick. A database that cannot be used leaves it failed (logged, in /api/stats): the cameras still start.
      service.history = EventHistory.open({
        config: h,
        log: service.log.child('history'),
        ...opts.history,
        onSnapshot: (snap) => service.mqtt?.publishSnapshot(snap.camera, snap.label, snap.crop),
      });
    }
    const history = service.history;
    service.serveHandle = await createServer({
      host: s.host,
      port: s.port,
      path: s.wsPath,
      ...(s.authToken ? { token: s.authToken } : {}),
      publicMetrics: s.publicMetrics,
      hub: { maxQueue: s.clientQueue, maxBufferedBytes: s.clientMaxBufferedBytes, stuckTimeoutMs: s.clientStuckTimeoutMs },
      ready: () => ({ modelLoaded: service.pool !== undefined, camerasStarted: service.camerasStarted }),
      stats: () => service.stats(),
      demux: () => service.demuxStats(),
      ...(assets ? { viewer: { assets, fps: v.fps, maxWidth: v.maxWidth, stats: () => service.viewerStats() } } : {}),
      ...(config.mqtt ? { mqtt: () => service.mqtt?.stats() } : {}),
      ...(history ? { history: () => history.stats(), events: { list: (q) => history.list(q), snapshot: (id, kind) => history.snapshot(id, kind) } } : {}),
      cameras: opts.cameras ?? service.control,
      ...(opts.fleetStats ? { fleet: opts.fleetStats } : {}),
    });
    const { hub, metrics } = service.serveHandle;
    metrics.bindCameras(() => [...service.cameras.values()].map((c) => c.stats()));
    if (v.enabled) {
      const pictures = new PictureFeed({
        fps: v.fps,
        watched: (camera) => hub.picturesWanted(camera) || (opts.tap?.picturesWanted(camera) ?? false),
        encoder: opts.pictureEncoder ?? jpegEncoder({ maxWidth: v.maxWidth, quality: v.quality }),
        log: service.log.child('viewer'),
      });
      service.pictures = pictures;
      metrics.bindPictures(() => ({ cameras: pictures.stats(), dropped: hub.stats().totals.picturesDropped }));
    }
    if (config.mqtt) {
      // Connects in the background: a broker that is down delays nothing (events wait in its outbox).
      service.mqtt = new MqttOutput({ config: config.mqtt, ...(config.model.classes ? { labels: config.model.classes } : {}), stats: () => service.server.statsBody(), log: service.log.child('mqtt'), ...opts.mqtt });
    }
    try {
      // A missing or broken pack is a config error (exit 2), as `config validate` says.
      service.pack = await loadPackFor(config);
      service.controller = await loadPackController(service.pack);
      if (!service.controller && config.model.strategy.name === 'arac-cgg') {
        throw new ConfigError('model.strategy', `arac-cgg needs a model pack with a compression controller; ${config.model.pack} has none (manifest.json controller)`);
      }
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

  /** The HTTP/WebSocket server (its hub, its metrics, its URLs). */
  get server(): ServeHandle {
    return this.serveHandle;
  }

  /** The cameras the service runs (disabled ones are validated, never started). */
  private enabledCameras(): CameraConfig[] {
    return this.config.cameras.filter((c) => c.enabled);
  }

  private async startPool(): Promise<void> {
    const m = this.config.model;
    const t0 = Date.now();
    const workers = m.workers ?? defaultWorkers(this.enabledCameras().length, m.provider);
    const pool = await InferencePool.open({
      packDir: m.pack,
      provider: m.provider,
      ...(m.threads ? { threads: m.threads } : {}),
      workers,
      ...(m.batch ? { batch: m.batch } : {}),
      models: createStrategy(m.strategy).models,
      verifyChecksums: false, // loadPackFor already verified them once
      detect: { minScore: m.minScore, nmsIou: m.nmsIou, maxDetections: m.maxDetections, ...(m.classes ? { classes: m.classes } : {}) },
    });
    this.pool = pool;
    // The pool is the one place that maps cameras to workers; the fair share asks it.
    this.share = new FairShare({ workers, workerOf: (id) => pool.workerOf(id), ...(pool.batching ? { overheadOf: (w: number) => pool.overheadMsPerS(w) } : {}) });
    pool.on('died', (err: Error, cameras: readonly string[]) => {
      this.log.error('inference worker died; replacing it', { error: err.message, cameras: cameras.join(',') });
      // Their ARAC results died with the worker; every other camera carries on untouched.
      for (const id of cameras) this.cameras.get(id)?.reset();
    });
    this.log.info('model loaded', { pack: this.pack?.manifest.name, strategy: formatSpec(m.strategy), provider: m.provider, workers, threads: pool.threads, ms: Date.now() - t0 });
  }

  /** Detector input size (and the source's size and frame rate when the probe tells them). */
  private async inputSizeFor(cam: CameraConfig): Promise<Probed> {
    const manifest = (this.pack as ModelPack).manifest;
    const fixed = cam.inputSize ?? this.config.model.inputSize;
    // Zones and masks are checked against the source's size, so such a camera is probed even with a fixed input size.
    if (fixed && !cam.zones && !cam.masks) return { width: fixed[0], height: fixed[1] };
    // The working size follows the source's aspect ratio (16:9 cameras at 512x288, 4:3 at 512x384).
    // A stream that is down at start-up gets the pack's default; set inputSize to pin it.
    try {
      const src = await probeSize(cam.url, { timeoutMs: PROBE_TIMEOUT_MS, ...(cam.kind === 'rtsp' ? { transport: cam.transport } : {}) });
      const input = fixed ? { width: fixed[0], height: fixed[1] } : chooseInputSize(manifest, src.width, src.height);
      return { ...input, source: { width: src.width, height: src.height }, ...(src.fps ? { fps: src.fps } : {}) };
    } catch (err) {
      this.log.warn(fixed ? "cannot probe the source; its zones and masks are not checked against its frame" : 'cannot probe the source; using the default input size', { camera: cam.id, error: errorMessage(err) });
    }
    if (fixed) return { width: fixed[0], height: fixed[1] };
    const [width, height] = manifest.input.defaultSize;
    return { width, height };
  }

  private async startCameras(): Promise<void> {
    const cams = this.enabledCameras();
    // Probe every camera at once: start-up takes the slowest probe, not their sum.
    const sizes = await Promise.all(cams.map((c) => this.inputSizeFor(c)));
    // One camera after the other: a camera's start-up calibration (Strategy.prepare) times the
    // device, and cameras of the same shape then reuse it instead of timing it all at once.
    for (const [i, cam] of cams.entries()) await this.startCamera(cam, sizes[i] as Probed);
    this.camerasStarted = true;
  }

  /** What only the probed frame can tell is wrong with a camera's config (a ConfigError), checked before it starts. */
  private checkCamera(cam: CameraConfig, probed: Probed, config: Config): void {
    // A zone or mask outside the frame is a config error (exit 2), caught once the frame's size is known.
    if (probed.source) {
      const outside = regionOutsideFrame(cam, config.cameras.findIndex((c) => c.id === cam.id), probed.source.width, probed.source.height);
      if (outside) throw outside;
    }
    const spec = cameraStrategy(config.model, cam);
    if (isTiled(spec)) {
      // Catch a grid that cannot tile this input now, not as a failure on every frame.
      try {
        makeTiles(probed.width, probed.height, spec.grid);
      } catch (err) {
        throw new ConfigError('model.grid', `${spec.grid.cols}x${spec.grid.rows} cannot tile camera '${cam.id}' input ${probed.width}x${probed.height}: ${errorMessage(err)}`);
      }
    }
  }

  /**
   * Probes a camera that is to start at runtime and checks it against its
   * frame, starting nothing: a change is checked whole before any camera
   * stops. Throws ConfigError naming the key (of `config`, the config after
   * the change).
   */
  async prepareCamera(cam: CameraConfig, config: Config): Promise<Probed> {
    const probed = await this.inputSizeFor(cam);
    this.checkCamera(cam, probed, config);
    return probed;
  }

  private async startCamera(cam: CameraConfig, probed: Probed, config: Config = this.cfg): Promise<void> {
    this.checkCamera(cam, probed, config);
    const pool = this.pool as InferencePool;
    const share = this.share as FairShare;
    const input = { width: probed.width, height: probed.height };
    const fps = sloFps(cam.fps, probed.fps);
    const spec = cameraStrategy(this.config.model, cam);
    // Pinned now, by the pixels a second it will send; its fair share comes out of that worker's time.
    pool.pin(cam.id, input.width * input.height * fps);
    share.setCamera(cam.id, { fps });
    const t = this.config.tracker;
    const camera = await Camera.open({
      id: cam.id,
      frames: {
        source: {
          cameraId: cam.id,
          url: cam.url,
          ...input,
          ...(cam.kind === 'file' ? { loop: cam.loop, pace: cam.pace } : {}),
          ...(cam.kind === 'rtsp' ? { transport: cam.transport } : {}),
          ...(cam.fps ? { fps: cam.fps } : {}),
          stallTimeoutMs: cam.stallTimeoutMs,
          reconnect: cam.reconnect,
          ...(probed.source ? { sourceSize: probed.source } : {}),
        },
      },
      strategy: spec,
      input,
      sloFps: fps,
      pool,
      info: { computeLevels: computeLevels(this.pack as ModelPack), calibration: this.calibration, ...(this.controller ? { controller: this.controller } : {}), ...(pool.batching ? { batched: true } : {}) },
      share: { budgetMs: (now) => share.budgetFor(cam.id, now), report: (ms, wanted) => share.report(cam.id, ms, wanted) },
      tracker: t.enabled ? { highThresh: t.highThresh, lowThresh: t.lowThresh, matchIou: t.matchIou, maxAgeMs: t.maxAgeMs, minHits: t.minHits, stationaryMs: t.stationaryMs, stationaryIou: t.stationaryIou } : false,
      ...(cam.masks ? { masks: cam.masks.map((m) => m.points) } : {}),
      log: this.log.child(cam.id),
    });
    this.cameras.set(cam.id, camera);
    this.wire(camera);
    this.mqtt?.attach(camera, zoneList(cam.zones));
    this.history?.attach(camera, zoneList(cam.zones));
    this.log.info('camera started', { url: redactCredentials(cam.url), input: `${input.width}x${input.height}`, strategy: camera.strategy.name });
  }

  /**
   * A camera's outputs: its frames to the hub and the histograms, its status to
   * every client, and, while a viewer watches it, its pictures. The picture
   * is taken here, during the emission, while the frame's pixels are valid;
   * it reaches the hub after the frame message of the same seq, and carries it.
   */
  private wire(camera: Camera): void {
    const { hub, metrics } = this.server;
    const pictures = this.pictures;
    const tap = this.tap;
    hub.setCamera(camera.id, 'connecting');
    this.wiring.set(camera.id, [
      camera.status$.subscribe((st) => {
        const msg: StatusMessage = { type: 'status', camera: st.camera, state: st.state, atMs: st.atMs, ...(st.error !== undefined ? { error: st.error } : {}) };
        hub.publishStatus(msg);
        tap?.status(msg);
      }),
      camera.results$.subscribe((r: CameraResult) => {
        const msg = buildFrameMessage(r);
        hub.publishFrame(msg);
        tap?.frame(msg);
        metrics.observeFrame(r.camera, r.result.detectorMs, msg.latencyMs);
        pictures?.offer(r, (p) => {
          const out: OutgoingPicture = { frame: msg, width: p.width, height: p.height, jpeg: p.jpeg };
          hub.publishPicture(out);
          tap?.picture(out);
          metrics.observePicture(p.camera, p.encodeMs);
        });
      }),
    ]);
  }

  viewerStats(): ViewerStats {
    const { hub } = this.server;
    const v = this.config.viewer;
    const encoded = new Map((this.pictures?.stats() ?? []).map((p) => [p.camera, p]));
    return {
      fps: v.fps,
      maxWidth: v.maxWidth,
      quality: v.quality,
      cameras: [...this.cameras.keys()].map((camera) => ({
        ...(encoded.get(camera) ?? emptyPictureStats(camera)),
        watchers: hub.pictureWatchers(camera),
      })),
    };
  }

  demuxStats(): DemuxStats {
    return {
      policy: this.share?.policy ?? 'max-min',
      capacityMsPerS: this.share?.capacityMsPerS ?? 0,
      workers: this.pool?.size ?? 0,
      threadsPerWorker: this.pool?.threads ?? 0,
      calibrations: [...this.calibration.done].map(([key, r]) => ({ key, samples: r.samples, runs: r.runs, elapsedMs: Math.round(r.elapsedMs), rmseMs: Number.isFinite(r.rmseMs) ? r.rmseMs : null, mape: Number.isFinite(r.mape) ? r.mape : null, ...(r.error ? { error: r.error } : {}) })),
      ...(this.pool?.batching && this.config.model.batch ? { batch: { ...this.config.model.batch, workers: this.batchStats() } } : {}),
    };
  }

  /** Per inference worker: requests, hand-overs and busy time, and (batched) its calls and their fixed part. */
  workerStats(): WorkerStats[] {
    return this.pool?.workerStats() ?? [];
  }

  private batchStats(): NonNullable<DemuxStats['batch']>['workers'] {
    const pool = this.pool as InferencePool;
    return pool.workerStats().map((w) => ({
      worker: w.worker,
      requests: w.requests,
      dispatches: w.dispatches,
      busyMs: w.busyMs,
      calls: w.batcher?.calls ?? 0,
      items: w.batcher?.items ?? 0,
      overheadMs: w.batcher?.overheadMs ?? 0,
      overheadMsPerS: Math.max(0, pool.overheadMsPerS(w.worker)),
    }));
  }

  stats(): ServedCameraStats[] {
    const shares = new Map((this.share?.snapshot(Date.now()) ?? []).filter((c) => Number.isFinite(c.budgetMs)).map((c) => [c.cameraId, c]));
    return [...this.cameras.values()].map((camera) => {
      const share = shares.get(camera.id);
      return { ...camera.stats(), ...(share ? { shareBudgetMs: share.budgetMs, worker: share.worker } : {}) };
    });
  }

  /** The ids of the cameras running now. */
  cameraIds(): string[] {
    return [...this.cameras.keys()];
  }

  /**
   * Starts a camera while the others run (a runtime change). `cam` comes
   * from a config the caller validated whole with the start-up schema (so
   * its id is unique there and its budget fits the strategy); this checks
   * what only the running service knows: that no camera of that id runs,
   * and, once probed, that its zones and masks fit its frame. On any error
   * nothing runs for it and nothing else changed. DEMUX's fair share
   * re-divides each worker's time as the camera reports.
   */
  async addCamera(cam: CameraConfig, probed?: Probed): Promise<void> {
    if (this.closing) throw new ConfigError('cameras', 'the service is stopping');
    if (this.cameras.has(cam.id) || this.starting.has(cam.id)) throw new ConfigError('cameras', `camera '${cam.id}' already runs`);
    this.starting.add(cam.id);
    try {
      const next = { ...this.cfg, cameras: [...this.cfg.cameras.filter((c) => c.id !== cam.id), cam] };
      if (cam.enabled) await this.startCamera(cam, probed ?? (await this.inputSizeFor(cam)), next);
      this.cfg = next;
    } catch (err) {
      await this.stopCamera(cam.id);
      throw err;
    } finally {
      this.starting.delete(cam.id);
    }
  }

  /**
   * Stops a camera while the others run: its ffmpeg is gone and its open
   * events end before this resolves; clients are told (status 'removed');
   * its worker forgets it and the fair share re-divides. Unknown id: a
   * ConfigError.
   */
  async removeCamera(id: string): Promise<void> {
    if (!this.cfg.cameras.some((c) => c.id === id)) throw new ConfigError('cameras', `no camera '${id}'`);
    await this.stopCamera(id);
    // Gone for good (not restarting with new settings): its retained MQTT state says so.
    this.mqtt?.detach(id);
    this.cfg = { ...this.cfg, cameras: this.cfg.cameras.filter((c) => c.id !== id) };
  }

  /** Restarts one camera with a new config (same id); the others carry on untouched. */
  async replaceCamera(cam: CameraConfig, probed?: Probed): Promise<void> {
    if (!this.cfg.cameras.some((c) => c.id === cam.id)) throw new ConfigError('cameras', `no camera '${cam.id}'`);
    await this.stopCamera(cam.id);
    this.cfg = { ...this.cfg, cameras: this.cfg.cameras.filter((c) => c.id !== cam.id) };
    await this.addCamera(cam, probed);
  }

  /**
   * SIGHUP: the config file's text, read again. Its cameras are applied
   * (checked whole first; a bad one refuses the reload, naming the key);
   * other changed keys are reported in `needsRestart` and keep their
   * running values. See ./camera-control.ts.
   */
  reloadConfig(fileText: string): ReturnType<CameraControl<Probed>['reload']> {
    return this.control.reload(fileText);
  }

  /** The runtime-change side of the service, as CameraControl sees it. */
  private runtime(): ConstructorParameters<typeof CameraControl<Probed>>[0] {
    return {
      config: () => this.cfg,
      ready: () => this.camerasStarted,
      stopping: () => this.closing !== undefined,
      prepareCamera: (cam, config) => this.prepareCamera(cam, config),
      addCamera: (cam, p) => this.addCamera(cam, p),
      replaceCamera: (cam, p) => this.replaceCamera(cam, p),
      removeCamera: (id) => this.removeCamera(id),
      states: () => new Map([...this.cameras.values()].map((c) => [c.id, c.stats().state])),
    };
  }

  /**
   * Ends, over MQTT, events that another process left open on `camera` (a
   * fleet instance that died while running it): one `end` each, with the
   * reason. Without mqtt: nothing (there were no events). Returns how many.
   */
  endOrphanedEvents(camera: string, said: readonly WireObject[], reason: EndReason): number {
    return this.mqtt?.endLost(camera, said, reason) ?? 0;
  }

  /** Everything a running camera holds in the service, released (idempotent per id). */
  private async stopCamera(id: string): Promise<void> {
    const camera = this.cameras.get(id);
    this.cameras.delete(id);
    // Closing completes results$: the last frames reach the hub, MQTT ends the camera's events.
    await camera?.close();
    for (const s of this.wiring.get(id) ?? []) s.unsubscribe();
    this.wiring.delete(id);
    this.share?.removeCamera(id);
    this.pool?.unpin(id);
    this.server.hub.removeCamera(id);
    if (camera) this.log.info('camera removed', { camera: id });
  }

  /** Idempotent: stop accepting, close clients (1001), close the cameras (ffmpeg gone), close MQTT, release the pool. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.server.close().catch((err: unknown) => this.log.warn('server close failed', { error: errorMessage(err) }));
      for (const subs of this.wiring.values()) for (const s of subs) s.unsubscribe();
      this.wiring.clear();
      await Promise.all([...this.cameras.values()].map((c) => c.close()));
      await this.pictures?.close();
      // After the cameras (their open events ended): the last snapshots and rows are written.
      await this.history?.close();
      // After the cameras: their completion ended their open events and zeroed their counts.
      await this.mqtt?.close();
      await this.pool?.close();
      this.log.info('stopped');
    })();
    return this.closing;
  }
}
