/** Messages between the inference pool (main thread) and its workers. */
import type { ExecStats } from '../detect/executor.js';
import type { TilePlan } from '../arac/plan.js';
import type { Detection } from '../core/types.js';
import type { DetectOptions } from '../detect/detector.js';
import type { Provider } from '../model/tensor.js';
import type { BatcherStats } from './batcher.js';

export interface WorkerInit {
  packDir: string;
  provider: Provider;
  threads?: number;
  /** Which models to load: the unsplit model, the ARAC parts, or both. */
  models: 'full' | 'arac';
  detect: DetectOptions;
  verifyChecksums: boolean;
  /**
   * Cross-camera batching (batcher.ts): the worker runs the requests it is
   * handed together, and merges their model calls of one shape up to
   * `maxItems` items. Absent: one request at a time, calls as they come.
   */
  batch?: { maxItems: number };
}

export interface DetectRequest {
  id: number;
  cameraId: string;
  /** RGB24 bytes; the buffer is transferred, not copied. */
  data: ArrayBuffer;
  width: number;
  height: number;
  srcWidth: number;
  srcHeight: number;
  mode: 'full' | 'arac';
  plan?: TilePlan;
  /**
   * Probe runs (the oracle) leave the camera's cache as it was: 'empty' runs
   * against a fresh cache, 'copy' against a copy of the camera's.
   */
  scratch?: 'empty' | 'copy';
}

export interface DetectReply {
  id: number;
  detections: Detection[];
  inferenceMs: number;
  totalMs: number;
  arac?: ExecStats;
  /**
   * Batched workers only: the worker time this request is charged, ms: its
   * items' part of the model calls it shared (not the calls' fixed part,
   * nor the time it waited for them), plus its part of the worker's other
   * work on its batch (preprocessing, decoding).
   * What DEMUX's cost model learns and the fair share counts; inferenceMs
   * stays the wall time the frame spent in the detector.
   */
  deviceMs?: number;
  /** Batched workers only: model calls the request made, and the mean items in them (its own included). */
  batch?: { calls: number; meanItems: number };
}

export interface SerializedError {
  name: string;
  code?: string;
  message: string;
  subject?: string;
}

export type ToWorker =
  | { type: 'detect'; req: DetectRequest }
  /** Batched workers: requests of several cameras, run together (their buffers are transferred). */
  | { type: 'detect-batch'; reqs: DetectRequest[] }
  | { type: 'reset'; cameraId: string }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'init-failed'; error: SerializedError }
  /** `frame`: the request's pixel buffer, handed back for the pool to fill with a later frame. */
  | { type: 'result'; reply: DetectReply; frame?: ArrayBuffer; batcher?: BatcherStats }
  | { type: 'failed'; id: number; error: SerializedError }
  | { type: 'closed' };
