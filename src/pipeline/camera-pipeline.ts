/**
 * One camera's flow as an RxJS pipeline, one operator per stage:
 *
 *   frames$ -> count -> gate (latest frame wins) -> [ plan -> detect -> track -> publish ]
 *
 * The bracketed stages run per frame behind the gate, so at most one frame
 * per camera is in inference at a time and the source is never back-pressured.
 * A failure on one frame (inference error) is logged and counted; the camera
 * goes on with the next frame.
 */
import { EMPTY, Observable, catchError, from, map, mergeMap, of, tap, type OperatorFunction } from 'rxjs';
import type { TilePlan } from '../arac/executor.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Detection, Frame } from '../core/types.js';
import type { DetectReply } from '../inference/protocol.js';
import { latestFrameGate } from './gate.js';

/** Everything the pipeline needs from the outside, as narrow functions (easy to test, no internals shared). */
export interface PipelineDeps {
  detect(frame: Frame, mode: 'full' | 'arac', plan: TilePlan | undefined): Promise<DetectReply>;
  /** Tracker update for this camera; returns detections with track ids. */
  track(detections: Detection[], tsMs: number): Detection[];
  publish(result: ProcessedFrame): void;
  onDrop(frame: Frame, reason: 'gate' | 'error'): void;
  log: Logger;
}

export interface PlanChoice {
  mode: 'full' | 'arac';
  plan?: TilePlan;
}

export interface ProcessedFrame {
  frame: Frame;
  detections: Detection[];
  reply: DetectReply;
  plan: PlanChoice;
}

/** Importance placeholder: full model, or ARAC with every tile at c = 0 (the importance issue replaces this). */
export function planStage(choose: (frame: Frame) => PlanChoice): OperatorFunction<Frame, { frame: Frame; plan: PlanChoice }> {
  return map((frame) => ({ frame, plan: choose(frame) }));
}

export function detectStage(deps: Pick<PipelineDeps, 'detect'>): OperatorFunction<{ frame: Frame; plan: PlanChoice }, Omit<ProcessedFrame, 'detections'>> {
  return mergeMap(({ frame, plan }) => from(deps.detect(frame, plan.mode, plan.plan)).pipe(map((reply) => ({ frame, plan, reply }))));
}

export function trackStage(deps: Pick<PipelineDeps, 'track'>): OperatorFunction<Omit<ProcessedFrame, 'detections'>, ProcessedFrame> {
  return map((r) => ({ ...r, detections: deps.track(r.reply.detections, r.frame.ptsMs) }));
}

export function publishStage(deps: Pick<PipelineDeps, 'publish'>): OperatorFunction<ProcessedFrame, ProcessedFrame> {
  return tap((r) => deps.publish(r));
}

export function cameraPipeline(frames$: Observable<Frame>, choose: (frame: Frame) => PlanChoice, deps: PipelineDeps): Observable<ProcessedFrame> {
  return frames$.pipe(
    latestFrameGate(
      (frame) =>
        of(frame).pipe(
          planStage(choose),
          detectStage(deps),
          trackStage(deps),
          publishStage(deps),
          catchError((err: unknown) => {
            deps.log.warn('frame failed', { camera: frame.cameraId, seq: frame.seq, error: errorMessage(err) });
            deps.onDrop(frame, 'error');
            return EMPTY;
          }),
        ),
      (dropped) => deps.onDrop(dropped, 'gate'),
    ),
  );
}
