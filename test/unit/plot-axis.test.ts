import { describe, expect, it } from 'vitest';
import { formatNumber, linearScale, linearTicks, logScale, niceDomain, niceStep, px } from '../../src/eval/plot-axis.js';
import { escapeXml } from '../../src/eval/plot-svg.js';

describe('nice numbers', () => {
  it('picks 1-2-5 steps', () => {
    expect([0.013, 0.15, 0.3, 7, 12, 450].map(niceStep)).toEqual([0.02, 0.2, 0.5, 10, 20, 500]);
    expect(niceStep(0)).toBe(1);
    expect(niceStep(NaN)).toBe(1);
  });

  it('rounds domains outwards and pads a zero-width range', () => {
    expect(niceDomain(0.12, 0.87)).toEqual([0, 1]);
    expect(niceDomain(13, 47)).toEqual([10, 50]);
    expect(niceDomain(42, 42)).toEqual([36, 48]);
    expect(niceDomain(0, 0)).toEqual([-1, 1]);
    expect(niceDomain(5, 1)).toEqual([1, 5]);
    expect(niceDomain(NaN, 3)).toEqual([0, 1]);
  });

  it('gives ticks without float dust', () => {
    expect(linearTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(linearTicks(0.1, 0.7, 6)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
    expect(linearTicks(-20, 20, 4)).toEqual([-20, -10, 0, 10, 20]);
    const s = linearScale([0, 1], [100, 0], 5);
    expect(s.map(0.25)).toBe(75);
    expect(s.ticks.map((t) => s.format(t))).toEqual(['0', '0.2', '0.4', '0.6', '0.8', '1']);
  });

  it('ends log domains on 1-2-5 values, or decades when wide', () => {
    const s = logScale(20, 149, [0, 100]);
    expect(s.domain).toEqual([20, 200]);
    expect(s.ticks).toEqual([20, 50, 100, 200]);
    expect(s.map(20)).toBe(0);
    expect(s.map(200)).toBeCloseTo(100, 9);
    const wide = logScale(0.3, 4000, [0, 1]);
    expect(wide.domain).toEqual([0.1, 10000]);
    expect(wide.ticks).toEqual([0.1, 1, 10, 100, 1000, 10000]);
    expect(wide.format(0.1)).toBe('0.1');
    expect(logScale(50, 50, [0, 1]).domain).toEqual([50, 100]);
  });

  it('formats numbers and pixel coordinates without NaN or -0', () => {
    expect(formatNumber(0.30000000000000004, 2)).toBe('0.3');
    expect(formatNumber(-0.0001, 2)).toBe('0');
    expect(formatNumber(NaN, 2)).toBe('');
    expect(px(NaN)).toBe('0');
    expect(px(-0.001)).toBe('0');
    expect(px(12.3456)).toBe('12.35');
  });

  it('escapes XML specials', () => {
    expect(escapeXml(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;');
  });
});
