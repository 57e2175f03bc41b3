/**
 * `${VAR}` / `${VAR:-default}` substitution in the string scalars of a parsed
 * YAML document, done on the syntax tree before validation so that:
 *  - keys and comments are never touched;
 *  - an unquoted scalar that was wholly a reference takes the YAML type of
 *    its substituted text (`port: ${PORT}` with PORT=8080 is the number
 *    8080), while a quoted one stays a string (`"${TOKEN}"`);
 *  - an error names the key path of the scalar.
 *
 * `:-` uses the default when the variable is unset or empty (as in sh).
 * `$${` writes a literal `${`. Defaults are not themselves substituted.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, parse as parseYaml, Scalar, type Document } from 'yaml';
import { formatPath, type PathSegment, type Problem } from './issues.js';

export type Env = Record<string, string | undefined>;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface Substitution {
  /** Dotted path of each scalar that contained a reference, with the variables used. */
  substituted: Map<string, string[]>;
}

/** Substitutes in place. Returns the first problem, or the record of what was substituted. */
export function interpolateDocument(doc: Document, env: Env): Problem | Substitution {
  const substituted = new Map<string, string[]>();
  let problem: Problem | undefined;

  const walk = (node: unknown, path: PathSegment[]): void => {
    if (problem || isAlias(node)) return; // aliases share their anchor's node, substituted there
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        walk(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
      const result = substitute(node.value, env);
      if ('message' in result) {
        problem = { path: formatPath(path), message: result.message };
        return;
      }
      if (result.vars.length > 0) substituted.set(formatPath(path), result.vars);
      node.value = node.type === Scalar.PLAIN && result.whole ? retype(result.text) : result.text;
    }
  };
  walk(doc.contents, []);
  return problem ?? { substituted };
}

interface Substituted {
  text: string;
  vars: string[];
  /** The scalar was exactly one reference, nothing around it. */
  whole: boolean;
}

export function substitute(input: string, env: Env): Substituted | { message: string } {
  let text = '';
  const vars: string[] = [];
  let pieces = 0;
  let i = 0;
  while (i < input.length) {
    if (input.startsWith('$${', i)) {
      text += '${';
      i += 3;
      pieces += 2;
      continue;
    }
    if (!input.startsWith('${', i)) {
      text += input[i];
      i += 1;
      pieces += 1;
      continue;
    }
    const end = input.indexOf('}', i + 2);
    if (end < 0) return { message: `unterminated '\${' (write '$\${' for a literal '\${')` };
    const body = input.slice(i + 2, end);
    const sep = body.indexOf(':-');
    const name = sep < 0 ? body : body.slice(0, sep);
    if (!NAME.test(name)) return { message: `bad variable reference '\${${body}}' (expected \${NAME} or \${NAME:-default})` };
    const value = env[name];
    if (sep >= 0) {
      text += value === undefined || value === '' ? body.slice(sep + 2) : value;
    } else if (value === undefined) {
      return { message: `environment variable ${name} is not set (use \${${name}:-default} to give a default)` };
    } else {
      text += value;
    }
    vars.push(name);
    pieces += 2;
    i = end + 1;
  }
  return { text, vars, whole: vars.length === 1 && pieces === 2 };
}

/** YAML core-schema typing of a substituted plain scalar: numbers, booleans and null; anything else stays text. */
function retype(text: string): unknown {
  if (text.trim() === '') return null; // `${X:-}` unset: the key falls back to its default
  try {
    const v: unknown = parseYaml(text);
    return typeof v === 'number' || typeof v === 'boolean' || v === null ? v : text;
  } catch {
    return text;
  }
}
