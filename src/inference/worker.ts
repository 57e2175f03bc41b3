/**
 * Inference worker thread: owns one ORT runner and one Detector, plus each
 * camera's ARAC feature cache (so a camera always goes to the same worker).
 * ORT runs synchronously here, off the main thread's event loop.
 */
import { parentPort, workerData, type TransferListItem } from 'node:worker_threads';
import { FeatureCache } from '../detect/executor.js';
import { NeulensError } from '../core/errors.js';
import { Detector } from '../detect/detector.js';
import { openModel } from '../model/open.js';
import type { OrtRunner } from '../model/ort-runner.js';
import type { FromWorker, SerializedError, ToWorker, WorkerInit } from './protocol.js';

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
const caches = new Map<string, FeatureCache>();

try {
  const model = await openModel(init.packDir, { set: init.models, provider: init.provider, verifyChecksums: init.verifyChecksums, ...(init.threads ? { threads: init.threads } : {}) });
  runner = model.runner;
  detector = new Detector(runner, model.pack, init.detect);
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
  const { req } = msg;
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
    send(
      {
        type: 'result',
        reply: { id: req.id, detections: res.detections, inferenceMs: res.inferenceMs, totalMs: performance.now() - t0, ...(res.arac ? { arac: res.arac } : {}) },
        frame: req.data,
      },
      [req.data],
    );
  } catch (err) {
    send({ type: 'failed', id: req.id, error: serialize(err) });
  } finally {
    if (--inFlight === 0) drained?.();
  }
}
