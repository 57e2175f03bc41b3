import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { iou } from '../../src/core/geometry.js';
import type { Box } from '../../src/core/types.js';
import { MotionDetector } from '../../src/importance/motion.js';
import { rng } from '../helpers/rng.js';

const W = 512;
const H = 288;


/** A textured static scene (gradients plus a coarse checker) with mild per-frame sensor noise. */
function scene(rand: () => number, brightness = 0, noise = 6): Uint8Array {
  const f = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const checker = ((x >> 5) + (y >> 5)) & 1 ? 20 : 0;
      const base = 50 + ((x * 60) / W) + ((y * 30) / H) + checker + brightness;
      const i = (y * W + x) * 3;
      const n = (rand() - 0.5) * 2 * noise;
      f[i] = clamp(base + n);
      f[i + 1] = clamp(base + 10 + n);
      f[i + 2] = clamp(base - 10 + n);
    }
  }
  return f;
}

function clamp(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}

function paint(f: Uint8Array, b: Box, v: number): void {
  for (let y = b.y; y < b.y + b.h; y++) {
    for (let x = b.x; x < b.x + b.w; x++) {
      const i = (y * W + x) * 3;
      f[i] = v;
      f[i + 1] = v;
      f[i + 2] = v;
    }
  }
}

/** Feeds `count` static frames and returns the detector, past warm-up. */
function warmed(rand: () => number, count = 10, opts = {}): MotionDetector {
  const d = new MotionDetector(opts);
  for (let k = 0; k < count; k++) d.update(scene(rand), W, H);
  return d;
}

describe('MotionDetector', () => {
  it('reports nothing for a static noisy scene, flagging the warm-up frames', () => {
    const rand = rng(1);
    const d = new MotionDetector({ warmupFrames: 3 });
    const flags: boolean[] = [];
    for (let k = 0; k < 30; k++) {
      const r = d.update(scene(rand), W, H);
      flags.push(r.warmingUp);
      expect(r.boxes).toEqual([]);
      expect(r.lightingChange).toBe(false);
      expect(r.motionFraction).toBe(0);
    }
    expect(flags.slice(0, 5)).toEqual([true, true, true, true, false]);
    expect(d.motionInRect({ x: 0, y: 0, w: W, h: H })).toBe(0);
  });

  it('boxes a moving bright square and maps the mask back to input pixels', () => {
    const rand = rng(2);
    const d = warmed(rand);
    let last: ReturnType<MotionDetector['update']> | undefined;
    let truth: Box = { x: 0, y: 0, w: 0, h: 0 };
    for (let k = 0; k < 8; k++) {
      truth = { x: 100 + 12 * k, y: 90 + 4 * k, w: 40, h: 40 };
      const f = scene(rand);
      paint(f, truth, 240);
      last = d.update(f, W, H);
      expect(last.boxes).toHaveLength(1);
      expect(iou(last.boxes[0]!, truth)).toBeGreaterThan(0.5);
    }
    expect(last!.scale).toBe(2);
    expect([last!.maskWidth, last!.maskHeight]).toEqual([256, 144]);
    expect(last!.motionFraction).toBeGreaterThan(0);
    expect(d.motionInRect(truth)).toBeGreaterThan(0.8);
    expect(d.motionInRect({ x: 400, y: 200, w: 64, h: 64 })).toBe(0);
  });

  it('gives two boxes for two well-separated movers', () => {
    const rand = rng(3);
    const d = warmed(rand);
    for (let k = 0; k < 5; k++) {
      const a: Box = { x: 40 + 10 * k, y: 40, w: 36, h: 36 };
      const b: Box = { x: 380 - 10 * k, y: 200, w: 30, h: 50 };
      const f = scene(rand);
      paint(f, a, 250);
      paint(f, b, 5);
      const r = d.update(f, W, H);
      expect(r.boxes).toHaveLength(2);
      // Sorted top-to-bottom: a first.
      expect(iou(r.boxes[0]!, a)).toBeGreaterThan(0.5);
      expect(iou(r.boxes[1]!, b)).toBeGreaterThan(0.5);
    }
  });

  it('treats a global brightness jump as a lighting change, then settles', () => {
    const rand = rng(4);
    const d = warmed(rand);
    const jump = d.update(scene(rand, 70), W, H);
    expect(jump.lightingChange).toBe(true);
    expect(jump.boxes).toEqual([]);
    expect(jump.changedFraction).toBeGreaterThan(0.5);
    const after = d.update(scene(rand, 70), W, H);
    expect(after.lightingChange).toBe(false);
    expect(after.boxes).toEqual([]);
  });

  it('drops speckle noise below minArea', () => {
    const rand = rng(5);
    const d = warmed(rand);
    for (let k = 0; k < 5; k++) {
      const f = scene(rand);
      // 40 isolated 2x2 flashes, each far below the default 74-pixel minimum.
      for (let s = 0; s < 40; s++) {
        paint(f, { x: 8 + Math.floor(rand() * (W - 16)), y: 8 + Math.floor(rand() * (H - 16)), w: 2, h: 2 }, 255);
      }
      const r = d.update(f, W, H);
      expect(r.changedFraction).toBeGreaterThan(0);
      expect(r.boxes).toEqual([]);
      expect(r.motionFraction).toBe(0);
    }
  });

  it('merges fragments of one mover that nearly touch', () => {
    const rand = rng(6);
    const d = warmed(rand, 10, { dilateRadius: 0, mergeGap: 8 });
    const f = scene(rand);
    paint(f, { x: 200, y: 100, w: 30, h: 30 }, 250);
    paint(f, { x: 236, y: 100, w: 30, h: 30 }, 250);
    const r = d.update(f, W, H);
    expect(r.boxes).toEqual([{ x: 200, y: 100, w: 66, h: 30 }]);
  });

  it('reaches the frame edge when the factor leaves pixels over, and restarts on size change', () => {
    const d = new MotionDetector({ factor: 3, warmupFrames: 0, minArea: 0 });
    const w = 100;
    const h = 50; // 33 x 16 cells, one column and two rows left over
    const frame = (on: boolean): Uint8Array => {
      const f = new Uint8Array(w * h * 3).fill(40);
      if (on) for (let y = 30; y < h; y++) for (let x = 80; x < w; x++) f.fill(250, (y * w + x) * 3, (y * w + x) * 3 + 3);
      return f;
    };
    d.update(frame(false), w, h);
    const r = d.update(frame(true), w, h);
    expect(r.boxes).toEqual([{ x: 78, y: 30, w: 22, h: 20 }]);
    // New size: background starts over instead of comparing mismatched grids.
    const again = d.update(new Uint8Array(W * H * 3), W, H);
    expect(again.boxes).toEqual([]);
    d.reset();
    expect(d.motionInRect({ x: 0, y: 0, w: 10, h: 10 })).toBe(0);
  });

  it('rejects bad frames and bad options with typed errors', () => {
    const d = new MotionDetector();
    expect(() => d.update(new Uint8Array(10), W, H)).toThrow(InputError);
    expect(() => d.update(new Uint8Array(0), 0, 0)).toThrow(InputError);
    expect(() => new MotionDetector({ alpha: 0 })).toThrow(/motion option alpha/);
    expect(() => new MotionDetector({ factor: 1.5 })).toThrow(/motion option factor/);
  });
});
