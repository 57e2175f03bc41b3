import { describe, expect, it } from 'vitest';
import { defaultThreads, defaultWorkers } from '../../src/inference/pool.js';

describe('inference pool defaults', () => {
  it('splits the cores between the workers, at least one thread each', () => {
    expect(defaultThreads(1, 2)).toBe(2);
    expect(defaultThreads(2, 2)).toBe(1);
    expect(defaultThreads(3, 2)).toBe(1);
    expect(defaultThreads(4, 16)).toBe(4);
    expect(defaultThreads(3, 16)).toBe(5);
    // A nonsense worker count still yields a usable thread count.
    expect(defaultThreads(0, 8)).toBe(8);
  });

  it('one worker per camera up to the cores on the CPU; one on an accelerator', () => {
    expect(defaultWorkers(1, 'cpu', 2)).toBe(1);
    expect(defaultWorkers(8, 'cpu', 2)).toBe(2);
    expect(defaultWorkers(3, 'cpu', 16)).toBe(3);
    expect(defaultWorkers(0, 'cpu', 2)).toBe(1);
    expect(defaultWorkers(8, 'webgpu', 16)).toBe(1);
  });
});
