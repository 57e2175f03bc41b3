/** The rate a camera's SLO and fair share are held to (pure; the service applies it at camera start). */
import { describe, expect, it } from 'vitest';
import { sloFps } from '../../src/service/service.js';

describe('sloFps', () => {
  it('the source rate, lowered to the cap but never raised by it', () => {
    expect(sloFps(10, 30)).toBe(10);
    expect(sloFps(10, 7)).toBe(7);
    expect(sloFps(undefined, 25)).toBe(25);
    expect(sloFps(5, undefined)).toBe(5);
  });

  it('no usable source rate: the cap, else 10 fps', () => {
    expect(sloFps(undefined, undefined)).toBe(10);
    expect(sloFps(undefined, 0.5)).toBe(10);
    expect(sloFps(12, 0.5)).toBe(12);
  });
});
