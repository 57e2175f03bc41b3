/**
 * Child-process script (run with `node --import tsx`): starts a CameraSource
 * on argv[2] (stall timeout argv[3] ms), prints "PID <ffmpeg pid>" once a
 * frame has arrived, then waits to be killed. SIGKILLed, it runs no exit
 * hook: its ffmpeg is an orphan and must end by itself.
 */
import { CameraSource, liveDecoderPids } from '../../src/ingest/index.js';

const cam = new CameraSource({ cameraId: 'held', url: process.argv[2] ?? '', width: 32, height: 32, stallTimeoutMs: Number(process.argv[3] ?? 4000) });
const sub = cam.frames$.subscribe(() => {
  sub.unsubscribe();
  console.log(`PID ${liveDecoderPids()[0] ?? 0}`);
});
cam.start();
setInterval(() => undefined, 60_000);
