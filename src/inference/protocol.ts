/** Messages between the inference pool (main thread) and its workers. */
import type { ExecStats } from '../detect/executor.js';
import type { TilePlan } from '../arac/plan.js';
import type { Detection } from '../core/types.js';
import type { DetectOptions } from '../detect/detector.js';
import type { Provider } from '../model/tensor.js';

export interface WorkerInit {
  packDir: string;
  provider: Provider;
  threads?: number;
  /** Which models to load: the unsplit model, the ARAC parts, or both. */
  models: 'full' | 'arac';
  detect: DetectOptions;
  verifyChecksums: boolean;
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
}

export interface SerializedError {
  name: string;
  code?: string;
  message: string;
  subject?: string;
}

export type ToWorker =
  | { type: 'detect'; req: DetectRequest }
  | { type: 'reset'; cameraId: string }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'init-failed'; error: SerializedError }
  /** `frame`: the request's pixel buffer, handed back for the pool to fill with a later frame. */
  | { type: 'result'; reply: DetectReply; frame?: ArrayBuffer }
  | { type: 'failed'; id: number; error: SerializedError }
  | { type: 'closed' };
