/** Zones and masks against the frame, once the service knows its size (src/config/regions.ts). */
import { describe, expect, it } from 'vitest';
import { regionOutsideFrame } from '../../src/config/regions.js';
import { ConfigError } from '../../src/core/errors.js';

const tri = (x: number, y: number) => ({
  points: [
    [0, 0],
    [x, 0],
    [0, y],
  ] as const,
});

describe('regionOutsideFrame', () => {
  it('accepts points inside the frame, its edges included', () => {
    expect(regionOutsideFrame({ zones: { a: tri(960, 540) }, masks: [tri(100, 100)] }, 0, 960, 540)).toBeUndefined();
    expect(regionOutsideFrame({}, 0, 960, 540)).toBeUndefined();
  });

  it('names the first point outside: a zone by name, a mask by index, with the frame size', () => {
    const zone = regionOutsideFrame({ zones: { ok: tri(10, 10), driveway: tri(961, 10) } }, 2, 960, 540);
    expect(zone).toBeInstanceOf(ConfigError);
    expect(zone?.path).toBe('cameras[2].zones.driveway.points[1]');
    expect(zone?.message).toBe("cameras[2].zones.driveway.points[1]: (961, 0) lies outside the camera's 960x540 frame (points are source pixels)");
    const mask = regionOutsideFrame({ masks: [tri(10, 10), tri(10, 541)] }, 0, 960, 540);
    expect(mask?.path).toBe('cameras[0].masks[1].points[2]');
  });
});
