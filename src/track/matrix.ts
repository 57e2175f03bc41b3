/**
 * Just enough dense linear algebra for an 8-state Kalman filter. Matrices are
 * row-major Float64Arrays with their shape beside them; every function
 * returns a new matrix and never mutates its inputs, so filter code can be
 * read as the textbook equations.
 */
export interface Mat {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

export function zeros(rows: number, cols: number): Mat {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

export function identity(n: number): Mat {
  const m = zeros(n, n);
  for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
  return m;
}

/** Build from nested rows; all rows must have the same length. */
export function fromRows(rows: readonly (readonly number[])[]): Mat {
  const r = rows.length;
  const c = rows[0]?.length ?? 0;
  const m = zeros(r, c);
  rows.forEach((row, i) => {
    if (row.length !== c) throw new RangeError(`fromRows: row ${i} has ${row.length} columns, expected ${c}`);
    m.data.set(row, i * c);
  });
  return m;
}

export function diag(values: readonly number[]): Mat {
  const n = values.length;
  const m = zeros(n, n);
  values.forEach((v, i) => (m.data[i * n + i] = v));
  return m;
}

export function get(m: Mat, i: number, j: number): number {
  return m.data[i * m.cols + j] ?? 0;
}

export function toRows(m: Mat): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < m.rows; i++) out.push(Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
  return out;
}

function sameShape(a: Mat, b: Mat, op: string): void {
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new RangeError(`${op}: shape ${a.rows}x${a.cols} vs ${b.rows}x${b.cols}`);
  }
}

export function add(a: Mat, b: Mat): Mat {
  sameShape(a, b, 'add');
  const out = zeros(a.rows, a.cols);
  for (let k = 0; k < a.data.length; k++) out.data[k] = (a.data[k] ?? 0) + (b.data[k] ?? 0);
  return out;
}

export function sub(a: Mat, b: Mat): Mat {
  sameShape(a, b, 'sub');
  const out = zeros(a.rows, a.cols);
  for (let k = 0; k < a.data.length; k++) out.data[k] = (a.data[k] ?? 0) - (b.data[k] ?? 0);
  return out;
}

export function mul(a: Mat, b: Mat): Mat {
  if (a.cols !== b.rows) throw new RangeError(`mul: ${a.rows}x${a.cols} times ${b.rows}x${b.cols}`);
  const out = zeros(a.rows, b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let k = 0; k < a.cols; k++) {
      const aik = a.data[i * a.cols + k] ?? 0;
      if (aik === 0) continue;
      for (let j = 0; j < b.cols; j++) {
        out.data[i * b.cols + j] = (out.data[i * b.cols + j] ?? 0) + aik * (b.data[k * b.cols + j] ?? 0);
      }
    }
  }
  return out;
}

/** a * b^T without materialising the transpose (covariance sandwiches). */
export function mulT(a: Mat, b: Mat): Mat {
  if (a.cols !== b.cols) throw new RangeError(`mulT: ${a.rows}x${a.cols} times (${b.rows}x${b.cols})^T`);
  const out = zeros(a.rows, b.rows);
  const n = a.cols;
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.rows; j++) {
      let acc = 0;
      for (let k = 0; k < n; k++) acc += (a.data[i * n + k] ?? 0) * (b.data[j * n + k] ?? 0);
      out.data[i * b.rows + j] = acc;
    }
  }
  return out;
}

export function transpose(a: Mat): Mat {
  const out = zeros(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.cols; j++) out.data[j * a.rows + i] = a.data[i * a.cols + j] ?? 0;
  }
  return out;
}

/** Average with the transpose: rounding makes covariances drift off symmetric. */
export function symmetrize(a: Mat): Mat {
  if (a.rows !== a.cols) throw new RangeError(`symmetrize: matrix is ${a.rows}x${a.cols}, not square`);
  const n = a.rows;
  const out = zeros(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = ((a.data[i * n + j] ?? 0) + (a.data[j * n + i] ?? 0)) / 2;
      out.data[i * n + j] = v;
      out.data[j * n + i] = v;
    }
  }
  return out;
}

export function scale(a: Mat, s: number): Mat {
  const out = zeros(a.rows, a.cols);
  for (let k = 0; k < a.data.length; k++) out.data[k] = (a.data[k] ?? 0) * s;
  return out;
}

/**
 * Inverse by Gauss-Jordan elimination with partial pivoting. Only ever called
 * on the 4x4 innovation covariance, which is symmetric positive definite.
 */
export function inverse(a: Mat): Mat {
  if (a.rows !== a.cols) throw new RangeError(`inverse: matrix is ${a.rows}x${a.cols}, not square`);
  const n = a.rows;
  const w = 2 * n;
  const aug = new Float64Array(n * w);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) aug[i * w + j] = a.data[i * n + j] ?? 0;
    aug[i * w + n + i] = 1;
  }
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) {
      if (Math.abs(aug[r * w + col] ?? 0) > Math.abs(aug[pivot * w + col] ?? 0)) pivot = r;
    }
    const pv = aug[pivot * w + col] ?? 0;
    if (Math.abs(pv) < 1e-300) throw new RangeError('inverse: matrix is singular');
    if (pivot !== col) {
      for (let j = 0; j < w; j++) {
        const t = aug[col * w + j] ?? 0;
        aug[col * w + j] = aug[pivot * w + j] ?? 0;
        aug[pivot * w + j] = t;
      }
    }
    for (let j = 0; j < w; j++) aug[col * w + j] = (aug[col * w + j] ?? 0) / pv;
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = aug[r * w + col] ?? 0;
      if (f === 0) continue;
      for (let j = 0; j < w; j++) aug[r * w + j] = (aug[r * w + j] ?? 0) - f * (aug[col * w + j] ?? 0);
    }
  }
  const out = zeros(n, n);
  for (let i = 0; i < n; i++) out.data.set(aug.subarray(i * w + n, i * w + w), i * n);
  return out;
}
