/** Flow control for replay: a paused source holds ffmpeg back and still closes cleanly. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CameraSource } from '../../src/ingest/camera-source.js';
import { ffmpegDescendants, waitFor } from '../helpers/ffmpeg-fixtures.js';
import { ROOT } from '../helpers/pack.js';

describe('CameraSource pause/resume', () => {
  it('pausing stops the flow within a few frames, resume restarts it, close() while paused does not hang', async () => {
    const source = new CameraSource({ cameraId: 'p', url: path.join(ROOT, 'samples/parade.mp4'), width: 256, height: 160, pace: 'fast' });
    let n = 0;
    const sub = source.frames$.subscribe(() => {
      n++;
      if (n === 1) source.pause();
    });
    source.start();
    await waitFor(() => n >= 1, 20_000, 'first frame');
    await new Promise((r) => setTimeout(r, 800));
    const whilePaused = n;
    // Frames already in the pipe may still arrive, but not the rest of the 120-frame clip.
    expect(whilePaused).toBeLessThan(40);
    await new Promise((r) => setTimeout(r, 400));
    expect(n).toBe(whilePaused);
    expect(source.stats().state).toBe('online'); // the stall watchdog is off while paused

    source.resume();
    await waitFor(() => n > whilePaused + 5, 20_000, 'frames after resume');
    source.pause();
    await source.close();
    sub.unsubscribe();
    expect(ffmpegDescendants()).toEqual([]);
  }, 60_000);
});
