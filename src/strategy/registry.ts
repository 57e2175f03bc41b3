/** Strategy specs (src/strategy/spec.ts) -> per-camera instances. */
import { InputError } from '../core/errors.js';
import { AracAdaptiveStrategy, DEFAULT_ADAPTIVE } from './arac-adaptive.js';
import { AracOracleStrategy } from './arac-oracle.js';
import { AracUniformStrategy } from './arac-uniform.js';
import { DownscaleStrategy, FullStrategy, SkipTrackStrategy } from './basic.js';
import { MotionRegionsStrategy } from './motion-regions.js';
import { formatSpec, STRATEGY_SUMMARIES, strategySpecSchema, type StrategySpec } from './spec.js';
import type { Strategy } from './types.js';

export function createStrategy(spec: StrategySpec): Strategy {
  switch (spec.name) {
    case 'full':
      return new FullStrategy();
    case 'downscale':
      return new DownscaleStrategy(spec.factor);
    case 'skip-track':
      return new SkipTrackStrategy(spec.every);
    case 'motion-regions':
      return new MotionRegionsStrategy();
    case 'arac-oracle':
      return new AracOracleStrategy(spec.grid, spec.budget !== undefined ? { budget: spec.budget } : {});
    case 'arac-uniform':
      return new AracUniformStrategy(spec.grid.cols, spec.grid.rows, spec.level);
    case 'arac':
    case 'arac-cgg':
    case 'arac-stitched': {
      const base = { ...DEFAULT_ADAPTIVE, name: formatSpec(spec), grid: spec.grid, refreshFrames: spec.refresh.frames, refreshMs: spec.refresh.ms, ...(spec.budget !== undefined ? { budget: spec.budget } : {}) };
      if (spec.name === 'arac-cgg') return new AracAdaptiveStrategy({ ...base, learnt: true, importance: { learntTracks: true } });
      if (spec.name === 'arac-stitched') return new AracAdaptiveStrategy({ ...base, path: 'stitched' });
      return new AracAdaptiveStrategy(base);
    }
  }
}

export function strategyNames(): ReadonlyArray<{ name: string; summary: string }> {
  return STRATEGY_SUMMARIES;
}

/** A strategy named on the command line (`flag` names the option in the error). */
export function parseStrategy(text: string, flag = '--strategy'): StrategySpec {
  const r = strategySpecSchema.safeParse(text);
  if (!r.success) throw new InputError(`${flag}: ${r.error.issues.map((i) => i.message).join('; ')}`);
  return r.data;
}
