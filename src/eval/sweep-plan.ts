/**
 * The order of serve-slo's sweep runs (pure). Each run is one mode at one
 * camera count; a mode's results say which counts held. Two orders:
 *
 * - linear: count by count, every mode at each, a mode dropping out at its
 *   first count that missed (larger counts would only miss by more). A
 *   time budget that runs out leaves every mode measured up to about the
 *   same count.
 * - search: first a binary search per mode for its largest count that
 *   holds (log2 of the list's length runs each: 3 for 1..128 in powers of
 *   two, against up to 8), modes taking turns; then, while time remains,
 *   the counts below each mode's first miss that were skipped, smallest
 *   first. A GPU host's few minutes then buy the answer first and the
 *   detail after.
 *
 * Both assume that a mode holding at N holds at every smaller N.
 */
export type SweepOrder = 'linear' | 'search';

/** Per mode, per count run: whether it held. */
export type SweepResults = ReadonlyMap<string, ReadonlyMap<number, boolean>>;

/** The largest count that held with every smaller count run holding too, and the first that missed. */
export function sweepOutcome(results: ReadonlyMap<number, boolean> | undefined): { largestHeld: number; firstMissed?: number } {
  const runs = [...(results ?? new Map<number, boolean>())].sort((a, b) => a[0] - b[0]);
  let largestHeld = 0;
  for (const [n, held] of runs) {
    if (!held) return { largestHeld, firstMissed: n };
    largestHeld = n;
  }
  return { largestHeld };
}

/** Indices into `counts`: the largest held below the smallest missed, and that smallest missed (counts.length when none). */
function bracket(counts: readonly number[], res: ReadonlyMap<number, boolean>): { lo: number; hi: number } {
  let hi = counts.length;
  counts.forEach((n, i) => {
    if (res.get(n) === false && i < hi) hi = i;
  });
  let lo = -1;
  counts.forEach((n, i) => {
    if (i < hi && res.get(n) === true) lo = i;
  });
  return { lo, hi };
}

export function nextRun(order: SweepOrder, counts: readonly number[], modes: readonly string[], results: SweepResults): { mode: string; count: number } | undefined {
  const res = (m: string) => results.get(m) ?? new Map<number, boolean>();
  if (order === 'search') {
    // Binary search: the mode with the fewest runs whose bracket is still open goes next.
    const open = modes
      .map((mode) => ({ mode, ...bracket(counts, res(mode)), runs: res(mode).size }))
      .filter((b) => b.hi - b.lo > 1)
      .sort((a, b) => a.runs - b.runs);
    const b = open[0];
    if (b) return { mode: b.mode, count: counts[Math.floor((b.lo + b.hi + 1) / 2)] as number };
  }
  // Linear, or the search's fill: the smallest count not run, mode by mode, below each mode's first miss.
  for (const [i, count] of counts.entries()) {
    for (const mode of modes) {
      const r = res(mode);
      if (r.has(count)) continue;
      if (bracket(counts, r).hi < i) continue;
      return { mode, count };
    }
  }
  return undefined;
}
