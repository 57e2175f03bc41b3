/**
 * `neulens watch <ws-url>`: a terminal WebSocket client, one line per frame.
 * It is a debugging tool for the protocol, so it reconnects on its own (the
 * server restarting is normal) but gives up at once on answers that retrying
 * cannot fix: a refused token or a wrong path.
 */
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { EXIT, type Command } from '../command.js';
import type { FrameMessage, ServerMessage, WireBox } from '../../serve/protocol.js';

const USAGE = `usage: neulens watch <ws-url> [--camera id]... [--token T] [--json]

Connects to a NeuLens server's WebSocket (e.g. ws://127.0.0.1:8080/ws) and
prints one line per frame. Without --camera it watches every camera.

  -c, --camera id   watch this camera (repeatable)
      --token T     bearer token (default: $NEULENS_TOKEN)
      --json        print each message as raw JSON, one per line
Reconnects with backoff when the server goes away; Ctrl-C exits.`;

export interface WatchOptions {
  url: URL;
  cameras: string[];
  token?: string;
  json: boolean;
  signal: AbortSignal;
  out: (line: string) => void;
  err: (line: string) => void;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

type Outcome = { kind: 'closed'; detail: string; greeted: boolean } | { kind: 'fatal'; detail: string } | { kind: 'aborted' };

/** Parses the user's URL; http(s) is accepted and mapped to ws(s). Null when unusable. */
export function parseWatchUrl(raw: string): URL | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  return url.protocol === 'ws:' || url.protocol === 'wss:' ? url : null;
}

function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function formatBox(b: WireBox): string {
  const id = b.trackId === undefined ? '' : ` #${b.trackId}`;
  return `${b.label} ${b.score.toFixed(2)}${id} [${[b.x, b.y, b.w, b.h].map((v) => Math.round(v)).join(',')}]`;
}

const MAX_LISTED_BOXES = 8;

export function formatFrame(m: FrameMessage): string {
  const head = `${clock(m.publishTs)} ${m.camera} #${m.seq} lat ${Math.round(m.latencyMs)}ms inf ${m.inferenceMs.toFixed(1)}ms ${m.boxes.length} box${m.boxes.length === 1 ? '' : 'es'}`;
  if (m.boxes.length === 0) return head;
  const listed = m.boxes.slice(0, MAX_LISTED_BOXES).map(formatBox).join(', ');
  const more = m.boxes.length > MAX_LISTED_BOXES ? `, +${m.boxes.length - MAX_LISTED_BOXES} more` : '';
  return `${head}: ${listed}${more}`;
}

function formatMessage(m: ServerMessage): string[] {
  switch (m.type) {
    case 'frame':
      return [formatFrame(m)];
    case 'status':
      return [`${clock(m.atMs)} ${m.camera} status ${m.state}${m.error ? `: ${m.error}` : ''}`];
    case 'hello': {
      const cams = m.cameras.map((c) => `${c.id} (${c.state})`).join(', ') || 'none yet';
      return [`${clock(m.serverTimeMs)} connected, protocol v${m.version}, cameras: ${cams}`];
    }
    case 'error':
      // The server keeps a subscription to a camera it does not know (it may be added later) and says so.
      if (m.code === 'UNKNOWN_CAMERA') return [`note: not (yet) known to the server: ${(m.cameras ?? []).join(', ')}`];
      return [`server error ${m.code}: ${m.message}`];
    case 'pong':
      return [];
  }
}

function connectOnce(opts: WatchOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    const url = new URL(opts.url);
    if (opts.cameras.length > 0) url.searchParams.set('cameras', opts.cameras.join(','));
    else if (!url.searchParams.has('cameras')) url.searchParams.set('cameras', '*');
    const headers: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
    const ws = new WebSocket(url, { headers, handshakeTimeout: 10_000 });
    let greeted = false;
    let failure = '';
    let fatal = false;
    const onAbort = (): void => ws.close(1000, 'client exiting');
    opts.signal.addEventListener('abort', onAbort, { once: true });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
      let msg: ServerMessage;
      try {
        msg = JSON.parse(text) as ServerMessage;
      } catch {
        opts.err(`ignoring a message that is not JSON (${text.length} chars)`);
        return;
      }
      if (msg.type === 'hello') greeted = true;
      if (opts.json) opts.out(text);
      else for (const line of formatMessage(msg)) opts.out(line);
    });
    ws.on('error', (err) => {
      failure = err.message;
      // ws reports refused upgrades as "Unexpected server response: <status>".
      const status = /Unexpected server response: (\d+)/.exec(err.message)?.[1];
      if (status === '401' || status === '403') {
        fatal = true;
        failure = `server refused the token (HTTP ${status}); pass --token or set NEULENS_TOKEN`;
      } else if (status === '404') {
        fatal = true;
        failure = `no WebSocket endpoint at ${opts.url.pathname} (HTTP 404); check the path`;
      }
    });
    ws.once('close', (code, reason) => {
      opts.signal.removeEventListener('abort', onAbort);
      if (opts.signal.aborted) resolve({ kind: 'aborted' });
      else if (fatal) resolve({ kind: 'fatal', detail: failure });
      else {
        const why = failure || `closed with code ${code}${reason.length > 0 ? ` (${reason.toString()})` : ''}`;
        resolve({ kind: 'closed', detail: why, greeted });
      }
    });
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Runs until the signal aborts (returns 0) or the server gives a final refusal (returns 1). */
export async function watch(opts: WatchOptions): Promise<number> {
  const initial = opts.backoffInitialMs ?? 500;
  const max = opts.backoffMaxMs ?? 10_000;
  let delay = initial;
  while (!opts.signal.aborted) {
    const outcome = await connectOnce(opts);
    if (outcome.kind === 'aborted') break;
    if (outcome.kind === 'fatal') {
      opts.err(`neulens watch: ${outcome.detail}`);
      return EXIT.failure;
    }
    if (outcome.greeted) delay = initial;
    // Jitter keeps a room full of watchers from reconnecting in lockstep.
    const wait = Math.round(delay * (0.8 + Math.random() * 0.4));
    opts.err(`${outcome.greeted ? 'disconnected' : 'cannot connect'}: ${outcome.detail}; retrying in ${(wait / 1000).toFixed(1)}s`);
    await sleep(wait, opts.signal);
    delay = Math.min(max, delay * 2);
  }
  return EXIT.ok;
}

export const watchCommand: Command = {
  name: 'watch',
  summary: 'print detections streamed by a NeuLens server (WebSocket client)',
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          camera: { type: 'string', short: 'c', multiple: true },
          token: { type: 'string' },
          json: { type: 'boolean', default: false },
        },
      });
    } catch (err) {
      console.error(`neulens watch: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
      return EXIT.usage;
    }
    const [raw, ...extra] = parsed.positionals;
    if (raw === undefined || extra.length > 0) {
      console.error(`neulens watch: expected exactly one WebSocket URL\n\n${USAGE}`);
      return EXIT.usage;
    }
    const url = parseWatchUrl(raw);
    if (!url) {
      console.error(`neulens watch: bad URL '${raw}': expected ws://host:port/path or wss://…, e.g. ws://127.0.0.1:8080/ws`);
      return EXIT.usage;
    }
    const cameras = (parsed.values.camera ?? []).flatMap((c) => c.split(',')).map((c) => c.trim()).filter((c) => c.length > 0);
    const controller = new AbortController();
    const onSigint = (): void => controller.abort();
    // `watch ... | head -3`: once the reader has gone, stop quietly, as cat or grep do.
    let readerGone = false;
    const onStdoutError = (err: NodeJS.ErrnoException): void => {
      if (err.code !== 'EPIPE') throw err;
      readerGone = true;
      controller.abort();
    };
    process.on('SIGINT', onSigint);
    process.stdout.on('error', onStdoutError);
    try {
      return await watch({
        url,
        cameras,
        token: parsed.values.token ?? process.env.NEULENS_TOKEN,
        json: parsed.values.json,
        signal: controller.signal,
        out: (line) => {
          if (!readerGone) process.stdout.write(`${line}\n`);
        },
        err: (line) => console.error(line),
      });
    } finally {
      // The stdout listener stays: writes still in flight may fail with EPIPE after we return.
      process.off('SIGINT', onSigint);
    }
  },
};
