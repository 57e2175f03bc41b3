/**
 * When a worker's queue goes to the worker as one batch (the pool's push
 * timeout, nvstreammux's `batched-push-timeout`). Pure: the pool asks it
 * whenever its queue or its worker changes, and arms a timer when told to
 * wait.
 *
 * A batch goes at once when it is full: `maxSize` requests, or one from
 * every camera pinned to the worker (each camera has at most one frame in
 * flight, so nobody else can join). Otherwise it waits for more cameras,
 * but no longer than `timeoutMs` after its oldest request came, and never
 * past the tightest deadline in it less two batches' time: one for the
 * batch itself, one of margin for tracking and publishing, and for a batch
 * that runs longer than the last.
 */

export interface Queued {
  cameraId: string;
  /** When it was queued, ms (the pool's clock, performance.now). */
  enqueuedMs: number;
  /** When its frame must be published, same clock; Infinity when it has no deadline (unpaced). */
  deadlineMs: number;
}

export interface DispatchInput {
  queue: readonly Queued[];
  /** Cameras pinned to the worker. */
  pinned: number;
  maxSize: number;
  timeoutMs: number;
  /** A batch's expected time on the worker, ms (0 before any has run). */
  batchMs: number;
  nowMs: number;
}

export type Dispatch = { take: number } | { waitUntilMs: number } | { idle: true };

export function nextDispatch(d: DispatchInput): Dispatch {
  const n = d.queue.length;
  if (n === 0) return { idle: true };
  const take = Math.min(n, d.maxSize);
  if (take === d.maxSize) return { take };
  if (new Set(d.queue.map((q) => q.cameraId)).size >= d.pinned) return { take };
  let until = Infinity;
  for (const q of d.queue) until = Math.min(until, q.enqueuedMs + d.timeoutMs, q.deadlineMs - 2 * d.batchMs);
  return until <= d.nowMs ? { take } : { waitUntilMs: until };
}
