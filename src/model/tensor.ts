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

/** ONNX Runtime execution providers the project knows (whether a build has one is the runner's check). */
export const PROVIDERS = ['cpu', 'webgpu', 'cuda'] as const;
export type Provider = (typeof PROVIDERS)[number];

export function tensorSize(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * Model input buffers reused from call to call, by length: a fresh array a
 * frame (1.8 MB at 512x288) was garbage for the worker's collector. ONNX
 * Runtime reads an input until its run resolves, so a buffer is handed out
 * only while a single call is in flight; an overlapping call allocates.
 */
export class InputBuffers {
  private inFlight = 0;
  private readonly byLength = new Map<number, Float32Array>();

  /** `keep`: buffers held at once (distinct lengths); the oldest goes first. */
  constructor(private readonly keep: number) {}

  /** Runs one call; take and hold are only meaningful inside it. */
  async call<T>(fn: () => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      return await fn();
    } finally {
      this.inFlight--;
    }
  }

  /** A buffer of `length` to overwrite, or undefined (allocate) when none is kept or other calls are in flight. */
  take(length: number): Float32Array | undefined {
    return this.inFlight === 1 ? this.byLength.get(length) : undefined;
  }

  /** Keep `buf` for later lone calls (a no-op while calls overlap, or when its length is kept already). */
  hold(buf: Float32Array): void {
    if (this.inFlight !== 1 || this.byLength.has(buf.length)) return;
    if (this.byLength.size >= this.keep) this.byLength.delete(this.byLength.keys().next().value as number);
    this.byLength.set(buf.length, buf);
  }
}
