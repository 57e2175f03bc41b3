/** The latest-frame-wins gate, in virtual time (rxjs TestScheduler marbles). */
import { timer, map } from 'rxjs';
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

  it('propagates a stage error', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('a-|');
      expectObservable(src.pipe(latestFrameGate(() => cold('-#', {}, new Error('boom'))))).toBe('-#', undefined, new Error('boom'));
    });
  });
});
