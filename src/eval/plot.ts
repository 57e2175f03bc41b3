/**
 * Self-contained SVG plots for evaluation reports: accuracy against latency
 * with per-video Pareto fronts, latency CDFs, and a grid that combines plots.
 * Pure string builders: same input, same bytes, no DOM and no dependencies, so
 * reports can be diffed and viewed in any browser.
 */
import { formatNumber, linearScale, logScale, niceDomain, px, type Scale } from './plot-axis.js';
import { axes, colour, frameFor, legend, legendWidth, marker, openSvg, shape, type LegendEntry } from './plot-svg.js';
import { quantile } from '../core/stats.js';

export { escapeXml } from './plot-svg.js';

export interface AccuracyLatencyPoint {
  /** The strategy (or its family, for a curve); one colour each. */
  label: string;
  /** This point's own name in its tooltip, when `label` names a family (e.g. arac:budget=0.35 of arac). */
  name?: string;
  /** Join the points of this label and group into a curve, by latency (one strategy at several budgets). */
  curve?: boolean;
  /** The video (or any grouping with its own Pareto front); one marker shape each. */
  group?: string;
  latencyMs: number;
  accuracy: number;
}

export interface PlotOptions {
  title: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** 'log' needs every latency > 0 and falls back to linear otherwise. Default 'linear'. */
  xScale?: 'linear' | 'log';
}

export interface AccuracyLatencyOptions extends PlotOptions {
  /** Unit after the latency in tooltips (default ' ms'), and its digits (default 1). */
  xUnit?: string;
  xDigits?: number;
  /** Fix the accuracy axis (e.g. [0, 1] to compare plots); default: the data range, rounded. */
  yDomain?: [number, number];
}

/**
 * The points no other point beats: none has lower-or-equal latency and
 * higher-or-equal accuracy with at least one strictly better. Exact
 * duplicates of a front point are all kept (neither beats the other).
 * Non-finite points are ignored. Returned by ascending latency (so ascending
 * accuracy); the input order breaks remaining ties.
 */
export function paretoFront<T extends { latencyMs: number; accuracy: number }>(points: readonly T[]): T[] {
  const sorted = points
    .map((p, i) => ({ p, i }))
    .filter(({ p }) => Number.isFinite(p.latencyMs) && Number.isFinite(p.accuracy))
    .sort((a, b) => a.p.latencyMs - b.p.latencyMs || b.p.accuracy - a.p.accuracy || a.i - b.i);
  const front: T[] = [];
  let best = -Infinity;
  let bestLatency = NaN;
  for (const { p } of sorted) {
    if (p.accuracy > best) {
      front.push(p);
      best = p.accuracy;
      bestLatency = p.latencyMs;
    } else if (p.accuracy === best && p.latencyMs === bestLatency) {
      front.push(p);
    }
  }
  return front;
}

const DASHES = ['', '6 3', '2 3', '8 3 2 3', '1 4', '10 4'];

/** Pixels between the frame and the data range, so markers at the extremes are not cut by the frame. */
const INSET = 8;

function xScaleFor(values: number[], f: ReturnType<typeof frameFor>, kind: PlotOptions['xScale']): Scale {
  const lo = values.length ? Math.min(...values) : 0;
  const hi = values.length ? Math.max(...values) : 1;
  const range: [number, number] = [f.left + INSET, f.right - INSET];
  if (kind === 'log' && values.length > 0 && lo > 0) return logScale(lo, hi, range);
  return linearScale(niceDomain(lo, hi, 6), range, 6);
}

function uniqueInOrder(values: string[]): string[] {
  return [...new Set(values)];
}

function noData(f: ReturnType<typeof frameFor>): string {
  return `<text x="${px((f.left + f.right) / 2)}" y="${px((f.top + f.bottom) / 2)}" text-anchor="middle" fill="#888888">no data</text>`;
}

/**
 * Scatter of accuracy (y) against latency (x). Colour = strategy (`label`),
 * marker shape = video (`group`). Each group's Pareto front is a step line
 * (the best accuracy reachable within a latency budget); points on it are
 * filled, dominated points hollow. Every marker has class "pt" and a tooltip.
 */
export function accuracyLatencyPlot(points: readonly AccuracyLatencyPoint[], opts: AccuracyLatencyOptions): string {
  const pts = points.filter(
    (p) => Number.isFinite(p.latencyMs) && Number.isFinite(p.accuracy) && (opts.xScale !== 'log' || p.latencyMs > 0),
  );
  const labels = uniqueInOrder(pts.map((p) => p.label));
  const groups = uniqueInOrder(pts.map((p) => p.group ?? ''));
  const hasGroups = groups.some((g) => g !== '');
  const legendTexts = [...labels, ...groups, 'filled: on Pareto front', 'strategy', 'video'];
  const f = frameFor(opts.width ?? 720, opts.height ?? 440, legendWidth(legendTexts));

  const x = xScaleFor(
    pts.map((p) => p.latencyMs),
    f,
    opts.xScale,
  );
  let yDom: [number, number];
  if (opts.yDomain && Number.isFinite(opts.yDomain[0]) && Number.isFinite(opts.yDomain[1]) && opts.yDomain[0] < opts.yDomain[1]) {
    yDom = opts.yDomain;
  } else {
    const acc = pts.map((p) => p.accuracy);
    const lo = acc.length ? Math.min(...acc) : 0;
    const hi = acc.length ? Math.max(...acc) : 1;
    yDom = niceDomain(lo, hi, 5);
    // Scores such as F1 live in [0, 1]; rounding outwards must not invent values beyond.
    if (lo >= 0 && hi <= 1) yDom = [Math.max(0, yDom[0]), Math.min(1, yDom[1])];
  }
  const y = linearScale(yDom, [f.bottom - INSET, f.top + INSET], 5);
  const clampX = (v: number): number => Math.min(f.right, Math.max(f.left, x.map(v)));
  const clampY = (v: number): number => Math.min(f.bottom, Math.max(f.top, y.map(v)));

  const out: string[] = [openSvg(f, opts.title), axes(f, x, y, opts.xLabel ?? 'latency (ms)', opts.yLabel ?? 'accuracy')];
  if (pts.length === 0) out.push(noData(f));

  const onFront = new Set<AccuracyLatencyPoint>();
  out.push('<g class="fronts" fill="none" stroke="#555555" stroke-width="1.5">');
  groups.forEach((g, gi) => {
    const front = paretoFront(pts.filter((p) => (p.group ?? '') === g));
    for (const p of front) onFront.add(p);
    if (front.length < 2) return;
    const d = front.map((p, i) => (i === 0 ? `M${px(clampX(p.latencyMs))} ${px(clampY(p.accuracy))}` : `H${px(clampX(p.latencyMs))}V${px(clampY(p.accuracy))}`));
    const dash = DASHES[gi % DASHES.length]!;
    out.push(`<path class="front" d="${d.join('')}"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
  });
  out.push('</g><g class="curves" fill="none" stroke-width="1.5">');
  for (const label of labels) {
    for (const g of groups) {
      const curve = pts.filter((p) => p.curve && p.label === label && (p.group ?? '') === g).sort((a, b) => a.latencyMs - b.latencyMs);
      if (curve.length < 2) continue;
      const d = curve.map((p, i) => `${i === 0 ? 'M' : 'L'}${px(clampX(p.latencyMs))} ${px(clampY(p.accuracy))}`).join('');
      out.push(`<path class="curve" d="${d}" stroke="${colour(labels.indexOf(label))}"/>`);
    }
  }
  out.push('</g><g class="points">');
  for (const p of pts) {
    const c = colour(labels.indexOf(p.label));
    const s = shape(hasGroups ? groups.indexOf(p.group ?? '') : 0);
    const style = onFront.has(p) ? `fill="${c}" stroke="#222222" stroke-width="0.8"` : `fill="#ffffff" stroke="${c}" stroke-width="1.8"`;
    const tip = `${p.name ?? p.label}${p.group ? ` / ${p.group}` : ''}: ${formatNumber(p.accuracy, 3)} at ${formatNumber(p.latencyMs, opts.xDigits ?? 1)}${opts.xUnit ?? ' ms'}`;
    out.push(marker(s, clampX(p.latencyMs), clampY(p.accuracy), 5, style, 'class="pt"', tip));
  }
  out.push('</g>');

  const strategyEntries: LegendEntry[] = labels.map((l, i) => ({ text: l, swatch: marker('circle', 0, 0, 5, `fill="${colour(i)}"`) }));
  const groupEntries: LegendEntry[] = hasGroups
    ? groups.map((g, gi) => {
        const dash = DASHES[gi % DASHES.length]!;
        const line = `<line x1="-8" y1="0" x2="8" y2="0" stroke="#555555" stroke-width="1.5"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`;
        return { text: g || '(none)', swatch: line + marker(shape(gi), 0, 0, 4.5, 'fill="#888888" stroke="#222222" stroke-width="0.8"') };
      })
    : [];
  const keyEntries: LegendEntry[] =
    pts.length > 0
      ? [
          { text: 'on Pareto front', swatch: marker('circle', 0, 0, 5, 'fill="#888888" stroke="#222222" stroke-width="0.8"') },
          { text: 'dominated', swatch: marker('circle', 0, 0, 5, 'fill="#ffffff" stroke="#888888" stroke-width="1.8"') },
        ]
      : [];
  out.push(
    legend(f, [
      { heading: 'strategy', entries: strategyEntries },
      { heading: 'video', entries: groupEntries },
      { entries: keyEntries },
    ]),
  );
  out.push('</svg>');
  return out.join('');
}

export interface LatencySeries {
  label: string;
  valuesMs: readonly number[];
}

/**
 * Empirical CDFs of latency, one step line per series: at x, the share of
 * samples <= x. The legend gives each series' n, p50 and p95.
 */
export function latencyCdfPlot(series: readonly LatencySeries[], opts: PlotOptions): string {
  const clean = series.map((s) => ({
    label: s.label,
    v: s.valuesMs.filter((v) => Number.isFinite(v) && (opts.xScale !== 'log' || v > 0)).sort((a, b) => a - b),
  }));
  const stats = clean.map(({ v }) =>
    v.length === 0
      ? 'no data'
      : `n=${v.length}, p50 ${formatNumber(quantile(v, 0.5), 1)}, p95 ${formatNumber(quantile(v, 0.95), 1)} ms`,
  );
  const texts = [...clean.map((c) => c.label), ...stats.map((t) => t.slice(0, Math.ceil(t.length * 0.85)))];
  const f = frameFor(opts.width ?? 720, opts.height ?? 440, legendWidth(texts));
  let lo = Infinity;
  let hi = -Infinity;
  for (const { v } of clean) {
    if (v.length === 0) continue;
    lo = Math.min(lo, v[0]!);
    hi = Math.max(hi, v[v.length - 1]!);
  }
  const x = xScaleFor(Number.isFinite(lo) ? [lo, hi] : [], f, opts.xScale);
  const y = linearScale([0, 1], [f.bottom - INSET, f.top + INSET], 5);
  const out: string[] = [openSvg(f, opts.title), axes(f, x, y, opts.xLabel ?? 'latency (ms)', opts.yLabel ?? 'share of samples ≤ x')];
  if (!Number.isFinite(lo)) out.push(noData(f));

  out.push('<g class="cdfs" fill="none" stroke-width="2">');
  clean.forEach(({ v }, i) => {
    if (v.length === 0) return;
    const n = v.length;
    const d: string[] = [`M${px(f.left)} ${px(y.map(0))}H${px(x.map(v[0]!))}`];
    for (let k = 0; k < n; k++) {
      // Skip the vertical run through tied values: one step per distinct value.
      if (k + 1 < n && v[k + 1] === v[k]) continue;
      d.push(`V${px(y.map((k + 1) / n))}`);
      if (k + 1 < n) d.push(`H${px(x.map(v[k + 1]!))}`);
    }
    d.push(`H${px(f.right)}`);
    out.push(`<path class="cdf" d="${d.join('')}" stroke="${colour(i)}"/>`);
  });
  out.push('</g>');
  const entries: LegendEntry[] = clean.map((c, i) => ({
    text: c.label,
    sub: stats[i]!,
    swatch: `<line x1="-8" y1="0" x2="8" y2="0" stroke="${colour(i)}" stroke-width="2.5"/>`,
  }));
  out.push(legend(f, [{ entries }]), '</svg>');
  return out.join('');
}

/**
 * Lays several SVG documents out on a grid (row-major, `columns` per row,
 * default all in one row) inside one SVG, each nested as its own <svg> so its
 * coordinates stay intact. Sizes are read from each root's width/height.
 */
export function combineSvgs(svgs: readonly string[], opts: { columns?: number; gap?: number } = {}): string {
  const gap = Math.max(0, opts.gap ?? 10);
  const columns = Math.max(1, Math.floor(opts.columns ?? (svgs.length || 1)));
  // Anything that is not an SVG document is dropped: one bad input should not break the whole file.
  const docs = svgs.map((s) => s.replace(/^\s*<\?xml[^>]*\?>\s*/, '').trimStart()).filter((s) => s.startsWith('<svg'));
  const parts = docs.map((body) => {
    const root = /^<svg\b[^>]*>/.exec(body)?.[0] ?? '';
    const num = (attr: string): number => {
      const m = new RegExp(`\\s${attr}="([0-9.]+)"`).exec(root);
      const v = m ? Number(m[1]) : NaN;
      return Number.isFinite(v) && v > 0 ? v : 0;
    };
    return { body, w: num('width') || 400, h: num('height') || 300 };
  });
  const cellW = parts.reduce((m, p) => Math.max(m, p.w), 0);
  const cellH = parts.reduce((m, p) => Math.max(m, p.h), 0);
  const rows = Math.ceil(parts.length / columns);
  const cols = Math.min(columns, parts.length);
  const width = parts.length ? cols * cellW + (cols - 1) * gap : 0;
  const height = parts.length ? rows * cellH + (rows - 1) * gap : 0;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`];
  parts.forEach((p, i) => {
    const x = (i % columns) * (cellW + gap);
    const y = Math.floor(i / columns) * (cellH + gap);
    // Drop any position the root already has: a repeated attribute is not well-formed XML.
    const root = /^<svg\b[^>]*>/.exec(p.body)?.[0] ?? '<svg>';
    const placed = root.replace(/\s(x|y)="[^"]*"/g, '').replace(/^<svg\b/, `<svg x="${x}" y="${y}"`);
    out.push(placed + p.body.slice(root.length));
  });
  out.push('</svg>');
  return out.join('');
}
