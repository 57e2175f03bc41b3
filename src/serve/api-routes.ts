/**
 * The routes with an id in their path: the event history's
 * (GET /api/events, /api/events/{id}/snapshot.jpg and crop.jpg) and the
 * runtime cameras' (GET /api/cameras, GET/POST/PUT/DELETE /api/cameras/{id}).
 *
 * Reading them needs the token like /api/stats (events and camera settings
 * say what the cameras see and where they are). Changing a camera needs
 * more: a server with no token refuses every change (403), because a
 * camera's url makes the service open any file or address, and a page of
 * another site could otherwise post one to a server on 127.0.0.1.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError, ConflictError, errorMessage, InputError, NotFoundError, UnavailableError } from '../core/errors.js';
import type { CamerasApi, EventsApi } from './api-types.js';
import { sendJson } from './http-answer.js';

/** A camera as YAML or JSON is small; anything larger is a mistake or an attack. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface ApiDeps {
  events?: EventsApi;
  cameras?: CamerasApi;
  /** Whether a token is set (camera changes need one). */
  tokenSet: boolean;
  /** Whether the request carries the token (true when none is set). */
  authorized: (req: IncomingMessage, url: URL) => boolean;
}

/** The status of an error a callback threw, and the body that says it. */
export function errorAnswer(err: unknown): { status: number; body: { error: string; code?: string; key?: string } } {
  if (err instanceof ConfigError) return { status: 400, body: { error: err.message, code: err.code, key: err.path } };
  if (err instanceof InputError) return { status: 400, body: { error: err.message, code: err.code } };
  if (err instanceof NotFoundError) return { status: 404, body: { error: err.message, code: err.code } };
  if (err instanceof ConflictError) return { status: 409, body: { error: err.message, code: err.code } };
  if (err instanceof UnavailableError) return { status: 503, body: { error: err.message, code: err.code } };
  return { status: 500, body: { error: errorMessage(err) } };
}

class TooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        // Read no more of it; the answer closes the connection (see apiRoute).
        req.off('data', onData);
        req.pause();
        reject(new TooLarge(`the body is over ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function methodNotAllowed(res: ServerResponse, req: IncomingMessage, pathname: string, allow: string): void {
  sendJson(res, 405, { error: `${req.method ?? '?'} not allowed on ${pathname}` }, { allow });
}

function sendJpeg(req: IncomingMessage, res: ServerResponse, jpeg: Buffer): void {
  res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.length, 'cache-control': 'private, max-age=60', 'x-content-type-options': 'nosniff' });
  res.end(req.method === 'HEAD' ? undefined : jpeg);
}

/** A path segment as text; a malformed %-escape is the client's mistake. */
function segment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new InputError(`malformed path segment '${s.slice(0, 40)}'`);
  }
}

const EVENT_PICTURE = /^\/api\/events\/([^/]+)\/(snapshot|crop)\.jpg$/;
const CAMERA = /^\/api\/cameras\/([^/]+)$/;

/** Whether `pathname` is one of these routes (the caller then lets apiRoute answer). */
export function isApiRoute(pathname: string): boolean {
  return pathname === '/api/events' || pathname === '/api/cameras' || EVENT_PICTURE.test(pathname) || CAMERA.test(pathname);
}

/** Answers one request to an isApiRoute() path. Never rejects. */
export async function apiRoute(deps: ApiDeps, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const pathname = url.pathname;
  const method = req.method ?? 'GET';
  const read = method === 'GET' || method === 'HEAD';
  try {
    if (pathname.startsWith('/api/events')) {
      if (!deps.events) return sendJson(res, 404, { error: `no route ${pathname} (the event history is off: add history: to the config)` });
      if (!read) return methodNotAllowed(res, req, pathname, 'GET, HEAD');
      if (!deps.authorized(req, url)) return sendJson(res, 401, { error: 'missing or invalid token' }, { 'www-authenticate': 'Bearer' });
      if (pathname === '/api/events') return sendJson(res, 200, deps.events.list(url.searchParams));
      const m = EVENT_PICTURE.exec(pathname) as RegExpExecArray;
      return sendJpeg(req, res, await deps.events.snapshot(segment(m[1] as string), m[2] === 'crop' ? 'crop' : 'snapshot'));
    }
    const cameras = deps.cameras;
    if (!cameras) return sendJson(res, 404, { error: `no route ${pathname}` });
    const id = CAMERA.exec(pathname)?.[1];
    if (id === undefined && !read) return methodNotAllowed(res, req, pathname, 'GET, HEAD');
    if (!deps.authorized(req, url)) return sendJson(res, 401, { error: 'missing or invalid token' }, { 'www-authenticate': 'Bearer' });
    if (read) {
      const all = (await cameras.list()) as { cameras: Array<{ id: string }> };
      if (id === undefined) return sendJson(res, 200, all);
      const one = all.cameras.find((c) => c.id === segment(id));
      return one ? sendJson(res, 200, one) : sendJson(res, 404, { error: `no camera '${segment(id)}'`, code: 'NOT_FOUND' });
    }
    if (method !== 'POST' && method !== 'PUT' && method !== 'DELETE') return methodNotAllowed(res, req, pathname, 'GET, HEAD, POST, PUT, DELETE');
    if (!deps.tokenSet) return sendJson(res, 403, { error: 'changing cameras over HTTP needs server.authToken (or NEULENS_TOKEN) to be set; without one, edit the config file and send SIGHUP' });
    const cam = segment(id as string);
    if (method === 'DELETE') return sendJson(res, 200, await cameras.remove(cam));
    let body: string;
    try {
      body = await readBody(req);
    } catch (err) {
      res.once('finish', () => req.destroy());
      return sendJson(res, err instanceof TooLarge ? 413 : 400, { error: errorMessage(err) }, { connection: 'close' });
    }
    if (method === 'POST') return sendJson(res, 201, await cameras.add(cam, body));
    return sendJson(res, 200, await cameras.replace(cam, body));
  } catch (err) {
    const a = errorAnswer(err);
    if (!res.headersSent) sendJson(res, a.status, a.body);
    else res.destroy();
  }
}
