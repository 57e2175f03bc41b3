/**
 * One camera's flow as an RxJS pipeline, one operator per stage:
 *
 *   frames$ -> gate (latest frame wins) -> [ detect (strategy) -> track -> publish ]
 *
 * The bracketed stages run per frame behind the gate, so at most one frame
 * per camera is in inference at a time and the source is never back-pressured.
 * A failure on one frame (inference error) is logged and counted; the camera
 * goes on with the next frame. `serve`, `replay` and `bench` all run this.
 */
import { EMPTY, Observable, catchError, from, map, mergeMap, of, tap, type OperatorFunction } from 'rxjs';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Detection, Frame } from '../core/types.js';
import type { Strategy, StrategyContext, StrategyResult } from '../strategy/types.js';
import { latestFrameGate } from './gate.js';

/** Everything the pipeline needs from the outside, as narrow functions (easy to test, no internals shared). */
export interface PipelineDeps {
  strategy: Strategy;
  ctx: StrategyContext;
  /** Tracker update for this camera; returns detections with track ids. */
  track(detections: Detection[], tsMs: number, result: StrategyResult, frame: Frame): Detection[];
  publish(result: ProcessedFrame): void;
  onDrop(frame: Frame, reason: 'gate' | 'error'): void;
  log: Logger;
}

export interface ProcessedFrame {
  frame: Frame;
  detections: Detection[];
  result: StrategyResult;
  /** performance.now() when the frame left the gate and detection began. */
  startedMs: number;
}

type Detected = Omit<ProcessedFrame, 'detections'>;

export function detectStage(deps: Pick<PipelineDeps, 'strategy' | 'ctx'>): OperatorFunction<Frame, Detected> {
  return mergeMap((frame) => {
    const startedMs = performance.now();
    return from(deps.strategy.process(frame, deps.ctx)).pipe(map((result) => ({ frame, result, startedMs })));
  });
}

export function trackStage(deps: Pick<PipelineDeps, 'track'>): OperatorFunction<Detected, ProcessedFrame> {
  return map((r) => ({ ...r, detections: deps.track(r.result.detections, r.frame.ptsMs, r.result, r.frame) }));
}

export function publishStage(deps: Pick<PipelineDeps, 'publish'>): OperatorFunction<ProcessedFrame, ProcessedFrame> {
  return tap((r) => deps.publish(r));
}

export function cameraPipeline(frames$: Observable<Frame>, deps: PipelineDeps): Observable<ProcessedFrame> {
  // A persistent fault (say, a model that rejects every frame) must not flood the log:
  // the 1st, 2nd, 4th, 8th ... failure in a row is logged, every one is counted.
  let failuresInRow = 0;
  return frames$.pipe(
    latestFrameGate(
      (frame) =>
        of(frame).pipe(
          detectStage(deps),
          trackStage(deps),
          publishStage(deps),
          tap(() => (failuresInRow = 0)),
          catchError((err: unknown) => {
            failuresInRow++;
            if ((failuresInRow & (failuresInRow - 1)) === 0) {
              deps.log.warn('frame failed', { camera: frame.cameraId, seq: frame.seq, inARow: failuresInRow, error: errorMessage(err) });
            }
            deps.onDrop(frame, 'error');
            return EMPTY;
          }),
        ),
      (dropped) => deps.onDrop(dropped, 'gate'),
    ),
  );
}
