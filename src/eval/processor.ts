/**
 * Push one frame, get its processed result: a camera pipeline (the same one
 * `serve` runs) fed by hand, one frame at a time, so nothing is dropped and
 * several strategies can take turns on the same decoded frame.
 */
import { Subject, type Subscription } from 'rxjs';
import type { Logger } from '../core/log.js';
import type { Frame } from '../core/types.js';
import type { InferencePool } from '../inference/pool.js';
import { cameraFlow } from '../camera/flow.js';
import type { ProcessedFrame } from '../camera/pipeline.js';
import type { Strategy, StreamInfo } from '../strategy/types.js';
import { Tracker, type TrackerOptions } from '../track/tracker.js';

export class FrameProcessor {
  private readonly frames = new Subject<Frame>();
  private readonly sub: Subscription;
  private waiting: ((r: ProcessedFrame | undefined) => void) | undefined;

  constructor(readonly strategy: Strategy, pool: InferencePool, key: string, info: StreamInfo, log: Logger, tracker?: Partial<TrackerOptions> | false) {
    this.sub = cameraFlow(this.frames, {
      key,
      strategy,
      info,
      pool,
      tracker: tracker === false ? undefined : new Tracker(tracker ?? {}),
      log,
      publish: (r) => this.settle(r),
      onDrop: () => this.settle(undefined),
    }).subscribe();
  }

  /** Resolves with the published result, or undefined if the frame failed (logged by the pipeline). */
  process(frame: Frame): Promise<ProcessedFrame | undefined> {
    if (this.waiting) return Promise.reject(new Error('FrameProcessor: one frame at a time'));
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.frames.next(frame);
    });
  }

  private settle(r: ProcessedFrame | undefined): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.(r);
  }

  close(): void {
    this.frames.complete();
    this.sub.unsubscribe();
  }
}
