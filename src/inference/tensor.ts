/** A float tensor as plain data: what crosses between rooms (and worker threads). */
export interface Tensor {
  data: Float32Array;
  dims: readonly number[];
}

export type Feeds = Record<string, Tensor>;
export type Outputs = Record<string, Tensor>;

/**
 * Runs named models. The ARAC executor and the detector talk to this, not to
 * onnxruntime, so they stay testable and the backend stays replaceable.
 */
export interface ModelRunner {
  /**
   * `outputs` names the outputs the caller will read: the model still computes
   * the rest, but they are never copied out. The unsplit model's stitched
   * `features` map is 1.2 MB a frame at 512x288 that only the stitched path
   * reads; left out, it is neither copied nor collected.
   */
  run(model: string, feeds: Feeds, outputs?: readonly string[]): Promise<Outputs>;
  close(): Promise<void>;
}

export type Provider = 'cpu' | 'webgpu' | 'cuda';

export function tensorSize(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}
