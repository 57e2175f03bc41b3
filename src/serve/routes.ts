/**
 * The plain HTTP routes beside the WebSocket endpoint: liveness, readiness,
 * JSON stats, Prometheus metrics, and the viewer's page. Callbacks come from
 * the pipeline; a callback that throws turns into a 5xx JSON answer, never a
 * crash.
 *
 * With a token set, /api/stats and /metrics need it like the WebSocket does
 * (stats name cameras, errors and clients' addresses); /metrics can be opened
 * for a scraper (server.publicMetrics). /healthz and /readyz stay open: probes
 * carry no token and they say nothing about the cameras. The viewer's page
 * (HTML, scripts, /viewer/config.json) is open too: it holds no data, and
 * asks the user for the token that its WebSocket and stats requests carry.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CameraStats } from '../camera/camera.js';
import { errorMessage } from '../core/errors.js';
import { apiRoute, isApiRoute } from './api-routes.js';
import type { CamerasApi, EventsApi, HistoryStats } from './api-types.js';
import { sendJson } from './http-answer.js';
import type { HubStats, WsHub } from './hub.js';
import type { Asset, ViewerPageConfig, ViewerStats } from './viewer-types.js';
import type { Metrics, MqttTotals } from './metrics.js';

export interface Readiness {
  modelLoaded: boolean;
  camerasStarted: boolean;
  /** Shown in the 503 body; a default is derived from the flags when absent. */
  reason?: string;
}

/** A camera's stats as /api/stats serves them: the camera's own, and its share of its inference worker. */
export interface ServedCameraStats extends CameraStats {
  /** DEMUX fair share: this camera's per-frame device budget, ms. */
  shareBudgetMs?: number;
  /** The inference worker the camera is pinned to (its fair share is of that worker's time). */
  worker?: number;
  /** In a fleet: the instance that runs the camera (a gateway names it for every camera). */
  instance?: string;
}

/** DEMUX's machine-wide state: how the device is shared, and what start-up calibration measured. */
export interface DemuxStats {
  policy: 'max-min' | 'proportional';
  /** Device ms per second handed out to the cameras. */
  capacityMsPerS: number;
  /** Inference workers and each one's intra-op threads (config model.workers / model.threads, or their defaults). */
  workers: number;
  threadsPerWorker: number;
  /** One entry per calibrated (grid, input size, path): the fit's error on its own samples. */
  calibrations: Array<{ key: string; samples: number; runs: number; elapsedMs: number; rmseMs: number | null; mape: number | null; error?: string }>;
  /** With model.batch: the settings, and per worker what its batches held and what their calls' fixed part took. */
  batch?: {
    maxSize: number;
    timeoutMs: number;
    workers: Array<{ worker: number; requests: number; dispatches: number; busyMs: number; calls: number; items: number; overheadMs: number; overheadMsPerS: number }>;
  };
}

/** A fleet's section of /api/stats (src/fleet/): its NATS link, and an instance's leases or a gateway's view. */
export interface FleetStatsSection {
  nats: { url: string; connected: boolean };
  [key: string]: unknown;
}

export interface StatsBody {
  serverTimeMs: number;
  uptimeMs: number;
  cameras: ServedCameraStats[];
  ws: HubStats;
  demux?: DemuxStats;
  viewer?: ViewerStats;
  /** The MQTT output, when mqtt: is configured. */
  mqtt?: MqttTotals;
  /** The event history, when history: is configured. */
  history?: HistoryStats;
  /** In a fleet: the NATS link and the leases (an instance) or the fleet's instances (a gateway). */
  fleet?: FleetStatsSection;
}

/** The viewer's routes: its files by URL path, and its page config. */
export interface ViewerRoutes {
  assets: ReadonlyMap<string, Asset>;
  page: ViewerPageConfig;
  stats?: () => ViewerStats;
}

export interface RouteDeps {
  hub: WsHub;
  metrics: Metrics;
  startedAt: number;
  ready?: () => Readiness | Promise<Readiness>;
  stats?: () => ServedCameraStats[] | Promise<ServedCameraStats[]>;
  demux?: () => DemuxStats;
  /** The live viewer (absent: / is a 404 like any unknown path). */
  viewer?: ViewerRoutes;
  mqtt?: () => MqttTotals | undefined;
  history?: () => HistoryStats | undefined;
  /** GET /api/events and the events' pictures (absent: 404, the history is off). */
  events?: EventsApi;
  /** The cameras at runtime (absent: 404). */
  cameras?: CamerasApi;
  /** A token is set: camera changes over HTTP need one. */
  tokenSet?: boolean;
  fleet?: () => FleetStatsSection | undefined;
  /** Whether the request carries the token (true when none is set). */
  authorized?: (req: IncomingMessage, url: URL) => boolean;
  /** /metrics needs no token. */
  publicMetrics?: boolean;
}

type Handler = (deps: RouteDeps, res: ServerResponse) => Promise<void>;

/** Which routes need the token when one is set. */
function needsToken(pathname: string, deps: RouteDeps): boolean {
  if (pathname === '/api/stats') return true;
  if (pathname === '/metrics') return !deps.publicMetrics;
  return false;
}

const routes: Record<string, Handler> = {
  '/healthz': async (_deps, res) => sendJson(res, 200, { ok: true }),

  '/readyz': async ({ ready }, res) => {
    // Without a readiness source the server itself is all there is to wait for.
    if (!ready) return sendJson(res, 200, { ready: true });
    let r: Readiness;
    try {
      r = await ready();
    } catch (err) {
      return sendJson(res, 503, { ready: false, reason: `readiness check failed: ${errorMessage(err)}` });
    }
    if (r.modelLoaded && r.camerasStarted) return sendJson(res, 200, { ready: true, modelLoaded: true, camerasStarted: true });
    const missing = [!r.modelLoaded && 'model not loaded', !r.camerasStarted && 'cameras not started'].filter(Boolean).join(', ');
    sendJson(res, 503, { ready: false, modelLoaded: r.modelLoaded, camerasStarted: r.camerasStarted, reason: r.reason ?? missing });
  },

  '/api/stats': async (deps, res) => {
    let body: StatsBody;
    try {
      body = await statsBody(deps);
    } catch (err) {
      return sendJson(res, 500, { error: `stats unavailable: ${errorMessage(err)}` });
    }
    sendJson(res, 200, body);
  },

  '/metrics': async ({ metrics }, res) => {
    let text: string;
    try {
      text = await metrics.render();
    } catch (err) {
      return sendJson(res, 500, { error: `metrics unavailable: ${errorMessage(err)}` });
    }
    res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
  },
};

/**
 * The page may load only its own scripts and styles, draw pictures it decoded
 * itself (blob:), and talk to this server; nothing else, nowhere else.
 */
const PAGE_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** One of the viewer's files; 304 when the browser has it. */
function sendAsset(req: IncomingMessage, res: ServerResponse, asset: Asset): void {
  const headers = {
    'content-type': asset.type,
    etag: asset.etag,
    // Revalidated on every load: a new version is picked up at once, an unchanged one costs a 304.
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    ...(asset.type.startsWith('text/html') ? { 'content-security-policy': PAGE_POLICY } : {}),
  };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers);
    return void res.end();
  }
  res.writeHead(200, { ...headers, 'content-length': asset.body.length });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
}

/** The viewer's page, its files and config; false when `pathname` is none of them. */
function viewerRoute(deps: RouteDeps, req: IncomingMessage, res: ServerResponse, pathname: string): boolean {
  const viewer = deps.viewer;
  if (!viewer) return false;
  const config = pathname === '/viewer/config.json';
  const asset = viewer.assets.get(pathname);
  if (!config && !asset) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(res, 405, { error: `${req.method ?? '?'} not allowed on ${pathname}` }, { allow: 'GET, HEAD' });
  } else if (asset) {
    sendAsset(req, res, asset);
  } else {
    sendJson(res, 200, viewer.page);
  }
  return true;
}

/** The /api/stats body (also what MQTT publishes on <prefix>/stats). */
export async function statsBody({ hub, stats, demux, viewer, mqtt, history, fleet, startedAt }: Pick<RouteDeps, 'hub' | 'stats' | 'demux' | 'viewer' | 'mqtt' | 'history' | 'fleet' | 'startedAt'>): Promise<StatsBody> {
  const cameras = stats ? await stats() : [];
  const now = Date.now();
  const m = mqtt?.();
  const h = history?.();
  const f = fleet?.();
  return { serverTimeMs: now, uptimeMs: now - startedAt, cameras, ws: hub.stats(), ...(demux ? { demux: demux() } : {}), ...(viewer?.stats ? { viewer: viewer.stats() } : {}), ...(m ? { mqtt: m } : {}), ...(h ? { history: h } : {}), ...(f ? { fleet: f } : {}) };
}

/** Answers one plain HTTP request. Never rejects. */
export async function handleHttp(deps: RouteDeps, req: IncomingMessage, res: ServerResponse, wsPath: string): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return sendJson(res, 400, { error: 'malformed request URL' });
  }
  const pathname = url.pathname;
  if (isApiRoute(pathname)) return apiRoute({ ...(deps.events ? { events: deps.events } : {}), ...(deps.cameras ? { cameras: deps.cameras } : {}), tokenSet: deps.tokenSet ?? false, authorized: deps.authorized ?? (() => true) }, req, res, url);
  const handler = Object.hasOwn(routes, pathname) ? routes[pathname] : undefined;
  if (!handler && viewerRoute(deps, req, res, pathname)) return;
  if (!handler) {
    if (pathname === wsPath) return sendJson(res, 426, { error: `${wsPath} is the WebSocket endpoint; connect with a WebSocket client` }, { upgrade: 'websocket' });
    return sendJson(res, 404, { error: `no route ${pathname}` });
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return sendJson(res, 405, { error: `${req.method ?? '?'} not allowed on ${pathname}` }, { allow: 'GET, HEAD' });
  }
  if (needsToken(pathname, deps) && deps.authorized && !deps.authorized(req, url)) {
    return sendJson(res, 401, { error: 'missing or invalid token' }, { 'www-authenticate': 'Bearer' });
  }
  try {
    await handler(deps, res);
  } catch (err) {
    if (!res.headersSent) sendJson(res, 500, { error: errorMessage(err) });
    else res.destroy();
  }
}
