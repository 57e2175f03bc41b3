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
  const t = out ?? new Float32Array(3 * plane);
  // Model channel k reads source byte src[k] of each pixel.
  const src = norm.channels === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  for (let k = 0; k < 3; k++) {
    const s = src[k] as number;
    const mean = norm.mean[k] as number;
    const inv = 1 / (norm.std[k] as number);
    const base = k * plane;
    for (let i = 0; i < plane; i++) t[base + i] = ((rgb[i * 3 + s] as number) - mean) * inv;
  }
  return t;
}
