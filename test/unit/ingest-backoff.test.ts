import { describe, expect, it } from 'vitest';
import { backoffBaseMs, backoffDelayMs, DEFAULT_BACKOFF, validateBackoffPolicy } from '../../src/ingest/backoff.js';

const policy = { initialMs: 500, maxMs: 10_000, factor: 2, jitter: 0.2 };

describe('backoff schedule', () => {
  it('grows by factor from initialMs and is capped at maxMs', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map((n) => backoffBaseMs(n, policy))).toEqual([
      500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000,
    ]);
  });

  it('survives absurd attempt counts without overflowing', () => {
    expect(backoffBaseMs(1e6, policy)).toBe(10_000);
    expect(backoffDelayMs(1e6, policy, () => 0.5)).toBe(10_000);
  });

  it('without randomness in play (r = 0.5) returns the base', () => {
    expect(backoffDelayMs(2, policy, () => 0.5)).toBe(2000);
  });

  it('jitters within ±jitter of the base and never above maxMs', () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const base = backoffBaseMs(attempt, policy);
      const lo = backoffDelayMs(attempt, policy, () => 0);
      const hi = backoffDelayMs(attempt, policy, () => 1);
      expect(lo).toBe(Math.round(base * 0.8));
      expect(hi).toBe(Math.round(Math.min(policy.maxMs, base * 1.2)));
      for (let i = 0; i < 200; i++) {
        const d = backoffDelayMs(attempt, policy);
        expect(d).toBeGreaterThanOrEqual(lo);
        expect(d).toBeLessThanOrEqual(hi);
        expect(d).toBeLessThanOrEqual(policy.maxMs);
      }
    }
  });

  it('actually spreads: random draws are not all equal', () => {
    const draws = new Set(Array.from({ length: 50 }, () => backoffDelayMs(3, policy)));
    expect(draws.size).toBeGreaterThan(10);
  });

  it('jitter 0 is deterministic; bad random values are clamped', () => {
    const p = { ...policy, jitter: 0 };
    expect(backoffDelayMs(1, p)).toBe(1000);
    expect(backoffDelayMs(1, policy, () => 7)).toBe(1200);
    expect(backoffDelayMs(1, policy, () => -3)).toBe(800);
  });

  it('defaults are 0.5 s → 10 s, factor 2, jitter 0.2, and valid', () => {
    expect(DEFAULT_BACKOFF).toEqual(policy);
    expect(validateBackoffPolicy(DEFAULT_BACKOFF)).toBeUndefined();
  });

  it('validation names the bad field', () => {
    expect(validateBackoffPolicy({ ...policy, factor: 0.5 })).toMatch(/factor/);
    expect(validateBackoffPolicy({ ...policy, maxMs: 100 })).toMatch(/maxMs/);
    expect(validateBackoffPolicy({ ...policy, jitter: 2 })).toMatch(/jitter/);
    expect(validateBackoffPolicy({ ...policy, initialMs: -1 })).toMatch(/initialMs/);
  });
});
