/**
 * End-to-end benchmark of the live service, measured where a user sees it: a
 * real WebSocket client on loopback subscribed to an in-process service.
 *
 *   paced    the clip as a live camera (pace: source, loop), the demo config:
 *            processed fps and latency capture -> publish and capture -> client
 *   unpaced  the clip as fast as ffmpeg decodes it (pace: fast, loop): the
 *            highest processed fps the pipeline sustains, and the share of
 *            decoded frames the latest-frame gate had to drop to keep up
 *
 * Each phase runs its own service: warm-up from the first frame, then a
 * measured window. Counters are read from the service at the window's edges,
 * latencies from the messages the client received inside it.
 */
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { parseConfig } from '../../config/index.js';
import { InputError, SourceError } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { DEFAULT_PACK_DIR, PACKAGE_ROOT } from '../../core/paths.js';
import { summarize, type LatencySummary } from '../../core/stats.js';
import { NeulensService } from '../../service/service.js';
import type { FrameMessage, ServerMessage } from '../../serve/protocol.js';
import { parseNumber } from '../args.js';
import { EXIT, type Command } from '../command.js';
import { progressBar, tickFor, type Progress } from '../progress.js';

const usage = `usage: neulens serve-bench [--clip FILE] [--seconds N] [--warmup N] [--json]

Runs the service in-process on a looping clip and measures it with a real
WebSocket client on loopback, in two phases:
  paced    pace: source (a live camera): processed fps, latency p50/p95 from
           capture to publish and from capture to client receipt
  unpaced  pace: fast: the highest sustained processed fps and the drop rate
Default clip samples/parade.mp4; each phase measures --seconds (default 20)
after --warmup seconds (default 3) from its first frame.`;

const FIRST_FRAME_TIMEOUT_MS = 60_000;
const CAMERA = 'bench';

export interface PhaseResult {
  phase: 'paced' | 'unpaced';
  seconds: number;
  /** Frames decoded per second. */
  inFps: number;
  /** Frames through detection and tracking, published, per second. */
  processedFps: number;
  /** Frame messages the client received per second. */
  clientFps: number;
  /** Share of decoded frames dropped (latest-frame gate or inference error). */
  dropRate: number;
  framesIn: number;
  processed: number;
  dropped: number;
  /** Frame messages the hub dropped for the client (slow reader); should be 0 on loopback. */
  wsDropped: number;
  inferenceMs: LatencySummary;
  /** publishTs - captureTs */
  publishLatencyMs: LatencySummary;
  /** client receive time - captureTs (same clock: same host) */
  clientLatencyMs: LatencySummary;
  input: string;
}

function benchConfig(clip: string, pace: 'source' | 'fast') {
  // The shape of pipelines/demo.yaml, on a free port and quiet.
  const yaml = `
server: { host: 127.0.0.1, port: 0 }
model: { pack: ${JSON.stringify(DEFAULT_PACK_DIR)}, strategy: full, provider: cpu, minScore: 0.35 }
tracker: { enabled: true }
cameras:
  - id: ${CAMERA}
    url: ${JSON.stringify(clip)}
    loop: true
    pace: ${pace}
logging: { level: warn }
`;
  return parseConfig(yaml, 'serve-bench', {}, { baseDir: PACKAGE_ROOT });
}

interface Received {
  msg: FrameMessage;
  atMs: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}


async function connectClient(url: string, onFrame: (r: Received) => void): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on('message', (data) => {
    const atMs = Date.now();
    const msg = JSON.parse((data as Buffer).toString('utf8')) as ServerMessage;
    if (msg.type === 'frame') onFrame({ msg, atMs });
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => undefined);
  ws.send(JSON.stringify({ type: 'subscribe', cameras: [CAMERA] }));
  return ws;
}

async function runPhase(phase: PhaseResult['phase'], clip: string, warmupS: number, seconds: number, bar: Progress): Promise<PhaseResult> {
  const service = await NeulensService.start(benchConfig(clip, phase === 'paced' ? 'source' : 'fast'), { log: createLogger('warn') });
  let ws: WebSocket | undefined;
  try {
    let window: Received[] | undefined;
    let firstFrame = false;
    ws = await connectClient(service.url, (r) => {
      firstFrame = true;
      window?.push(r);
    });
    const deadline = Date.now() + FIRST_FRAME_TIMEOUT_MS;
    while (!firstFrame) {
      if (Date.now() > deadline) {
        const s = service.stats()[0];
        throw new SourceError(CAMERA, 'SOURCE_FAILED', `no frame from ${clip} in ${FIRST_FRAME_TIMEOUT_MS / 1000} s${s?.lastError ? `: ${s.lastError}` : ''}`);
      }
      await sleep(50);
    }
    await tickFor(warmupS, bar, `${phase} warm-up`);

    const counters = () => {
      const s = service.stats().find((c) => c.camera === CAMERA);
      return { framesIn: s?.framesIn ?? 0, processed: s?.processed ?? 0, dropped: s?.dropped ?? 0, wsDropped: service.server.hub.stats().totals.dropped, atMs: Date.now(), input: s?.input };
    };
    const c0 = counters();
    window = [];
    await tickFor(seconds, bar, phase);
    const c1 = counters();
    const got = window;
    window = undefined;

    const elapsedS = (c1.atMs - c0.atMs) / 1000;
    const framesIn = c1.framesIn - c0.framesIn;
    const processed = c1.processed - c0.processed;
    const dropped = c1.dropped - c0.dropped;
    return {
      phase,
      seconds: elapsedS,
      inFps: framesIn / elapsedS,
      processedFps: processed / elapsedS,
      clientFps: got.length / elapsedS,
      dropRate: framesIn > 0 ? dropped / framesIn : 0,
      framesIn,
      processed,
      dropped,
      wsDropped: c1.wsDropped - c0.wsDropped,
      inferenceMs: summarize(got.map((r) => r.msg.inferenceMs)),
      publishLatencyMs: summarize(got.map((r) => r.msg.publishTs - r.msg.captureTs)),
      clientLatencyMs: summarize(got.map((r) => r.atMs - r.msg.captureTs)),
      input: c1.input ? `${c1.input.width}x${c1.input.height} ${c1.input.strategy}` : '?',
    };
  } finally {
    ws?.terminate();
    await service.close();
  }
}

const f1 = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : '-');
const pair = (s: LatencySummary): string => `${f1(s.p50)} / ${f1(s.p95)}`;

export function formatTable(rows: PhaseResult[]): string {
  const head = ['phase', 'in fps', 'processed fps', 'client fps', 'dropped', 'inference ms p50/p95', 'capture→publish ms p50/p95', 'capture→client ms p50/p95'];
  const body = rows.map((r) => [r.phase, f1(r.inFps), f1(r.processedFps), f1(r.clientFps), `${f1(r.dropRate * 100)} %`, pair(r.inferenceMs), pair(r.publishLatencyMs), pair(r.clientLatencyMs)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

export const serveBenchCommand: Command = {
  name: 'serve-bench',
  summary: 'measure the live service end to end: fps, latency and drops seen by a WebSocket client',
  usage,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        clip: { type: 'string', default: path.join(PACKAGE_ROOT, 'samples/parade.mp4') },
        seconds: { type: 'string', default: '20' },
        warmup: { type: 'string', default: '3' },
        json: { type: 'boolean', default: false },
      },
    });
    const seconds = parseNumber('--seconds', values.seconds, { integer: true, min: 1, max: 3600 });
    const warmup = parseNumber('--warmup', values.warmup, { integer: true, min: 0, max: 600 });
    const clip = path.resolve(values.clip);
    if (!existsSync(clip)) throw new InputError(`--clip: no such file: ${clip}`);

    const loadBefore = loadavg();
    const bar = progressBar('serve-bench', 2 * (warmup + seconds));
    const rows: PhaseResult[] = [];
    try {
      for (const phase of ['paced', 'unpaced'] as const) rows.push(await runPhase(phase, clip, warmup, seconds, bar));
    } finally {
      bar.done();
    }
    const loadAfter = loadavg();

    if (values.json) {
      console.log(JSON.stringify({ clip, seconds, warmup, cpus: availableParallelism(), loadavg: { before: loadBefore, after: loadAfter }, phases: rows }, null, 2));
      return EXIT.ok;
    }
    const la = (l: number[]): string => l.map((v) => v.toFixed(2)).join(' ');
    console.log(`serve-bench: ${path.relative(process.cwd(), clip) || clip}, model input ${rows[0]?.input ?? '?'}, ${seconds} s per phase after ${warmup} s warm-up`);
    console.log(`load average ${la(loadBefore)} before, ${la(loadAfter)} after (${availableParallelism()} CPUs)`);
    console.log(formatTable(rows));
    const lost = rows.reduce((a, r) => a + r.wsDropped, 0);
    if (lost > 0) console.log(`note: the hub dropped ${lost} frame messages for the bench client (it read too slowly)`);
    return EXIT.ok;
  },
};
