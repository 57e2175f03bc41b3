import { describe, expect, it } from 'vitest';
import { toTensor, windowsToTensor } from '../../src/detect/preprocess.js';

const norm = { channels: 'BGR' as const, mean: [103.53, 116.28, 123.675] as const, std: [57.375, 57.12, 58.395] as const };

describe('windowsToTensor', () => {
  it('gives each window exactly the whole-frame tensor\'s pixels, in one batch', () => {
    const W = 64;
    const H = 32;
    const rgb = Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 37) % 251);
    const whole = toTensor(rgb, W, H, norm);
    const rects = [{ x: 0, y: 0, w: 16, h: 8 }, { x: 48, y: 24, w: 16, h: 8 }, { x: 20, y: 5, w: 16, h: 8 }];
    const batch = windowsToTensor(rgb, W, H, norm, rects);
    expect(batch.length).toBe(3 * 3 * 16 * 8);
    rects.forEach((r, b) => {
      for (let c = 0; c < 3; c++) for (let y = 0; y < r.h; y++) for (let x = 0; x < r.w; x++) {
        expect(batch[((b * 3 + c) * r.h + y) * r.w + x]).toBe(whole[(c * H + r.y + y) * W + r.x + x]);
      }
    });
    // A buffer of the right length is reused.
    expect(windowsToTensor(rgb, W, H, norm, rects, batch)).toBe(batch);
  });

  it('refuses windows of different sizes or outside the frame', () => {
    const rgb = new Uint8Array(32 * 32 * 3);
    expect(() => windowsToTensor(rgb, 32, 32, norm, [{ x: 0, y: 0, w: 8, h: 8 }, { x: 0, y: 0, w: 16, h: 8 }])).toThrow(RangeError);
    expect(() => windowsToTensor(rgb, 32, 32, norm, [{ x: 28, y: 0, w: 8, h: 8 }])).toThrow(/leaves the 32x32 frame/);
  });
});
