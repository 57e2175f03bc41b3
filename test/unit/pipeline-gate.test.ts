/** The latest-frame-wins gate, in virtual time (rxjs TestScheduler marbles). */
import { from, map, of, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { latestFrameGate } from '../../src/camera/gate.js';

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

// Each "inference" takes 3 frames of virtual time and emits its input.
const slow = (v: string) => timer(3).pipe(map(() => v));

describe('latestFrameGate', () => {
  it('runs the newest waiting frame when the stage frees up and drops the ones it replaced', () => {
    const dropped: string[] = [];
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('abcd-----|');
      // a runs 0..3; b, c, d arrive while busy: b and c are replaced (dropped), d runs 3..6.
      expectObservable(src.pipe(latestFrameGate(slow, (v) => dropped.push(v)))).toBe('---a--d--|');
    });
    expect(dropped).toEqual(['b', 'c']);
  });

  it('never drops when the stage keeps up', () => {
    const dropped: string[] = [];
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('a---b---c---|');
      expectObservable(src.pipe(latestFrameGate(slow, (v) => dropped.push(v)))).toBe('---a---b---c|');
    });
    expect(dropped).toEqual([]);
  });

  it('completes only after the in-flight and pending frames are done', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('ab|');
      expectObservable(src.pipe(latestFrameGate(slow))).toBe('---a--(b|)');
    });
  });

  it('unsubscribing counts the pending frame as dropped and stops the in-flight one', () => {
    const dropped: string[] = [];
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('ab---');
      expectObservable(src.pipe(latestFrameGate(slow, (v) => dropped.push(v))), '--!').toBe('---');
    });
    expect(dropped).toEqual(['b']);
  });

  it('a stage that completes synchronously drops nothing and completes (it used to emit only the first value)', () => {
    const dropped: number[] = [];
    const out: number[] = [];
    let done = false;
    from([1, 2, 3, 4])
      .pipe(latestFrameGate((v: number) => of(v * 10), (v) => dropped.push(v)))
      .subscribe({ next: (v) => out.push(v), complete: () => (done = true) });
    expect(out).toEqual([10, 20, 30, 40]);
    expect(dropped).toEqual([]);
    expect(done).toBe(true);
    // The same in marbles: every frame passes at the time it arrives.
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('ab-c|').pipe(latestFrameGate((v: string) => of(v.toUpperCase())))).toBe('AB-C|');
    });
  });

  it('a synchronous stage between slow ones still frees the gate for the next frame', () => {
    scheduler().run(({ cold, expectObservable }) => {
      // 'f' is instant, the others take 3 frames: a 0..3, b waits then runs 3..6, f (arriving at 4) waits and runs at 6.
      const stage = (v: string) => (v === 'f' ? of(v) : slow(v));
      expectObservable(cold('ab--f-----|').pipe(latestFrameGate(stage))).toBe('---a--(bf)|');
    });
  });

  it('propagates a stage error', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('a-|');
      expectObservable(src.pipe(latestFrameGate(() => cold('-#', {}, new Error('boom'))))).toBe('-#', undefined, new Error('boom'));
    });
  });
});
