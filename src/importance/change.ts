/**
 * Change since each tile was last computed: the share of a tile's cells
 * whose luma differs by more than `delta` from what the tile looked like
 * when the detector last ran on it. This is the question a skipped tile
 * raises (are its held-over detections still right?), asked of the pixels:
 * an object that moves slowly accumulates change until its tile is
 * recomputed, a parked car never does, and sensor noise does not accumulate.
 * A background-subtraction motion map instead flags every moving pixel every
 * frame, even where the held detections are still right.
 *
 * It needs no background model: a lighting change or a new camera makes
 * every tile differ from its reference, so every tile is recomputed, and a
 * tile never computed counts as wholly changed. `updateFrame` downscales the
 * frame itself; `update` takes luma someone else already made. `commit`
 * records a computed tile's cells as its new reference.
 */
import type { Box } from '../core/types.js';
import { downscaleLuma, maskFractionInRect } from './motion-ops.js';

export interface LumaView {
  data: Uint8Array;
  width: number;
  height: number;
  factor: number;
}

export class ChangeMap {
  private ref = new Uint8Array(0);
  /** 1 where a cell has a reference (its tile was computed at least once). */
  private known = new Uint8Array(0);
  private changed = new Uint8Array(0);
  private view: LumaView | undefined;

  /** @param delta luma difference (0..255) above which a cell counts as changed. */
  constructor(private readonly delta = 24) {}

  reset(): void {
    this.ref = new Uint8Array(0);
    this.known = new Uint8Array(0);
    this.changed = new Uint8Array(0);
    this.view = undefined;
  }

  private own = new Uint8Array(0);

  /** Downscale an RGB24 frame to about `targetHeight` rows of luma (as the motion map does), then `update`. */
  updateFrame(rgb: Uint8Array, width: number, height: number, targetHeight = 120): void {
    const factor = Math.max(1, Math.min(Math.round(height / targetHeight), width, height));
    const w = Math.floor(width / factor);
    const h = Math.floor(height / factor);
    if (this.own.length !== w * h) this.own = new Uint8Array(w * h);
    downscaleLuma(rgb, width, height, factor, this.own);
    this.update({ data: this.own, width: w, height: h, factor });
  }

  /** This frame's luma; marks changed cells (a cell with no reference counts as changed). */
  update(luma: LumaView): void {
    const n = luma.width * luma.height;
    if (this.ref.length !== n || this.view?.width !== luma.width || this.view.factor !== luma.factor) {
      this.ref = new Uint8Array(n);
      this.known = new Uint8Array(n);
      this.changed = new Uint8Array(n);
    }
    this.view = luma;
    const { data } = luma;
    const ref = this.ref;
    const known = this.known;
    const out = this.changed;
    const d = this.delta;
    for (let i = 0; i < n; i++) {
      const diff = (data[i] as number) - (ref[i] as number);
      out[i] = known[i] === 0 || diff > d || diff < -d ? 1 : 0;
    }
  }

  /** Share (0..1) of the rect's cells (input pixels) that changed since their tile was last computed. */
  fractionIn(rect: Box): number {
    const v = this.view;
    if (!v) return 1;
    return maskFractionInRect(this.changed, v.width, v.height, v.factor, rect);
  }

  /**
   * Sample `rect` (input pixels) at size x size points (nearest cell) into two
   * planes from `offset`: this frame's luma and its absolute difference from
   * the reference where that exceeds `delta` (0 below: noise), both scaled to
   * 0..1. A cell with no reference differs by its own value (its reference
   * counts as black). The compression controller's pixel input; returns
   * whether any sampled cell changed, false too before the first frame.
   */
  patch(rect: Box, size: number, cur: Float32Array, diff: Float32Array, offset = 0): boolean {
    const v = this.view;
    if (!v) return false;
    const f = v.factor;
    const delta = this.delta;
    let any = false;
    for (let j = 0; j < size; j++) {
      const cy = Math.min(v.height - 1, Math.max(0, Math.floor((rect.y + ((j + 0.5) * rect.h) / size) / f)));
      const row = cy * v.width;
      for (let i = 0; i < size; i++) {
        const cx = Math.min(v.width - 1, Math.max(0, Math.floor((rect.x + ((i + 0.5) * rect.w) / size) / f)));
        const c = row + cx;
        const now = v.data[c] as number;
        const ref = this.known[c] === 0 ? 0 : (this.ref[c] as number);
        const d = now > ref ? now - ref : ref - now;
        cur[offset + j * size + i] = now / 255;
        if (d > delta) {
          diff[offset + j * size + i] = d / 255;
          any = true;
        } else {
          diff[offset + j * size + i] = 0;
        }
      }
    }
    return any;
  }

  /** The detector ran on `rect` this frame: its cells become the reference. */
  commit(rect: Box): void {
    const v = this.view;
    if (!v) return;
    const f = v.factor;
    const x0 = Math.max(0, Math.floor(rect.x / f));
    const y0 = Math.max(0, Math.floor(rect.y / f));
    const x1 = Math.min(v.width, Math.ceil((rect.x + rect.w) / f));
    const y1 = Math.min(v.height, Math.ceil((rect.y + rect.h) / f));
    for (let y = y0; y < y1; y++) {
      const row = y * v.width;
      this.ref.set(v.data.subarray(row + x0, row + x1), row + x0);
      this.known.fill(1, row + x0, row + x1);
      this.changed.fill(0, row + x0, row + x1);
    }
  }
}
