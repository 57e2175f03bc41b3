/**
 * A pool of inference worker threads shared by every camera. Each camera is
 * pinned to one worker (its ARAC feature cache lives there); requests queue
 * per worker, one in flight at a time. The pipeline's latest-frame gate keeps
 * at most one request per camera outstanding, so queues stay bounded by the
 * camera count.
 *
 * With `batch`, a worker takes its queue as one batch of up to `maxSize`
 * requests (from the cameras pinned to it), and merges their model calls of
 * one shape (batcher.ts). The batch goes when it is full or when its push
 * timeout runs out (dispatch.ts); while a batch runs, the next one gathers.
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { errorMessage, InferenceError, ModelPackError, NeulensError, type ErrorCode } from '../core/errors.js';
import type { BatcherStats } from './batcher.js';
import { nextDispatch } from './dispatch.js';
import type { DetectReply, DetectRequest, FromWorker, SerializedError, ToWorker, WorkerInit } from './protocol.js';

/** Handed-back frame buffers kept per frame size (more than the requests one camera keeps in flight). */
const MAX_SPARE_FRAMES = 4;

export type PoolRequest = Omit<DetectRequest, 'id' | 'data'> & {
  data: Uint8Array;
  /** When the frame must be published (epoch ms): bounds the push timeout of a batched worker. */
  deadlineWallMs?: number;
};

/** Cross-camera batching (config model.batch). */
export interface BatchOptions {
  /** Most requests in one batch, and most items (frames or windows of one shape) in one model call. */
  maxSize: number;
  /** Most time a request waits for other cameras' requests before its batch goes, ms. */
  timeoutMs: number;
}

export interface PoolOptions extends Omit<WorkerInit, 'batch'> {
  workers: number;
  /** Absent or maxSize 1: no batching (one request at a time, as before). */
  batch?: BatchOptions;
}

/** One worker's counters since the pool opened (serve-slo's device time per frame, /api/stats). */
export interface WorkerStats {
  worker: number;
  /** Requests answered. */
  requests: number;
  /** Times the worker was handed work (a request, or a batch of them). */
  dispatches: number;
  /** Time the worker held work, from hand-over to its last answer, ms. */
  busyMs: number;
  /** Batched workers: the batcher's model calls (merged calls count once), items, and their fixed part. */
  batcher?: BatcherStats;
}

/**
 * Intra-op threads per worker when the config names none: the machine's
 * cores split between the workers. Not ONNX Runtime's own default, which on
 * this project's 2-core machines ran one thread: NanoDet-g at 512x288 took a
 * median 21.2 ms a frame that way against 12.4 ms with two threads
 * (docs/results/ort-threads.txt).
 */
export function defaultThreads(workers: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / Math.max(1, workers)));
}

/**
 * Workers when the config names none: on the CPU, one per camera up to the
 * core count (then defaultThreads gives each the rest of the cores); on an
 * accelerator, one. A camera is pinned to one worker, so a lone camera gains
 * nothing from a second one, while several cameras run their small windows
 * side by side better than one session spreads each over two threads: live,
 * 8 cameras on 2 cores held a median 42 % SLO with 2 workers x 1 thread
 * against 21 % with 1 x 2 (`neulens serve-slo --workers/--threads`).
 */
export function defaultWorkers(cameras: number, provider: string, cores = availableParallelism()): number {
  return provider === 'cpu' ? Math.max(1, Math.min(cameras, cores)) : 1;
}

interface Pending {
  req: DetectRequest;
  resolve: (r: DetectReply) => void;
  reject: (e: Error) => void;
  /** performance.now() when queued. */
  enqueuedMs: number;
  /** performance.now() by which it must be published; Infinity without a deadline. */
  deadlineMs: number;
}

interface Slot {
  /** The thread; replaced in place when it dies, so its cameras keep their slot. */
  worker: Worker;
  /** False while a replacement loads the model: requests queue meanwhile. */
  ready: boolean;
  queue: Pending[];
  /** The request (or batch) the worker holds; empty when idle. */
  busy: Pending[];
  /** When the work in flight was handed to the worker (performance.now()). */
  busySince: number;
  /** Running mean of a hand-over's time in the worker (a request, or a batch), ms (0 until the first one). */
  serviceMs: number;
  /** Batched: running mean of that time per request in it, ms. */
  perRequestMs: number;
  /** Requests in the last hand-over. */
  lastBatch: number;
  /** Batched: the push timeout's timer, and when it fires. */
  timer: NodeJS.Timeout | undefined;
  timerAt: number;
  stats: { requests: number; dispatches: number; busyMs: number; batcher?: BatcherStats };
  /** Batched: the calls' fixed part per second of wall time (EWMA), and the last sample it was taken from. */
  overhead: { msPerS: number; atMs: number; totalMs: number };
}

function revive(e: SerializedError): NeulensError {
  if (e.name === 'ModelPackError' && e.code) {
    const err = new ModelPackError(e.code as 'MODEL_PACK_INVALID', e.subject ?? '', '');
    err.message = e.message;
    return err;
  }
  return new InferenceError(e.message, { code: (e.code as Extract<ErrorCode, 'INFERENCE_FAILED' | 'PROVIDER_UNAVAILABLE'>) ?? 'INFERENCE_FAILED' });
}

function startWorker(init: WorkerInit): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
  // Running from src/ (tests, tsx): the worker is TypeScript, so it registers tsx's loader first.
  // tsx's ESM entry (require.resolve would hand back its CommonJS twin).
  const tsx = path.join(path.dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist/esm/api/index.mjs');
  const entry = new URL('./worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(pathToFileURL(tsx).href)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData: init });
}

export class InferencePool extends EventEmitter {
  private readonly slots: Slot[] = [];
  private readonly affinity = new Map<string, number>();
  /** Expected load of each camera (pin), kept across re-pinning after a worker dies. */
  private readonly weights = new Map<string, number>();
  /** Frame buffers the workers handed back, by byte length, for the next frames' copies. */
  private readonly spare = new Map<number, ArrayBuffer[]>();
  private nextId = 1;
  private closing: Promise<void> | undefined;

  private constructor(private readonly opts: PoolOptions) {
    super();
  }

  /** Resolves once every worker has loaded the model pack; rejects with the worker's typed error. */
  static async open(opts: PoolOptions): Promise<InferencePool> {
    const b = opts.batch;
    if (b && !(Number.isInteger(b.maxSize) && b.maxSize >= 1 && b.maxSize <= 1024 && Number.isFinite(b.timeoutMs) && b.timeoutMs >= 0)) {
      throw new InferenceError(`batch: maxSize must be an integer in 1..1024 and timeoutMs >= 0, got ${b.maxSize} and ${b.timeoutMs}`);
    }
    const pool = new InferencePool(opts);
    try {
      await Promise.all(Array.from({ length: Math.max(1, opts.workers) }, () => pool.spawn()));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  /**
   * Ends worker `index` as a crash would (a fault drill for tests and
   * operators): its in-flight request fails, and a replacement takes its
   * place and its cameras.
   */
  async terminateWorker(index: number): Promise<void> {
    const slot = this.slots[index];
    if (!slot) throw new InferenceError(`no inference worker ${index} (have 0..${this.slots.length - 1})`);
    await slot.worker.terminate();
  }

  get size(): number {
    return this.slots.length;
  }

  /** Intra-op threads each worker's sessions run (the config's, or defaultThreads). */
  get threads(): number {
    return this.opts.threads ?? defaultThreads(this.opts.workers);
  }

  /** Starts a worker: a new slot, or a replacement in a dead one's slot. */
  private spawn(into?: Slot): Promise<void> {
    const { workers: _w, batch, ...rest } = this.opts;
    const init: WorkerInit = { ...rest, threads: this.threads, ...(this.batching ? { batch: { maxItems: (batch as BatchOptions).maxSize } } : {}) };
    const worker = startWorker(init);
    const slot: Slot = into ?? { worker, ready: false, queue: [], busy: [], busySince: 0, serviceMs: 0, perRequestMs: 0, lastBatch: 1, timer: undefined, timerAt: Infinity, stats: { requests: 0, dispatches: 0, busyMs: 0 }, overhead: { msPerS: 0, atMs: performance.now(), totalMs: 0 } };
    slot.worker = worker;
    slot.ready = false;
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'ready':
            ready = true;
            slot.ready = true;
            if (!into) this.slots.push(slot);
            resolve();
            this.pump(slot);
            break;
          case 'init-failed':
            reject(revive(m.error));
            void worker.terminate();
            break;
          case 'result':
          case 'failed': {
            if (m.type === 'result' && m.frame) this.recycle(m.frame);
            if (m.type === 'result' && m.batcher) this.noteBatcher(slot, m.batcher);
            const id = m.type === 'result' ? m.reply.id : m.id;
            const i = slot.busy.findIndex((p) => p.req.id === id);
            const p = i < 0 ? undefined : slot.busy.splice(i, 1)[0];
            if (p) {
              slot.stats.requests++;
              if (m.type === 'result') p.resolve(m.reply);
              else p.reject(revive(m.error));
            }
            if (p && slot.busy.length === 0) {
              // The hand-over is done (a lone request, or a batch's last answer).
              const took = performance.now() - slot.busySince;
              slot.stats.busyMs += took;
              slot.serviceMs = slot.serviceMs === 0 ? took : slot.serviceMs + 0.2 * (took - slot.serviceMs);
              const each = took / Math.max(1, slot.lastBatch);
              slot.perRequestMs = slot.perRequestMs === 0 ? each : slot.perRequestMs + 0.2 * (each - slot.perRequestMs);
              this.pump(slot);
            }
            break;
          }
          case 'closed':
            break;
        }
      });
      worker.on('error', (err) => {
        if (!ready) reject(new InferenceError(`inference worker failed to start: ${err.message}`, { cause: err }));
        else if (slot.worker === worker) this.died(slot, err);
      });
      worker.on('exit', (code) => {
        if (!ready) reject(new InferenceError(`inference worker exited during start-up (code ${code})`));
        else if (!this.closing && slot.worker === worker) this.died(slot, new Error(`exited with code ${code}`));
      });
    });
  }

  /**
   * A worker died (not closed). Its request in flight died with it; a
   * replacement starts in its slot, so its cameras stay where they are (their
   * ARAC caches are gone: listeners of 'died' get their ids to reset them) and
   * their queued requests wait for it. No other camera moves. If the
   * replacement cannot start, the queued requests fail and the slot's cameras
   * are pinned afresh to the live workers.
   */
  private died(slot: Slot, err: Error): void {
    const idx = this.slots.indexOf(slot);
    if (idx < 0 || !slot.ready) return;
    slot.ready = false;
    for (const p of slot.busy.splice(0)) p.reject(new InferenceError(`inference worker died: ${err.message}`, { cause: err }));
    const cameras = [...this.affinity].filter(([, w]) => w === idx).map(([id]) => id);
    this.emit('died', err, cameras);
    if (this.closing) return;
    this.spawn(slot).catch((e: unknown) => {
      for (const p of slot.queue.splice(0)) p.reject(new InferenceError(`inference worker died and could not be replaced: ${errorMessage(e)}`, { cause: e }));
      this.slots.splice(this.slots.indexOf(slot), 1);
      for (const id of cameras) this.affinity.delete(id);
      for (const [id, w] of this.affinity) if (w > idx) this.affinity.set(id, w - 1);
      this.emit('error', e);
    });
  }

  /**
   * The worker (0 .. size - 1) the camera runs on, pinning it now if it is
   * not yet (DEMUX's fair share splits each worker's time between its cameras).
   */
  workerOf(cameraId: string): number {
    return this.slots.indexOf(this.slotFor(cameraId));
  }

  /**
   * Pins a camera by its expected load (the service passes input pixels a
   * second) to the worker whose pinned cameras weigh least, and returns that
   * worker. Cameras pinned by their first request instead weigh 1, so give
   * every camera a weight or none. By count alone, eight cameras from two
   * clips alternating in the config put all four 512x384 ones on one worker
   * and the four 512x288 ones on the other.
   */
  pin(cameraId: string, weight: number): number {
    if (!(Number.isFinite(weight) && weight > 0)) throw new InferenceError(`camera '${cameraId}': pin weight must be > 0, got ${weight}`);
    this.weights.set(cameraId, weight);
    return this.workerOf(cameraId);
  }

  /**
   * How long a request the camera sends now would wait before its worker
   * starts it: what is left of the one in flight and the queue ahead, each
   * at the worker's mean time per request. A frame's deadline runs while it
   * waits, so DEMUX takes this off the frame's budget (0 before any request
   * has been timed).
   */
  backlogMs(cameraId: string): number {
    const slot = this.slotFor(cameraId);
    const inFlight = slot.busy.length ? Math.max(0, slot.serviceMs - (performance.now() - slot.busySince)) : 0;
    if (!this.batching) return inFlight + slot.queue.length * slot.serviceMs;
    // Batched: full batches ahead of it, then its own batch, less its own part of that batch
    // (DEMUX prices that: the plan's cost).
    const max = (this.opts.batch as BatchOptions).maxSize;
    const ahead = Math.floor(slot.queue.length / max);
    return inFlight + ahead * slot.serviceMs + Math.max(0, slot.serviceMs - slot.perRequestMs);
  }

  /** True when workers take batches of requests (model.batch with maxSize > 1). */
  get batching(): boolean {
    return (this.opts.batch?.maxSize ?? 1) > 1;
  }

  /** Each worker's counters since the pool opened. */
  workerStats(): WorkerStats[] {
    return this.slots.map((s, worker) => ({ worker, ...s.stats, ...(s.stats.batcher ? { batcher: { ...s.stats.batcher } } : {}) }));
  }

  private slotFor(cameraId: string): Slot {
    if (this.slots.length === 0) throw new InferenceError('no inference worker is running');
    let i = this.affinity.get(cameraId);
    if (i === undefined || i >= this.slots.length) {
      // The worker whose pinned cameras weigh least (by count when nobody gave a weight).
      const load = this.slots.map(() => 0);
      for (const [id, v] of this.affinity) if (v < load.length) load[v] = (load[v] ?? 0) + (this.weights.get(id) ?? 1);
      i = load.indexOf(Math.min(...load));
      this.affinity.set(cameraId, i);
    }
    return this.slots[i] as Slot;
  }

  detect(r: PoolRequest): Promise<DetectReply> {
    if (this.closing) return Promise.reject(new InferenceError('inference pool is closed'));
    // Copy into a buffer we can transfer (the caller's bytes may be a view into ffmpeg's pooled
    // chunk): one a worker handed back, else a fresh one.
    const data = this.spare.get(r.data.byteLength)?.pop() ?? new ArrayBuffer(r.data.byteLength);
    new Uint8Array(data).set(r.data);
    const { deadlineWallMs, ...fields } = r;
    const req: DetectRequest = { ...fields, id: this.nextId++, data };
    const enqueuedMs = performance.now();
    const deadlineMs = deadlineWallMs === undefined ? Infinity : enqueuedMs + (deadlineWallMs - Date.now());
    return new Promise<DetectReply>((resolve, reject) => {
      let slot: Slot;
      try {
        slot = this.slotFor(r.cameraId);
      } catch (err) {
        reject(err instanceof Error ? err : new InferenceError(String(err)));
        return;
      }
      slot.queue.push({ req, resolve, reject, enqueuedMs, deadlineMs });
      this.pump(slot);
    });
  }

  /** Keep a handed-back frame buffer for reuse: a few per frame size, enough for the requests in flight. */
  private recycle(buf: ArrayBuffer): void {
    const list = this.spare.get(buf.byteLength) ?? [];
    if (list.length < MAX_SPARE_FRAMES) list.push(buf);
    this.spare.set(buf.byteLength, list);
  }

  /**
   * A camera leaves (removed at runtime): its worker forgets its ARAC
   * features and it no longer weighs on that worker when the next camera is
   * pinned. Requests it still has queued are served; a later request pins it
   * afresh.
   */
  unpin(cameraId: string): void {
    this.reset(cameraId);
    this.affinity.delete(cameraId);
    this.weights.delete(cameraId);
  }

  /** Forget a camera's cached ARAC features (after a reconnect or a size change). */
  reset(cameraId: string): void {
    const i = this.affinity.get(cameraId);
    if (i !== undefined) this.slots[i]?.worker.postMessage({ type: 'reset', cameraId } satisfies ToWorker);
  }

  private pump(slot: Slot): void {
    if (slot.busy.length || !slot.ready || this.closing) return;
    if (!this.batching) {
      const next = slot.queue.shift();
      if (!next) return;
      this.handOver(slot, [next]);
      slot.worker.postMessage({ type: 'detect', req: next.req } satisfies ToWorker, [next.req.data]);
      return;
    }
    const { maxSize, timeoutMs } = this.opts.batch as BatchOptions;
    const now = performance.now();
    const idx = this.slots.indexOf(slot);
    let pinned = 0;
    for (const w of this.affinity.values()) if (w === idx) pinned++;
    const d = nextDispatch({ queue: slot.queue.map((p) => ({ cameraId: p.req.cameraId, enqueuedMs: p.enqueuedMs, deadlineMs: p.deadlineMs })), pinned, maxSize, timeoutMs, batchMs: slot.serviceMs, nowMs: now });
    if ('idle' in d) return;
    if ('waitUntilMs' in d) {
      // Wait for more cameras; a request arriving meanwhile asks again (and may bring the time forward).
      if (slot.timer && slot.timerAt <= d.waitUntilMs) return;
      if (slot.timer) clearTimeout(slot.timer);
      slot.timerAt = d.waitUntilMs;
      slot.timer = setTimeout(() => {
        slot.timer = undefined;
        slot.timerAt = Infinity;
        this.pump(slot);
      }, Math.max(0, d.waitUntilMs - now));
      return;
    }
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.timerAt = Infinity;
    const batch = slot.queue.splice(0, d.take);
    this.handOver(slot, batch);
    slot.worker.postMessage({ type: 'detect-batch', reqs: batch.map((p) => p.req) } satisfies ToWorker, batch.map((p) => p.req.data));
  }

  /** A batched worker's counters came with an answer: keep them, and the rate of its calls' fixed part. */
  private noteBatcher(slot: Slot, b: BatcherStats): void {
    slot.stats.batcher = b;
    const now = performance.now();
    const o = slot.overhead;
    if (now - o.atMs < 1000) return;
    const rate = ((b.overheadMs - o.totalMs) / (now - o.atMs)) * 1000;
    o.msPerS = o.msPerS === 0 ? rate : o.msPerS + 0.5 * (rate - o.msPerS);
    o.atMs = now;
    o.totalMs = b.overheadMs;
  }

  /**
   * A batched worker's time per second that goes to its calls' fixed part
   * (charged to no camera: BatchCostFit), ms/s; 0 unbatched. The fair share
   * hands out the rest of the worker's time.
   */
  overheadMsPerS(worker: number): number {
    return this.slots[worker]?.overhead.msPerS ?? 0;
  }

  private handOver(slot: Slot, work: Pending[]): void {
    slot.busy = work;
    slot.lastBatch = work.length;
    slot.busySince = performance.now();
    slot.stats.dispatches++;
  }

  /** Idempotent: waits for in-flight work, releases sessions, ends the threads. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const slots = this.slots.splice(0);
      await Promise.all(slots.map(async (s) => {
        if (s.timer) clearTimeout(s.timer);
        for (const p of s.queue.splice(0)) p.reject(new InferenceError('inference pool is closed'));
        const closed = new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 5000);
          s.worker.on('message', (m: FromWorker) => {
            if (m.type === 'closed') {
              clearTimeout(timer);
              resolve();
            }
          });
          s.worker.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        });
        s.worker.postMessage({ type: 'close' } satisfies ToWorker);
        await closed;
        await s.worker.terminate();
      }));
    })();
    return this.closing;
  }
}
