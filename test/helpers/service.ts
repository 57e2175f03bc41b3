/**
 * Helpers for tests that run the whole service: configs resolved against the
 * repository root, a recording WebSocket client, plain HTTP GETs and /proc
 * checks. Everything here talks to real sockets on loopback.
 */
import { readFileSync } from 'node:fs';
import { get, request } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { parseConfig, type Config, type Env } from '../../src/config/index.js';
import type { FrameMessage, ServerMessage, StatusMessage } from '../../src/serve/protocol.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const PARADE = path.join(REPO_ROOT, 'samples/parade.mp4');

/** A YAML config as `neulens serve` would read it, relative paths against the repository root. */
export function testConfig(yaml: string, env: Env = {}): Config {
  return parseConfig(yaml, 'test.yaml', env, { baseDir: REPO_ROOT });
}

/** A port that was free a moment ago (for a child process that must be told its port up front). */
export async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export interface HttpAnswer {
  status: number;
  body: unknown;
}

/** GET a JSON route; resolves with any status (a 503 is an answer, not an error). */
export async function getJson(url: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const r = await getText(url, headers);
  try {
    return { status: r.status, body: JSON.parse(r.text) as unknown };
  } catch (err) {
    throw new Error(`${url}: not JSON (${r.status}): ${r.text.slice(0, 200)}`, { cause: err });
  }
}

/** GET any route as text, with its status. */
export function getText(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${url}: no answer in 10 s`)));
    req.on('error', reject);
  });
}

/** Any method, with an optional JSON body; resolves with the status and the JSON answer ({} when empty). */
export function sendJson(method: string, url: string, body: string | undefined, headers: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A WebSocket client that completes the handshake over a raw TCP socket, then
 * never reads again (what the hub's stuck-client rules are for). The caller
 * destroys it.
 */
export async function stuckWsClient(port: number, path: string): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.from('stuck-client-key').toString('base64')}\r\n\r\n`,
      );
    });
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.pause();
      if (head.startsWith('HTTP/1.1 101')) resolve();
      else reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
  return socket;
}

/** Poll an async condition (e.g. an HTTP answer) until it holds. */
export async function waitForAsync(pred: () => Promise<boolean>, timeoutMs: number, what: string, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface Received<M> {
  msg: M;
  /** Date.now() when the client got it. */
  atMs: number;
}

/** A real ws client that keeps every message with its arrival time. */
export class WsProbe {
  readonly received: Received<ServerMessage>[] = [];
  closeCode: number | null = null;
  closeReason = '';
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.received.push({ msg: JSON.parse((data as Buffer).toString('utf8')) as ServerMessage, atMs: Date.now() });
    });
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve(code);
      });
    });
    ws.on('error', () => undefined);
  }

  /** Connects, waits for hello, and subscribes to every camera. */
  static async connect(url: string, headers: Record<string, string> = {}): Promise<WsProbe> {
    const probe = new WsProbe(new WebSocket(url, { headers }));
    await probe.until(() => probe.received.some((r) => r.msg.type === 'hello'), 15_000, 'hello');
    probe.ws.send(JSON.stringify({ type: 'subscribe', cameras: '*' }));
    return probe;
  }

  frames(camera?: string): Received<FrameMessage>[] {
    return this.received.filter((r): r is Received<FrameMessage> => r.msg.type === 'frame' && (camera === undefined || r.msg.camera === camera));
  }

  statuses(camera?: string): Received<StatusMessage>[] {
    return this.received.filter((r): r is Received<StatusMessage> => r.msg.type === 'status' && (camera === undefined || r.msg.camera === camera));
  }

  /** Index into `received` to count from: "what arrived after now". */
  mark(): number {
    return this.received.length;
  }

  /** Messages received after `mark()` returned `from`. */
  since(from: number): ServerMessage[] {
    return this.received.slice(from).map((r) => r.msg);
  }

  async until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (this.closeCode !== null) throw new Error(`socket closed (${this.closeCode} ${this.closeReason}) while waiting for ${what}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    else this.ws.close();
    await this.closed;
  }
}

export const isFrame = (m: ServerMessage): m is FrameMessage => m.type === 'frame';

/** True while `pid` exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
