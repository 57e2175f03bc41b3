import { describe, expect, it } from 'vitest';
import { decodeHeads } from '../../src/detect/decode.js';
import { nms } from '../../src/detect/nms.js';
import { toTensor } from '../../src/detect/preprocess.js';
import type { Detection } from '../../src/core/types.js';

function det(x: number, y: number, w: number, h: number, score: number, classId = 0): Detection {
  return { x, y, w, h, score, classId, label: `c${classId}` };
}

describe('class-aware NMS', () => {
  it('suppresses overlapping boxes of the same class only', () => {
    const out = nms([det(0, 0, 10, 10, 0.9), det(1, 1, 10, 10, 0.8), det(1, 1, 10, 10, 0.7, 1), det(50, 50, 10, 10, 0.6)], 0.5);
    expect(out.map((d) => [d.score, d.classId])).toEqual([[0.9, 0], [0.7, 1], [0.6, 0]]);
  });
  it('keeps input order for equal scores and honours maxDetections', () => {
    const out = nms([det(0, 0, 10, 10, 0.5), det(100, 0, 10, 10, 0.5), det(200, 0, 10, 10, 0.5)], 0.5, 2);
    expect(out.map((d) => d.x)).toEqual([0, 100]);
  });
  it('IoU exactly at the threshold is kept (suppression is strictly greater)', () => {
    // Two 10x10 boxes offset so IoU = 1/3.
    const out = nms([det(0, 0, 10, 10, 0.9), det(5, 0, 10, 10, 0.8)], 1 / 3);
    expect(out).toHaveLength(2);
  });
});

describe('GFL decoding', () => {
  const numClasses = 2;
  const regMax = 3; // 4 bins per side
  function oneHot(bin: number): number[] {
    // A logit vector whose softmax is (almost) one-hot at `bin`.
    return Array.from({ length: regMax + 1 }, (_, b) => (b === bin ? 50 : 0));
  }
  it('decodes a single confident cell into a box around the cell centre', () => {
    // 64x32 input at stride 16: 4x2 cells. Cell 5 = col 1, row 1 -> centre (24, 24).
    const cells = 8;
    const cls = new Float32Array(cells * numClasses);
    cls[5 * numClasses + 1] = 0.9;
    const reg = new Float32Array(cells * 4 * (regMax + 1));
    reg.set([...oneHot(1), ...oneHot(1), ...oneHot(2), ...oneHot(0)], 5 * 4 * (regMax + 1));
    const out = decodeHeads([{ stride: 16, cls, reg }], { inputWidth: 64, inputHeight: 32, numClasses, regMax, centerOffset: 0.5, minScore: 0.5, labels: ['a', 'b'] });
    expect(out).toHaveLength(1);
    const d = out[0]!;
    expect(d.label).toBe('b');
    expect(d.score).toBeCloseTo(0.9);
    // left 16, top 16, right 32 (clipped to 64), bottom 0.
    expect(d.x).toBeCloseTo(8);
    expect(d.y).toBeCloseTo(8);
    expect(d.x + d.w).toBeCloseTo(56);
    expect(d.y + d.h).toBeCloseTo(24);
  });
  it('applies the score threshold and the class filter', () => {
    const cls = new Float32Array([0.2, 0.6]);
    const reg = new Float32Array(4 * (regMax + 1));
    const base = { inputWidth: 16, inputHeight: 16, numClasses, regMax, centerOffset: 0.5, labels: ['a', 'b'] };
    expect(decodeHeads([{ stride: 16, cls, reg }], { ...base, minScore: 0.1 })).toHaveLength(2);
    expect(decodeHeads([{ stride: 16, cls, reg }], { ...base, minScore: 0.5 })).toHaveLength(1);
    expect(decodeHeads([{ stride: 16, cls, reg }], { ...base, minScore: 0.1, classFilter: new Set([0]) }).map((d) => d.label)).toEqual(['a']);
  });
});

describe('preprocess', () => {
  it('packs RGB24 into normalised planar BGR', () => {
    const rgb = new Uint8Array([10, 20, 30, 40, 50, 60]); // 2x1 pixels
    const t = toTensor(rgb, 2, 1, { channels: 'BGR', mean: [1, 2, 3], std: [1, 2, 4] });
    expect([...t]).toEqual([30 - 1, 60 - 1, (20 - 2) / 2, (50 - 2) / 2, (10 - 3) / 4, (40 - 3) / 4]);
  });
  it('rejects a buffer of the wrong size', () => {
    expect(() => toTensor(new Uint8Array(5), 2, 1, { channels: 'RGB', mean: [0, 0, 0], std: [1, 1, 1] })).toThrow(/expected 6/);
  });
  it('writes into a given buffer (RGB order kept), which must fit', () => {
    const norm = { channels: 'RGB' as const, mean: [0, 0, 0] as const, std: [1, 1, 1] as const };
    const out = new Float32Array(6).fill(-1);
    expect(toTensor(new Uint8Array([1, 2, 3, 4, 5, 6]), 2, 1, norm, out)).toBe(out);
    expect([...out]).toEqual([1, 4, 2, 5, 3, 6]);
    expect(() => toTensor(new Uint8Array(6), 2, 1, norm, new Float32Array(5))).toThrow(/expected 6/);
  });
});
