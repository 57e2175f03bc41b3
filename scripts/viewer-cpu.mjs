#!/usr/bin/env node
// The viewer's CPU cost per camera: one `neulens serve` process on a clip,
// its CPU time (user + system of the service process itself, from
// /proc/<pid>/stat; ffmpeg is a child and not counted) over alternating
// phases: a JSON-only client (what every deployment has: no pictures), then
// a viewer client asking for pictures (viewer.fps), then JSON-only again...
// Both phases carry the same frame messages, so their difference is what
// the pictures cost: copying the pixels, the JPEG (sharp, on libuv's
// threads) and sending it. The clients run in this process, not the service's.
// The strategy defaults to `full`: its work per frame is the same whatever
// the machine's load, while `arac` adapts its plans to the time frames take,
// so on a shared machine its CPU swings by tens of points between phases.
// First, the picture alone: the clip's own frames at the detector's size,
// each copied and encoded as the service does (dist/viewer/encoder.js), this
// process's CPU time per picture; the load of the machine barely moves it.
// Usage: node scripts/viewer-cpu.mjs [--clip FILE] [--strategy S] [--fps F] [--pairs N] [--seconds S] [--warmup S]
// (needs `npm run build`; prints the report to stdout)
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    clip: { type: 'string', default: path.join(root, 'samples/parade.mp4') },
    strategy: { type: 'string', default: 'full' },
    fps: { type: 'string', default: '5' },
    pairs: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '10' },
  },
});
const clip = path.resolve(values.clip);
const pairs = Number(values.pairs);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const viewerFps = Number(values.fps);
const { VIEWER_DEFAULTS } = await import(path.join(root, 'dist/config/schema.js'));
const TICK = Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim() || 100);

/** CPU seconds (user + system) the process itself has used. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat (utime, stime), counted from after the command name.
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function freePort() {
  const { createServer } = await import('node:net');
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

async function startService() {
  const dir = await mkdtemp(path.join(tmpdir(), 'neulens-viewer-cpu-'));
  const port = await freePort();
  const config = path.join(dir, 'serve.yaml');
  await writeFile(
    config,
    `server: { port: ${port} }\nmodel: { pack: ${path.join(root, 'models/nanodet-g')}, strategy: ${values.strategy} }\nviewer: { fps: ${viewerFps} }\ncameras:\n  - id: cam\n    url: ${clip}\n    loop: true\nlogging: { level: warn }\n`,
  );
  const child = spawn(process.execPath, [path.join(root, 'bin/neulens.js'), 'serve', '--config', config], { stdio: ['ignore', 'inherit', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`${base}/readyz`);
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (i > 600) throw new Error('the service did not become ready in 60 s');
    await sleep(100);
  }
  return {
    pid: child.pid,
    base,
    ws: `ws://127.0.0.1:${port}/ws`,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A client that reads and discards everything, counting frames, pictures and their bytes. */
async function client(url) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const counts = { frames: 0, pictures: 0, pictureBytes: 0 };
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      counts.pictures++;
      counts.pictureBytes += data.length;
    } else if (data.includes('"type":"frame"')) {
      counts.frames++;
    }
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    counts,
    close: () =>
      new Promise((resolve) => {
        ws.once('close', resolve);
        ws.close();
      }),
  };
}

async function phase(service, mode) {
  const c = await client(`${service.ws}?cameras=*${mode === 'viewer' ? '&pictures=1' : ''}`);
  // Settle: the first pictures, and the switch itself, are not the steady state.
  await sleep(2000);
  const before = { ...c.counts };
  const cpu0 = cpuSeconds(service.pid);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const cpu1 = cpuSeconds(service.pid);
  const elapsed = (performance.now() - t0) / 1000;
  const frames = c.counts.frames - before.frames;
  const pictures = c.counts.pictures - before.pictures;
  const bytes = c.counts.pictureBytes - before.pictureBytes;
  await c.close();
  return { mode, cpuPct: (100 * (cpu1 - cpu0)) / elapsed, fps: frames / elapsed, picturesFps: pictures / elapsed, kbPerPicture: pictures ? bytes / pictures / 1024 : 0 };
}

/** The clip's first frames at the detector's input size, encoded one after another: CPU and wall ms per picture. */
async function isolated(n = 120) {
  const { readVideoFrames } = await import(path.join(root, 'dist/eval/frame-reader.js'));
  const { jpegEncoder } = await import(path.join(root, 'dist/viewer/encoder.js'));
  const frames = [];
  for await (const f of readVideoFrames(clip, { width: 512, height: 288 })) {
    frames.push(Buffer.copyBytesFrom(f.data));
    if (frames.length === n) break;
  }
  const enc = jpegEncoder({ maxWidth: VIEWER_DEFAULTS.maxWidth, quality: VIEWER_DEFAULTS.quality });
  // One pass first: the first pictures pay for the JIT and fresh memory.
  for (const f of frames) await enc.encode(Buffer.copyBytesFrom(f), 512, 288);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let bytes = 0;
  for (const f of frames) bytes += (await enc.encode(Buffer.copyBytesFrom(f), 512, 288)).jpeg.length;
  const cpu = process.cpuUsage(cpu0);
  return { n: frames.length, cpuMs: (cpu.user + cpu.system) / 1000 / frames.length, wallMs: (performance.now() - t0) / frames.length, kb: bytes / frames.length / 1024 };
}

const alone = [];
for (let i = 0; i < 3; i++) alone.push(await isolated());
const service = await startService();
try {
  // Warm-up: calibration, the first frames, the JIT.
  const w = await client(`${service.ws}?cameras=*`);
  await sleep(warmup * 1000);
  await w.close();
  const rows = [];
  for (let i = 0; i < pairs; i++) {
    // Alternate which phase goes first, so that a drift in the machine's load hits both alike.
    const order = i % 2 === 0 ? ['none', 'viewer'] : ['viewer', 'none'];
    for (const mode of order) rows.push(await phase(service, mode));
  }
  const stats = await (await fetch(`${service.base}/api/stats`)).json();
  const enc = stats.viewer?.cameras?.[0];
  const cpuModel = cpus()[0]?.model ?? '?';
  console.log(`# node scripts/viewer-cpu.mjs --clip ${path.relative(root, clip)} --strategy ${values.strategy} --fps ${viewerFps} --pairs ${pairs} --seconds ${seconds} --warmup ${warmup}  (${new Date().toISOString().slice(0, 10)})`);
  console.log(`# ${cpus().length} CPUs (${cpuModel}), node ${process.version}; one camera, strategy ${values.strategy}; CPU = the service process, % of one core`);
  console.log(`picture alone (copy + JPEG, 512x288, quality ${VIEWER_DEFAULTS.quality}): ${alone.map((a) => `${a.cpuMs.toFixed(2)} ms CPU / ${a.wallMs.toFixed(2)} ms wall`).join(', ')} over ${alone[0].n} frames each (${alone[0].kb.toFixed(1)} kB); median ${median(alone.map((a) => a.cpuMs)).toFixed(2)} ms CPU a picture`);
  console.log('phase   client                        CPU %   frames/s  pictures/s  kB/picture');
  rows.forEach((r, i) => {
    const who = r.mode === 'viewer' ? `viewer (pictures, ${viewerFps} fps)` : 'JSON only (no pictures)';
    console.log(`${String(i + 1).padEnd(6)}  ${who.padEnd(28)}  ${r.cpuPct.toFixed(1).padStart(5)}  ${r.fps.toFixed(1).padStart(8)}  ${r.picturesFps.toFixed(1).padStart(10)}  ${r.kbPerPicture ? r.kbPerPicture.toFixed(1).padStart(10) : '         -'}`);
  });
  const none = rows.filter((r) => r.mode === 'none').map((r) => r.cpuPct);
  const viewer = rows.filter((r) => r.mode === 'viewer');
  const diffs = [];
  for (let i = 0; i < pairs; i++) diffs.push(rows[2 * i + (rows[2 * i].mode === 'viewer' ? 0 : 1)].cpuPct - rows[2 * i + (rows[2 * i].mode === 'viewer' ? 1 : 0)].cpuPct);
  const pps = median(viewer.map((r) => r.picturesFps));
  console.log(`median CPU: no viewer ${median(none).toFixed(1)} %, one viewer ${median(viewer.map((r) => r.cpuPct)).toFixed(1)} %`);
  console.log(`extra CPU with one viewer: median of the ${pairs} pairs' differences ${median(diffs).toFixed(1)} % of a core (pairs: ${diffs.map((d) => d.toFixed(1)).join(', ')}), at ${pps.toFixed(1)} pictures/s: ${((10 * median(diffs)) / pps).toFixed(1)} ms of CPU a picture`);
  if (enc) console.log(`encoder (the service's own figures): ${enc.encoded} pictures, ${enc.width}x${enc.height}, ${(enc.bytes / 1024).toFixed(1)} kB, offer to JPEG p50 ${enc.encodeMs.p50.toFixed(1)} ms, p95 ${enc.encodeMs.p95.toFixed(1)} ms; skipped over the rate ${enc.skipped.rate}, busy ${enc.skipped.busy}`);
} finally {
  await service.stop();
}
