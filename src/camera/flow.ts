/**
 * The per-camera wiring shared by `serve`, `replay` and `bench`: a strategy,
 * the shared inference pool (keyed so each camera keeps its own ARAC cache),
 * the camera's tracker, and the pipeline. Callers only say where results go.
 */
import type { Observable } from 'rxjs';
import type { Logger } from '../core/log.js';
import type { Frame } from '../core/types.js';
import type { InferencePool } from '../inference/pool.js';
import type { Strategy, StrategyContext, StreamInfo } from '../strategy/types.js';
import type { Tracker } from '../track/tracker.js';
import { cameraPipeline, type ProcessedFrame } from './pipeline.js';

export interface CameraFlowOptions {
  /** Pool affinity and ARAC cache key: unique per camera (and per strategy in a benchmark). */
  key: string;
  strategy: Strategy;
  info: StreamInfo;
  pool: InferencePool;
  tracker: Tracker | undefined;
  log: Logger;
  publish(r: ProcessedFrame): void;
  onDrop(frame: Frame, reason: 'gate' | 'error'): void;
}

/** What a strategy may use of its camera (also for Strategy.prepare, before frames flow). */
export function strategyContext(o: Pick<CameraFlowOptions, 'key' | 'info' | 'pool' | 'tracker'>): StrategyContext {
  return {
    info: o.info,
    detect: (image, mode, plan, opts) => o.pool.detect({ cameraId: o.key, ...image, mode, ...(plan ? { plan } : {}), ...(opts?.scratch ? { scratch: opts.scratch } : {}) }),
    predictTracks: (tsMs) => o.tracker?.predict(tsMs) ?? [],
    backlogMs: () => o.pool.backlogMs(o.key),
  };
}

export function cameraFlow(frames$: Observable<Frame>, o: CameraFlowOptions): Observable<ProcessedFrame> {
  let lastPts = -Infinity;
  return cameraPipeline(frames$, {
    strategy: o.strategy,
    log: o.log,
    publish: (r) => o.publish(r),
    onDrop: (f, reason) => o.onDrop(f, reason),
    ctx: strategyContext(o),
    track: (dets, tsMs, result) => {
      if (!o.tracker) return dets;
      // A looping file restarts its clock: start the tracks afresh rather than feed a negative dt.
      if (tsMs < lastPts) o.tracker.reset();
      lastPts = tsMs;
      // Predictions published by the strategy itself must not be fed back as measurements,
      // nor boxes held over from skipped tiles: those keep the ids they had.
      if (result.fromTracker) return dets;
      return o.tracker.updateHolding(
        dets.filter((d) => !d.stale),
        dets.filter((d) => d.stale),
        tsMs,
      );
    },
  });
}
