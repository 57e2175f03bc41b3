/** Strategy names as users type them (`--strategy skip-track:5`) -> per-camera instances. */
import { InputError } from '../core/errors.js';
import { AracAdaptiveStrategy, DEFAULT_ADAPTIVE } from './arac-adaptive.js';
import { AracOracleStrategy } from './arac-oracle.js';
import { AracUniformStrategy } from './arac-uniform.js';
import { DownscaleStrategy, FullStrategy, SkipTrackStrategy } from './basic.js';
import { MotionRegionsStrategy } from './motion-regions.js';
import type { Strategy } from './types.js';

/** Settings a deployment tunes without naming a different strategy (config `model.refresh`). */
export interface StrategyTuning {
  refreshFrames?: number;
  refreshMs?: number;
}

interface Entry {
  summary: string;
  create(arg: string | undefined, tuning: StrategyTuning): Strategy;
}

function intArg(name: string, arg: string | undefined, dflt: number, min: number): number {
  if (arg === undefined) return dflt;
  const v = Number(arg);
  if (!Number.isInteger(v) || v < min) throw new InputError(`strategy ${name}: '${arg}' must be an integer >= ${min}`);
  return v;
}

function gridArg(name: string, arg: string | undefined): [number, number] {
  if (arg === undefined) return [4, 4];
  const m = /^(\d+)x(\d+)$/.exec(arg);
  if (!m) throw new InputError(`strategy ${name}: grid '${arg}' must look like 4x4`);
  return [Number(m[1]), Number(m[2])];
}

const registry = new Map<string, Entry>([
  ['full', { summary: 'unsplit model on every frame (the reference)', create: () => new FullStrategy() }],
  ['downscale', { summary: 'unsplit model at 1/N the input size per side (downscale:N, default 2)', create: (a) => new DownscaleStrategy(intArg('downscale', a, 2, 2)) }],
  ['skip-track', { summary: 'detect every N frames, tracker predictions in between (skip-track:N, default 3)', create: (a) => new SkipTrackStrategy(intArg('skip-track', a, 3, 1)) }],
  ['motion-regions', { summary: "Frigate's approach: motion boxes and tracked objects -> square regions, detector per region crop", create: () => new MotionRegionsStrategy() }],
  ['arac', { summary: 'NeuLens: tracker + motion importance per tile, refresh bound, DEMUX fits the frame deadline (arac:CxR, default 4x4)', create: (a, t) => { const [cols, rows] = gridArg('arac', a); return new AracAdaptiveStrategy({ ...DEFAULT_ADAPTIVE, ...t, grid: { cols, rows } }); } }],
  ['arac-cgg', { summary: "arac with the pack's learnt compression controller (CGG) deciding every tile but new tracks and refreshes (arac-cgg:CxR)", create: (a, t) => { const [cols, rows] = gridArg('arac-cgg', a); return new AracAdaptiveStrategy({ ...DEFAULT_ADAPTIVE, ...t, grid: { cols, rows }, learnt: true, importance: { learntTracks: true } }); } }],
  ['arac-stitched', { summary: 'arac on the exact stitched path (every sliced level; the cross-tile rest runs on each computed frame)', create: (a, t) => { const [cols, rows] = gridArg('arac-stitched', a); return new AracAdaptiveStrategy({ ...DEFAULT_ADAPTIVE, ...t, grid: { cols, rows }, path: 'stitched' }); } }],
  ['arac-oracle', { summary: 'upper bound: each tile at the highest level whose detections still match the reference (labeling rule; arac-oracle:CxR)', create: (a) => { const [cols, rows] = gridArg('arac-oracle', a); return new AracOracleStrategy({ cols, rows }); } }],
  ['arac-c0', { summary: 'ARAC executor, every tile at full width (arac-c0:CxR, default 4x4)', create: (a) => new AracUniformStrategy(...gridArg('arac-c0', a), 0) }],
]);

/** Register a strategy family (the ARAC and motion strategies add theirs). */
export function registerStrategy(name: string, summary: string, create: (arg: string | undefined, tuning: StrategyTuning) => Strategy): void {
  registry.set(name, { summary, create });
}

export function strategyNames(): Array<{ name: string; summary: string }> {
  return [
    ...[...registry].map(([name, e]) => ({ name, summary: e.summary })),
    { name: 'arac-uniform-<c>', summary: 'ARAC executor, every tile at level c (a level in the model pack, e.g. arac-uniform-0.5; :CxR grid)' },
  ];
}

/** `arac-uniform-<level>[:CxR]`: every tile at one ARAC level (the level is part of the name). */
const UNIFORM = /^arac-uniform-(0|1|0?\.\d+)(?::(.+))?$/;

export function createStrategy(spec: string, tuning: StrategyTuning = {}): Strategy {
  const uniform = UNIFORM.exec(spec);
  if (uniform) return new AracUniformStrategy(...gridArg('arac-uniform', uniform[2]), Number(uniform[1]));
  const [name = '', arg] = spec.split(':', 2);
  const entry = registry.get(name);
  if (!entry) throw new InputError(`unknown strategy '${spec}' (known: ${[...registry.keys()].join(', ')})`);
  return entry.create(arg, tuning);
}
