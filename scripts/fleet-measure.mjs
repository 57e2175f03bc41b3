#!/usr/bin/env node
// The fleet's figures for README "Scaling out", measured on this machine
// with the real parts: Debian's nats-server -js (started here on a loopback
// port, file storage in a temp folder), `neulens serve --fleet` instances
// and a `neulens gateway` as their own processes, the paced sample clip.
//
// 1. Added latency of the fan-out: a WebSocket client on an instance and one
//    on the gateway, both subscribed to every camera; for each frame the
//    instance publishes (camera, seq), the gateway client's arrival minus the
//    direct client's arrival (same clock, same machine). Also capture to
//    client (arrival - captureTs) on both paths.
// 2. Takeover after SIGKILL: two instances, one camera each; SIGKILL the
//    holder of a camera, then the time until a frame of that camera comes
//    from another instance (seen by a NATS client of this script's own, by
//    the Neulens-Instance header). A replacement instance is started and
//    given its camera back by the slow rebalance before the next run.
// 3. The gateway's CPU at 32 cameras' messages: the instances stopped, the
//    fleet's camera list set to 32 cameras, and 32 x --fps frame messages a
//    second published on their subjects (copies of a real frame message from
//    step 1, boxes and all); the gateway's own CPU time (/proc/<pid>/stat)
//    over --seconds with no client, then with one client subscribed to all.
//
// Usage: node scripts/fleet-measure.mjs [--ttl MS] [--runs N] [--seconds S] [--fps F]
// (needs `npm run build`; prints the report to stdout)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect, headers } from 'nats';
import { WebSocket } from 'ws';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { ttl: { type: 'string', default: '4000' }, runs: { type: 'string', default: '5' }, seconds: { type: 'string', default: '20' }, fps: { type: 'string', default: '10' } } });
const TTL = Number(values.ttl);
const RUNS = Number(values.runs);
const SECONDS = Number(values.seconds);
const FPS = Number(values.fps);
const TICK = Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim() || 100);
const NATS_SERVER = process.env.NATS_SERVER ?? ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((p) => existsSync(p)) ?? '/usr/sbin/nats-server';
const CLIP = path.join(root, 'samples/parade.mp4');
const PACK = path.join(root, 'models/nanodet-g');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const median = (xs) => pct(xs, 50);
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
}
async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
async function until(pred, ms, what) {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
function run(name, args, port, env = {}) {
  const child = spawn(process.execPath, [path.join(root, 'bin/neulens.js'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PORT: String(port), NEULENS_INSTANCE: name, ...env } });
  children.add(child);
  let out = '';
  child.stdout.on('data', (d) => (out = (out + d).slice(-20000)));
  child.stderr.on('data', (d) => (out = (out + d).slice(-20000)));
  const exited = new Promise((r) => child.once('close', () => (children.delete(child), r())));
  const http = `http://127.0.0.1:${port}`;
  return { name, child, port, http, ws: `ws://127.0.0.1:${port}/ws`, exited, out: () => out, stats: async () => (await fetch(`${http}/api/stats`)).json() };
}
async function ready(p) {
  await until(async () => {
    if (p.child.exitCode !== null) throw new Error(`${p.name} exited:\n${p.out()}`);
    return fetch(`${p.http}/readyz`).then((r) => r.ok, () => false);
  }, 120000, `${p.name} ready`);
}
const held = async (p) => ((await p.stats()).fleet?.member?.held ?? []).map((h) => h.camera);
function wsClient(url) {
  const arrivals = [];
  const ws = new WebSocket(url);
  ws.on('message', (data, binary) => {
    if (binary) return;
    const at = Date.now();
    const msg = JSON.parse(data.toString());
    if (msg.type === 'hello') ws.send(JSON.stringify({ type: 'subscribe', cameras: '*' }));
    if (msg.type === 'frame') arrivals.push({ at, msg });
  });
  return { ws, arrivals, opened: new Promise((r) => ws.once('open', r)) };
}

const dir = await mkdtemp(path.join(tmpdir(), 'neulens-fleet-measure-'));
const natsPort = await freePort();
const nats = spawn(NATS_SERVER, ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(natsPort)], { stdio: 'ignore' });
children.add(nats);
const natsUrl = `nats://127.0.0.1:${natsPort}`;
await sleep(500);
const cams = (n) => Array.from({ length: n }, (_, i) => `  - { id: cam${i + 1}, url: ${CLIP}, loop: true, fps: 5, stallTimeoutMs: 2000 }`).join('\n');
const config = path.join(dir, 'fleet.yaml');
await writeFile(config, `server:\n  port: \${PORT}\nmodel:\n  pack: ${PACK}\n  strategy: full\n  inputSize: [320, 192]\n  workers: 1\n  threads: 1\nfleet:\n  instance: \${NEULENS_INSTANCE}\n  leaseTtlMs: ${TTL}\ncameras:\n${cams(2)}\nlogging:\n  level: warn\n`);
const cpuInfo = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? '?';
console.log(`# fleet-measure: ${new Date().toISOString()}, ${cpuInfo}, ${spawnSync('nproc').stdout.toString().trim()} cores, nats-server ${spawnSync(NATS_SERVER, ['--version']).stdout.toString().trim()}, lease TTL ${TTL} ms`);

const recorder = await connect({ servers: natsUrl });
const published = [];
recorder.subscribe('neulens.*.frames', { callback: (_e, m) => published.push({ at: Date.now(), camera: m.subject.split('.')[1], instance: m.headers?.get('Neulens-Instance') ?? '?', data: m.data }) });

let n = 0;
const startInstance = async () => {
  const p = run(`i${++n}`, ['serve', '--config', config, '--fleet', natsUrl], await freePort());
  return p;
};
let instances = [await startInstance(), await startInstance()];
const gateway = run('gw', ['gateway', '--config', config, '--fleet', natsUrl], await freePort());
await Promise.all([...instances, gateway].map(ready));
await until(async () => (await Promise.all(instances.map(held))).every((h) => h.length === 1), 60000, 'one camera each');

// 1. Added latency.
{
  const direct = wsClient(instances[0].ws);
  const viaGw = wsClient(gateway.ws);
  await Promise.all([direct.opened, viaGw.opened]);
  await sleep(3000);
  const from = Date.now();
  direct.arrivals.length = 0;
  viaGw.arrivals.length = 0;
  await sleep(SECONDS * 1000);
  const gwAt = new Map(viaGw.arrivals.map((a) => [`${a.msg.camera}/${a.msg.seq}`, a]));
  const added = [];
  for (const a of direct.arrivals) {
    const g = gwAt.get(`${a.msg.camera}/${a.msg.seq}`);
    if (g) added.push(g.at - a.at);
  }
  const capDirect = direct.arrivals.map((a) => a.at - a.msg.captureTs);
  const capGw = viaGw.arrivals.filter((a) => direct.arrivals.some((d) => d.msg.camera === a.msg.camera)).map((a) => a.at - a.msg.captureTs);
  console.log(`latency: ${added.length} frames over ${((Date.now() - from) / 1000).toFixed(0)} s of ${instances[0].name}'s camera; gateway client minus direct client: median ${median(added)} ms, p95 ${pct(added, 95)} ms, max ${Math.max(...added)} ms`);
  console.log(`latency: capture to client: direct median ${median(capDirect)} ms (p95 ${pct(capDirect, 95)}), via the gateway median ${median(capGw)} ms (p95 ${pct(capGw, 95)})`);
  direct.ws.close();
  viaGw.ws.close();
}
const template = published.at(-1)?.data;

// 2. Takeover after SIGKILL.
const takeovers = [];
for (let r = 0; r < RUNS; r++) {
  const holdings = await Promise.all(instances.map(held));
  const victim = instances[0];
  const camera = holdings[0][0];
  const t0 = Date.now();
  victim.child.kill('SIGKILL');
  await victim.exited;
  await until(async () => published.some((p) => p.camera === camera && p.at >= t0 && p.instance !== victim.name), TTL + 30000, `${camera} resumed`);
  const first = published.find((p) => p.camera === camera && p.at >= t0 && p.instance !== victim.name);
  takeovers.push(first.at - t0);
  console.log(`takeover run ${r + 1}: SIGKILL ${victim.name}; ${camera} first frame from ${first.instance} after ${first.at - t0} ms`);
  const fresh = await startInstance();
  await ready(fresh);
  instances = [...instances.slice(1), fresh];
  // The replacement gets one camera back by the slow rebalance: a lease period or two.
  await until(async () => (await Promise.all(instances.map(held))).every((h) => h.length === 1), 60000, 'rebalanced');
  await sleep(1000);
}
console.log(`takeover: median ${median(takeovers)} ms over ${takeovers.length} runs (min ${Math.min(...takeovers)}, max ${Math.max(...takeovers)}); lease TTL ${TTL} ms, renewed every ${TTL / 4} ms`);

// 3. The gateway's CPU at 32 cameras.
for (const p of instances) p.child.kill('SIGTERM');
await Promise.all(instances.map((p) => p.exited));
const js = recorder.jetstream();
const kv = await js.views.kv('neulens-fleet');
const list = Array.from({ length: 32 }, (_, i) => ({ id: `cam${i + 1}`, url: CLIP }));
const { CamerasSchema } = await import(path.join(root, 'dist/config/index.js'));
await kv.put('cameras', JSON.stringify({ cameras: CamerasSchema.parse(list), by: 'fleet-measure', atMs: Date.now() }));
await until(async () => (await gateway.stats()).cameras.length === 32, 10000, 'the gateway to list 32 cameras');
const base = JSON.parse(Buffer.from(template).toString());
const h = headers();
h.set('Neulens-Instance', 'synthetic');
let seq = 0;
let publishing = true;
const tick = () => {
  if (!publishing) return;
  seq++;
  const now = Date.now();
  for (let i = 1; i <= 32; i++) recorder.publish(`neulens.cam${i}.frames`, Buffer.from(JSON.stringify({ ...base, camera: `cam${i}`, seq, captureTs: now - base.latencyMs, publishTs: now })), { headers: h });
  setTimeout(tick, 1000 / FPS);
};
tick();
const gwCpu = async (label, clientCount) => {
  const clients = Array.from({ length: clientCount }, () => wsClient(gateway.ws));
  await Promise.all(clients.map((c) => c.opened));
  await sleep(3000);
  const c0 = cpuSeconds(gateway.child.pid);
  const t0 = Date.now();
  const n0 = clients.reduce((a, c) => a + c.arrivals.length, 0);
  await sleep(SECONDS * 1000);
  const cpu = (cpuSeconds(gateway.child.pid) - c0) / ((Date.now() - t0) / 1000);
  const got = clients.reduce((a, c) => a + c.arrivals.length, 0) - n0;
  console.log(`gateway CPU, 32 cameras x ${FPS} fps (${32 * FPS} frame messages/s, ${Buffer.byteLength(JSON.stringify(base))} B each), ${label}: ${(cpu * 100).toFixed(1)} % of one core${clientCount ? `; the client got ${(got / SECONDS / clientCount).toFixed(0)} frames/s` : ''}`);
  for (const c of clients) c.ws.close();
};
await gwCpu('no client', 0);
await gwCpu('one client subscribed to all', 1);
publishing = false;

gateway.child.kill('SIGTERM');
await gateway.exited;
await recorder.close();
nats.kill('SIGTERM');
await rm(dir, { recursive: true, force: true });
process.exit(0);
