/**
 * Push one frame, get its processed result: a Camera (the same one `serve`
 * runs) fed by hand, one frame at a time, so nothing is dropped and several
 * strategies can take turns on the same decoded frame.
 */
import { Subject } from 'rxjs';
import { Camera, type CameraOptions, type CameraResult } from '../camera/camera.js';
import type { Frame } from '../core/types.js';

export type ProcessorOptions = Omit<CameraOptions, 'frames' | 'onDrop'>;

export class FrameProcessor {
  private readonly feed = new Subject<Frame>();
  private waiting: ((r: CameraResult | undefined) => void) | undefined;
  private camera!: Camera;

  private constructor() {}

  /** An unpaced camera (no deadlines: each frame waits for the one before it). */
  static async open(o: ProcessorOptions): Promise<FrameProcessor> {
    const p = new FrameProcessor();
    p.camera = await Camera.open({ ...o, frames: { feed: p.feed, paced: false }, onDrop: () => p.settle(undefined) });
    p.camera.results$.subscribe((r) => p.settle(r));
    return p;
  }

  get strategyName(): string {
    return this.camera.strategy.name;
  }

  /** Resolves with the published result, or undefined if the frame failed (logged by the pipeline). */
  process(frame: Frame): Promise<CameraResult | undefined> {
    if (this.waiting) return Promise.reject(new Error('FrameProcessor: one frame at a time'));
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.feed.next(frame);
    });
  }

  /** Forget tracks and the strategy's state (a new video, an unrelated still). */
  reset(): void {
    this.camera.reset();
  }

  private settle(r: CameraResult | undefined): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.(r);
  }

  async close(): Promise<void> {
    this.feed.complete();
    await this.camera.close();
  }
}
