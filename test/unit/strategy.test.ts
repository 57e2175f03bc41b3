import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { cropRgb, resizeRgb } from '../../src/strategy/image-ops.js';
import { regionFor, regionsFor } from '../../src/strategy/motion-regions.js';
import { splitStrategies } from '../../src/cli/commands/replay.js';
import type { AracAdaptiveStrategy } from '../../src/strategy/arac-adaptive.js';
import { createStrategy, parseStrategy, strategyNames } from '../../src/strategy/registry.js';
import { DEFAULT_REFRESH, DEFAULT_SKIP_EVERY, formatSpec } from '../../src/strategy/spec.js';

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

describe('strategy specs (one parser for the CLI and the YAML)', () => {
  const make = (text: string) => createStrategy(parseStrategy(text));
  it('creates every listed strategy and parses arguments', () => {
    for (const s of strategyNames().filter((n) => !n.name.includes('<'))) expect(make(s.name).name.startsWith(s.name)).toBe(true);
    expect(make('arac-uniform-0.5').name).toBe('arac-uniform-0.5');
    expect(make('arac-uniform-0.25:3x3').name).toBe('arac-uniform-0.25:3x3');
    expect(make('arac-uniform-0').name).toBe('arac-c0');
    expect(make('skip-track:5').name).toBe('skip-track:5');
    expect(make('arac-c0:3x2').name).toBe('arac-c0:3x2');
    expect(make('arac-c0').models).toBe('arac');
  });

  it('parses to a typed spec: grid and refresh travel as values, never as text to parse again', () => {
    expect(parseStrategy('arac-cgg:2x2')).toEqual({ name: 'arac-cgg', grid: { cols: 2, rows: 2 }, refresh: DEFAULT_REFRESH });
    expect(parseStrategy('arac:grid=3x3,refresh=8')).toEqual({ name: 'arac', grid: { cols: 3, rows: 3 }, refresh: { frames: 8, ms: DEFAULT_REFRESH.ms } });
    expect(parseStrategy('skip-track')).toEqual({ name: 'skip-track', every: DEFAULT_SKIP_EVERY });
    expect(parseStrategy('downscale:3')).toEqual({ name: 'downscale', factor: 3 });
    expect(parseStrategy('arac-c0:3x2')).toEqual({ name: 'arac-uniform', grid: { cols: 3, rows: 2 }, level: 0 });
    // Formatting and parsing agree.
    for (const t of ['arac', 'arac:3x3', 'arac-cgg:2x2,refresh=8', 'skip-track:3', 'downscale', 'downscale:3', 'arac-c0:3x2', 'arac-uniform-0.5', 'arac-oracle:2x2', 'full']) {
      expect(formatSpec(parseStrategy(t))).toBe(t);
    }
  });

  it('arac-cgg with a 2x2 grid runs a 2x2 grid (it used to run 4x4: the grid travelled as text)', () => {
    const s = make('arac-cgg:2x2') as AracAdaptiveStrategy;
    expect(s.name).toBe('arac-cgg:2x2');
    expect(s.grid).toEqual({ cols: 2, rows: 2 });
  });

  it('rejects unknown names and bad arguments with a typed error naming the option', () => {
    expect(() => parseStrategy('nope')).toThrow(InputError);
    expect(() => parseStrategy('nope')).toThrow(/--strategy: unknown strategy 'nope'.*full/);
    expect(() => parseStrategy('skip-track:0')).toThrow(/skip-track/);
    expect(() => parseStrategy('arac-c0:4by4')).toThrow(/4x4/);
    expect(() => parseStrategy('full:3')).toThrow(/strategy full: takes no argument '3'/);
    expect(() => parseStrategy('skip-track:grid=2x2')).toThrow(/takes no 'grid'/);
    expect(() => parseStrategy('arac:17x1', '--strategies')).toThrow(/--strategies: .*1\.\.16/);
  });

  it('splits a bench list whose items carry their own commas', () => {
    expect(splitStrategies('full,arac:3x3,refresh=8,skip-track:3,downscale').map((s) => formatSpec(s))).toEqual(['full', 'arac:3x3,refresh=8', 'skip-track:3', 'downscale']);
  });

  it('splits budgets into one strategy each (a colon starts a new one)', () => {
    expect(splitStrategies('arac,arac:budget=0.35,arac:3x3,budget=0.5,arac-oracle:budget=0.35').map((s) => formatSpec(s))).toEqual(['arac', 'arac:budget=0.35', 'arac:3x3,budget=0.5', 'arac-oracle:budget=0.35']);
  });
});
