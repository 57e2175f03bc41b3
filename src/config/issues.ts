/**
 * Turns a zod issue into one line a user can act on: the dotted key path
 * (`cameras[1].url`) and what is wrong, with a "did you mean" for typos in
 * keys and enum values. Zod's own messages are written for developers
 * ("Invalid input: expected number, received string") and don't suggest.
 */
import type { z } from 'zod';
import { cameraKindOf, typeOf } from './schema.js';

export type PathSegment = string | number;

export interface Problem {
  path: string;
  message: string;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && IDENT.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

type Issue = z.core.$ZodIssue;

export function describeIssue(issue: Issue, root: z.core.$ZodType, data: unknown): Problem {
  const path = formatPath(issue.path);
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return { path, message: 'required' };
      const expected =
        issue.expected === 'int' ? 'an integer' : issue.expected === 'tuple' ? 'a list [..., ...]' : `${article(issue.expected)} ${issue.expected}`;
      return { path, message: `expected ${expected}, got ${describeValue(issue.input)}` };
    }
    case 'too_small':
    case 'too_big':
      return { path, message: rangeMessage(issue) };
    case 'not_multiple_of':
      return { path, message: `must be a multiple of ${issue.divisor}, got ${describeValue(issue.input)}` };
    case 'unrecognized_keys': {
      const key = issue.keys[0] ?? '';
      const more = issue.keys.length > 1 ? ` (also unknown: ${issue.keys.slice(1).join(', ')})` : '';
      return { path: formatPath([...issue.path, key]), message: `unknown key${unknownKeyHint(root, data, issue.path, key)}${more}` };
    }
    case 'invalid_value':
      return { path, message: enumMessage(issue.values, issue.input) };
    case 'invalid_key':
      // A record's key (a zone name): its own check says what is wrong with it.
      return { path, message: issue.issues[0]?.message ?? issue.message };
    case 'invalid_union':
      if (issue.discriminator !== undefined && 'options' in issue && issue.options) {
        return { path, message: enumMessage(issue.options, valueAt(data, issue.path)) };
      }
      return { path, message: issue.message };
    default:
      return { path, message: issue.message };
  }
}

function rangeMessage(issue: Extract<Issue, { code: 'too_small' | 'too_big' }>): string {
  const small = issue.code === 'too_small';
  const limit = Number(small ? issue.minimum : issue.maximum);
  switch (issue.origin) {
    case 'array':
      if (issue.exact) return `must have exactly ${limit} items`;
      return small ? `must have at least ${plural(limit, 'item')}` : `must have at most ${plural(limit, 'item')}`;
    case 'string':
      if (small && limit === 1) return 'must not be empty';
      return small ? `must be at least ${plural(limit, 'character')}` : `must be at most ${plural(limit, 'character')}`;
    default: {
      const op = small ? (issue.inclusive === false ? '>' : '>=') : issue.inclusive === false ? '<' : '<=';
      return `must be ${op} ${limit}, got ${describeValue(issue.input)}`;
    }
  }
}

function enumMessage(values: readonly unknown[], input: unknown): string {
  const allowed = values.filter((v) => v !== null && v !== undefined).map(String);
  const got = input === undefined ? '' : `, got ${describeValue(input)}`;
  if (allowed.length <= 8) return `must be one of ${allowed.join(', ')}${got}`;
  const guess = typeof input === 'string' ? closest(input, allowed) : undefined;
  const hint = guess ? ` (did you mean '${guess}'?)` : ' (`neulens config schema` lists them)';
  return `${describeValue(input)} is not one of the ${allowed.length} allowed values${hint}`;
}

/** "(did you mean 'minScore'?)", or which variant of a union the key belongs to. */
function unknownKeyHint(root: z.core.$ZodType, data: unknown, objectPath: readonly PropertyKey[], key: string): string {
  const found = objectAt(root, data, objectPath);
  if (!found) return '';
  const { keys, siblings } = found;
  const elsewhere = siblings.filter((s) => s.keys.includes(key)).map((s) => s.label);
  if (elsewhere.length > 0) return ` (only valid with ${elsewhere.join(' or ')})`;
  const guess = closest(key, keys);
  return guess ? ` (did you mean '${guess}'?)` : ` (allowed: ${keys.join(', ')})`;
}

interface ObjectAt {
  keys: string[];
  /** Other variants of the union this object belongs to, e.g. `kind: rtsp`. */
  siblings: { label: string; keys: string[] }[];
}

/** Walks the schema along a data path to the object schema that applies there. */
function objectAt(schema: z.core.$ZodType, data: unknown, path: readonly PropertyKey[]): ObjectAt | undefined {
  let siblings: ObjectAt['siblings'] = [];
  let current: z.core.$ZodType = schema;
  let value = data;
  let i = 0;
  for (;;) {
    const def = (current as z.core.$ZodTypes)._zod.def;
    switch (def.type) {
      case 'default':
      case 'prefault':
      case 'optional':
      case 'nullable':
      case 'readonly':
        current = def.innerType;
        continue;
      case 'pipe':
        // A transform's input is where the keys are (model: strictObject -> StrategySpec).
        current = (def.out as z.core.$ZodTypes)._zod.def.type === 'transform' ? def.in : def.out;
        continue;
      case 'union': {
        const disc = (def as { discriminator?: string }).discriminator;
        if (disc === undefined) return undefined;
        const labelled = def.options.map((o) => ({ schema: o, value: literalOf(o, disc) }));
        const want = discriminatorOf(value, disc, labelled);
        const chosen = labelled.find((o) => o.value === want);
        if (!chosen) return undefined;
        siblings = labelled
          .filter((o) => o !== chosen)
          .map((o) => ({ label: `${disc}: ${String(o.value)}`, keys: shapeKeys(o.schema) }));
        current = chosen.schema;
        continue;
      }
      case 'object': {
        if (i === path.length) return { keys: Object.keys(def.shape), siblings };
        const seg = path[i++];
        const next = typeof seg === 'string' ? def.shape[seg] : undefined;
        if (!next) return undefined;
        current = next;
        value = valueAt(value, [seg as string]);
        siblings = [];
        continue;
      }
      case 'array': {
        if (i === path.length) return undefined;
        const seg = path[i++];
        current = def.element;
        value = valueAt(value, [seg as number]);
        siblings = [];
        continue;
      }
      default:
        return undefined;
    }
  }
}

function literalOf(schema: z.core.$ZodType, disc: string): unknown {
  const field = shapeOf(schema)?.[disc];
  let def = field ? (field as z.core.$ZodTypes)._zod.def : undefined;
  while (def && (def.type === 'default' || def.type === 'optional')) def = (def.innerType as z.core.$ZodTypes)._zod.def;
  return def?.type === 'literal' ? def.values[0] : undefined;
}

/** The discriminator the user meant: written, inferred from the url (cameras), or the defaulted variant. */
function discriminatorOf(value: unknown, disc: string, options: { schema: z.core.$ZodType; value: unknown }[]): unknown {
  const written = valueAt(value, [disc]);
  if (written !== undefined) return written;
  const url = valueAt(value, ['url']);
  if (disc === 'kind' && typeof url === 'string') return cameraKindOf(url);
  const defaulted = options.find((o) => (shapeOf(o.schema)?.[disc] as z.core.$ZodTypes | undefined)?._zod.def.type === 'default');
  return defaulted?.value;
}

function shapeOf(schema: z.core.$ZodType): Record<string, z.core.$ZodType> | undefined {
  const def = (schema as z.core.$ZodTypes)._zod.def;
  return def.type === 'object' ? def.shape : undefined;
}

function shapeKeys(schema: z.core.$ZodType): string[] {
  return Object.keys(shapeOf(schema) ?? {});
}

export function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const seg of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 37)}...` : v}'`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return typeOf(v);
}

function article(word: string): string {
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The candidate within a small edit distance of `input` (case-insensitive), if any. */
export function closest(input: string, candidates: readonly string[]): string | undefined {
  const a = input.toLowerCase();
  let best: string | undefined;
  let bestD = Math.max(1, Math.min(3, Math.floor(a.length / 3)));
  for (const c of candidates) {
    const d = editDistance(a, c.toLowerCase());
    if (d <= bestD && (best === undefined || d < bestD)) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/** Optimal string alignment distance: Levenshtein plus adjacent swaps ("fsp" -> "fps" is 1). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      d[i]![j] = v;
    }
  }
  return at(a.length, b.length);
}
