/** Summary statistics for latency reports. */

/** Linear-interpolated quantile (q in [0,1]); NaN for an empty sample. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (pos - lo);
}

export interface LatencySummary {
  mean: number;
  p50: number;
  p95: number;
  p99: number;
}

export function summarize(values: readonly number[]): LatencySummary {
  const mean = values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
  return { mean, p50: quantile(values, 0.5), p95: quantile(values, 0.95), p99: quantile(values, 0.99) };
}
