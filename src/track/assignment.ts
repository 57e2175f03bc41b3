/**
 * Optimal one-to-one assignment (Hungarian / Kuhn-Munkres with potentials,
 * O(n^2 m)) and the gated variant the tracker uses to pair tracks with
 * detections. Pure functions over plain number matrices.
 */

/**
 * Minimum-cost assignment of rows to columns. Every row of the smaller side
 * is assigned; returns, for each row, its column or -1 when there are more
 * rows than columns and the row is left out. Costs must be finite.
 */
export function solveAssignment(cost: readonly (readonly number[])[]): number[] {
  const n = cost.length;
  const m = cost[0]?.length ?? 0;
  if (n === 0) return [];
  if (m === 0) return new Array<number>(n).fill(-1);
  for (const [i, row] of cost.entries()) {
    if (row.length !== m) throw new RangeError(`solveAssignment: row ${i} has ${row.length} columns, expected ${m}`);
    for (const c of row) if (!Number.isFinite(c)) throw new RangeError(`solveAssignment: row ${i} has a non-finite cost`);
  }
  if (n > m) {
    const t = Array.from({ length: m }, (_, j) => Array.from({ length: n }, (_, i) => cost[i]?.[j] ?? 0));
    const colForT = solveAssignment(t);
    const out = new Array<number>(n).fill(-1);
    colForT.forEach((i, j) => {
      if (i >= 0) out[i] = j;
    });
    return out;
  }
  // 1-based potentials formulation: u over rows, v over columns, p[j] = row
  // assigned to column j (0 = none), way[] = predecessor column on the path.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1);
  const way = new Int32Array(m + 1);
  const c = (i: number, j: number): number => cost[i - 1]?.[j - 1] ?? 0;
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(m + 1).fill(Infinity);
    const used = new Uint8Array(m + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0] ?? 0;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = c(i0, j) - (u[i0] ?? 0) - (v[j] ?? 0);
        if (cur < (minv[j] ?? Infinity)) {
          minv[j] = cur;
          way[j] = j0;
        }
        if ((minv[j] ?? Infinity) < delta) {
          delta = minv[j] ?? Infinity;
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          const pj = p[j] ?? 0;
          u[pj] = (u[pj] ?? 0) + delta;
          v[j] = (v[j] ?? 0) - delta;
        } else {
          minv[j] = (minv[j] ?? Infinity) - delta;
        }
      }
      j0 = j1;
    } while ((p[j0] ?? 0) !== 0);
    do {
      const j1 = way[j0] ?? 0;
      p[j0] = p[j1] ?? 0;
      j0 = j1;
    } while (j0 !== 0);
  }
  const out = new Array<number>(n).fill(-1);
  for (let j = 1; j <= m; j++) {
    const pj = p[j] ?? 0;
    if (pj > 0) out[pj - 1] = j - 1;
  }
  return out;
}

export interface GatedMatch {
  /** [row, col] pairs, sorted by row. */
  pairs: [number, number][];
  unmatchedRows: number[];
  unmatchedCols: number[];
}

/**
 * Pair rows with columns by similarity (IoU), allowing only pairs with
 * similarity >= minSim and leaving either side unmatched where that is
 * cheaper. Minimises sum(1 - sim) over pairs plus (1 - minSim) / 2 per
 * unmatched row or column, so a pair is taken exactly when it beats leaving
 * both of its ends unmatched (the cost_limit formulation ByteTrack runs through
 * lapjv). A plain "maximise the number of pairs" rule would instead trade one
 * excellent pair for two marginal ones.
 */
export function matchGated(sim: readonly (readonly number[])[], minSim: number): GatedMatch {
  const n = sim.length;
  const m = sim[0]?.length ?? 0;
  // The objective is separable over connected components of the "allowed
  // pair" graph, and in real scenes almost every component is one track and
  // one detection, so solve each component alone instead of one big matrix.
  const parent = Array.from({ length: n + m }, (_, i) => i);
  const find = (i: number): number => {
    let r = i;
    while ((parent[r] ?? r) !== r) r = parent[r] ?? r;
    while ((parent[i] ?? i) !== r) {
      const next = parent[i] ?? i;
      parent[i] = r;
      i = next;
    }
    return r;
  };
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      if ((sim[i]?.[j] ?? 0) >= minSim) parent[find(i)] = find(n + j);
    }
  }
  const comps = new Map<number, { rows: number[]; cols: number[] }>();
  for (let k = 0; k < n + m; k++) {
    const root = find(k);
    const c = comps.get(root) ?? { rows: [], cols: [] };
    if (k < n) c.rows.push(k);
    else c.cols.push(k - n);
    comps.set(root, c);
  }
  const pairs: [number, number][] = [];
  for (const { rows, cols } of comps.values()) {
    if (rows.length === 0 || cols.length === 0) continue;
    if (rows.length === 1 && cols.length === 1) {
      pairs.push([rows[0] as number, cols[0] as number]); // connected, so allowed
      continue;
    }
    const sub = rows.map((i) => cols.map((j) => sim[i]?.[j] ?? 0));
    for (const [a, b] of solveComponent(sub, minSim)) pairs.push([rows[a] as number, cols[b] as number]);
  }
  pairs.sort((a, b) => a[0] - b[0]);
  const matchedRows = new Set(pairs.map(([i]) => i));
  const matchedCols = new Set(pairs.map(([, j]) => j));
  return {
    pairs,
    unmatchedRows: Array.from({ length: n }, (_, i) => i).filter((i) => !matchedRows.has(i)),
    unmatchedCols: Array.from({ length: m }, (_, j) => j).filter((j) => !matchedCols.has(j)),
  };
}

/** The augmented square problem for one component: real pairs plus "leave unmatched" slots. */
function solveComponent(sim: number[][], minSim: number): [number, number][] {
  const n = sim.length;
  const m = sim[0]?.length ?? 0;
  // Tiny slack so a pair exactly at the threshold is still preferred.
  const skip = (1 - minSim) / 2 + 1e-9;
  const forbidden = 1e6;
  const size = n + m;
  const cost: number[][] = [];
  for (let i = 0; i < size; i++) {
    const row = new Array<number>(size).fill(forbidden);
    for (let j = 0; j < size; j++) {
      if (i < n && j < m) {
        const s = sim[i]?.[j] ?? 0;
        if (s >= minSim) row[j] = 1 - s;
      } else if (i < n && j >= m) {
        if (j - m === i) row[j] = skip; // row i left unmatched
      } else if (i >= n && j < m) {
        if (i - n === j) row[j] = skip; // column j left unmatched
      } else {
        row[j] = 0; // dummy with dummy
      }
    }
    cost.push(row);
  }
  const assign = solveAssignment(cost);
  const pairs: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const j = assign[i] ?? -1;
    if (j >= 0 && j < m && (sim[i]?.[j] ?? 0) >= minSim) pairs.push([i, j]);
  }
  return pairs;
}
