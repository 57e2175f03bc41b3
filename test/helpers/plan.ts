/** The tiles plan of a strategy result; a test fails loudly when a tiled strategy returned another kind or none. */
import type { StrategyResult, TilesPlan } from '../../src/strategy/types.js';

export function tilesOf(r: Pick<StrategyResult, 'plan'> | undefined): TilesPlan {
  const p = r?.plan;
  if (p?.kind !== 'tiles') throw new Error(`expected a tiles plan, got ${p ? p.kind : 'none'}`);
  return p;
}
