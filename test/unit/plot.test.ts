import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { strategyFamily } from '../../src/eval/bench-plot.js';
import {
  accuracyLatencyPlot,
  combineSvgs,
  latencyCdfPlot,
  paretoFront,
  type AccuracyLatencyPoint,
} from '../../src/eval/plot.js';

/**
 * A small well-formedness check: every tag closes in order, attributes are
 * quoted and unique, and text and attribute values hold no raw '<' or stray
 * '&'. Returns the problems found (empty when well formed).
 */
function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  const entity = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
  const badAmp = (s: string): boolean => s.replace(entity, '').includes('&');
  let roots = 0;
  for (const m of xml.matchAll(/<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<[^>]*>|[^<]+/g)) {
    const tok = m[0];
    if (tok.startsWith('<!--') || tok.startsWith('<?')) continue;
    if (!tok.startsWith('<')) {
      if (badAmp(tok) || tok.includes('>')) problems.push(`bad text: ${tok.slice(0, 40)}`);
      if (stack.length === 0 && tok.trim()) problems.push('text outside the root element');
      continue;
    }
    const close = /^<\/([A-Za-z][\w:.-]*)\s*>$/.exec(tok);
    if (close) {
      const open = stack.pop();
      if (open !== close[1]) problems.push(`</${close[1]}> closes <${open ?? 'nothing'}>`);
      continue;
    }
    const open = /^<([A-Za-z][\w:.-]*)((?:\s+[A-Za-z_:][\w:.-]*="[^"<]*")*)\s*(\/?)>$/.exec(tok);
    if (!open) {
      problems.push(`malformed tag: ${tok.slice(0, 60)}`);
      continue;
    }
    const names = [...open[2]!.matchAll(/([A-Za-z_:][\w:.-]*)="([^"]*)"/g)].map((a) => {
      if (badAmp(a[2]!)) problems.push(`bad attribute value: ${a[2]}`);
      return a[1]!;
    });
    if (new Set(names).size !== names.length) problems.push(`repeated attribute in ${tok.slice(0, 60)}`);
    if (stack.length === 0) roots++;
    if (open[3] !== '/') stack.push(open[1]!);
  }
  if (stack.length) problems.push(`unclosed: ${stack.join(' > ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}

const XMLLINT = '/usr/bin/xmllint';

function expectWellFormed(svg: string): void {
  expect(xmlProblems(svg)).toEqual([]);
  expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  if (existsSync(XMLLINT)) {
    const r = spawnSync(XMLLINT, ['--noout', '-'], { input: svg, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  }
}

const count = (s: string, needle: string): number => s.split(needle).length - 1;

describe('xmlProblems (the checker itself)', () => {
  it('flags what a parser would reject', () => {
    expect(xmlProblems('<a><b/></a>')).toEqual([]);
    expect(xmlProblems('<a><b></a>')).not.toEqual([]);
    expect(xmlProblems('<a>x & y</a>')).not.toEqual([]);
    expect(xmlProblems('<a t="1" t="2"/>')).not.toEqual([]);
    expect(xmlProblems('<a/><b/>')).not.toEqual([]);
  });
});

describe('paretoFront', () => {
  const p = (latencyMs: number, accuracy: number, id = ''): { latencyMs: number; accuracy: number; id: string } => ({
    latencyMs,
    accuracy,
    id,
  });

  it('keeps the non-dominated points, fastest first', () => {
    const pts = [p(30, 0.7, 'c'), p(10, 0.5, 'a'), p(20, 0.4, 'dominated'), p(20, 0.6, 'b'), p(40, 0.65, 'slower-worse')];
    expect(paretoFront(pts).map((x) => x.id)).toEqual(['a', 'b', 'c']);
  });

  it('handles ties: equal accuracy at higher latency is dominated, exact duplicates both stay', () => {
    const pts = [p(10, 0.5, 'a'), p(10, 0.5, 'a2'), p(20, 0.5, 'same-acc-slower'), p(10, 0.4, 'same-lat-worse')];
    expect(paretoFront(pts).map((x) => x.id)).toEqual(['a', 'a2']);
  });

  it('handles empty input, a single point, and non-finite values', () => {
    expect(paretoFront([])).toEqual([]);
    expect(paretoFront([p(5, 0.9, 'only')]).map((x) => x.id)).toEqual(['only']);
    expect(paretoFront([p(NaN, 1, 'nan'), p(5, Infinity, 'inf'), p(7, 0.2, 'ok')]).map((x) => x.id)).toEqual(['ok']);
  });

  it('returns a single point when one beats all others on both axes', () => {
    expect(paretoFront([p(50, 0.2), p(1, 0.99, 'best'), p(3, 0.5)]).map((x) => x.id)).toEqual(['best']);
  });
});

describe('accuracyLatencyPlot', () => {
  const pts: AccuracyLatencyPoint[] = [
    { label: 'full', group: 'street', latencyMs: 80, accuracy: 0.8 },
    { label: 'tiles <4> & co', group: 'street', latencyMs: 40, accuracy: 0.7 },
    { label: 'motion', group: 'street', latencyMs: 60, accuracy: 0.6 }, // dominated by 'tiles'
    { label: 'full', group: 'door"way', latencyMs: 70, accuracy: 0.9 },
    { label: 'motion', group: 'door"way', latencyMs: 20, accuracy: 0.75 },
  ];

  it('draws one marker per point, fills the front, and escapes labels', () => {
    const svg = accuracyLatencyPlot(pts, { title: 'F1 <vs> latency & more' });
    expectWellFormed(svg);
    expect(count(svg, 'class="pt"')).toBe(pts.length);
    // One hollow (dominated) marker: white fill with a coloured stroke.
    expect(svg.match(/class="pt"[^>]*fill="#ffffff"/g)).toHaveLength(1);
    expect(count(svg, 'class="front"')).toBe(2);
    expect(svg).toContain('F1 &lt;vs&gt; latency &amp; more');
    expect(svg).toContain('tiles &lt;4&gt; &amp; co');
    expect(svg).toContain('door&quot;way');
    expect(svg).not.toContain('<4>');
  });

  it('joins one strategy at several budgets into a curve per video, in its colour, each point named', () => {
    const curve: AccuracyLatencyPoint[] = [
      ...[0.2, 0.35, 0.5].map((b, i) => ({ label: 'arac (budgets)', name: `arac:budget=${b}`, curve: true, group: 'street', latencyMs: b, accuracy: 0.8 + i * 0.05 })),
      { label: 'arac (budgets)', name: 'arac:budget=0.35', curve: true, group: 'door', latencyMs: 0.34, accuracy: 0.9 },
      { label: 'skip-track:3', group: 'street', latencyMs: 0.34, accuracy: 0.85 },
    ];
    const svg = accuracyLatencyPlot(curve, { title: 'curves', xUnit: 'x full', xDigits: 2 });
    expectWellFormed(svg);
    // One curve: the lone door point and the baseline are no curve.
    expect(count(svg, 'class="curve"')).toBe(1);
    expect(svg).toMatch(/class="curve" d="M[\d.]+ [\d.]+L[\d.]+ [\d.]+L[\d.]+ [\d.]+"/);
    expect(svg).toContain('arac:budget=0.2 / street: 0.8 at 0.2x full');
    expect(strategyFamily('arac:3x3,budget=0.35')).toEqual({ family: 'arac:3x3 (budgets)', budgeted: true });
    expect(strategyFamily('skip-track:3')).toEqual({ family: 'skip-track:3', budgeted: false });
    expect(strategyFamily('arac-oracle:budget=0.5')).toEqual({ family: 'arac-oracle (budgets)', budgeted: true });
  });

  it('handles empty input', () => {
    const svg = accuracyLatencyPlot([], { title: 'nothing' });
    expectWellFormed(svg);
    expect(count(svg, 'class="pt"')).toBe(0);
    expect(svg).toContain('no data');
  });

  it('handles a single point, on linear and log axes', () => {
    for (const xScale of ['linear', 'log'] as const) {
      const svg = accuracyLatencyPlot([{ label: 'only', latencyMs: 42, accuracy: 0.7 }], { title: 'one', xScale });
      expectWellFormed(svg);
      expect(count(svg, 'class="pt"')).toBe(1);
    }
  });

  it('skips non-finite points and keeps a fixed y domain when asked', () => {
    const svg = accuracyLatencyPlot(
      [...pts, { label: 'broken', latencyMs: NaN, accuracy: 0.5 }, { label: 'broken', latencyMs: 5, accuracy: Infinity }],
      { title: 't', yDomain: [0, 1], xScale: 'log' },
    );
    expectWellFormed(svg);
    expect(count(svg, 'class="pt"')).toBe(pts.length);
    expect(svg).toContain('>0.2</text>');
  });
});

describe('latencyCdfPlot', () => {
  it('draws one step line per non-empty series and notes empty ones', () => {
    const svg = latencyCdfPlot(
      [
        { label: 'a & b', valuesMs: [10, 20, 20, 30] },
        { label: 'empty', valuesMs: [] },
        { label: 'one', valuesMs: [15] },
      ],
      { title: 'latency' },
    );
    expectWellFormed(svg);
    expect(count(svg, 'class="cdf"')).toBe(2);
    expect(svg).toContain('a &amp; b');
    expect(svg).toContain('no data');
    // Four samples with a tie at 20: steps to 1/4, 3/4 and 1, so three vertical moves.
    const first = /class="cdf" d="([^"]*)"/.exec(svg)![1]!;
    expect(count(first, 'V')).toBe(3);
  });

  it('handles no series and series with only non-finite values', () => {
    for (const series of [[], [{ label: 'x', valuesMs: [NaN, Infinity] }]]) {
      const svg = latencyCdfPlot(series, { title: 'none', xScale: 'log' });
      expectWellFormed(svg);
      expect(count(svg, 'class="cdf"')).toBe(0);
    }
  });
});

describe('combineSvgs', () => {
  it('lays plots out on a grid as nested svg elements', () => {
    const a = accuracyLatencyPlot([{ label: 'x', latencyMs: 1, accuracy: 1 }], { title: 'a', width: 600, height: 400 });
    const b = latencyCdfPlot([{ label: 'y', valuesMs: [1, 2, 3] }], { title: 'b', width: 500, height: 300 });
    const svg = combineSvgs([a, b, a], { columns: 2, gap: 10 });
    expectWellFormed(svg);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="1210" height="810"/);
    expect(svg).toContain('<svg x="0" y="0" ');
    expect(svg).toContain('<svg x="610" y="0" ');
    expect(svg).toContain('<svg x="0" y="410" ');
    expect(count(svg, 'class="pt"')).toBe(2);
  });

  it('defaults to one row, drops non-SVG input, replaces existing positions, and handles empty input', () => {
    const one = '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" x="5" width="10" height="20"><g/></svg>';
    const svg = combineSvgs([one, 'not svg', one]);
    expectWellFormed(svg);
    expect(svg).toMatch(/width="30" height="20"/);
    expect(count(svg, '<svg x=')).toBe(2);
    expectWellFormed(combineSvgs([]));
  });
});
