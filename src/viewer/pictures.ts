/**
 * The viewer's pictures: a JPEG of a published frame, only while someone
 * watches that camera's pictures, at most `fps` a second per camera, and at
 * most one encoding in flight per camera. With no viewer, a frame costs one
 * `watched()` call and nothing else: no copy, no encoder call.
 *
 * A frame's pixels are valid only while Camera.results$ emits (the buffer
 * goes back to the pool afterwards), so offer() copies them synchronously,
 * during the emission, and the encoder works on the copy.
 */
import type { CameraResult } from '../camera/camera.js';
import { RecentValues } from '../camera/rate.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { quantile } from '../core/stats.js';
import type { PictureStats } from '../serve/viewer-types.js';
import type { EncodedPicture, PictureEncoder } from './encoder.js';
import { RateCap } from './rate-cap.js';

export interface PictureFeedOptions {
  /** Most pictures per second per camera. */
  fps: number;
  /** Whether some client watches the camera's pictures right now (the hub knows). */
  watched: (camera: string) => boolean;
  encoder: PictureEncoder;
  log: Logger;
}

/** One encoded picture and the frame it shows. */
export interface FramePicture extends EncodedPicture {
  camera: string;
  seq: number;
  /** Wall time from the offer to the JPEG, ms (the encoder's own time, plus any wait for a pool thread). */
  encodeMs: number;
}

interface CameraFeed {
  cap: RateCap;
  busy: boolean;
  encoded: number;
  skipped: { rate: number; busy: number };
  failed: number;
  encodeMs: RecentValues;
  bytes: RecentValues;
  width: number;
  height: number;
}

export class PictureFeed {
  private readonly cameras = new Map<string, CameraFeed>();
  private readonly inFlight = new Set<Promise<void>>();
  private closing: Promise<void> | undefined;

  constructor(private readonly o: PictureFeedOptions) {
    if (!(o.fps > 0)) throw new RangeError(`PictureFeed: fps must be > 0, got ${o.fps}`);
  }

  /**
   * Called during results$ emission. Takes the frame when it is watched, due
   * and its camera's encoder is free: copies its pixels now, encodes them on
   * libvips' threads, and hands the picture to `deliver` (never after close()).
   * Returns whether the frame was taken. Never throws; a failed encoding is
   * counted and logged.
   */
  offer(r: CameraResult, deliver: (p: FramePicture) => void): boolean {
    if (this.closing || !this.o.watched(r.camera)) return false;
    const cam = this.feed(r.camera);
    // Busy first: a frame skipped for that must not use up the rate cap's slot.
    if (cam.busy) {
      cam.skipped.busy++;
      return false;
    }
    if (!cam.cap.take(r.frame.captureWallMs)) {
      cam.skipped.rate++;
      return false;
    }
    const { width, height, seq } = r.frame;
    const rgb = Buffer.copyBytesFrom(r.frame.data);
    cam.busy = true;
    cam.encoded++;
    const t0 = performance.now();
    const job = this.o.encoder.encode(rgb, width, height).then(
      (pic) => {
        const encodeMs = performance.now() - t0;
        cam.encodeMs.push(encodeMs);
        cam.bytes.push(pic.jpeg.length);
        cam.width = pic.width;
        cam.height = pic.height;
        if (this.closing) return;
        try {
          deliver({ ...pic, camera: r.camera, seq, encodeMs });
        } catch (err) {
          this.o.log.warn('picture delivery failed', { camera: r.camera, seq, error: errorMessage(err) });
        }
      },
      (err: unknown) => {
        cam.failed++;
        // The first failure and then one in a hundred: a broken encoder must not flood the log.
        if (cam.failed % 100 === 1) this.o.log.warn('picture encoding failed', { camera: r.camera, seq, failures: cam.failed, error: errorMessage(err) });
      },
    );
    const tracked = job.finally(() => {
      cam.busy = false;
      this.inFlight.delete(tracked);
    });
    this.inFlight.add(tracked);
    return true;
  }

  stats(): PictureStats[] {
    return [...this.cameras].map(([camera, c]) => {
      const ms = c.encodeMs.all();
      return {
        camera,
        encoded: c.encoded,
        skipped: { ...c.skipped },
        failed: c.failed,
        encodeMs: { p50: ms.length ? quantile(ms, 0.5) : 0, p95: ms.length ? quantile(ms, 0.95) : 0 },
        bytes: c.bytes.mean(),
        width: c.width,
        height: c.height,
      };
    });
  }

  /** Encoder calls since start, all cameras. */
  get encoded(): number {
    let n = 0;
    for (const c of this.cameras.values()) n += c.encoded;
    return n;
  }

  /** Idempotent: takes no more frames, delivers nothing more, and waits for the encodings in flight. */
  close(): Promise<void> {
    this.closing ??= Promise.allSettled([...this.inFlight]).then(() => undefined);
    return this.closing;
  }

  private feed(camera: string): CameraFeed {
    let c = this.cameras.get(camera);
    if (!c) {
      c = { cap: new RateCap(1000 / this.o.fps), busy: false, encoded: 0, skipped: { rate: 0, busy: 0 }, failed: 0, encodeMs: new RecentValues(50), bytes: new RecentValues(50), width: 0, height: 0 };
      this.cameras.set(camera, c);
    }
    return c;
  }
}
