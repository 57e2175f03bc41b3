import { describe, expect, it } from 'vitest';
import { defaultThreads } from '../../src/inference/pool.js';

describe('defaultThreads', () => {
  it('splits the cores between the workers, at least one thread each', () => {
    expect(defaultThreads(1, 2)).toBe(2);
    expect(defaultThreads(2, 2)).toBe(1);
    expect(defaultThreads(3, 2)).toBe(1);
    expect(defaultThreads(4, 16)).toBe(4);
    expect(defaultThreads(3, 16)).toBe(5);
    // A nonsense worker count still yields a usable thread count.
    expect(defaultThreads(0, 8)).toBe(8);
  });
});
