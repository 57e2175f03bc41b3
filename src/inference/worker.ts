/**
 * Inference worker thread: owns one ORT runner and one Detector, plus each
 * camera's ARAC feature cache (so a camera always goes to the same worker).
 * ORT runs synchronously here, off the main thread's event loop.
 *
 * Batched (WorkerInit.batch), the Detector talks to a CallBatcher over the
 * runner, and the requests of a batch run together: their model calls of
 * one shape meet in the batcher. Each request keeps its own meter (in an
 * AsyncLocalStorage, so the batcher charges the request that made a call)
 * and is answered on its own: one failing does not fail the others.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { parentPort, workerData, type TransferListItem } from 'node:worker_threads';
import { FeatureCache } from '../detect/executor.js';
import { NeulensError } from '../core/errors.js';
import { Detector } from '../detect/detector.js';
import { openModel } from '../model/open.js';
import type { OrtRunner } from '../model/ort-runner.js';
import { CallBatcher, newMeter, type CallMeter } from './batcher.js';
import type { DetectReply, DetectRequest, FromWorker, SerializedError, ToWorker, WorkerInit } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('inference worker must run in a worker thread');

function serialize(err: unknown): SerializedError {
  if (err instanceof NeulensError) {
    return { name: err.name, code: err.code, message: err.message, ...('subject' in err ? { subject: String(err.subject) } : {}) };
  }
  return { name: 'Error', message: err instanceof Error ? err.message : String(err) };
}

const send = (m: FromWorker, transfer: TransferListItem[] = []) => port.postMessage(m, transfer);
const init = workerData as WorkerInit;
let runner: OrtRunner | undefined;
let detector: Detector | undefined;
let batcher: CallBatcher | undefined;
const meters = new AsyncLocalStorage<CallMeter>();
const caches = new Map<string, FeatureCache>();

try {
  const model = await openModel(init.packDir, { set: init.models, provider: init.provider, verifyChecksums: init.verifyChecksums, ...(init.threads ? { threads: init.threads } : {}) });
  runner = model.runner;
  if (init.batch) batcher = new CallBatcher(runner, { maxItems: init.batch.maxItems, meter: () => meters.getStore() });
  detector = new Detector(batcher ?? runner, model.pack, init.detect);
  send({ type: 'ready' });
} catch (err) {
  send({ type: 'init-failed', error: serialize(err) });
}

port.on('message', (msg: ToWorker) => {
  void handle(msg);
});

/**
 * Detections in progress. ORT runs are asynchronous, so a 'close' can arrive
 * while one is still inside a session: releasing the sessions under it is a
 * use-after-free that takes the whole process down. Close waits for them.
 */
let inFlight = 0;
let drained: (() => void) | undefined;
let closing = false;

async function handle(msg: ToWorker): Promise<void> {
  if (msg.type === 'close') {
    closing = true;
    if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
    await runner?.close();
    send({ type: 'closed' });
    return;
  }
  if (msg.type === 'reset') {
    caches.delete(msg.cameraId);
    return;
  }
  if (msg.type === 'detect-batch') {
    const batch: BatchRun = { startMs: performance.now(), callsMs: batcher?.stats.busyMs ?? 0, size: msg.reqs.length };
    await Promise.all(msg.reqs.map((req) => meters.run(newMeter(), () => detect(req, batch))));
    return;
  }
  await detect(msg.req);
}

/** A batch's start, and the batcher's call time then: what the worker did besides model calls is shared out. */
interface BatchRun {
  startMs: number;
  callsMs: number;
  size: number;
}

/**
 * The worker time a batched request is charged: its items' part of the calls
 * it joined, plus an equal part of the worker's work outside model calls
 * since its batch began (preprocessing and decoding; the requests of a
 * batch interleave at every await, so a request's own wall time would count
 * the others' work too).
 */
function charged(meter: CallMeter, batch: BatchRun): Pick<DetectReply, 'deviceMs' | 'batch'> {
  const outside = performance.now() - batch.startMs - ((batcher?.stats.busyMs ?? 0) - batch.callsMs);
  return { deviceMs: Math.max(0, outside) / batch.size + meter.chargedMs, batch: { calls: meter.calls, meanItems: meter.calls ? meter.sharedItems / meter.calls : 0 } };
}

async function detect(req: DetectRequest, batch?: BatchRun): Promise<void> {
  const t0 = performance.now();
  inFlight++;
  try {
    if (closing) throw new Error('inference worker is closing');
    if (!detector) throw new Error('detector not initialised');
    const frame = { data: new Uint8Array(req.data), width: req.width, height: req.height, srcWidth: req.srcWidth, srcHeight: req.srcHeight };
    let cache = caches.get(req.cameraId);
    if (!cache) caches.set(req.cameraId, (cache = new FeatureCache()));
    if (req.scratch) cache = req.scratch === 'copy' ? cache.clone() : new FeatureCache();
    const res = await detector.detect(frame, req.mode === 'arac' && req.plan ? { kind: 'arac', plan: req.plan, cache } : { kind: 'full' });
    // The frame's pixels are in the float tensor by now and nothing here keeps them: the buffer
    // goes back to the pool instead of becoming garbage in this thread.
    const totalMs = performance.now() - t0;
    const meter = meters.getStore();
    send(
      {
        type: 'result',
        reply: { id: req.id, detections: res.detections, inferenceMs: res.inferenceMs, totalMs, ...(res.arac ? { arac: res.arac } : {}), ...(meter && batch ? charged(meter, batch) : {}) },
        frame: req.data,
        ...(batcher ? { batcher: batcher.stats } : {}),
      },
      [req.data],
    );
  } catch (err) {
    send({ type: 'failed', id: req.id, error: serialize(err) });
  } finally {
    if (--inFlight === 0) drained?.();
  }
}
