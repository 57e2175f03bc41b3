import { afterEach, describe, expect, it, vi } from 'vitest';
import { watch, watchCommand, formatFrame, parseWatchUrl } from '../../src/cli/commands/watch.js';
import { createServer, type ServeHandle } from '../../src/serve/server.js';
import { PROTOCOL_VERSION, type FrameMessage } from '../../src/serve/protocol.js';

const open: ServeHandle[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  for (const s of open.splice(0)) await s.close();
});

async function serve(port = 0, token?: string): Promise<ServeHandle> {
  const s = await createServer({ port, token, closeTimeoutMs: 500 });
  open.push(s);
  return s;
}

async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function frame(camera: string, seq: number): FrameMessage {
  const now = Date.now();
  return {
    type: 'frame',
    camera,
    seq,
    ptsMs: 40 * seq,
    captureTs: now - 42,
    publishTs: now,
    latencyMs: 42,
    inferenceMs: 11.5,
    width: 1280,
    height: 720,
    boxes: [
      { x: 10, y: 20, w: 30.4, h: 40.6, label: 'person', classId: 0, score: 0.871, trackId: 12 },
      { x: 5, y: 6, w: 7, h: 8, label: 'dog', classId: 16, score: 0.5 },
    ],
  };
}

function sink(): { lines: string[]; errs: string[]; out: (l: string) => void; err: (l: string) => void } {
  const lines: string[] = [];
  const errs: string[] = [];
  return { lines, errs, out: (l) => lines.push(l), err: (l) => errs.push(l) };
}

describe('neulens watch', () => {
  it('formats a frame as one compact line', () => {
    const line = formatFrame(frame('door', 7));
    expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} door #7 lat 42ms inf 11\.5ms 2 boxes: person 0\.87 #12 \[10,20,30,41\], dog 0\.50 \[5,6,7,8\]$/);
  });

  it('rejects bad usage with exit 2 and a clear message', async () => {
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((m: unknown) => void errors.push(String(m)));
    expect(await watchCommand.run(['not a url'])).toBe(2);
    expect(errors.at(-1)).toMatch(/bad URL 'not a url'/);
    expect(await watchCommand.run(['ftp://host/ws'])).toBe(2);
    expect(await watchCommand.run([])).toBe(2);
    expect(errors.at(-1)).toMatch(/expected exactly one WebSocket URL/);
    expect(await watchCommand.run(['ws://h/ws', '--bogus'])).toBe(2);
    expect(parseWatchUrl('http://127.0.0.1:8080/ws')?.protocol).toBe('ws:');
  });

  it('prints hello, status and frame lines for the chosen cameras, and reconnects when the server comes back', async () => {
    const a = await serve();
    const port = a.port;
    const io = sink();
    const ac = new AbortController();
    const done = watch({ url: new URL(a.url), cameras: ['door'], json: false, signal: ac.signal, ...io, backoffInitialMs: 50, backoffMaxMs: 200 });

    await until(() => io.lines.some((l) => l.includes(`connected, protocol v${PROTOCOL_VERSION}`)), 'hello line');
    expect(io.lines.join('\n')).toMatch(/not \(yet\) known to the server: door/);
    a.hub.publishStatus({ type: 'status', camera: 'door', state: 'online', atMs: Date.now() });
    a.hub.publishFrame(frame('yard', 1));
    a.hub.publishFrame(frame('door', 2));
    await until(() => io.lines.some((l) => l.includes(' door #2 ')), 'frame line');
    expect(io.lines.some((l) => l.includes('door status online'))).toBe(true);
    expect(io.lines.some((l) => l.includes('yard'))).toBe(false);

    await a.close();
    await until(() => io.errs.some((l) => /disconnected: .*retrying/.test(l)), 'disconnect notice');
    const b = await serve(port);
    await until(() => io.lines.filter((l) => l.includes(`connected, protocol v${PROTOCOL_VERSION}`)).length === 2, 'second hello');
    b.hub.publishFrame(frame('door', 3));
    await until(() => io.lines.some((l) => l.includes(' door #3 ')), 'frame after reconnect');

    ac.abort();
    expect(await done).toBe(0);
  });

  it('--json prints each message verbatim', async () => {
    const s = await serve();
    const io = sink();
    const ac = new AbortController();
    const done = watch({ url: new URL(s.url), cameras: [], json: true, signal: ac.signal, ...io });
    await until(() => io.lines.length === 1, 'hello');
    s.hub.publishFrame(frame('any', 9));
    await until(() => io.lines.length === 2, 'frame');
    expect(JSON.parse(io.lines[1]!)).toMatchObject({ type: 'frame', camera: 'any', seq: 9, boxes: [{ label: 'person' }, { label: 'dog' }] });
    ac.abort();
    expect(await done).toBe(0);
  });

  it('gives up with exit 1 when the token is refused', async () => {
    const s = await serve(0, 'right');
    const io = sink();
    const code = await watch({ url: new URL(s.url), cameras: [], token: 'wrong', json: false, signal: new AbortController().signal, ...io });
    expect(code).toBe(1);
    expect(io.errs.join('\n')).toMatch(/refused the token \(HTTP 401\)/);
  });

  it('the command exits 0 on SIGINT', async () => {
    const s = await serve();
    const logs: string[] = [];
    // Lines go straight to stdout (an EPIPE there ends watch quietly, see test/e2e/watch-cli.test.ts).
    vi.spyOn(process.stdout, 'write').mockImplementation((m: string | Uint8Array) => {
      logs.push(String(m));
      return true;
    });
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const done = watchCommand.run([s.url, '--camera', 'door']);
    await until(() => logs.some((l) => l.includes('connected')), 'hello');
    expect(process.listenerCount('SIGINT')).toBe(1);
    process.emit('SIGINT');
    expect(await done).toBe(0);
    expect(process.listenerCount('SIGINT')).toBe(0);
  });
});
