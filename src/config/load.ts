/**
 * Reading a configuration: YAML text -> env substitution -> strict validation
 * -> path resolution. Every failure is one ConfigError whose message is a
 * single line: `<file>: <key.path>: <problem>` (or `<file>:<line>:<col>: ...`
 * for YAML syntax), so it reads well in a terminal, a log and a test.
 *
 * Relative paths (`model.pack`, file camera URLs) are resolved against the
 * directory of the config file, not the working directory, so a config
 * means the same thing wherever `neulens` is started from.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, errorMessage } from '../core/errors.js';
import { interpolateDocument, type Env } from './interpolate.js';
import { describeIssue, formatPath } from './issues.js';
import { formatSpec } from '../strategy/spec.js';
import { ConfigSchema, type Config } from './schema.js';

export type { Env } from './interpolate.js';

export interface ParseOptions {
  /** Directory relative paths are resolved against. Default: the directory of `sourceName`. */
  baseDir?: string;
  /** Told of keys that still read but are on their way out (model.mode), with what to write instead. */
  onDeprecated?: (key: string, message: string) => void;
}

/** Reads and validates a YAML config file. Throws ConfigError (code CONFIG_INVALID). */
export async function loadConfig(path: string, env: Env = process.env, options: Pick<ParseOptions, 'onDeprecated'> = {}): Promise<Config> {
  return parseConfig(await readConfigText(path), path, env, options);
}

/** A config file's text; a file that cannot be read is a ConfigError saying why. */
export async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : errorMessage(err);
    throw new ConfigError('', `${path}: cannot read config: ${why}`, { cause: err });
  }
}

/** Validates YAML config text. `sourceName` names it in errors and, by default, fixes the base directory. */
export function parseConfig(text: string, sourceName: string, env: Env = process.env, options: ParseOptions = {}): Config {
  const fail = (path: string, problem: string, cause?: unknown): ConfigError => {
    const err = new ConfigError(path, problem, { cause });
    err.message = `${sourceName}: ${err.message}`;
    return err;
  };

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    const { line, col } = lineCounter.linePos(syntax.pos[0]);
    // `{ port: ${PORT} }` is a YAML error: braces end a plain scalar inside a flow collection.
    const quoteHint = text.split('\n')[line - 1]?.includes('${') ? ' (quote values that use ${...} inside [ ] or { })' : '';
    const what = syntax.message.split('\n')[0] ?? '';
    throw new ConfigError('', `${sourceName}:${line}:${col}: YAML syntax error: ${what}${quoteHint}`, { cause: syntax });
  }

  const interpolated = interpolateDocument(doc, env);
  if ('message' in interpolated) throw fail(interpolated.path, interpolated.message);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw fail('', `cannot read YAML: ${errorMessage(err)}`, err);
  }
  if (data === null || data === undefined) throw fail('', "empty configuration (at least 'cameras' is required)");
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw fail('', 'the top level must be a mapping (server, model, tracker, cameras, viewer, logging, mqtt, history, fleet)');
  }
  dropNulls(data);

  const result = ConfigSchema.safeParse(data, { reportInput: true });
  if (!result.success) {
    const [first, ...rest] = result.error.issues;
    if (!first) throw fail('', 'invalid configuration');
    const problem = describeIssue(first, ConfigSchema, data);
    const vars = interpolated.substituted.get(problem.path);
    const from = vars ? ` (value from \${${vars.join('}, ${')}})` : '';
    const more = rest.length > 0 ? ` (+${rest.length} more problem${rest.length === 1 ? '' : 's'})` : '';
    throw fail(problem.path, `${problem.message}${from}${more}`, result.error);
  }
  const config = result.data;
  const model = (data as { model?: { mode?: unknown } }).model;
  if (model?.mode !== undefined) {
    options.onDeprecated?.('model.mode', `${sourceName}: model.mode is deprecated: write model.strategy: ${formatSpec(config.model.strategy)} (and drop mode)`);
  }

  const baseDir = options.baseDir ?? dirname(resolve(sourceName));
  config.model.pack = resolve(baseDir, config.model.pack);
  if (config.history) config.history.path = resolve(baseDir, config.history.path);
  for (const [i, cam] of config.cameras.entries()) {
    if (cam.kind !== 'file') continue;
    if (/^file:/i.test(cam.url)) {
      try {
        cam.url = fileURLToPath(cam.url);
      } catch (err) {
        throw fail(formatPath(['cameras', i, 'url']), `not a local file URL: ${errorMessage(err)}`, err);
      }
    } else if (!isAbsolute(cam.url)) {
      cam.url = resolve(baseDir, cam.url);
    }
  }
  if (config.server.authToken === undefined && env.NEULENS_TOKEN) config.server.authToken = env.NEULENS_TOKEN;
  return config;
}

/**
 * `key:` with nothing after it (YAML null) means "use the default", as in
 * most YAML configs; zod's optional() would otherwise reject null.
 */
function dropNulls(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) dropNulls(item);
  } else if (typeof value === 'object' && value !== null) {
    const obj = value as Record<string, unknown>;
    for (const [k, v] of Object.entries(obj)) {
      if (v === null) delete obj[k];
      else dropNulls(v);
    }
  }
}
