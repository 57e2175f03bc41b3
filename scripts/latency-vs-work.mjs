#!/usr/bin/env node
// Where a small plan's time goes: the detector time (what the bench reports
// as detector ms: everything the worker spends on the frame) of windowed
// ARAC plans of k = 1..16 tiles, against their work_fraction, relative to
// the unsplit model (`full`) on the same frame, per input size and intra-op
// thread count. Plans are random tile sets (fixed seed), interleaved with the
// reference call round by round so machine drift hits all alike; medians.
// Writes a table (stdout) and an SVG (latency ratio against work, one colour
// per plan size, the line latency = work + 0.10 dashed).
// Usage: node scripts/latency-vs-work.mjs OUT.svg [rounds]   (needs `npm run build`
// and the development clips in ../shared/data)
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const imp = (p) => import(path.join(root, 'dist', p));
const { InferencePool } = await imp('inference/pool.js');
const { readVideoFrames } = await imp('eval/frame-reader.js');
const { makeTiles } = await imp('arac/geometry.js');
const { linearScale } = await imp('eval/plot-axis.js');
const { axes, colour, frameFor, legend, legendWidth, marker, openSvg, shape } = await imp('eval/plot-svg.js');

const out = process.argv[2] ?? 'latency-vs-work.svg';
const rounds = Number(process.argv[3] ?? 8);
const clip = path.join(root, '../shared/data/degirum-traffic/Traffic.mp4');
const SIZES = [
  { width: 512, height: 288 },
  { width: 960, height: 544 },
];
const THREADS = [1, 2];
const KS = [1, 2, 3, 4, 6, 8, 12, 16];
const PLANS_PER_K = 4;

let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const med = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function frameAt(size) {
  let n = 0;
  for await (const f of readVideoFrames(clip, size, 'profile')) if (n++ === 30) return f;
  throw new Error(`${clip}: fewer than 31 frames`);
}

function plansFor(n) {
  const plans = [];
  for (const k of KS) {
    for (let p = 0; p < (k === 16 ? 1 : PLANS_PER_K); p++) {
      const set = new Set();
      while (set.size < k) set.add(Math.floor(rand() * n));
      plans.push({ k, levels: Array.from({ length: n }, (_, i) => (set.has(i) ? 0 : 1)) });
    }
  }
  return plans;
}

const rows = [];
const tty = process.stderr.isTTY;
for (const threads of THREADS) {
  const pool = await InferencePool.open({ packDir: path.join(root, 'models/nanodet-g'), provider: 'cpu', threads, workers: 1, models: 'arac', verifyChecksums: false, detect: { minScore: 0.35, nmsIou: 0.6, maxDetections: 100 } });
  try {
    for (const size of SIZES) {
      const f = await frameAt(size);
      const grid = { cols: 4, rows: 4 };
      const plans = plansFor(makeTiles(size.width, size.height, grid).length);
      const req = (mode, levels) => ({ cameraId: 'profile', data: f.data, width: f.width, height: f.height, srcWidth: f.srcWidth, srcHeight: f.srcHeight, mode, ...(levels ? { plan: { grid, levels, path: 'windowed' }, scratch: 'empty' } : {}) });
      const full = [];
      const times = plans.map(() => []);
      const rtt = plans.map(() => []);
      const fullRtt = [];
      const work = plans.map(() => 0);
      for (let r = -2; r < rounds; r++) {
        if (tty) process.stderr.write(`\r${threads} thread(s) ${size.width}x${size.height}: round ${Math.max(0, r + 1)}/${rounds}   `);
        let t0 = performance.now();
        const a = await pool.detect(req('full'));
        if (r >= 0) {
          full.push(a.inferenceMs);
          fullRtt.push(performance.now() - t0);
        }
        for (let i = 0; i < plans.length; i++) {
          t0 = performance.now();
          const b = await pool.detect(req('arac', plans[i].levels));
          if (r < 0) continue;
          times[i].push(b.inferenceMs);
          rtt[i].push(performance.now() - t0);
          work[i] = b.arac?.workFraction ?? 1;
        }
      }
      const fullMs = med(full);
      for (let i = 0; i < plans.length; i++) {
        rows.push({ threads, size: `${size.width}x${size.height}`, k: plans[i].k, work: work[i], ms: med(times[i]), ratio: med(times[i]) / fullMs, rttRatio: med(rtt[i]) / med(fullRtt), fullMs, calls: 0 });
      }
    }
  } finally {
    await pool.close();
  }
}
if (tty) process.stderr.write('\n');

console.log(`# latency vs work: windowed ARAC plans of k random tiles (4x4 grid), ${rounds} interleaved rounds, medians; ${new Date().toISOString().slice(0, 10)}`);
console.log('# ratio = plan detector ms / full detector ms on the same frame (the bench\'s latency_ratio_vs_full); rtt = the same with the worker round trip');
console.log('threads  size      k   work   ratio  ratio-work   rtt-ratio  plan ms  full ms');
for (const r of rows) {
  console.log(`${String(r.threads).padStart(7)}  ${r.size.padEnd(8)} ${String(r.k).padStart(2)}  ${r.work.toFixed(3)}  ${r.ratio.toFixed(3)}  ${(r.ratio - r.work).toFixed(3).padStart(10)}  ${r.rttRatio.toFixed(3).padStart(10)}  ${r.ms.toFixed(2).padStart(7)}  ${r.fullMs.toFixed(2).padStart(7)}`);
}
// Per configuration: the least-squares line ratio = a + b * work over the partial plans.
console.log('\n# fit over partial plans (k < 16): ratio = a + b * work');
for (const threads of THREADS) {
  for (const size of SIZES) {
    const pts = rows.filter((r) => r.threads === threads && r.size === `${size.width}x${size.height}` && r.k < 16);
    const n = pts.length;
    const mx = pts.reduce((s, p) => s + p.work, 0) / n;
    const my = pts.reduce((s, p) => s + p.ratio, 0) / n;
    const b = pts.reduce((s, p) => s + (p.work - mx) * (p.ratio - my), 0) / pts.reduce((s, p) => s + (p.work - mx) ** 2, 0);
    const worst = Math.max(...pts.map((p) => p.ratio - p.work));
    console.log(`threads ${threads} ${size.width}x${size.height}: a ${(my - b * mx).toFixed(3)} b ${b.toFixed(3)}; worst ratio - work ${worst.toFixed(3)}`);
  }
}

// The plot: one panel per (threads, size), side by side.
const configs = THREADS.flatMap((t) => SIZES.map((s) => ({ threads: t, size: `${s.width}x${s.height}` })));
const panels = configs.map((c) => {
  const pts = rows.filter((r) => r.threads === c.threads && r.size === c.size);
  const labels = KS.map((k) => `${k} tile${k > 1 ? 's' : ''}`);
  const f = frameFor(460, 360, legendWidth([...labels, 'latency = work + 0.10']));
  const x = linearScale([0, 1], [f.left + 8, f.right - 8], 5);
  const y = linearScale([0, 1.2], [f.bottom - 8, f.top + 8], 6);
  const parts = [openSvg(f, `${c.threads} thread${c.threads > 1 ? 's' : ''}, ${c.size}`), axes(f, x, y, 'work_fraction', 'detector ms / full')];
  parts.push(`<line x1="${x.map(0)}" y1="${y.map(0.1)}" x2="${x.map(1)}" y2="${y.map(1.1)}" stroke="#999999" stroke-dasharray="5 4"/>`);
  parts.push(`<line x1="${x.map(0)}" y1="${y.map(0)}" x2="${x.map(1)}" y2="${y.map(1)}" stroke="#cccccc"/>`);
  for (const p of pts) {
    const i = KS.indexOf(p.k);
    parts.push(marker(shape(i), x.map(p.work), y.map(Math.min(1.2, p.ratio)), 4.5, `fill="${colour(i)}" stroke="#222222" stroke-width="0.6"`, 'class="pt"', `${p.k} tiles: work ${p.work.toFixed(2)}, ${p.ratio.toFixed(2)} x full`));
  }
  parts.push(legend(f, [{ heading: 'plan size', entries: labels.map((l, i) => ({ text: l, swatch: marker(shape(i), 0, 0, 4.5, `fill="${colour(i)}"`) })) }, { entries: [{ text: 'latency = work + 0.10', swatch: '<line x1="-8" y1="0" x2="8" y2="0" stroke="#999999" stroke-dasharray="5 4"/>' }] }]));
  parts.push('</svg>');
  return { svg: parts.join(''), w: f.width, h: f.height };
});
const { combineSvgs } = await imp('eval/plot.js');
writeFileSync(out, combineSvgs(panels.map((p) => p.svg), { columns: 2 }));
console.log(`\nplot: ${out}`);
