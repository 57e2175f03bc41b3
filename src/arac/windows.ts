/**
 * Window planning for the windowed ARAC path (pure functions).
 *
 * NanoDet's deep layers see the whole frame (stage 4: 783 px receptive field,
 * and the PAN lifts stride-32 features back to stride 8), so no exact split
 * lets the cross-tile part's cost follow the active tiles. The windowed path
 * trades exactness for that: the whole network runs on windows around the
 * active tiles (tile + `halo` context, clipped to the frame), and only the
 * head cells inside the active tiles are kept; every other cell keeps its
 * cached head output. What that costs in accuracy is measured by `neulens
 * bench` (arac-oracle, arac), not assumed.
 *
 * Windows of one level are merged greedily while the merged box computes no
 * more pixels than the two apart plus one call's fixed overhead (expressed as
 * pixels): neighbouring tiles then share their context.
 */
import { boundingWindow, type Rect, type Tile } from './geometry.js';

export interface PlannedWindow {
  rect: Rect;
  /** Tiles of this level the window was made for. */
  tiles: Tile[];
}

export const area = (r: Rect): number => r.w * r.h;

/**
 * Context around each active tile, px (a multiple of the 32-px cell). 64
 * (half the front's receptive field): on the traffic clip `arac` scored F1
 * 0.951 with it against 0.910 with 32, at about the same latency.
 */
export const DEFAULT_WINDOW_HALO = 64;
/**
 * One model call's fixed cost as a fraction of a whole frame's compute: what
 * merging two windows saves besides shared context (measured on the 2-core
 * CPU: about 1 ms against about 25 ms for the unsplit model).
 */
export const DEFAULT_CALL_FRACTION = 0.04;

export interface WindowGeometry {
  width: number;
  height: number;
  halo: number;
  callFraction: number;
  /**
   * Grow every window to a canonical shape (canonicalWindow), so that
   * windows of different frames and cameras share a shape and batch.
   * Default false: each window is as small as its tiles and context allow.
   */
  canonical?: boolean;
}

/** Canonical sizes per axis: this many steps of the frame's side (quarters). */
export const CANONICAL_STEPS = 4;

/**
 * The canonical sizes of one side of the frame: k/4 of it for k = 1..4,
 * rounded up to the 32-px cell (the detector's largest stride), the last
 * being the side itself. At 512x288: widths 128, 256, 384, 512 and heights
 * 96, 160, 224, 288.
 */
export function canonicalSizes(side: number): number[] {
  const out = new Set<number>();
  for (let k = 1; k < CANONICAL_STEPS; k++) out.add(Math.min(side, Math.ceil((side * k) / CANONICAL_STEPS / 32) * 32));
  out.add(side);
  return [...out].sort((a, b) => a - b);
}

/**
 * A window grown to the smallest canonical shape that holds it, around it
 * and inside the frame (Pure). Growing adds real context, never padding,
 * so the tiles it keeps see at least what they saw. Windows of few shapes
 * batch across frames and cameras (src/inference/batcher.ts), which on a
 * device with a fixed cost per call (WebGPU) is worth far more than the
 * extra pixels; on the CPU those pixels cost, so it is only done when
 * batching is on. A window grown to the frame runs as the whole frame.
 */
export function canonicalWindow(r: Rect, width: number, height: number): Rect {
  const w = canonicalSizes(width).find((s) => s >= r.w) ?? width;
  const h = canonicalSizes(height).find((s) => s >= r.h) ?? height;
  // Grown about its middle, on the 32-px cells windows keep to (so each stride maps cells one to one).
  const x = Math.max(0, Math.min(width - w, r.x - Math.floor((w - r.w) / 64) * 32));
  const y = Math.max(0, Math.min(height - h, r.y - Math.floor((h - r.h) / 64) * 32));
  return { x, y, w, h };
}

/**
 * Greedy pairwise merge of the tiles' context windows. `callPixels` is one
 * model call's fixed cost expressed as pixels of compute (merging two
 * windows saves a call).
 */
export function mergeWindows(tiles: readonly Tile[], halo: number, width: number, height: number, callPixels: number): PlannedWindow[] {
  const wins: PlannedWindow[] = tiles.map((t) => ({ rect: boundingWindow([t], halo, width, height), tiles: [t] }));
  for (;;) {
    let best: { i: number; j: number; gain: number; rect: Rect } | undefined;
    for (let i = 0; i < wins.length; i++) {
      for (let j = i + 1; j < wins.length; j++) {
        const a = wins[i] as PlannedWindow;
        const b = wins[j] as PlannedWindow;
        const rect = boundingWindow([...a.tiles, ...b.tiles], halo, width, height);
        // Touching tiles (corners too) always share a window: an object across their border must be seen whole.
        const gain = touching(a.tiles, b.tiles) ? Infinity : area(a.rect) + area(b.rect) + callPixels - area(rect);
        if (gain >= 0 && (!best || gain > best.gain)) best = { i, j, gain, rect };
      }
    }
    if (!best) return wins;
    const a = wins[best.i] as PlannedWindow;
    const b = wins[best.j] as PlannedWindow;
    wins.splice(best.j, 1);
    wins[best.i] = { rect: best.rect, tiles: [...a.tiles, ...b.tiles] };
  }
}

/** True when the rect is the whole frame. */
export const isFrame = (r: Rect, width: number, height: number): boolean => r.x === 0 && r.y === 0 && r.w === width && r.h === height;

/** Tiles wholly inside a rect. */
function tilesInside(rect: Rect, tiles: readonly Tile[]): Tile[] {
  return tiles.filter((t) => t.x >= rect.x && t.y >= rect.y && t.x + t.w <= rect.x + rect.w && t.y + t.h <= rect.y + rect.h);
}

/**
 * One level's windows for a frame, and which tiles each one refreshes: its
 * own tiles, plus tiles planned as skipped that lie wholly inside its core
 * (the box of its own tiles, without context): those get fresh results for
 * free. Tiles planned at another compute level are never overwritten.
 */
export function planLevelWindows(
  group: readonly Tile[],
  all: readonly Tile[],
  levels: readonly number[],
  width: number,
  height: number,
  halo: number,
  callPixels: number,
): Array<{ rect: Rect; keep: Tile[] }> {
  return mergeWindows(group, halo, width, height, callPixels).map((w) => {
    const core = boundingWindow(w.tiles, 0, width, height);
    const own = new Set(w.tiles.map((t) => t.index));
    const freeRiders = tilesInside(core, all).filter((t) => !own.has(t.index) && (levels[t.index] ?? 1) >= 1);
    const keep = isFrame(w.rect, width, height) ? all.filter((t) => own.has(t.index) || (levels[t.index] ?? 1) >= 1) : [...w.tiles, ...freeRiders];
    return { rect: w.rect, keep: keep.sort((a, b) => a.index - b.index) };
  });
}

/** True when some tile of `a` shares an edge or a corner with some tile of `b`. */
export function touching(a: readonly Tile[], b: readonly Tile[]): boolean {
  return a.some((s) => b.some((t) => s.x <= t.x + t.w && t.x <= s.x + s.w && s.y <= t.y + t.h && t.y <= s.y + s.h));
}

/**
 * A whole windowed plan: per compute level (in plan order of first
 * appearance), its windows and the tiles each refreshes. The executor runs
 * it; the DEMUX cost model prices it.
 */
export function planWindowed(levels: readonly number[], tiles: readonly Tile[], g: WindowGeometry): Array<{ level: number; windows: Array<{ rect: Rect; keep: Tile[] }> }> {
  const byLevel = new Map<number, Tile[]>();
  levels.forEach((lvl, i) => {
    if (lvl >= 1) return;
    byLevel.set(lvl, [...(byLevel.get(lvl) ?? []), tiles[i] as Tile]);
  });
  const callPixels = g.callFraction * g.width * g.height;
  return [...byLevel].map(([level, group]) => {
    const windows = planLevelWindows(group, tiles, levels, g.width, g.height, g.halo, callPixels);
    return { level, windows: g.canonical ? windows.map((w) => canonicalKeep(w, tiles, levels, g)) : windows };
  });
}

/**
 * A planned window grown to its canonical shape. Grown to the whole frame,
 * it keeps what a planned frame window keeps: every tile but those of
 * another compute level.
 */
function canonicalKeep(w: { rect: Rect; keep: Tile[] }, all: readonly Tile[], levels: readonly number[], g: WindowGeometry): { rect: Rect; keep: Tile[] } {
  const rect = canonicalWindow(w.rect, g.width, g.height);
  if (!isFrame(rect, g.width, g.height) || isFrame(w.rect, g.width, g.height)) return { rect, keep: w.keep };
  const own = new Set(w.keep.map((t) => t.index));
  return { rect, keep: all.filter((t) => own.has(t.index) || (levels[t.index] ?? 1) >= 1) };
}

/** Windows of one size run as one batched call: the batches, in first-seen order. */
export function batchesBySize<W extends { rect: Rect }>(windows: readonly W[]): W[][] {
  const bySize = new Map<string, W[]>();
  for (const w of windows) {
    const key = `${w.rect.w}x${w.rect.h}`;
    bySize.set(key, [...(bySize.get(key) ?? []), w]);
  }
  return [...bySize.values()];
}
