#!/usr/bin/env node
// What the event history costs, on this machine, with its own code (dist/):
//
// 1. The batched writer (dist/history/store.js, a real SQLite file in WAL
//    mode under the temp folder): one transaction of N event rows, as a
//    flush writes them, for N = 1, 10, 100, 1000; new rows (inserts) and the
//    same rows again (updates: an event that goes on). Then what a flush
//    adds once the file is full at the default cap (history.retention
//    .maxEvents, 100,000 rows): the count after the write, trimming to the
//    cap, and the snapshot-byte sum that the byte cap reads.
// 2. A snapshot per event as EventHistory makes one: the frame's pixels
//    copied, the box outlined, the crop cut, both JPEGs encoded by the
//    viewer's encoder (sharp, libuv's threads) at history.snapshots.quality,
//    and both files written (temp name, rename). The frames are the parade
//    clip's at the detector's input size (512x288), decoded by ffmpeg once
//    beforehand. CPU is this process's (user + system, every thread), so the
//    encoder's threads count; wall time is per snapshot, one at a time.
//
// Usage: node scripts/history-bench.mjs [--clip FILE] [--width W --height H] [--frames N] [--reps R]
// (needs `npm run build`; prints the report to stdout)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    clip: { type: 'string', default: path.join(root, 'samples/parade.mp4') },
    width: { type: 'string', default: '512' },
    height: { type: 'string', default: '288' },
    frames: { type: 'string', default: '120' },
    reps: { type: 'string', default: '200' },
  },
});
const W = Number(values.width);
const H = Number(values.height);
const FRAMES = Number(values.frames);
const REPS = Number(values.reps);

const { EventStore } = await import(path.join(root, 'dist/history/store.js'));
const { SnapshotFiles } = await import(path.join(root, 'dist/history/files.js'));
const { boxInPicture, cropAround, cropPixels, drawOutline, lineWidth } = await import(path.join(root, 'dist/history/draw.js'));
const { jpegEncoder } = await import(path.join(root, 'dist/viewer/encoder.js'));
const { HISTORY_DEFAULTS } = await import(path.join(root, 'dist/config/history.js'));
const { resolveFfmpegPath } = await import(path.join(root, 'dist/ingest/ffmpeg-path.js'));

const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const f2 = (v) => v.toFixed(2);
const dir = mkdtempSync(path.join(tmpdir(), 'neulens-history-bench-'));
const out = [];
const say = (line = '') => {
  out.push(line);
  console.log(line);
};

try {
  say(`history bench: ${new Date().toISOString()}, node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}`);
  say(`load average at start: ${(await import('node:os')).loadavg().map(f2).join(' ')}`);
  say();

  // 1. The writer.
  let n = 0;
  const row = (i, start) => ({ id: `${(start / 1000).toFixed(3)}-cam-${i}`, camera: 'cam', label: 'person', zones: ['driveway'], startMs: start, endMs: null, lastMs: start, topScore: 0.8, box: { x: 10, y: 20, w: 60, h: 120 }, trackId: i, stationaryMs: 0 });
  const store = EventStore.open(path.join(dir, 'writer'));
  say('1. one transaction of N events (EventStore.write, WAL, synchronous=NORMAL)');
  say('   N      kind     ms p50   ms p95   events/s (p50)');
  for (const N of [1, 10, 100, 1000]) {
    const reps = Math.max(20, Math.min(REPS, Math.round(20_000 / N)));
    for (const kind of ['insert', 'update']) {
      const times = [];
      for (let r = 0; r < reps; r++) {
        const start = 1_700_000_000_000 + n;
        const batch = Array.from({ length: N }, (_, i) => row(n + i, start));
        if (kind === 'update') {
          store.write(batch, []);
          for (const b of batch) Object.assign(b, { endMs: start + 1000, lastMs: start + 1000, topScore: 0.9 });
        }
        const t0 = performance.now();
        store.write(batch, []);
        times.push(performance.now() - t0);
        n += N;
      }
      say(`   ${String(N).padEnd(6)} ${kind.padEnd(8)} ${f2(q(times, 0.5)).padStart(6)}   ${f2(q(times, 0.95)).padStart(6)}   ${Math.round(N / (q(times, 0.5) / 1000))}`);
    }
  }
  // Filled to the default cap, then what a flush adds at the cap.
  const cap = HISTORY_DEFAULTS.maxEvents;
  for (let start = 1_600_000_000_000; store.count() < cap; start += 1000) {
    const left = Math.min(1000, cap - store.count());
    store.write(Array.from({ length: left }, (_, i) => row(n + i, start)), []);
    n += left;
  }
  const atCap = { write: [], count: [], trim: [], bytes: [], snapTrim: [] };
  for (let r = 0; r < 50; r++) {
    const start = 1_800_000_000_000 + n;
    const batch = Array.from({ length: 10 }, (_, i) => row(n + i, start));
    n += 10;
    let t0 = performance.now();
    store.write(batch, []);
    atCap.write.push(performance.now() - t0);
    t0 = performance.now();
    store.count();
    atCap.count.push(performance.now() - t0);
    t0 = performance.now();
    const gone = store.trimToCount(cap);
    atCap.trim.push(performance.now() - t0);
    if (gone.length !== 10) throw new Error(`trimToCount removed ${gone.length}, not 10`);
    t0 = performance.now();
    store.snapshotBytes();
    atCap.bytes.push(performance.now() - t0);
  }
  // At the byte cap: every event has a snapshot of 10 kB, the cap holds half of them; each flush brings 10 new ones.
  const SNAP = 10_000;
  const all = store.list({ limit: cap });
  for (let i = 0; i < all.length; i += 1000) store.write([], all.slice(i, i + 1000).map((e) => ({ id: e.id, camera: 'cam', info: { width: W, height: H, bytes: SNAP, frameMs: e.startMs } })));
  const maxBytes = (cap / 2) * SNAP;
  store.trimSnapshots(maxBytes);
  // Kept by the caller, as EventHistory does (the sum is timed on its own above).
  let total = store.snapshotBytes();
  for (let r = 0; r < 50; r++) {
    const start = 1_900_000_000_000 + n;
    const batch = Array.from({ length: 10 }, (_, i) => row(n + i, start));
    n += 10;
    store.write(batch, batch.map((b) => ({ id: b.id, camera: 'cam', info: { width: W, height: H, bytes: SNAP, frameMs: start } })));
    store.trimToCount(cap);
    total += 10 * SNAP;
    const t0 = performance.now();
    const gone = store.trimSnapshots(maxBytes, total);
    atCap.snapTrim.push(performance.now() - t0);
    for (const g of gone) total -= g.bytes;
    if (gone.length < 10) throw new Error(`trimSnapshots took ${gone.length} snapshots, not 10 or more`);
  }
  say();
  say(`   at the cap (${cap} events in the file), per flush of 10 new events, ms p50 / p95:`);
  for (const [k, v] of Object.entries({ 'write (10 rows)': atCap.write, 'count()': atCap.count, 'trimToCount() (deletes 10)': atCap.trim, 'snapshotBytes() (sum)': atCap.bytes, 'trimSnapshots() at the byte cap': atCap.snapTrim })) say(`     ${k.padEnd(32)} ${f2(q(v, 0.5))} / ${f2(q(v, 0.95))}`);
  store.close();

  // 2. Snapshots.
  const ffmpeg = resolveFfmpegPath();
  const raw = spawnSync(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-i', values.clip, '-frames:v', String(FRAMES), '-vf', `scale=${W}:${H}`, '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'], { maxBuffer: W * H * 3 * FRAMES + 1 });
  if (raw.status !== 0) throw new Error(`ffmpeg: ${raw.stderr.toString()}`);
  const frameBytes = W * H * 3;
  const frames = [];
  for (let i = 0; i + frameBytes <= raw.stdout.length; i += frameBytes) frames.push(raw.stdout.subarray(i, i + frameBytes));
  const encoder = jpegEncoder({ maxWidth: 4096, quality: HISTORY_DEFAULTS.quality });
  const files = new SnapshotFiles(path.join(dir, 'snapshots'));
  // A person-sized box of a 960x540 source (the parade clip), moving across.
  const SRC_W = 960;
  const SRC_H = 540;
  const one = async (k) => {
    const f = frames[k % frames.length];
    const box = { x: 40 + ((k * 7) % 700), y: 60, w: 90, h: 220 };
    const pixels = Buffer.from(f);
    const r = boxInPicture(box, W, H, SRC_W, SRC_H);
    drawOutline(pixels, W, H, r, lineWidth(W));
    const area = cropAround(r, W, H);
    const [picture, crop] = await Promise.all([encoder.encode(pixels, W, H), encoder.encode(cropPixels(pixels, W, area), area.w, area.h)]);
    await files.write('cam', `e${k}`, picture.jpeg, crop.jpeg);
    return picture.jpeg.length + crop.jpeg.length;
  };
  for (let k = 0; k < 20; k++) await one(k); // warm-up: sharp's first calls load libvips' parts
  const wall = [];
  const bytes = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let k = 0; k < REPS; k++) {
    const s = performance.now();
    bytes.push(await one(k));
    wall.push(performance.now() - s);
  }
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  say();
  say(`2. one snapshot per event (copy, outline, crop, two JPEGs at quality ${HISTORY_DEFAULTS.quality}, two files), ${frames.length} frames of ${path.basename(values.clip)} at ${W}x${H}, ${REPS} events one at a time`);
  say(`   wall ms p50 / p95: ${f2(q(wall, 0.5))} / ${f2(q(wall, 0.95))}`);
  say(`   CPU ms per snapshot (this process, all threads): ${f2((cpu.user + cpu.system) / 1000 / REPS)}`);
  say(`   bytes per snapshot (picture + crop) p50: ${q(bytes, 0.5)}`);
  say(`   snapshots/s one at a time: ${f2(REPS / (elapsed / 1000))}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
