/**
 * Copies of the frames events' snapshots will be made from, in bounded
 * memory. A camera's frame buffer goes back to its pool once results$ has
 * emitted, so the frame of an event's best score is copied then; the copy is
 * held until the event's snapshot is encoded or a better frame replaces it.
 *
 * Events that improve on the same frame share one copy (counted references),
 * and at most `max` copies are held at once (a 512x384 frame is 590 kB).
 * When the cap is reached, an event whose current copy is its own still
 * trades it for the better frame (no more memory); others keep what they
 * have, and each refusal is counted.
 */
import type { Frame } from '../core/types.js';

export interface HeldFrame {
  /** Packed RGB24, the detector's input size. */
  data: Buffer;
  width: number;
  height: number;
  srcWidth: number;
  srcHeight: number;
  /** The frame's capture time (wall clock, ms). */
  captureMs: number;
  refs: number;
}

export class HeldFrames {
  private held = 0;
  private refusals = 0;
  /** The copy made during the current emission, for other events of the same frame. */
  private last: { camera: string; seq: number; frame: HeldFrame } | undefined;

  constructor(readonly max: number) {
    if (!(Number.isInteger(max) && max >= 1)) throw new RangeError(`HeldFrames: max must be an integer >= 1, got ${max}`);
  }

  /** Copies held now. */
  get count(): number {
    return this.held;
  }

  /** Better frames not copied because the cap was reached. */
  get refused(): number {
    return this.refusals;
  }

  /**
   * A held copy of `frame` in place of `current` (released), or undefined
   * when the cap refuses it: then `current` stays as it was. Call during the
   * emission that carries `frame`.
   */
  replace(frame: Frame, current: HeldFrame | undefined): HeldFrame | undefined {
    const last = this.last;
    if (last && last.frame.refs > 0 && last.camera === frame.cameraId && last.seq === frame.seq) {
      if (last.frame === current) return current;
      last.frame.refs++;
      this.release(current);
      return last.frame;
    }
    const freesOne = current !== undefined && current.refs === 1;
    if (this.held >= this.max && !freesOne) {
      this.refusals++;
      return undefined;
    }
    const copy: HeldFrame = {
      data: Buffer.from(frame.data),
      width: frame.width,
      height: frame.height,
      srcWidth: frame.srcWidth,
      srcHeight: frame.srcHeight,
      captureMs: frame.captureWallMs,
      refs: 1,
    };
    this.held++;
    this.release(current);
    this.last = { camera: frame.cameraId, seq: frame.seq, frame: copy };
    return copy;
  }

  /** Another holder of `f` (an encoding in flight). */
  retain(f: HeldFrame): void {
    f.refs++;
  }

  release(f: HeldFrame | undefined): void {
    if (!f || f.refs <= 0) return;
    f.refs--;
    if (f.refs === 0) this.held--;
  }
}
