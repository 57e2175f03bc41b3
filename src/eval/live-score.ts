/**
 * Accuracy of a live camera against the offline reference (the unsplit
 * model on every frame of its clip), from what a WebSocket client received.
 *
 * A client sees, at every frame of the camera's stream, the boxes of the
 * last frame message it received: a frame the service dropped shows the
 * one before it, as in the bench's visibleDetections. The stream's frames
 * are the slots one frame interval apart (the fps cap's output: ffmpeg's
 * fps filter stamps frame n at n intervals), from the first message
 * received to the last. A looping clip's time is its pts modulo the clip's
 * length; a slot's reference frame is the clip frame nearest that time.
 * Pure.
 */
import type { Detection } from '../core/types.js';
import { accumulate, type DetectionSummary, type FrameEval } from './metrics.js';

export interface ReceivedFrame {
  ptsMs: number;
  boxes: readonly Detection[];
}

export interface LiveScoreInput {
  /** Frame messages in the order received (pts increasing, but for a loop's restart). */
  received: readonly ReceivedFrame[];
  /** The camera's frame interval, ms (its SLO rate's). */
  intervalMs: number;
  /** The clip's reference detections, one list per clip frame. */
  reference: readonly (readonly Detection[])[];
  /** The clip's own frame rate. */
  clipFps: number;
  /** Operating point: boxes below it count on neither side. */
  minScore: number;
  iou?: number;
}

/** The clip frame shown at stream time `ptsMs` of a looping clip. */
export function clipFrameAt(ptsMs: number, clipFps: number, frames: number): number {
  const lengthMs = (frames * 1000) / clipFps;
  const t = ((ptsMs % lengthMs) + lengthMs) % lengthMs;
  return Math.min(frames - 1, Math.round((t * clipFps) / 1000));
}

export function scoreLive(o: LiveScoreInput): DetectionSummary & { slots: number } {
  const evals: FrameEval[] = [];
  const above = (ds: readonly Detection[]) => ds.filter((d) => d.score >= o.minScore);
  const n = o.reference.length;
  for (let i = 0; i < o.received.length; i++) {
    const r = o.received[i] as ReceivedFrame;
    const next = o.received[i + 1];
    // This message's boxes stand from its slot until the next message's (a loop restart ends it too).
    const slots = next && next.ptsMs > r.ptsMs ? Math.max(1, Math.round((next.ptsMs - r.ptsMs) / o.intervalMs)) : 1;
    for (let s = 0; s < slots; s++) {
      evals.push({ preds: above(r.boxes), refs: above(o.reference[clipFrameAt(r.ptsMs + s * o.intervalMs, o.clipFps, n)] ?? []) });
    }
  }
  return { ...accumulate(evals, o.iou ?? 0.5), slots: evals.length };
}
