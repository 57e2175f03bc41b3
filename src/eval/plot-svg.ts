/**
 * SVG pieces shared by the plots: escaping, colours, marker shapes, the
 * axes frame and the legend. Plain strings, no ids (so plots can be nested in
 * one document by combineSvgs without clashes).
 */
import { px, type Scale } from './plot-axis.js';

/** Escapes text and attribute values; labels come from users and file names. */
export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

/** Tableau 10: distinct in print and for the common colour-vision deficiencies. */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export function colour(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

export const MARKER_SHAPES = ['circle', 'square', 'triangle', 'diamond', 'triangle-down', 'hexagon'] as const;
export type MarkerShape = (typeof MARKER_SHAPES)[number];

export function shape(i: number): MarkerShape {
  return MARKER_SHAPES[i % MARKER_SHAPES.length]!;
}

function polygon(cx: number, cy: number, r: number, corners: number, startDeg: number): string {
  const pts: string[] = [];
  for (let k = 0; k < corners; k++) {
    const a = ((startDeg + (360 * k) / corners) * Math.PI) / 180;
    pts.push(`${px(cx + r * Math.cos(a))},${px(cy + r * Math.sin(a))}`);
  }
  return `M${pts.join('L')}Z`;
}

/** One marker element; `extra` is raw attribute text (class, title child is added by the caller). */
export function marker(s: MarkerShape, cx: number, cy: number, r: number, style: string, extra = '', title = ''): string {
  const body = title ? `><title>${escapeXml(title)}</title></` : '/>';
  const close = (tag: string): string => (title ? `${body}${tag}>` : body);
  if (s === 'circle') return `<circle ${extra} cx="${px(cx)}" cy="${px(cy)}" r="${px(r)}" ${style}${close('circle')}`;
  const d =
    s === 'square'
      ? polygon(cx, cy, r * 1.25, 4, 45)
      : s === 'triangle'
        ? polygon(cx, cy + r * 0.2, r * 1.35, 3, -90)
        : s === 'triangle-down'
          ? polygon(cx, cy - r * 0.2, r * 1.35, 3, 90)
          : s === 'diamond'
            ? polygon(cx, cy, r * 1.35, 4, 0)
            : polygon(cx, cy, r * 1.15, 6, 0);
  return `<path ${extra} d="${d}" ${style}${close('path')}`;
}

export interface Frame {
  width: number;
  height: number;
  /** Plot area in pixels. */
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export function frameFor(width: number, height: number, legendWidth: number): Frame {
  return { width, height, left: 62, top: 40, right: width - legendWidth - 16, bottom: height - 50 };
}

export function openSvg(f: Frame, title: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" ` +
    `font-family="DejaVu Sans, Arial, sans-serif" font-size="12">` +
    `<rect x="0" y="0" width="${f.width}" height="${f.height}" fill="#ffffff"/>` +
    `<text x="${px(f.width / 2)}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`
  );
}

/** Grid lines, tick marks, tick labels, axis titles and the plot-area border. */
export function axes(f: Frame, x: Scale, y: Scale, xLabel: string, yLabel: string): string {
  const out: string[] = ['<g class="axes" stroke-width="1">'];
  for (const t of x.ticks) {
    const X = px(x.map(t));
    out.push(`<line x1="${X}" y1="${f.top}" x2="${X}" y2="${f.bottom}" stroke="#e6e6e6"/>`);
    out.push(`<line x1="${X}" y1="${f.bottom}" x2="${X}" y2="${f.bottom + 5}" stroke="#333333"/>`);
    out.push(`<text x="${X}" y="${f.bottom + 18}" text-anchor="middle" fill="#333333">${escapeXml(x.format(t))}</text>`);
  }
  for (const t of y.ticks) {
    const Y = px(y.map(t));
    out.push(`<line x1="${f.left}" y1="${Y}" x2="${f.right}" y2="${Y}" stroke="#e6e6e6"/>`);
    out.push(`<line x1="${f.left - 5}" y1="${Y}" x2="${f.left}" y2="${Y}" stroke="#333333"/>`);
    out.push(`<text x="${f.left - 8}" y="${Y}" dy="4" text-anchor="end" fill="#333333">${escapeXml(y.format(t))}</text>`);
  }
  out.push(
    `<rect x="${f.left}" y="${f.top}" width="${px(f.right - f.left)}" height="${px(f.bottom - f.top)}" fill="none" stroke="#333333"/>`,
  );
  const midX = px((f.left + f.right) / 2);
  const midY = px((f.top + f.bottom) / 2);
  out.push(`<text x="${midX}" y="${f.bottom + 38}" text-anchor="middle" font-size="13">${escapeXml(xLabel)}</text>`);
  out.push(
    `<text x="16" y="${midY}" text-anchor="middle" font-size="13" transform="rotate(-90 16 ${midY})">${escapeXml(yLabel)}</text>`,
  );
  out.push('</g>');
  return out.join('');
}

export interface LegendEntry {
  text: string;
  /** A second, smaller line under the text (e.g. summary numbers). */
  sub?: string;
  /** Raw SVG for the swatch, drawn centred on (0, 0). */
  swatch: string;
}

/** A column of entries to the right of the plot area, with optional section headings. */
export function legend(f: Frame, sections: { heading?: string; entries: LegendEntry[] }[]): string {
  const x = f.right + 16;
  let y = f.top + 6;
  const out: string[] = ['<g class="legend">'];
  for (const s of sections) {
    if (s.entries.length === 0) continue;
    if (s.heading) {
      out.push(`<text x="${x}" y="${y + 4}" font-weight="bold" fill="#333333">${escapeXml(s.heading)}</text>`);
      y += 18;
    }
    for (const e of s.entries) {
      out.push(`<g transform="translate(${x + 8} ${y})">${e.swatch}</g>`);
      out.push(`<text x="${x + 22}" y="${y + 4}" fill="#333333">${escapeXml(e.text)}</text>`);
      y += 18;
      if (e.sub) {
        out.push(`<text x="${x + 22}" y="${y + 2}" font-size="10" fill="#666666">${escapeXml(e.sub)}</text>`);
        y += 16;
      }
    }
    y += 8;
  }
  out.push('</g>');
  return out.join('');
}

/** Width a legend column needs for these texts, roughly (no font metrics in a string builder). */
export function legendWidth(texts: string[]): number {
  const longest = texts.reduce((m, t) => Math.max(m, t.length), 0);
  return Math.min(260, Math.max(90, 30 + longest * 7));
}
