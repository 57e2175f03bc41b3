/**
 * A strategy as users name it, parsed once: `StrategySpec`. The CLI's
 * `--strategy arac:3x3` and the YAML's `model.strategy` (with `model.grid`
 * and `model.refresh` beside it) both go through `strategySpecSchema`, so a
 * grid or a refresh bound means the same thing wherever it is written, and
 * travels as a typed value, never as a string to be parsed again.
 *
 * Text form: `name[:item[,item...]]`, an item being `key=value` or the
 * strategy's one positional argument (the grid `CxR` of the tiled ones, N of
 * `skip-track:N` and `downscale:N`). `arac-uniform-<c>` carries its level in
 * the name. Examples: `full`, `skip-track:3`, `arac:3x3`,
 * `arac:grid=3x3,refresh=8`, `arac:budget=0.35`, `arac-uniform-0.5:2x2`.
 *
 * `budget` (arac, its variants and arac-oracle): the detector cost the
 * camera may spend, as a fraction of the unsplit model's on the same input
 * (src/demux/budget.ts). Absent, arac computes what importance asks for and
 * only the frame's deadline caps it.
 */
import { z } from 'zod';
import type { Grid } from '../arac/geometry.js';

/** Defaults, written here once: the config schema and the CLI both take them from here. */
export const DEFAULT_GRID: Readonly<Grid> = Object.freeze({ cols: 4, rows: 4 });
export const DEFAULT_REFRESH: Readonly<RefreshBound> = Object.freeze({ frames: 16, ms: 2000 });
export const DEFAULT_SKIP_EVERY = 3;
export const DEFAULT_DOWNSCALE = 2;

/** Every tile is computed at least every `frames` frames and every `ms` milliseconds. */
export interface RefreshBound {
  frames: number;
  ms: number;
}

/** The strategies that decide per tile (their plans have a grid and a refresh bound). */
export const ADAPTIVE = ['arac', 'arac-cgg', 'arac-stitched'] as const;
export type AdaptiveName = (typeof ADAPTIVE)[number];

export type StrategySpec =
  | { name: 'full' }
  | { name: 'downscale'; factor: number }
  | { name: 'skip-track'; every: number }
  | { name: 'motion-regions' }
  | { name: AdaptiveName; grid: Grid; refresh: RefreshBound; budget?: number }
  | { name: 'arac-oracle'; grid: Grid; budget?: number }
  | { name: 'arac-uniform'; grid: Grid; level: number };

export type StrategyName = StrategySpec['name'];

/** What each name takes, for `--help` and error messages. */
export const STRATEGY_SUMMARIES: ReadonlyArray<{ name: string; summary: string }> = [
  { name: 'full', summary: 'unsplit model on every frame (the reference)' },
  { name: 'downscale', summary: `unsplit model at 1/N the input size per side (downscale:N, default ${DEFAULT_DOWNSCALE})` },
  { name: 'skip-track', summary: `detect every N frames, tracker predictions in between (skip-track:N, default ${DEFAULT_SKIP_EVERY})` },
  { name: 'motion-regions', summary: "Frigate's approach: motion boxes and tracked objects -> square regions, detector per region crop" },
  { name: 'arac', summary: 'NeuLens: tracker + change importance per tile, refresh bound, DEMUX fits the frame deadline (arac:CxR, refresh=N, budget=B: spend B x the unsplit model on average)' },
  { name: 'arac-cgg', summary: "arac with the pack's learnt compression controller (CGG) deciding every tile but new tracks and refreshes" },
  { name: 'arac-stitched', summary: 'arac on the exact stitched path (every sliced level; the cross-tile rest runs on each computed frame)' },
  { name: 'arac-oracle', summary: "upper bound: each tile at the highest level whose detections still match the reference (labeling rule); with budget=B, the tiles whose skipping would change the most reference detections, under arac's budget rule" },
  { name: 'arac-c0', summary: 'ARAC executor, every tile at full width (= arac-uniform-0)' },
  { name: 'arac-uniform-<c>', summary: 'ARAC executor, every tile at level c (a level of the model pack, e.g. arac-uniform-0.5)' },
];

const TILED = new Set<string>([...ADAPTIVE, 'arac-oracle', 'arac-uniform', 'arac-c0']);
const KNOWN = ['full', 'downscale', 'skip-track', 'motion-regions', ...ADAPTIVE, 'arac-oracle', 'arac-c0'];
const UNIFORM = /^arac-uniform-(0|1|0?\.\d+)$/;

/** Whether a strategy plans per tile (takes a grid). */
export function isTiled(spec: StrategySpec): spec is Extract<StrategySpec, { grid: Grid }> {
  return TILED.has(spec.name);
}

/** Whether a strategy takes a work budget (budget=B). */
export function hasBudget(spec: StrategySpec): spec is Extract<StrategySpec, { budget?: number }> {
  return isAdaptive(spec) || spec.name === 'arac-oracle';
}

export function isAdaptive(spec: StrategySpec): spec is Extract<StrategySpec, { name: AdaptiveName }> {
  return (ADAPTIVE as readonly string[]).includes(spec.name);
}

/** A grid `CxR`, 1..16 each way. */
export function parseGridText(text: string): Grid | string {
  const m = /^(\d+)x(\d+)$/.exec(text);
  if (!m) return `grid '${text}' must look like 4x4 (columns x rows)`;
  const cols = Number(m[1]);
  const rows = Number(m[2]);
  if (!(cols >= 1 && cols <= 16 && rows >= 1 && rows <= 16)) return `grid ${text}: columns and rows must be 1..16`;
  return { cols, rows };
}

function intValue(what: string, text: string, min: number): number | string {
  const v = Number(text);
  return Number.isInteger(v) && v >= min ? v : `${what} '${text}' must be an integer >= ${min}`;
}

/** The parts a text spec may set; `undefined` = not said (a default or the YAML's key applies). */
export interface SpecText {
  name: string;
  level?: number;
  grid?: Grid;
  refreshFrames?: number;
  budget?: number;
  number?: number;
}

/** `name[:items]` -> its parts, or a message naming what is wrong. Pure. */
export function parseSpecText(text: string): SpecText | string {
  const t = text.trim();
  const colon = t.indexOf(':');
  const name = colon < 0 ? t : t.slice(0, colon);
  const items = colon < 0 ? [] : t.slice(colon + 1).split(',').map((s) => s.trim());
  const uniform = UNIFORM.exec(name);
  const base = uniform ? 'arac-uniform' : name;
  if (!uniform && !KNOWN.includes(name)) return `unknown strategy '${name}' (known: ${KNOWN.join(', ')}, arac-uniform-<c>)`;
  const out: SpecText = { name: base, ...(uniform ? { level: Number(uniform[1]) } : {}) };
  if (name === 'arac-c0') Object.assign(out, { name: 'arac-uniform', level: 0 });
  const tiled = TILED.has(out.name);
  const counted = base === 'skip-track' || base === 'downscale';
  for (const item of items) {
    if (item === '') return `strategy '${t}': empty argument`;
    const eq = item.indexOf('=');
    const key = eq < 0 ? (tiled ? 'grid' : counted ? 'n' : '') : item.slice(0, eq);
    const value = eq < 0 ? item : item.slice(eq + 1);
    const fail = (why: string) => `strategy ${base}: ${why}`;
    if (key === 'grid' && tiled) {
      const g = parseGridText(value);
      if (typeof g === 'string') return fail(g);
      out.grid = g;
    } else if (key === 'refresh' && (ADAPTIVE as readonly string[]).includes(out.name)) {
      const n = intValue('refresh', value, 1);
      if (typeof n === 'string') return fail(n);
      out.refreshFrames = n;
    } else if (key === 'budget' && ((ADAPTIVE as readonly string[]).includes(out.name) || out.name === 'arac-oracle')) {
      const b = Number(value);
      if (!(value !== '' && Number.isFinite(b) && b > 0 && b <= 1)) return fail(`budget '${value}' must be a fraction of the unsplit model's cost in (0, 1]`);
      out.budget = b;
    } else if (key === 'n' && counted) {
      const n = intValue(base, value, base === 'downscale' ? 2 : 1);
      if (typeof n === 'string') return fail(n);
      out.number = n;
    } else {
      return fail(`takes no ${key ? `'${key}'` : `argument '${item}'`}`);
    }
  }
  return out;
}

export interface SpecDefaults {
  grid?: Grid;
  refresh?: Partial<RefreshBound>;
  budget?: number;
}

/**
 * The spec from its text parts and the YAML's separate keys (`defaults`):
 * the text wins where it says something; a conflict between the two is the
 * caller's to report (see configStrategy).
 */
export function specFrom(p: SpecText, d: SpecDefaults = {}): StrategySpec {
  const grid = p.grid ?? d.grid ?? { ...DEFAULT_GRID };
  const refresh = { ...DEFAULT_REFRESH, ...d.refresh, ...(p.refreshFrames !== undefined ? { frames: p.refreshFrames } : {}) };
  const b = p.budget ?? d.budget;
  const budget = b === undefined ? {} : { budget: b };
  switch (p.name) {
    case 'full':
    case 'motion-regions':
      return { name: p.name };
    case 'downscale':
      return { name: 'downscale', factor: p.number ?? DEFAULT_DOWNSCALE };
    case 'skip-track':
      return { name: 'skip-track', every: p.number ?? DEFAULT_SKIP_EVERY };
    case 'arac-oracle':
      return { name: 'arac-oracle', grid, ...budget };
    case 'arac-uniform':
      return { name: 'arac-uniform', grid, level: p.level ?? 0 };
    default:
      return { name: p.name as AdaptiveName, grid, refresh, ...budget };
  }
}

/**
 * The text form of a spec, as short as it can be (defaults left out): reports,
 * logs and plans name strategies this way. `yamlKeys`: leave out what the
 * YAML writes as keys of its own (grid, refresh), for `config show`.
 */
export function formatSpec(s: StrategySpec, o: { yamlKeys?: boolean } = {}): string {
  const items: string[] = [];
  const gridText = (g: Grid) => (o.yamlKeys || (g.cols === DEFAULT_GRID.cols && g.rows === DEFAULT_GRID.rows) ? undefined : `${g.cols}x${g.rows}`);
  let name: string = s.name;
  switch (s.name) {
    case 'downscale':
      if (s.factor !== DEFAULT_DOWNSCALE) items.push(String(s.factor));
      break;
    case 'skip-track':
      items.push(String(s.every));
      break;
    case 'arac-uniform':
      name = s.level === 0 ? 'arac-c0' : `arac-uniform-${s.level}`;
      if (gridText(s.grid)) items.push(gridText(s.grid) as string);
      break;
    case 'arac-oracle':
      if (gridText(s.grid)) items.push(gridText(s.grid) as string);
      if (!o.yamlKeys && s.budget !== undefined) items.push(`budget=${s.budget}`);
      break;
    case 'full':
    case 'motion-regions':
      break;
    default:
      if (gridText(s.grid)) items.push(gridText(s.grid) as string);
      if (!o.yamlKeys && s.refresh.frames !== DEFAULT_REFRESH.frames) items.push(`refresh=${s.refresh.frames}`);
      if (!o.yamlKeys && s.budget !== undefined) items.push(`budget=${s.budget}`);
  }
  return items.length ? `${name}:${items.join(',')}` : name;
}

/** `--strategy` and bench's `--strategies` items: text -> StrategySpec, zod issues naming the problem. */
export const strategySpecSchema = z.string().transform((text, ctx): StrategySpec => {
  const p = parseSpecText(text);
  if (typeof p === 'string') {
    ctx.addIssue({ code: 'custom', message: p });
    return z.NEVER;
  }
  return specFrom(p);
});
