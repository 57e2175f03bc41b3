/**
 * Axis arithmetic for the SVG plots: domains that end on round numbers, tick
 * positions, and the linear/log maps from data to pixels. Every function
 * returns finite numbers for any finite input (including empty data and a
 * single value), so no NaN can reach an SVG attribute.
 */

export interface Scale {
  /** Data value -> pixel. */
  map(v: number): number;
  /** Tick values inside the domain, ascending. */
  ticks: number[];
  /** Tick label text. */
  format(v: number): string;
  domain: [number, number];
}

/** The round step (1, 2 or 5 times a power of ten) nearest to `raw`, from above. */
export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const m = raw / pow;
  const nice = m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10;
  return nice * pow;
}

/**
 * Widens [lo, hi] outwards to multiples of a round step chosen for about
 * `count` intervals. A zero-width range is padded first, so one value still
 * gets a readable axis.
 */
export function niceDomain(lo: number, hi: number, count = 5): [number, number] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep((hi - lo) / count);
  return [snap(Math.floor(lo / step) * step, step), snap(Math.ceil(hi / step) * step, step)];
}

/** Rounds away the float dust of k * step (0.30000000000000004 -> 0.3). */
function snap(v: number, step: number): number {
  const d = decimals(step);
  const r = Number(v.toFixed(d));
  return Object.is(r, -0) ? 0 : r;
}

function decimals(step: number): number {
  return Math.max(0, Math.min(12, -Math.floor(Math.log10(step) + 1e-9)));
}

export function linearTicks(lo: number, hi: number, count = 5): number[] {
  const step = niceStep((hi - lo) / count);
  const out: number[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  for (let k = first; k * step <= hi + step * 1e-9 && out.length < 50; k++) out.push(snap(k * step, step));
  return out;
}

export function linearScale(domain: [number, number], range: [number, number], count = 5): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0 || 1;
  const ticks = linearTicks(d0, d1, count);
  const d = decimals(niceStep((d1 - d0) / count));
  return {
    map: (v) => r0 + ((v - d0) / span) * (r1 - r0),
    ticks,
    format: (v) => formatNumber(v, d),
    domain,
  };
}

const MANTISSAS = [1, 2, 5];

/** The 1-2-5 value (m * 10^e) nearest to v from below (dir -1) or above (dir +1). */
function snap125(v: number, dir: -1 | 1): number {
  const e = Math.floor(Math.log10(v));
  const cands = [-1, 0, 1].flatMap((de) => MANTISSAS.map((m) => Number((m * 10 ** (e + de)).toPrecision(12))));
  const ok = cands.filter((c) => (dir < 0 ? c <= v * (1 + 1e-12) : c >= v * (1 - 1e-12)));
  return dir < 0 ? Math.max(...ok) : Math.min(...ok);
}

/**
 * Log10 scale over [lo, hi] (both > 0). Up to three decades the domain ends on
 * 1-2-5 values and those are the ticks; wider ranges end on decades, ticked
 * once per decade.
 */
export function logScale(lo: number, hi: number, range: [number, number]): Scale {
  const wide = Math.log10(hi) - Math.log10(lo) > 3;
  let d0 = wide ? 10 ** Math.floor(Math.log10(lo)) : snap125(lo, -1);
  let d1 = wide ? 10 ** Math.ceil(Math.log10(hi)) : snap125(hi, 1);
  if (d1 <= d0) d1 = snap125(d0 * 1.5, 1);
  d0 = Number(d0.toPrecision(12));
  d1 = Number(d1.toPrecision(12));
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(d0)); e <= Math.ceil(Math.log10(d1)); e++) {
    for (const m of wide ? [1] : MANTISSAS) {
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v >= d0 * (1 - 1e-9) && v <= d1 * (1 + 1e-9)) ticks.push(v);
    }
  }
  const l0 = Math.log10(d0);
  const span = Math.log10(d1) - l0;
  const [r0, r1] = range;
  return {
    map: (v) => r0 + ((Math.log10(v) - l0) / span) * (r1 - r0),
    ticks,
    format: (v) => formatNumber(v, Math.max(0, -Math.floor(Math.log10(v)))),
    domain: [d0, d1],
  };
}

/** Fixed decimals, trailing zeros trimmed, thousands kept plain (ticks are short). */
export function formatNumber(v: number, digits: number): string {
  if (!Number.isFinite(v)) return '';
  const s = v.toFixed(Math.max(0, Math.min(12, digits)));
  const t = s.includes('.') ? s.replace(/\.?0+$/, '') : s;
  return t === '-0' ? '0' : t;
}

/** Pixel coordinate for an SVG attribute: two decimals at most, never NaN. */
export function px(v: number): string {
  if (!Number.isFinite(v)) return '0';
  const r = Math.round(v * 100) / 100;
  return String(Object.is(r, -0) ? 0 : r);
}
