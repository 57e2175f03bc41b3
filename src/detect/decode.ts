/**
 * Generalised Focal Loss head decoding (NanoDet): per stride, class scores
 * (sigmoid already applied in the graph) and, per side, a distribution over
 * regMax+1 bins whose expectation times the stride is the distance from the
 * cell centre to that side. Boxes come out in model-input pixels.
 */
import type { Detection } from '../core/types.js';

export interface HeadOutput {
  stride: number;
  /** [cells, numClasses] row-major. */
  cls: Float32Array;
  /** [cells, 4 * (regMax + 1)] row-major, raw logits. */
  reg: Float32Array;
}

export interface DecodeOptions {
  inputWidth: number;
  inputHeight: number;
  numClasses: number;
  regMax: number;
  /** Cell point offset in cells: 0.5 = cell centres (the old GFL head), 0 = corners (NanoDet-Plus). */
  centerOffset: number;
  minScore: number;
  labels: readonly string[];
  /** Keep only these class ids (undefined = all). */
  classFilter?: ReadonlySet<number>;
}

function expectedBin(reg: Float32Array, offset: number, bins: number): number {
  let max = -Infinity;
  for (let b = 0; b < bins; b++) max = Math.max(max, reg[offset + b] as number);
  let sum = 0;
  let acc = 0;
  for (let b = 0; b < bins; b++) {
    const e = Math.exp((reg[offset + b] as number) - max);
    sum += e;
    acc += e * b;
  }
  return acc / sum;
}

export function decodeHeads(heads: readonly HeadOutput[], o: DecodeOptions): Detection[] {
  const bins = o.regMax + 1;
  const out: Detection[] = [];
  for (const { stride, cls, reg } of heads) {
    const cols = Math.ceil(o.inputWidth / stride);
    const cells = cls.length / o.numClasses;
    for (let cell = 0; cell < cells; cell++) {
      const base = cell * o.numClasses;
      let boxDone = false;
      let x0 = 0, y0 = 0, x1 = 0, y1 = 0;
      for (let c = 0; c < o.numClasses; c++) {
        const score = cls[base + c] as number;
        if (score < o.minScore || (o.classFilter && !o.classFilter.has(c))) continue;
        if (!boxDone) {
          const cx = ((cell % cols) + o.centerOffset) * stride;
          const cy = (Math.floor(cell / cols) + o.centerOffset) * stride;
          const r = cell * 4 * bins;
          x0 = Math.max(0, cx - expectedBin(reg, r, bins) * stride);
          y0 = Math.max(0, cy - expectedBin(reg, r + bins, bins) * stride);
          x1 = Math.min(o.inputWidth, cx + expectedBin(reg, r + 2 * bins, bins) * stride);
          y1 = Math.min(o.inputHeight, cy + expectedBin(reg, r + 3 * bins, bins) * stride);
          boxDone = true;
        }
        out.push({ x: x0, y: y0, w: x1 - x0, h: y1 - y0, classId: c, label: o.labels[c] ?? String(c), score });
      }
    }
  }
  return out;
}
