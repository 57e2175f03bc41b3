/**
 * A frame's ARAC plan: the grid and one level per tile, and how the network
 * past the split runs. DEMUX builds it, the executor runs it, the cost model
 * prices it: the one type all three share, so it lives with the tile geometry.
 */
import type { Grid } from './geometry.js';

/** Per-tile level: 0 = full width ... 1 = skip (reuse cached results). */
export interface TilePlan {
  grid: Grid;
  levels: readonly number[];
  /**
   * How the network past the split runs (default 'stitched'):
   * - 'stitched': exact. Active tiles run the front in halo'd windows, skipped
   *   tiles reuse cached split features, and the cross-tile rest runs over the
   *   whole stitched map every frame (its cost is fixed, about two thirds).
   * - 'windowed': approximate. The whole network runs on context windows
   *   around the active tiles and only their head cells are kept; skipped
   *   tiles reuse cached head outputs. Cost follows the active area.
   */
  path?: 'stitched' | 'windowed';
  /** Windowed path: context around the active tiles for this frame, px (default: the executor's windowHalo). */
  halo?: number;
  /** Windowed path: grow the windows to canonical shapes (canonicalWindow), so that they batch across cameras. */
  canonical?: boolean;
}
