// What starting a child process costs the inference running beside it (docs/results/spawn-faults.txt).
// Usage, after `npm run build`: node scripts/spawn-faults.mjs [video]
// One worker, the unsplit model at 512x288, called at 30 fps. Before each round the process idles
// 0.7 s, then starts nothing, `sleep 2`, or ffmpeg decoding the video at its own pace (-re);
// per call: latency and the process's new minor page faults.
import { spawn } from 'node:child_process';
import { InferencePool } from '../../dist/inference/pool.js';

const video = process.argv[2] ?? 'samples/parade.mp4';
const pool = await InferencePool.open({ packDir: 'models/nanodet-g', provider: 'cpu', workers: 1, models: 'full', verifyChecksums: false, detect: { minScore: 0.1, nmsIou: 0.6, maxDetections: 100 } });
const data = new Uint8Array(512 * 288 * 3).map((_, i) => (i * 7) & 255);
const call = async () => {
  const f0 = process.resourceUsage().minorPageFault;
  const t0 = performance.now();
  await pool.detect({ cameraId: 'spawn', data, width: 512, height: 288, srcWidth: 512, srcHeight: 288, mode: 'full' });
  return [performance.now() - t0, process.resourceUsage().minorPageFault - f0];
};
for (let i = 0; i < 20; i++) await call();
const children = {
  nothing: null,
  sleep: ['sleep', ['2']],
  ffmpeg: ['ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-i', video, '-vf', 'scale=512:288', '-pix_fmt', 'rgb24', '-f', 'rawvideo', '-']],
};
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
console.log('child    calls 1-12 ms (sum)              calls 13-30 ms (sum)   faults 1-12 / 13-30');
for (let round = 0; round < 3; round++) {
  for (const [name, cmd] of Object.entries(children)) {
    await new Promise((r) => setTimeout(r, 700));
    const child = cmd && spawn(cmd[0], cmd[1], { stdio: ['ignore', 'pipe', 'ignore'] });
    child?.stdout.resume();
    const ms = [];
    const faults = [];
    const start = performance.now();
    for (let i = 0; i < 30; i++) {
      const wait = start + i * 33.3 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const [t, f] = await call();
      ms.push(t);
      faults.push(f);
    }
    child?.kill();
    const head = ms.slice(0, 12);
    console.log(`${name.padEnd(8)} ${head.map((x) => x.toFixed(0)).join(' ').padEnd(34)} (${sum(head).toFixed(0)})  ${sum(ms.slice(12)).toFixed(0).padStart(5)}   ${sum(faults.slice(0, 12))} / ${sum(faults.slice(12))}`);
  }
}
await pool.close();
