/**
 * One port for everything the outside sees: the WebSocket endpoint (default
 * /ws), the HTTP routes and the viewer's page. The ws library never owns the socket listener
 * (noServer): we decide on each upgrade (path, token, camera query) before
 * handing the socket over, so a refused client never reaches the hub.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { SERVER_DEFAULTS } from '../config/schema.js';
import { ConfigError, errorMessage } from '../core/errors.js';
import { WsHub, type HubOptions } from './hub.js';
import { Metrics, type MqttTotals } from './metrics.js';
import { PROTOCOL_VERSION, ProtocolError, parseCameraQuery, parsePicturesQuery, type CameraSelection } from './protocol.js';
import type { CamerasApi, EventsApi, HistoryStats } from './api-types.js';
import { handleHttp, statsBody, type DemuxStats, type FleetStatsSection, type Readiness, type ServedCameraStats, type StatsBody, type ViewerRoutes } from './routes.js';
import type { Asset, ViewerStats } from './viewer-types.js';

export interface ServeOptions {
  /** Default 127.0.0.1: exposing detections beyond the host is an explicit choice. */
  host?: string;
  /** Default 8080; 0 picks a free port (see ServeHandle.port). */
  port?: number;
  /** WebSocket path. Default '/ws'. */
  path?: string;
  /** When set, upgrades, /api/stats and /metrics need `Authorization: Bearer <token>` or `?token=<token>`. */
  token?: string;
  /** Serve /metrics without the token (a scraper that has none). Default false. */
  publicMetrics?: boolean;
  ready?: () => Readiness | Promise<Readiness>;
  stats?: () => ServedCameraStats[] | Promise<ServedCameraStats[]>;
  demux?: () => DemuxStats;
  /** The MQTT output's counters (absent without mqtt:); /api/stats and /metrics show them. */
  mqtt?: () => MqttTotals | undefined;
  /** The event history's figures for /api/stats (absent without history:). */
  history?: () => HistoryStats | undefined;
  /** GET /api/events and the events' pictures (absent: those routes are 404, and the viewer shows no events panel). */
  events?: EventsApi;
  /** The cameras at runtime: GET /api/cameras, POST/PUT/DELETE /api/cameras/{id} (the changes need the token). */
  cameras?: CamerasApi;
  /** A fleet's section of /api/stats (an instance's leases, a gateway's view). */
  fleet?: () => FleetStatsSection | undefined;
  /** Created when absent; pass one to share it with the pipeline. */
  metrics?: Metrics;
  hub?: HubOptions;
  /**
   * The live viewer: its page's files at / and /viewer/*, and pictures for the
   * clients that ask (someone must publish them: hub.publishPicture). Absent: neither.
   */
  viewer?: { assets: ReadonlyMap<string, Asset>; fps: number; maxWidth: number; stats?: () => ViewerStats };
  /** Client messages over this size close the connection (1009); smaller ones over hub.maxClientMessageBytes get an error reply. Default 64 KiB. */
  maxPayloadBytes?: number;
  /** How long close() waits for clients to finish the closing handshake before terminating them. Default 2 s. */
  closeTimeoutMs?: number;
}

export interface ServeHandle {
  host: string;
  port: number;
  /** WebSocket URL, e.g. ws://127.0.0.1:8080/ws */
  url: string;
  /** Base URL for the HTTP routes, e.g. http://127.0.0.1:8080 */
  httpUrl: string;
  /** The viewer's page, e.g. http://127.0.0.1:8080/ (a wildcard host shows as loopback); absent without the viewer. */
  viewerUrl?: string;
  hub: WsHub;
  metrics: Metrics;
  /** The /api/stats body, for other outputs (MQTT's <prefix>/stats) to say the same numbers. */
  statsBody(): Promise<StatsBody>;
  /** Resolves if the listener fails after startup (it then serves nothing); never rejects. */
  died: Promise<Error>;
  /** Idempotent; resolves when every socket and the listener are down. */
  close(): Promise<void>;
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Constant-time on the digest so the comparison leaks neither content nor length. */
function tokenMatches(expected: Buffer, given: string | null | undefined): boolean {
  return typeof given === 'string' && given.length > 0 && timingSafeEqual(expected, sha256(given));
}

/** The credentials of an `Authorization: Bearer <token>` header; the scheme's case does not matter (RFC 7235). */
export function bearerToken(header: string | undefined): string | null {
  const m = /^bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1] ?? null;
}

function refuseUpgrade(socket: Duplex, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: message });
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.once('finish', () => socket.destroy());
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** A host a browser on this machine can open: a wildcard address is listened on, not browsed to. */
function browsableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

async function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      if (err.code === 'EADDRINUSE') reject(new ConfigError('server.port', `${host}:${port} is already in use`, { cause: err }));
      else if (err.code === 'EACCES') reject(new ConfigError('server.port', `no permission to listen on ${host}:${port}`, { cause: err }));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') reject(new ConfigError('server.host', `cannot listen on ${host}: ${err.message}`, { cause: err }));
      else reject(err);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}

export async function createServer(opts: ServeOptions = {}): Promise<ServeHandle> {
  const host = opts.host ?? SERVER_DEFAULTS.host;
  const wsPath = opts.path ?? SERVER_DEFAULTS.wsPath;
  if (!wsPath.startsWith('/')) throw new ConfigError('server.wsPath', `must start with '/', got '${wsPath}'`);
  if (opts.token !== undefined && opts.token.length === 0) throw new ConfigError('server.authToken', 'must not be empty when set');
  const closeTimeoutMs = opts.closeTimeoutMs ?? 2000;
  const metrics = opts.metrics ?? new Metrics();
  const hub = new WsHub({
    ...opts.hub,
    pictures: opts.hub?.pictures ?? opts.viewer !== undefined,
    onDropped: (n) => {
      metrics.observeWsDropped(n);
      opts.hub?.onDropped?.(n);
    },
  });
  metrics.bindClientCount(() => hub.clientCount);
  const expectedToken = opts.token === undefined ? null : sha256(opts.token);
  /** True when no token is set, or the request carries it (header, any case of the scheme, or ?token=). */
  const authorized = (req: IncomingMessage, url: URL): boolean =>
    !expectedToken || tokenMatches(expectedToken, bearerToken(req.headers.authorization)) || tokenMatches(expectedToken, url.searchParams.get('token'));
  const viewer: ViewerRoutes | undefined = opts.viewer && {
    assets: opts.viewer.assets,
    page: { wsPath, authRequired: expectedToken !== null, protocol: PROTOCOL_VERSION, pictures: { fps: opts.viewer.fps, maxWidth: opts.viewer.maxWidth }, events: opts.events !== undefined },
    ...(opts.viewer.stats ? { stats: opts.viewer.stats } : {}),
  };
  const wss = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false, maxPayload: opts.maxPayloadBytes ?? 64 * 1024 });
  const deps = { hub, metrics, startedAt: Date.now(), ready: opts.ready, stats: opts.stats, ...(opts.demux ? { demux: opts.demux } : {}), ...(viewer ? { viewer } : {}), ...(opts.mqtt ? { mqtt: opts.mqtt } : {}), ...(opts.history ? { history: opts.history } : {}), ...(opts.events ? { events: opts.events } : {}), ...(opts.cameras ? { cameras: opts.cameras } : {}), ...(opts.fleet ? { fleet: opts.fleet } : {}), tokenSet: expectedToken !== null, authorized, publicMetrics: opts.publicMetrics ?? false };
  if (opts.mqtt) metrics.bindMqtt(opts.mqtt);
  const sockets = new Set<Socket>();
  let closing = false;

  const server = createHttpServer((req, res) => {
    void handleHttp(deps, req, res, wsPath);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Until ws owns the socket, an error on it (peer reset) must not become an uncaught exception.
    socket.on('error', () => undefined);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return refuseUpgrade(socket, 400, 'malformed request URL');
    }
    if (url.pathname !== wsPath) return refuseUpgrade(socket, 404, `no WebSocket endpoint at ${url.pathname}; use ${wsPath}`);
    if (closing) return refuseUpgrade(socket, 503, 'server shutting down');
    if (!authorized(req, url)) return refuseUpgrade(socket, 401, 'missing or invalid token', { 'WWW-Authenticate': 'Bearer' });
    let cameras: CameraSelection | null;
    let pictures: boolean | null;
    try {
      cameras = parseCameraQuery(url.searchParams.get('cameras'));
      pictures = parsePicturesQuery(url.searchParams.get('pictures'));
    } catch (err) {
      return refuseUpgrade(socket, 400, err instanceof ProtocolError ? err.message : errorMessage(err));
    }
    if (pictures !== null && cameras === null) return refuseUpgrade(socket, 400, 'pictures= applies to the cameras of cameras=: add cameras=* or cameras=a,b');
    const remote = `${formatHost(req.socket.remoteAddress ?? '?')}:${req.socket.remotePort ?? '?'}`;
    wss.handleUpgrade(req, socket, head, (ws) => {
      hub.addClient(ws, { cameras, pictures, remote });
    });
  });

  const addr = await listen(server, host, opts.port ?? SERVER_DEFAULTS.port);
  // A listener error after startup (rare: the fd was closed under us) must not crash the process;
  // it is reported through `died` so the owner can decide to restart.
  let died!: (err: Error) => void;
  const diedPromise = new Promise<Error>((resolve) => (died = resolve));
  server.on('error', (err) => died(err));
  const base = `${formatHost(host)}:${addr.port}`;

  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      const serverDown = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await hub.closeAll(1001, 'server shutting down', closeTimeoutMs);
      wss.close();
      // Requests still in flight (and refused upgrades still flushing) get the same grace as clients.
      const straggle = setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, closeTimeoutMs);
      await serverDown;
      clearTimeout(straggle);
    })();
    return closed;
  };

  const viewerUrl = viewer ? `http://${formatHost(browsableHost(host))}:${addr.port}/` : undefined;
  return { host, port: addr.port, url: `ws://${base}${wsPath}`, httpUrl: `http://${base}`, ...(viewerUrl ? { viewerUrl } : {}), hub, metrics, statsBody: () => statsBody(deps), died: diedPromise, close };
}
