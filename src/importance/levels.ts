/**
 * ARAC compute levels as a sorted list: 0 = full width, larger = more channels
 * sliced away, and 1 = skip (reuse cached features), which is never in the
 * list. The model pack decides which compute levels exist, so importance and
 * DEMUX take the list at construction instead of assuming {0, .25, .5, .75}.
 */
import { InputError } from '../core/errors.js';

export const SKIP = 1;

/** Validated copy: at least one level, each in [0, 1), strictly increasing. */
export function checkLevels(levels: readonly number[], where = 'levels'): readonly number[] {
  if (levels.length === 0) throw new InputError(`${where}: needs at least one compute level (0 = full width)`);
  levels.forEach((l, i) => {
    if (!Number.isFinite(l) || l < 0 || l >= 1) throw new InputError(`${where}: level ${l} must be in [0, 1) (1 = skip is implied)`);
    if (i > 0 && l <= levels[i - 1]!) throw new InputError(`${where}: levels must be strictly increasing, got ${levels.join(', ')}`);
  });
  return Object.freeze([...levels]);
}

/** The cheapest available level that is still <= `want`; the fullest level when none is. */
export function levelAtMost(levels: readonly number[], want: number): number {
  let best = levels[0]!;
  for (const l of levels) if (l <= want) best = l;
  return best;
}

/**
 * The "middle" compute level for motion without a track: the lower median of
 * the sliced levels (those above 0), erring toward more channels. Falls back
 * to the fullest level when the pack has only one.
 */
export function middleLevel(levels: readonly number[]): number {
  const sliced = levels.filter((l) => l > levels[0]!);
  if (sliced.length === 0) return levels[0]!;
  return sliced[Math.floor((sliced.length - 1) / 2)]!;
}

/** One step cheaper: the next compute level, or skip after the last one. */
export function nextLevel(levels: readonly number[], level: number): number {
  for (const l of levels) if (l > level) return l;
  return SKIP;
}
