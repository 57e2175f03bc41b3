/**
 * Refresh rule: a skipped tile reuses features cached when it was last
 * computed, so an object that enters an idle tile without motion (a slow
 * walker, motion still warming up, a miss by the motion threshold) would stay
 * invisible for as long as the tile is skipped. Every tile is therefore
 * recomputed at least every `everyFrames` frames and every `everyMs` ms.
 *
 * Staggering: each frame forces a quota of ceil(tiles / N) tiles, N being the
 * bound in frames (or everyMs / frame interval when that is tighter), chosen
 * earliest-deadline-first. In an idle scene that is a round robin of one tile
 * per frame for 16 tiles and N = 16, so no frame pays for a full refresh;
 * tiles computed anyway (tracks, motion) move their own deadline, so the
 * quota goes to the idle tiles that have waited longest. Tiles at their deadline are forced even beyond the quota, up to
 * `maxPerFrame`.
 *
 * Why the bound holds. Without a cap it is trivial: a tile at its deadline
 * is always forced. With a cap >= quota q = ceil(n / N), count the tiles at
 * their deadline at frame F (not computed since F - N). In each of the N - 1
 * frames before F, q tiles were forced, earliest deadline first, so each had
 * a deadline <= F; once computed at frame g its next deadline is g + N > F,
 * so none is forced twice in that window. That is (N - 1) q distinct tiles,
 * none of them due at F, leaving at most n - (N - 1) q <= n / N <= q <= cap
 * tiles due at F: all are forced. Natural computations only remove tiles
 * from the count. The same holds in time with N = everyMs / frame interval.
 * The argument assumes every forced tile is computed; a dropped frame delays
 * its tiles (they stay due), and the unit test checks the bound against random
 * natural computations and jittered clocks; `stats.overdue` counts breaches.
 *
 * The time bound uses a running mean of the frame interval: a tile whose bound
 * would pass before the next frame is forced now, "the next frame" being
 * guessed as 1.5x the mean interval away (or the last interval, if longer).
 * So the bound holds while no interval exceeds that guess; a stalled stream
 * or dropped frames can still exceed it, which is counted, not hidden.
 *
 * Tiles never computed (first frame, after reset or a tile-count change) are
 * all forced at once, whatever the cap: the cache holds zeros there, which is
 * worse than stale, and one full frame costs what the unsplit model costs.
 */
import { ConfigError, InputError } from '../core/errors.js';

export interface RefreshOptions {
  /** Upper bound on frames between two computations of a tile. */
  everyFrames: number;
  /** Upper bound on ms between two computations of a tile. */
  everyMs: number;
  /** Most warm tiles forced in one frame (never-computed tiles are not capped). Default: no cap. */
  maxPerFrame?: number;
  /**
   * Spread refreshes over frames (default true: ceil(tiles / bound) a frame,
   * earliest deadline first). Off, only tiles at their bound are forced.
   */
  stagger?: boolean;
}

export interface RefreshStats {
  frames: number;
  /** Tiles forced over all frames (never-computed ones included). */
  forced: number;
  /** Computations that came later than a bound allowed (frames or ms). */
  overdue: number;
  /** Largest gap seen between computations of one tile, frames and ms. */
  maxGapFrames: number;
  maxGapMs: number;
}

export class RefreshScheduler {
  private readonly everyFrames: number;
  private readonly everyMs: number;
  private readonly maxPerFrame: number;
  private readonly stagger: boolean;
  private n = 0;
  private frame = -1;
  private lastFrame = new Float64Array(0);
  private lastTs = new Float64Array(0);
  private prevTs = NaN;
  private lastInterval = NaN;
  private meanInterval = NaN;
  private atBound = new Set<number>();
  private counters: RefreshStats = { frames: 0, forced: 0, overdue: 0, maxGapFrames: 0, maxGapMs: 0 };

  constructor(o: RefreshOptions) {
    // The bound is the config's model.refresh: its errors name those keys.
    if (!(Number.isInteger(o.everyFrames) && o.everyFrames >= 1)) throw new ConfigError('model.refresh.frames', `must be an integer >= 1, got ${o.everyFrames}`);
    if (!(o.everyMs > 0)) throw new ConfigError('model.refresh.ms', `must be > 0, got ${o.everyMs}`);
    if (o.maxPerFrame !== undefined && !(Number.isInteger(o.maxPerFrame) && o.maxPerFrame >= 1)) {
      throw new InputError(`refresh: maxPerFrame must be an integer >= 1, got ${o.maxPerFrame}`);
    }
    this.everyFrames = o.everyFrames;
    this.everyMs = o.everyMs;
    this.maxPerFrame = o.maxPerFrame ?? Infinity;
    this.stagger = o.stagger ?? true;
  }

  /**
   * Of the tiles the last `due` named, those that must run this frame: at
   * their bound, or never computed. The rest of `due` is the stagger's quota,
   * which a budgeted plan may put off to a later frame (they are then due
   * again, with less slack).
   */
  get mustRun(): ReadonlySet<number> {
    return this.atBound;
  }

  get stats(): Readonly<RefreshStats> {
    return { ...this.counters };
  }

  /** Forget every tile (a new video, a new grid): the next frame forces all tiles. */
  reset(): void {
    this.n = 0;
  }

  /** Call once per frame, before choosing levels: the tiles to force this frame. */
  due(tsMs: number, tileCount: number): Set<number> {
    if (!Number.isInteger(tileCount) || tileCount < 1) throw new InputError(`refresh: tile count must be a positive integer, got ${tileCount}`);
    if (!Number.isFinite(tsMs)) throw new InputError(`refresh: timestamp must be finite, got ${tsMs}`);
    if (tileCount !== this.n) this.allocate(tileCount);
    this.frame++;
    this.counters.frames++;
    const dt = tsMs - this.prevTs;
    if (dt > 0) {
      this.lastInterval = dt;
      this.meanInterval = Number.isNaN(this.meanInterval) ? dt : this.meanInterval + 0.2 * (dt - this.meanInterval);
    }
    this.prevTs = tsMs;

    const n = this.n;
    const out = new Set<number>();
    this.atBound = new Set();
    const guard = Number.isNaN(this.meanInterval) ? NaN : Math.max(1.5 * this.meanInterval, this.lastInterval);
    // Frames a tile may still wait before its bound breaks; <= 0 means now.
    const slack = new Float64Array(n);
    const warm: number[] = [];
    for (let i = 0; i < n; i++) {
      if (this.lastFrame[i]! < 0) {
        out.add(i);
        continue;
      }
      const byFrames = this.lastFrame[i]! + this.everyFrames - this.frame;
      const msLeft = this.lastTs[i]! + this.everyMs - tsMs;
      const byMs = Number.isNaN(guard) ? (msLeft <= 0 ? 0 : Infinity) : Math.floor(msLeft / guard);
      slack[i] = Math.min(byFrames, byMs);
      warm.push(i);
    }
    for (const i of out) this.atBound.add(i);
    if (warm.length === 0) {
      this.counters.forced += out.size;
      return out;
    }
    const boundFrames = Number.isNaN(this.meanInterval) ? this.everyFrames : Math.max(1, Math.min(this.everyFrames, Math.floor(this.everyMs / this.meanInterval)));
    const quota = Math.ceil(n / boundFrames);
    warm.sort((a, b) => slack[a]! - slack[b]! || this.lastFrame[a]! - this.lastFrame[b]! || a - b);
    let must = 0;
    while (must < warm.length && slack[warm[must]!]! <= 0) must++;
    for (let k = 0; k < must; k++) this.atBound.add(warm[k]!);
    const take = Math.min(this.maxPerFrame, Math.max(this.stagger ? quota : 0, must), warm.length);
    for (let k = 0; k < take; k++) out.add(warm[k]!);
    this.counters.forced += out.size;
    return out;
  }

  /** Call for every tile the detector actually computed (level < 1) in the frame of the last `due`. */
  computed(tileIndex: number, tsMs: number): void {
    if (!Number.isInteger(tileIndex) || tileIndex < 0 || tileIndex >= this.n) throw new InputError(`refresh: tile ${tileIndex} is not in 0..${this.n - 1}`);
    const lf = this.lastFrame[tileIndex]!;
    if (lf >= 0) {
      const gapF = this.frame - lf;
      const gapMs = tsMs - this.lastTs[tileIndex]!;
      if (gapF > this.everyFrames || gapMs > this.everyMs) this.counters.overdue++;
      this.counters.maxGapFrames = Math.max(this.counters.maxGapFrames, gapF);
      this.counters.maxGapMs = Math.max(this.counters.maxGapMs, gapMs);
    }
    this.lastFrame[tileIndex] = this.frame;
    this.lastTs[tileIndex] = tsMs;
  }

  /** `computed` for every tile of a plan whose level is a compute level (< 1). */
  computedLevels(levels: readonly number[], tsMs: number): void {
    levels.forEach((l, i) => {
      if (l < 1) this.computed(i, tsMs);
    });
  }

  private allocate(n: number): void {
    this.n = n;
    this.lastFrame = new Float64Array(n).fill(-1);
    this.lastTs = new Float64Array(n).fill(-Infinity);
  }
}
