/**
 * Small dense least squares for the cost model: a dozen unknowns at most, so
 * normal equations solved by Gaussian elimination are exact enough and cost
 * microseconds. Ridge pulls toward a prior (not toward zero), so directions
 * the samples never excite keep the prior's value; non-negativity is an
 * active set (a latency coefficient below zero is noise, never physics).
 */

/** Solve A x = b in place (A row-major n x n); null when A is singular. */
export function solveLinear(a: Float64Array, b: Float64Array, n: number): Float64Array | null {
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r * n + col]!) > Math.abs(a[piv * n + col]!)) piv = r;
    const p = a[piv * n + col]!;
    if (Math.abs(p) < 1e-12) return null;
    if (piv !== col) {
      for (let c = 0; c < n; c++) {
        const t = a[col * n + c]!;
        a[col * n + c] = a[piv * n + c]!;
        a[piv * n + c] = t;
      }
      const t = b[col]!;
      b[col] = b[piv]!;
      b[piv] = t;
    }
    for (let r = col + 1; r < n; r++) {
      const f = a[r * n + col]! / p;
      if (f === 0) continue;
      for (let c = col; c < n; c++) a[r * n + c] = a[r * n + c]! - f * a[col * n + c]!;
      b[r] = b[r]! - f * b[col]!;
    }
  }
  const x = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r]!;
    for (let c = r + 1; c < n; c++) s -= a[r * n + c]! * x[c]!;
    x[r] = s / a[r * n + r]!;
  }
  return x;
}

export interface RidgeOptions {
  /** Penalty on each coefficient relative to its column's diagonal of X^T X. Default 1e-3. */
  ridge?: number;
  /** Values the penalty pulls toward. Default zeros. */
  prior?: ArrayLike<number>;
  /** Clamp coefficients at >= 0 (active set). Default true. */
  nonNegative?: boolean;
}

/**
 * argmin ||X t - y||^2 + sum_i lambda_i (t_i - prior_i)^2, optionally t >= 0.
 * `rows` are feature vectors of length p. Never throws on rank deficiency:
 * the ridge term keeps the system regular.
 */
export function ridgeFit(rows: readonly ArrayLike<number>[], y: readonly number[], p: number, o: RidgeOptions = {}): Float64Array {
  const prior = o.prior ?? new Float64Array(p);
  const xtx = new Float64Array(p * p);
  const xty = new Float64Array(p);
  rows.forEach((x, k) => {
    for (let i = 0; i < p; i++) {
      const xi = x[i]!;
      if (xi === 0) continue;
      xty[i] = xty[i]! + xi * y[k]!;
      for (let j = 0; j < p; j++) xtx[i * p + j] = xtx[i * p + j]! + xi * x[j]!;
    }
  });
  // Per-column penalty, relative to the column's own energy, so a term seen in
  // one sample (a merged window) is not shrunk more than one seen in all; a
  // column the samples never excite gets a token penalty and keeps its prior.
  let trace = 0;
  for (let i = 0; i < p; i++) trace += xtx[i * p + i]!;
  const ridge = o.ridge ?? 1e-3;
  const lambda = Array.from({ length: p }, (_, i) => ridge * xtx[i * p + i]! + 1e-6 * (trace > 0 ? trace / p : 1) + 1e-12);

  const active = new Array<boolean>(p).fill(true);
  const nonNegative = o.nonNegative ?? true;
  let theta = new Float64Array(p);
  // Each pass pins at least one more coefficient to zero, so p passes suffice.
  for (let pass = 0; pass <= p; pass++) {
    const idx = active.flatMap((on, i) => (on ? [i] : []));
    const q = idx.length;
    const a = new Float64Array(q * q);
    const b = new Float64Array(q);
    idx.forEach((i, r) => {
      b[r] = xty[i]! + lambda[i]! * prior[i]!;
      idx.forEach((j, c) => {
        a[r * q + c] = xtx[i * p + j]! + (i === j ? lambda[i]! : 0);
      });
    });
    const sol = q > 0 ? solveLinear(a, b, q) : new Float64Array(0);
    theta = new Float64Array(p);
    if (sol) idx.forEach((i, r) => (theta[i] = sol[r]!));
    if (!nonNegative) break;
    let pinned = false;
    idx.forEach((i) => {
      if (theta[i]! < 0) {
        active[i] = false;
        theta[i] = 0;
        pinned = true;
      }
    });
    if (!pinned) break;
  }
  return theta;
}
