/** When a worker's queue goes as one batch: the push timeout, the deadline bound, a full batch. */
import { describe, expect, it } from 'vitest';
import { nextDispatch, type DispatchInput } from '../../src/inference/dispatch.js';

const q = (cameraId: string, enqueuedMs: number, deadlineMs = Infinity) => ({ cameraId, enqueuedMs, deadlineMs });
const base: Omit<DispatchInput, 'queue' | 'nowMs'> = { pinned: 4, maxSize: 8, timeoutMs: 20, batchMs: 10 };

describe('nextDispatch', () => {
  it('nothing queued: idle', () => {
    expect(nextDispatch({ ...base, queue: [], nowMs: 0 })).toEqual({ idle: true });
  });

  it('waits for the other cameras until the push timeout of its oldest request, then goes', () => {
    const queue = [q('a', 100), q('b', 105)];
    expect(nextDispatch({ ...base, queue, nowMs: 106 })).toEqual({ waitUntilMs: 120 });
    expect(nextDispatch({ ...base, queue, nowMs: 119.9 })).toEqual({ waitUntilMs: 120 });
    expect(nextDispatch({ ...base, queue, nowMs: 120 })).toEqual({ take: 2 });
  });

  it('never waits past the tightest deadline less two batches\' time', () => {
    // b must be out by 130: with 10 ms batches it goes at 110, before a's timeout at 120.
    const queue = [q('a', 100, 300), q('b', 101, 130)];
    expect(nextDispatch({ ...base, queue, nowMs: 102 })).toEqual({ waitUntilMs: 110 });
    expect(nextDispatch({ ...base, queue, nowMs: 110 })).toEqual({ take: 2 });
    // A deadline already too close: at once.
    expect(nextDispatch({ ...base, queue: [q('a', 100, 115)], nowMs: 100 })).toEqual({ take: 1 });
  });

  it('goes at once when every camera on the worker has a request in (nobody else can join)', () => {
    const queue = [q('a', 100), q('b', 100), q('c', 101), q('d', 102)];
    expect(nextDispatch({ ...base, queue, nowMs: 102 })).toEqual({ take: 4 });
    // A lone camera never waits.
    expect(nextDispatch({ ...base, pinned: 1, queue: [q('a', 0)], nowMs: 0 })).toEqual({ take: 1 });
    // Two requests of one camera (a calibration probe and a frame) are still one camera.
    expect(nextDispatch({ ...base, pinned: 2, queue: [q('a', 0), q('a', 1)], nowMs: 1 })).toEqual({ waitUntilMs: 20 });
  });

  it('takes at most maxSize; a full batch goes at once and the rest waits its turn', () => {
    const queue = Array.from({ length: 11 }, (_, i) => q(`c${i}`, i));
    expect(nextDispatch({ ...base, pinned: 16, queue, nowMs: 11 })).toEqual({ take: 8 });
    expect(nextDispatch({ ...base, pinned: 16, queue: queue.slice(8), nowMs: 11 })).toEqual({ waitUntilMs: 28 });
  });

  it('a zero timeout takes whatever is queued (batches form only while the worker is busy)', () => {
    expect(nextDispatch({ ...base, timeoutMs: 0, queue: [q('a', 5)], nowMs: 5 })).toEqual({ take: 1 });
  });
});
