/**
 * Every frame of a recorded video, in order, as fast as the consumer takes
 * them: a CameraSource (the same ingest as live cameras) at `pace: fast`
 * with flow control, so a slow strategy pauses ffmpeg instead of dropping
 * frames or buffering the whole video.
 */
import { InputError } from '../core/errors.js';
import type { Frame } from '../core/types.js';
import { CameraSource } from '../ingest/camera-source.js';

const HIGH_WATER = 4;

export async function* readVideoFrames(video: string, size: { width: number; height: number }, id = 'replay'): AsyncGenerator<Frame> {
  const source = new CameraSource({ cameraId: id, url: video, width: size.width, height: size.height, pace: 'fast', loop: false, reconnect: { initialMs: 100, maxMs: 100, factor: 1, jitter: 0 } });
  const queue: Frame[] = [];
  let done = false;
  let failure: string | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const subs = [
    source.frames$.subscribe({
      next: (f) => {
        queue.push(f);
        if (queue.length >= HIGH_WATER) source.pause();
        notify();
      },
      complete: () => {
        done = true;
        notify();
      },
    }),
    source.status$.subscribe((st) => {
      // A recorded video that fails will fail again: report it instead of retrying forever.
      if (st.state === 'offline') {
        failure = st.error ?? 'decoding failed';
        notify();
      }
    }),
  ];
  source.start();
  try {
    for (;;) {
      const f = queue.shift();
      if (f) {
        if (queue.length < HIGH_WATER / 2) source.resume();
        yield f;
        continue;
      }
      if (failure) throw new InputError(`${video}: ${failure}`);
      if (done) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    for (const s of subs) s.unsubscribe();
    await source.close();
  }
}
