/**
 * `neulens gateway --fleet nats://...`: one WebSocket, HTTP stats and viewer
 * for every camera of a fleet, fed from the instances' subjects instead of
 * cameras. It reuses the serve room whole (the hub, the routes, the viewer's
 * page), so a client sees the same hello, frame, status and picture
 * messages, byte for byte what the camera's instance sends its own clients;
 * only /api/stats differs: each camera names its instance, and a `fleet`
 * section lists the instances.
 *
 * - Cameras: the fleet's list (the `cameras` key, watched); a camera that
 *   leaves it is `removed` for the clients.
 * - States: an instance's status messages, and the gateway's own watch: a
 *   camera whose frames stop for its stallTimeoutMs is marked offline (a
 *   SIGKILLed owner says nothing); its next frame, from whichever instance
 *   owns it then, marks it online.
 * - Pictures on demand: every second, and at once when it changes, the
 *   gateway publishes which cameras its clients watch
 *   (<prefix>.fleet.pictures); owners encode only those, only meanwhile.
 *
 * Owns its NATS link and server; close() (idempotent) closes the clients
 * (1001), then the subscriptions and the link.
 */
import type { Msg } from 'nats';
import type { CameraConfig, ResolvedFleetConfig, ServerConfig, ViewerConfig } from '../config/index.js';
import { fleetInstanceId } from '../config/index.js';
import type { CameraState } from '../core/types.js';
import type { Logger } from '../core/log.js';
import type { FrameMessage, StatusMessage } from '../serve/protocol.js';
import type { FleetStatsSection, ServedCameraStats } from '../serve/routes.js';
import { createServer, type ServeHandle } from '../serve/server.js';
import { emptyPictureStats, type PictureStats, type ViewerStats } from '../serve/viewer-types.js';
import { loadViewerAssets } from '../viewer/assets.js';
import { FleetCameraList } from './camera-list.js';
import { openBucket } from './instance.js';
import { NatsLink, type LinkStats } from './link.js';
import { readMembers, type MemberValue } from './member.js';
import type { CameraStatsMessage, PicturesDemand } from './publisher.js';
import { allCameras, bucketNames, cameraOf, INSTANCE_HEADER, picturesDemandSubject } from './subjects.js';

export interface GatewayConfig {
  server: ServerConfig;
  viewer: ViewerConfig;
  fleet: ResolvedFleetConfig;
}

const DEFAULT_STALL_MS = 10_000;
const DEMAND_EVERY_MS = 1000;
const DEMAND_TTL_MS = 3000;
const WATCH_EVERY_MS = 200;
const MEMBERS_EVERY_MS = 2000;

interface GatewayCamera {
  id: string;
  config?: CameraConfig;
  state: CameraState;
  instance?: string;
  lastFrameAtMs: number;
  frames: number;
  stats?: CameraStatsMessage;
}

export interface GatewayStats extends FleetStatsSection {
  gateway: string;
  nats: LinkStats;
  instances: Array<{ instance: string; cameras: string[]; maxCameras: number | null }>;
  received: { frames: number; pictures: number; status: number; stats: number; bad: number };
  picturesWanted: string[];
}

/** A camera's stats before any arrived from an instance: every figure zero. */
function emptyStats(camera: string, state: CameraState): ServedCameraStats {
  return {
    camera,
    state,
    fpsIn: 0,
    fpsProcessed: 0,
    fpsDropped: 0,
    inferenceMs: 0,
    reconnects: 0,
    framesIn: 0,
    processed: 0,
    dropped: 0,
    droppedBy: { gate: 0, error: 0 },
    e2eMs: { p50: 0, p95: 0 },
    workFraction: 0,
    sloAttainment: null,
    input: { width: 0, height: 0, strategy: '' },
    sloFps: 0,
  };
}

const text = (m: Msg): string => Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength).toString('utf8');

/** A message's JSON, or undefined: whatever else is on a fleet subject is counted as bad, not thrown (a throw per message would only fill the log). */
function json<T>(m: Msg): T | undefined {
  try {
    return JSON.parse(text(m)) as T;
  } catch {
    return undefined;
  }
}

export class FleetGateway {
  private readonly cameras = new Map<string, GatewayCamera>();
  private readonly received = { frames: 0, pictures: 0, status: 0, stats: 0, bad: 0 };
  private members: MemberValue[] = [];
  private wanted: string[] = [];
  private lastDemandMs = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private closing: Promise<void> | undefined;
  private serveHandle!: ServeHandle;
  private list!: FleetCameraList;

  private constructor(
    readonly id: string,
    private readonly cfg: GatewayConfig,
    private readonly link: NatsLink,
    private readonly log: Logger,
  ) {}

  static async start(cfg: GatewayConfig, log: Logger): Promise<FleetGateway> {
    const f = cfg.fleet;
    const id = `gw-${fleetInstanceId(f)}`;
    const flog = log.child('gateway');
    const link = await NatsLink.open({ url: f.url, instance: id, user: f.user, password: f.password, connectTimeoutMs: f.connectTimeoutMs, outboxSize: f.outboxSize, maxPendingBytes: f.maxPendingBytes, log: flog });
    const gw = new FleetGateway(id, cfg, link, flog);
    try {
      await gw.open();
    } catch (err) {
      await gw.close();
      throw err;
    }
    return gw;
  }

  get server(): ServeHandle {
    return this.serveHandle;
  }

  get url(): string {
    return this.serveHandle.url;
  }

  private async open(): Promise<void> {
    const { fleet: f, server: s, viewer: v } = this.cfg;
    const names = bucketNames(f.bucket);
    const membersKv = await openBucket(this.link, names.members, f, f.leaseTtlMs);
    const fleetKv = await openBucket(this.link, names.fleet, f, undefined);
    this.list = await FleetCameraList.open({ kv: fleetKv, instance: this.id, mode: 'read', log: this.log, onChange: (cams) => this.setList(cams) });

    const assets = v.enabled ? await loadViewerAssets() : undefined;
    this.serveHandle = await createServer({
      host: s.host,
      port: s.port,
      path: s.wsPath,
      ...(s.authToken ? { token: s.authToken } : {}),
      publicMetrics: s.publicMetrics,
      hub: { maxQueue: s.clientQueue, maxBufferedBytes: s.clientMaxBufferedBytes, stuckTimeoutMs: s.clientStuckTimeoutMs },
      // A gateway has no model: it is ready while NATS answers.
      ready: () => ({ modelLoaded: true, camerasStarted: this.link.connected, ...(this.link.connected ? {} : { reason: 'NATS unreachable' }) }),
      stats: () => this.cameraStats(),
      ...(assets ? { viewer: { assets, fps: v.fps, maxWidth: v.maxWidth, stats: () => this.viewerStats() } } : {}),
      fleet: () => this.stats(),
    });
    this.serveHandle.metrics.bindCameras(() => this.cameraStats());
    this.setList(this.list.cameras);

    const { subjectPrefix: p } = f;
    this.link.subscribe(allCameras(p, 'frames'), (m) => this.onFrame(m));
    this.link.subscribe(allCameras(p, 'status'), (m) => this.onStatus(m));
    this.link.subscribe(allCameras(p, 'stats'), (m) => this.onStats(m));
    this.link.subscribe(allCameras(p, 'pictures'), (m) => this.onPicture(m));

    const members = async (): Promise<void> => {
      this.members = await readMembers(membersKv);
    };
    await members().catch(() => undefined);
    this.timers.push(
      setInterval(() => this.watch(), WATCH_EVERY_MS),
      setInterval(() => void members().catch(() => undefined), MEMBERS_EVERY_MS),
    );
    for (const t of this.timers) t.unref();
    this.log.info('gateway serving the fleet', { gateway: this.id, ws: this.serveHandle.url, cameras: this.cameras.size });
  }

  stats(): GatewayStats {
    return {
      gateway: this.id,
      nats: this.link.stats(),
      instances: this.members.map((m) => ({ instance: m.instance, cameras: [...m.held], maxCameras: m.maxCameras ?? null })),
      received: { ...this.received },
      picturesWanted: [...this.wanted],
    };
  }

  /** Idempotent: clients closed (1001), then NATS. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const t of this.timers) clearInterval(t);
      await this.serveHandle?.close();
      this.list?.close();
      // Owners stop encoding for this gateway at once rather than when its demand lapses.
      if (this.wanted.length > 0) this.publishDemand([]);
      await this.link.close();
    })();
    return this.closing;
  }

  // -------------------------------------------------------------- cameras

  private camera(id: string): GatewayCamera {
    let c = this.cameras.get(id);
    if (!c) {
      c = { id, state: 'connecting', lastFrameAtMs: 0, frames: 0 };
      this.cameras.set(id, c);
      this.serveHandle.hub.setCamera(id, 'connecting');
    }
    return c;
  }

  private setList(cams: readonly CameraConfig[]): void {
    const ids = new Set(cams.map((c) => c.id));
    for (const cam of cams) this.camera(cam.id).config = cam;
    for (const id of [...this.cameras.keys()]) {
      if (ids.has(id)) continue;
      this.cameras.delete(id);
      this.serveHandle.hub.removeCamera(id);
    }
  }

  private setState(c: GatewayCamera, state: CameraState, error?: string): void {
    c.state = state;
    const msg: StatusMessage = { type: 'status', camera: c.id, state, atMs: Date.now(), ...(error !== undefined ? { error } : {}) };
    this.serveHandle.hub.publishStatus(msg);
  }

  private onFrame(m: Msg): void {
    const id = cameraOf(this.cfg.fleet.subjectPrefix, m.subject);
    const raw = Buffer.from(m.data);
    const msg = json<FrameMessage>(m);
    if (!id || msg?.type !== 'frame' || msg.camera !== id) {
      this.received.bad++;
      return;
    }
    this.received.frames++;
    const c = this.camera(id);
    c.instance = m.headers?.get(INSTANCE_HEADER) || c.instance;
    c.lastFrameAtMs = Date.now();
    c.frames++;
    // A camera back from a stall, or from a new owner whose own status came first or not at all.
    if (c.state !== 'online') this.setState(c, 'online');
    this.serveHandle.hub.publishFrame(msg, raw);
  }

  private onStatus(m: Msg): void {
    const id = cameraOf(this.cfg.fleet.subjectPrefix, m.subject);
    const msg = json<StatusMessage>(m);
    if (!id || msg?.type !== 'status' || msg.camera !== id || msg.state === 'removed') {
      if (msg?.state !== 'removed') this.received.bad++;
      return;
    }
    this.received.status++;
    const c = this.camera(id);
    c.instance = m.headers?.get(INSTANCE_HEADER) || c.instance;
    c.state = msg.state;
    // Online by status alone would outrun the frames: the frames' clock starts now.
    if (msg.state === 'online') c.lastFrameAtMs = Date.now();
    this.serveHandle.hub.publishStatus(msg);
  }

  private onStats(m: Msg): void {
    const id = cameraOf(this.cfg.fleet.subjectPrefix, m.subject);
    const msg = json<CameraStatsMessage>(m);
    if (!id || msg?.camera !== id || typeof msg.instance !== 'string') {
      this.received.bad++;
      return;
    }
    this.received.stats++;
    const c = this.camera(id);
    // An instance that just gave the camera up may still say its last word: the owner's count.
    if (c.instance === undefined || c.instance === msg.instance) c.stats = msg;
  }

  private onPicture(m: Msg): void {
    const id = cameraOf(this.cfg.fleet.subjectPrefix, m.subject);
    if (!id || m.data.length < 4) {
      this.received.bad++;
      return;
    }
    this.received.pictures++;
    this.serveHandle.hub.publishEncodedPicture(id, Buffer.from(m.data));
  }

  /** Every WATCH_EVERY_MS: stalled cameras go offline; the pictures wanted go out when they change, and every second. */
  private watch(): void {
    const now = Date.now();
    for (const c of this.cameras.values()) {
      const stallMs = c.config?.stallTimeoutMs ?? DEFAULT_STALL_MS;
      if (c.state === 'online' && now - c.lastFrameAtMs > stallMs) {
        this.setState(c, 'offline', `no frames from ${c.instance ?? 'its instance'} for ${now - c.lastFrameAtMs} ms (stallTimeoutMs ${stallMs}): its instance stopped publishing`);
      }
    }
    const wanted = this.serveHandle.hub.watchedPictures().sort();
    if (wanted.join(',') !== this.wanted.join(',') || (wanted.length > 0 && now - this.lastDemandMs >= DEMAND_EVERY_MS)) this.publishDemand(wanted);
  }

  private publishDemand(cameras: string[]): void {
    this.wanted = cameras;
    this.lastDemandMs = Date.now();
    const d: PicturesDemand = { gateway: this.id, cameras, ttlMs: DEMAND_TTL_MS };
    if (this.link.connected) this.link.nc.publish(picturesDemandSubject(this.cfg.fleet.subjectPrefix), Buffer.from(JSON.stringify(d)));
  }

  // ---------------------------------------------------------------- stats

  /** Each camera's latest stats from its instance, with the gateway's state and the instance named. */
  private cameraStats(): ServedCameraStats[] {
    return [...this.cameras.values()].map((c) => {
      const s = c.stats;
      if (!s) return { ...emptyStats(c.id, c.state), ...(c.instance ? { instance: c.instance } : {}) };
      const { pictures: _p, ...rest } = s;
      const live = c.state === 'online';
      return { ...rest, state: c.state, ...(live ? {} : { fpsIn: 0, fpsProcessed: 0, fpsDropped: 0 }), instance: c.instance ?? s.instance };
    });
  }

  private viewerStats(): ViewerStats {
    const v = this.cfg.viewer;
    const { hub } = this.serveHandle;
    return {
      fps: v.fps,
      maxWidth: v.maxWidth,
      quality: v.quality,
      cameras: [...this.cameras.values()].map((c) => {
        const p: PictureStats = c.stats?.pictures ?? emptyPictureStats(c.id);
        return { ...p, watchers: hub.pictureWatchers(c.id) };
      }),
    };
  }
}
