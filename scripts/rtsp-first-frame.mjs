#!/usr/bin/env node
// Time from starting ffmpeg to its first decoded frame on a live RTSP camera
// (GStreamer's RTSP server on loopback, 320x240 test pattern at 10 fps), with
// the arguments the service builds (dist/ingest/source-spec.js), probing the
// stream fully (ffmpeg's default) and briefly (the service's default).
// Usage: node scripts/rtsp-first-frame.mjs [runs]   (needs `npm run build`
// and the Debian packages .ci/setup-system.sh installs)
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { buildFfmpegArgs, resolveSourceSpec } = await import(path.join(root, 'dist/ingest/source-spec.js'));
const { ffmpegMajorVersion, npmFfmpegPath } = await import(path.join(root, 'dist/ingest/ffmpeg-path.js'));
const runs = Number(process.argv[2] ?? 5);

function startServer() {
  const child = spawn('/usr/bin/python3', [path.join(root, 'test/helpers/rtsp-gst-server.py'), '0', '320', '240', '10'], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve({ url: `rtsp://127.0.0.1:${m[1]}/cam`, stop: () => child.kill('SIGKILL') });
    });
  });
}

function firstFrameMs(ffmpeg, major, url, probe) {
  const { inputOptions, input, outputOptions } = buildFfmpegArgs(resolveSourceSpec({ cameraId: 'x', url, width: 160, height: 128 }), { ffmpegMajor: major, probe });
  const t0 = performance.now();
  const child = spawn(ffmpeg, [...inputOptions, '-i', input, ...outputOptions, 'pipe:1'], { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve) => {
    let got = 0;
    child.stdout.on('data', (d) => {
      got += d.length;
      if (got >= 160 * 128 * 3) {
        resolve(performance.now() - t0);
        child.kill('SIGKILL');
      }
    });
  });
}

const ffmpegs = [spawnSync('sh', ['-c', 'command -v ffmpeg']).stdout.toString().trim(), npmFfmpegPath()].filter(Boolean);
const server = await startServer();
console.log(`# node scripts/rtsp-first-frame.mjs ${runs}  (${new Date().toISOString().slice(0, 10)})`);
console.log('ffmpeg                                                        probe  first frame, ms (each run)          median');
for (const ffmpeg of ffmpegs) {
  const major = ffmpegMajorVersion(ffmpeg);
  for (const probe of ['full', 'fast']) {
    const t = [];
    for (let i = 0; i < runs; i++) t.push(await firstFrameMs(ffmpeg, major, server.url, probe));
    const med = [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)];
    console.log(`${`${ffmpeg} (${major}.x)`.padEnd(60)}  ${probe.padEnd(5)}  ${t.map((v) => v.toFixed(0)).join(' ').padEnd(34)}  ${med.toFixed(0)}`);
  }
}
server.stop();
