/**
 * Tile importance: which ARAC level each tile needs this frame, from the
 * tracker's predicted boxes and the motion map. Pure; one call per frame.
 *
 * Rules, in order (defaults in DEFAULT_IMPORTANCE):
 *  0. settled: a confirmed track whose predicted box still overlaps the box
 *     the camera last showed for it (IoU >= `settledIou`), updated within
 *     `settledMaxMs`, needs no new detection: what its tiles show still
 *     matches where it is (the labeling rule's test, with the tracker's
 *     prediction standing in for the reference). It marks nothing, and the
 *     motion it explains (inside its region) does not count. Tiles it alone
 *     touches are 'settled' (skipped). Past `settledMaxMs` it is an ordinary
 *     track again, so the tracker gets a measurement before it ages out.
 *  1. track:  the tile overlaps a track's grown region -> `trackLevel` (0).
 *     The region is the Kalman search region (nSigma per edge, from the
 *     track's sigma), swept forward by velocity x `lookaheadMs` (covers the
 *     gap between the tracker's clock and the frame's, and a late track),
 *     plus `marginPx` input pixels (the detector needs some context around
 *     an object; the halo only covers the receptive field of the front).
 *  2. motion: no track but at least `motionThreshold` of the tile moves ->
 *     the middle sliced level if the pack has one, else full width. While
 *     the motion background is unreliable (warm-up, lighting change) every
 *     non-track tile counts as moving: nothing is known, so nothing is skipped.
 *  3. refresh: idle but the refresh scheduler forces it -> `refreshLevel` (0).
 *  4. idle -> skip (1): reuse the cached features.
 * A learnt controller (`learnt`, the paper's CGG) replaces rules 2 and 4:
 * its P(skip) decides every tile the track rule leaves (and, with
 * `learntTracks`, those too), refresh still forcing.
 *
 * Confidence says how safe a cheaper level than the chosen one would be; the
 * DEMUX controller spends it when the frame does not fit its budget. Bands:
 * idle/refresh [0.5, 1] (lower the nearer a track region or motion is, in
 * tile units), motion [0, 0.5) (lower the more of the tile moves), track
 * [0, 0.25] (lower the more of the tile the tracked regions cover). So the
 * controller gives up grazed and lightly-moving tiles before covered ones.
 */
import { InputError } from '../core/errors.js';
import { area, intersection, iou } from '../core/geometry.js';
import type { Box } from '../core/types.js';
import type { Tile } from '../arac/geometry.js';
import { searchRegion, type PredictedTrack } from '../track/tracker.js';
import { levelAtMost, middleLevel, SKIP } from './levels.js';

export type ImportanceReason = 'track' | 'motion' | 'change' | 'settled' | 'refresh' | 'idle' | 'learnt' | 'quiet';

export interface TileDecision {
  /** A compute level from the input's `levels`, or 1 (skip). */
  level: number;
  /** 0..1: how sure the controller may be that a cheaper level (or skip) is safe. */
  confidence: number;
  reason: ImportanceReason;
  /**
   * The refresh scheduler named this tile this frame (whatever the reason):
   * DEMUX raises it last, since computing it at any level keeps the refresh
   * bound, and a busy tile the controller raises would otherwise stay stale.
   */
  forced?: boolean;
}

export interface ImportanceOptions {
  /** Per-edge sigmas around a track's predicted box (see searchRegion). Default 2. */
  nSigma: number;
  /** The region is swept forward along the track's velocity by this much time. Default 50 ms. */
  lookaheadMs: number;
  /** Extra margin around every track region, input pixels. Default 8. */
  marginPx: number;
  /** Track tiles get the cheapest available level <= this. Default 0 (full width). */
  trackLevel: number;
  /** Motion tiles get the cheapest available level <= this; default: the middle sliced level, else 0. */
  motionLevel?: number;
  /** Share of a tile that must move for it to count as a motion tile. Default 0.02. */
  motionThreshold: number;
  /** Share of a tile moving at which a motion tile's confidence reaches 0. Default 0.25. */
  motionFull: number;
  /** Rule 2': share of a tile changed since it was last computed at which it is computed. Default 0.01 (0.005-0.04 tried on the development clips). */
  changeThreshold: number;
  /** Level of refresh-forced idle tiles (cheapest available <= this). Default 0. */
  refreshLevel: number;
  /** Tentative tracks mark tiles too (a new object is the one most likely to be lost). Default true. */
  includeTentative: boolean;
  /** Tracks whose last score is below this are ignored. Default 0. */
  minTrackScore: number;
  /** Distance, in tile sizes, beyond which a track or motion box no longer lowers an idle tile's confidence. Default 1.5. */
  nearTiles: number;
  /**
   * Rule 0: IoU of a track's predicted box with its last shown box at or
   * above which it is settled; > 1 turns the rule off. Default 0.8 (bench on
   * the development clips: 0.6 saved more work on PETS09 but cost 0.04 F1).
   */
  settledIou: number;
  /** Rule 0: a track not updated for this long is never settled (keep it under the tracker's maxAgeMs). Default 500 ms. */
  settledMaxMs: number;
  /**
   * With a learnt controller: it decides tiles that unsettled tracks touch
   * too (its input holds the tracks' prime). Off, the track rule keeps
   * those and the controller decides the rest. Default false.
   */
  learntTracks: boolean;
}

export const DEFAULT_IMPORTANCE: Readonly<ImportanceOptions> = Object.freeze({
  nSigma: 2,
  lookaheadMs: 50,
  marginPx: 8,
  trackLevel: 0,
  motionThreshold: 0.02,
  motionFull: 0.25,
  changeThreshold: 0.01,
  refreshLevel: 0,
  includeTentative: true,
  minTrackScore: 0,
  nearTiles: 1.5,
  settledIou: 0.8,
  settledMaxMs: 500,
  learntTracks: false,
});

export interface MotionInput {
  /** Motion boxes, input pixels. */
  boxes: readonly Box[];
  /** Share (0..1) of `rect` (input pixels) that moves: MotionDetector.motionInRect. */
  fractionIn(rect: Box): number;
  /** The motion map says nothing this frame (warming up, lighting change). */
  unreliable?: boolean;
}

export interface ImportanceInput {
  /** Tiles in detector-input pixels (makeTiles). */
  tiles: readonly Tile[];
  /** Detector input size. */
  frame: { width: number; height: number };
  /** Source pixels per input pixel along each axis (srcWidth / width, srcHeight / height). */
  scale: { sx: number; sy: number };
  /** Predicted tracks for this frame's time, source pixels. */
  tracks: readonly PredictedTrack[];
  motion?: MotionInput;
  /**
   * Change since each tile was last computed (ChangeMap.fractionIn). Given,
   * it replaces the motion rule (2'): a tile whose unexplained change reaches
   * `changeThreshold` is computed at the motion level; a motion map, if one
   * is given too, then only says when nothing is known (`unreliable`).
   */
  change?: { fractionIn(rect: Box): number };
  /**
   * The learnt compression controller's verdict per tile (Cgg): P(skip is
   * safe), and the probability at which it skips. Given, it replaces the
   * change and motion rules (2, 2'): a tile is skipped when P(skip) reaches
   * the threshold ('quiet'), else computed ('learnt'); its confidence is
   * P(skip), so DEMUX first gives up the tiles it nearly skipped.
   */
  learnt?: { skip: readonly number[]; threshold: number };
  /** Available compute levels, sorted (checkLevels); 1 = skip is implied. */
  levels: readonly number[];
  /** Tile indices the refresh scheduler forces this frame. */
  refresh?: ReadonlySet<number>;
  options?: Partial<ImportanceOptions>;
}

export function resolveImportanceOptions(o: Partial<ImportanceOptions> = {}): ImportanceOptions {
  const r: ImportanceOptions = { ...DEFAULT_IMPORTANCE, ...o };
  const bad = (key: keyof ImportanceOptions, v: number, want: string): never => {
    throw new InputError(`importance option ${key} must be ${want}, got ${v}`);
  };
  if (!(r.nSigma >= 0)) bad('nSigma', r.nSigma, '>= 0');
  if (!(r.lookaheadMs >= 0)) bad('lookaheadMs', r.lookaheadMs, '>= 0');
  if (!(r.marginPx >= 0)) bad('marginPx', r.marginPx, '>= 0');
  for (const k of ['trackLevel', 'refreshLevel'] as const) if (!(r[k] >= 0 && r[k] < 1)) bad(k, r[k], 'in [0, 1)');
  if (r.motionLevel !== undefined && !(r.motionLevel >= 0 && r.motionLevel < 1)) bad('motionLevel', r.motionLevel, 'in [0, 1)');
  if (!(r.motionThreshold > 0 && r.motionThreshold <= 1)) bad('motionThreshold', r.motionThreshold, 'in (0, 1]');
  if (!(r.motionFull > r.motionThreshold && r.motionFull <= 1)) bad('motionFull', r.motionFull, `in (motionThreshold=${r.motionThreshold}, 1]`);
  if (!(r.nearTiles > 0)) bad('nearTiles', r.nearTiles, '> 0');
  if (!(r.settledIou > 0)) bad('settledIou', r.settledIou, '> 0');
  if (!(r.settledMaxMs >= 0)) bad('settledMaxMs', r.settledMaxMs, '>= 0');
  return r;
}

/** A track's grown region in input pixels (see the module comment, rule 1). Pure. */
export function trackRegion(p: PredictedTrack, scale: { sx: number; sy: number }, o: Pick<ImportanceOptions, 'nSigma' | 'lookaheadMs' | 'marginPx'>): Box {
  const r = searchRegion(p, o.nSigma);
  const dx = (p.velocity.vx * o.lookaheadMs) / 1000;
  const dy = (p.velocity.vy * o.lookaheadMs) / 1000;
  const x0 = Math.min(r.x, r.x + dx);
  const y0 = Math.min(r.y, r.y + dy);
  const x1 = Math.max(r.x + r.w, r.x + r.w + dx);
  const y1 = Math.max(r.y + r.h, r.y + r.h + dy);
  const m = o.marginPx;
  return { x: x0 / scale.sx - m, y: y0 / scale.sy - m, w: (x1 - x0) / scale.sx + 2 * m, h: (y1 - y0) / scale.sy + 2 * m };
}

/** Rule 0 (see the module comment). Pure. */
export function isSettled(t: PredictedTrack, o: Pick<ImportanceOptions, 'settledIou' | 'settledMaxMs'>): boolean {
  return t.confirmed && t.msSinceUpdate <= o.settledMaxMs && iou(t.box, t.lastBox) >= o.settledIou;
}

/** Share of the tile that moves outside the settled tracks' regions (the motion they explain is theirs). */
function unexplainedMotion(tile: Box, explained: readonly Box[], motion: Pick<MotionInput, 'fractionIn'>): number {
  const tileArea = area(tile);
  let moving = motion.fractionIn(tile) * tileArea;
  for (const r of explained) {
    const x0 = Math.max(tile.x, r.x);
    const y0 = Math.max(tile.y, r.y);
    const x1 = Math.min(tile.x + tile.w, r.x + r.w);
    const y1 = Math.min(tile.y + tile.h, r.y + r.h);
    if (x1 <= x0 || y1 <= y0) continue;
    const part = { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
    moving -= motion.fractionIn(part) * area(part);
  }
  return Math.max(0, moving) / tileArea;
}

/** Euclidean gap between two boxes; 0 when they touch or overlap. */
export function boxGap(a: Box, b: Box): number {
  const dx = Math.max(0, a.x - (b.x + b.w), b.x - (a.x + a.w));
  const dy = Math.max(0, a.y - (b.y + b.h), b.y - (a.y + a.h));
  return Math.hypot(dx, dy);
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

export function tileImportance(input: ImportanceInput): TileDecision[] {
  const o = resolveImportanceOptions(input.options);
  const { levels, tiles, frame } = input;
  const trackLevel = levelAtMost(levels, o.trackLevel);
  const motionLevel = o.motionLevel === undefined ? middleLevel(levels) : levelAtMost(levels, o.motionLevel);
  const refreshLevel = levelAtMost(levels, o.refreshLevel);
  const sx = input.scale.sx > 0 ? input.scale.sx : 1;
  const sy = input.scale.sy > 0 ? input.scale.sy : 1;
  const frameBox: Box = { x: 0, y: 0, w: frame.width, h: frame.height };

  const regions: Box[] = [];
  const explained: Box[] = [];
  for (const t of input.tracks) {
    if (!t.confirmed && !o.includeTentative) continue;
    if (t.score < o.minTrackScore) continue;
    const r = trackRegion(t, { sx, sy }, o);
    // A NaN from a diverged filter or a track that left the frame marks nothing.
    if (![r.x, r.y, r.w, r.h].every(Number.isFinite) || intersection(r, frameBox) === 0) continue;
    if (isSettled(t, o)) explained.push(r);
    else regions.push(r);
  }
  const motion = input.motion;
  const motionBoxes = motion?.unreliable ? [] : (motion?.boxes ?? []);

  const decisions = tiles.map((tile): TileDecision => {
    const tileArea = area(tile);
    const reach = o.nearTiles * ((tile.w + tile.h) / 2);
    let cover = 0;
    let trackGap = Infinity;
    for (const r of regions) {
      const inter = intersection(tile, r);
      if (inter > 0) {
        cover += inter / tileArea;
        trackGap = 0;
      } else if (trackGap > 0) {
        trackGap = Math.min(trackGap, boxGap(tile, r));
      }
    }
    const nearTrack = trackGap === 0 ? 1 : 1 - clamp01(trackGap / reach);
    const learnt = input.learnt;
    if (trackGap === 0 && !(learnt && o.learntTracks)) return { level: trackLevel, confidence: 0.25 * (1 - clamp01(cover)), reason: 'track' };

    if (motion?.unreliable) return { level: motionLevel, confidence: 0.45 * (1 - 0.5 * nearTrack), reason: 'motion' };
    if (learnt) {
      const p = clamp01(learnt.skip[tile.index] ?? 0);
      if (input.refresh?.has(tile.index)) return { level: refreshLevel, confidence: p, reason: 'refresh' };
      return p >= learnt.threshold ? { level: SKIP, confidence: p, reason: 'quiet' } : { level: trackGap === 0 ? trackLevel : motionLevel, confidence: p, reason: 'learnt' };
    }
    if (input.change) {
      const changed = unexplainedMotion(tile, explained, input.change);
      if (changed >= o.changeThreshold) {
        return { level: motionLevel, confidence: 0.5 * (1 - clamp01(changed / o.motionFull)) * (1 - 0.5 * nearTrack), reason: 'change' };
      }
    }
    const moving = motion && !input.change ? unexplainedMotion(tile, explained, motion) : 0;
    if (moving >= o.motionThreshold) {
      return { level: motionLevel, confidence: 0.5 * (1 - clamp01(moving / o.motionFull)) * (1 - 0.5 * nearTrack), reason: 'motion' };
    }

    let motionGap = Infinity;
    for (const b of motionBoxes) motionGap = Math.min(motionGap, boxGap(tile, b));
    const nearMotion = 1 - clamp01(motionGap / reach);
    const near = Math.max(nearTrack, nearMotion, moving / o.motionThreshold);
    const confidence = 1 - 0.5 * clamp01(near);
    if (input.refresh?.has(tile.index)) return { level: refreshLevel, confidence, reason: 'refresh' };
    if (explained.some((r) => intersection(tile, r) > 0)) return { level: SKIP, confidence: 0.5 + 0.25 * (1 - clamp01(near)), reason: 'settled' };
    return { level: SKIP, confidence, reason: 'idle' };
  });
  if (input.refresh) for (const i of input.refresh) if (decisions[i]) decisions[i].forced = true;
  return decisions;
}

/** The decisions' levels, in tile order: the TilePlan's `levels` before DEMUX. */
export function decisionLevels(decisions: readonly TileDecision[]): number[] {
  return decisions.map((d) => d.level);
}
