/**
 * What one more item costs in a batched call. A call of N items (frames or
 * windows of one shape, from any cameras) takes about a + b x N ms: a fixed
 * cost per call (on WebGPU, dispatching the model's many small kernels:
 * 9.3 ms for the unsplit model, 8.2 ms for one tile's window, whatever their
 * pixels) and a cost per item. A request is charged only the per-item part
 * of the calls it joined, b x its items, scaled to the call's measured time;
 * the fixed part is the worker's overhead, paid once per call whoever is in
 * it. DEMUX prices plans with what the request is charged, so on a device
 * where the fixed cost dominates, a skipped tile saves what it really saves:
 * one item less in a batch that runs anyway.
 *
 * Per shape, a least-squares line through recent (N, ms) pairs. Until the
 * batch sizes seen vary enough to tell a from b, the whole call is per-item
 * (the mean cost per item; what an unbatched call costs). Pure: the batcher
 * feeds it, tests drive it.
 */

/** Calls kept per shape for the fit. */
const WINDOW = 64;
/** Fewer calls than this, or a single batch size among them, and a cannot be told from b. */
const MIN_SAMPLES = 8;

export class BatchCostFit {
  private readonly n: number[] = [];
  private readonly ms: number[] = [];
  private fitted: { a: number; b: number } | undefined;
  private stale = false;

  /** One call of `items` items took `ms`. */
  add(items: number, ms: number): void {
    if (!(items >= 1 && Number.isFinite(ms) && ms >= 0)) return;
    this.n.push(items);
    this.ms.push(ms);
    if (this.n.length > WINDOW) {
      this.n.shift();
      this.ms.shift();
    }
    this.stale = true;
  }

  /** The fixed and per-item cost, ms, or undefined while they cannot be told apart. */
  get line(): { a: number; b: number } | undefined {
    if (this.stale) {
      this.fitted = fitLine(this.n, this.ms);
      this.stale = false;
    }
    return this.fitted;
  }

  /**
   * The share of a call of `items` items that is per-item (0 < share <= 1):
   * b x N / (a + b x N), or 1 while the fit is unknown.
   */
  perItemShare(items: number): number {
    const l = this.line;
    if (!l) return 1;
    const variable = l.b * items;
    return variable / (l.a + variable);
  }
}

/** Least squares ms = a + b x n with a >= 0, b > 0; undefined when n does not vary or b is not positive. */
export function fitLine(n: readonly number[], ms: readonly number[]): { a: number; b: number } | undefined {
  const k = n.length;
  if (k < MIN_SAMPLES) return undefined;
  let sn = 0;
  let sm = 0;
  for (let i = 0; i < k; i++) {
    sn += n[i] as number;
    sm += ms[i] as number;
  }
  const mn = sn / k;
  const mm = sm / k;
  let snn = 0;
  let snm = 0;
  for (let i = 0; i < k; i++) {
    const dn = (n[i] as number) - mn;
    snn += dn * dn;
    snm += dn * ((ms[i] as number) - mm);
  }
  // Batch sizes that barely vary say nothing about the slope.
  if (snn / k < 0.25) return undefined;
  let b = snm / snn;
  let a = mm - b * mn;
  if (a < 0) {
    // No fixed cost to be seen: the line through the origin.
    a = 0;
    let s2 = 0;
    for (let i = 0; i < k; i++) s2 += (n[i] as number) * (n[i] as number);
    b = sm > 0 ? n.reduce((acc, v, i) => acc + v * (ms[i] as number), 0) / s2 : 0;
  }
  return b > 0 ? { a, b } : undefined;
}
