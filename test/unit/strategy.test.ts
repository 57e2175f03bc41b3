import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { cropRgb, resizeRgb } from '../../src/strategy/image-ops.js';
import { regionFor, regionsFor } from '../../src/strategy/motion-regions.js';
import { createStrategy, strategyNames } from '../../src/strategy/registry.js';

describe('region geometry (motion-regions)', () => {
  const o = { minSide: 160, multiplier: 1.5 };
  it('small boxes get the minimum square, centred and shifted inside the frame', () => {
    expect(regionFor({ x: 100, y: 100, w: 20, h: 40 }, 512, 288, o)).toEqual({ x: 30, y: 40, w: 160, h: 160 });
    // Near the top-left corner: shifted, not cut.
    expect(regionFor({ x: 0, y: 0, w: 10, h: 10 }, 512, 288, o)).toEqual({ x: 0, y: 0, w: 160, h: 160 });
    // Near the bottom-right corner.
    expect(regionFor({ x: 500, y: 280, w: 10, h: 8 }, 512, 288, o)).toEqual({ x: 352, y: 128, w: 160, h: 160 });
  });
  it('large boxes get multiplier x their larger side, rounded up to 32, capped by the frame', () => {
    expect(regionFor({ x: 200, y: 50, w: 100, h: 120 }, 512, 288, o).w).toBe(192); // 1.5*120 = 180 -> 192
    // Centred on the box (centre x 200), as large as the frame's short side allows.
    expect(regionFor({ x: 0, y: 0, w: 400, h: 250 }, 512, 288, o)).toEqual({ x: 56, y: 0, w: 288, h: 288 });
  });
  it('a box inside an existing region adds no region; separate boxes get their own', () => {
    const regions = regionsFor([{ x: 100, y: 100, w: 40, h: 40 }, { x: 110, y: 110, w: 10, h: 10 }, { x: 450, y: 20, w: 20, h: 20 }], 512, 288, o);
    expect(regions).toHaveLength(2);
    expect(regionsFor([], 512, 288, o)).toEqual([]);
  });
});

describe('image ops', () => {
  it('resize keeps a constant image constant and maps corners', () => {
    const src = new Uint8Array(4 * 4 * 3).fill(77);
    expect([...resizeRgb(src, 4, 4, 2, 2)]).toEqual(Array(12).fill(77));
    // A horizontal ramp halves to the averages of pixel pairs.
    const ramp = new Uint8Array([0, 0, 0, 100, 100, 100, 200, 200, 200, 250, 250, 250]);
    expect([...resizeRgb(ramp, 4, 1, 2, 1)]).toEqual([50, 50, 50, 225, 225, 225]);
  });
  it('crop clamps to the image and copies rows', () => {
    const src = new Uint8Array(3 * 2 * 3).map((_, i) => i);
    const c = cropRgb(src, 3, 2, { x: 1, y: 1, w: 5, h: 5 });
    expect([c.x, c.y, c.width, c.height]).toEqual([1, 1, 2, 1]);
    expect([...c.data]).toEqual([12, 13, 14, 15, 16, 17]);
  });
});

describe('strategy registry', () => {
  it('creates every listed strategy and parses arguments', () => {
    for (const s of strategyNames().filter((n) => !n.name.includes('<'))) expect(createStrategy(s.name).name.startsWith(s.name)).toBe(true);
    expect(createStrategy('arac-uniform-0.5').name).toBe('arac-uniform-0.5');
    expect(createStrategy('arac-uniform-0.25:3x3').name).toBe('arac-uniform-0.25:3x3');
    expect(createStrategy('arac-uniform-0').name).toBe('arac-c0');
    expect(createStrategy('skip-track:5').name).toBe('skip-track:5');
    expect(createStrategy('arac-c0:3x2').name).toBe('arac-c0:3x2');
    expect(createStrategy('arac-c0').models).toBe('arac');
  });
  it('rejects unknown names and bad arguments with a typed error naming them', () => {
    expect(() => createStrategy('nope')).toThrow(InputError);
    expect(() => createStrategy('nope')).toThrow(/unknown strategy 'nope'.*full/);
    expect(() => createStrategy('skip-track:0')).toThrow(/skip-track/);
    expect(() => createStrategy('arac-c0:4by4')).toThrow(/4x4/);
  });
});
