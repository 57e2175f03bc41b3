/**
 * Tiles a camera's masks rule out (pure). A mask is a region whose
 * detections are never published; the camera drops a detection whose box
 * centre lies in one (src/camera/masks.ts). ARAC assigns a detection to the
 * tile that holds its centre, so every detection a tile wholly inside a mask
 * could yield would be dropped anyway: computing that tile is wasted work,
 * and skipping it is free (it never loses a published box). A tile that a
 * mask only partly covers can still yield boxes outside it, and is left to
 * the usual rules.
 */
import { rectInPolygon, type Polygon } from '../core/polygon.js';
import type { Tile } from './geometry.js';

/** The plan's reason letter for a masked tile (importance's letters are t m c s r i l q). */
export const MASKED_REASON = 'x';

/**
 * Indices of the tiles (detector-input pixels) that lie wholly inside one
 * of the masks (source pixels); `scale` maps input to source pixels. A tile
 * covered only by several masks together is not counted: masks are drawn
 * one region each, and the union test is not worth its cost.
 */
export function maskedTiles(tiles: readonly Tile[], masks: readonly Polygon[] | undefined, scale: { sx: number; sy: number }): ReadonlySet<number> {
  const out = new Set<number>();
  if (!masks || masks.length === 0) return out;
  for (const t of tiles) {
    const src = { x: t.x * scale.sx, y: t.y * scale.sy, w: t.w * scale.sx, h: t.h * scale.sy };
    if (masks.some((m) => rectInPolygon(src, m))) out.add(t.index);
  }
  return out;
}

/** `levels` with every masked tile skipped (1); the same array when nothing changes. */
export function skipMasked(levels: readonly number[], masked: ReadonlySet<number>): readonly number[] {
  if (masked.size === 0 || [...masked].every((i) => (levels[i] ?? 1) >= 1)) return levels;
  return levels.map((l, i) => (masked.has(i) ? 1 : l));
}

/** Decisions with every masked tile skipped, safely (confidence 1, not forced): DEMUX never lowers a skip. */
export function forceSkip<D extends { level: number; confidence: number; forced?: boolean }>(decisions: D[], masked: ReadonlySet<number>): D[] {
  if (masked.size === 0) return decisions;
  return decisions.map((d, i) => (masked.has(i) ? { ...d, level: 1, confidence: 1, forced: false } : d));
}

/** `due` (tiles the refresh scheduler names) without the masked ones: a masked tile is never due. */
export function unmaskedDue(due: ReadonlySet<number>, masked: ReadonlySet<number>): Set<number> {
  return new Set([...due].filter((i) => !masked.has(i)));
}
