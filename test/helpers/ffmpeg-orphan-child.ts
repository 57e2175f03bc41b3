/**
 * Child-process script for the exit-hook test (run with `node --import tsx`):
 * starts a CameraSource on argv[2], prints "PID <ffmpeg pid>" once ffmpeg
 * runs, then exits WITHOUT close(). The process 'exit' hook must kill ffmpeg.
 */
import { CameraSource, liveDecoderPids } from '../../src/ingest/index.js';

const cam = new CameraSource({ cameraId: 'orphan', url: process.argv[2] ?? '', width: 32, height: 32, stallTimeoutMs: 60_000 });
cam.start();
const timer = setInterval(() => {
  const pid = liveDecoderPids()[0];
  if (pid === undefined) return;
  clearInterval(timer);
  console.log(`PID ${pid}`);
  // Give ffmpeg time to connect and block on the silent socket, then leave abruptly.
  setTimeout(() => process.exit(0), 500);
}, 20);
