/**
 * Changes to a running configuration, made on its YAML text and re-read
 * whole by the start-up parser (./load.ts): a camera added, replaced or
 * removed over HTTP, or the file read again on SIGHUP. The text is the one
 * before `${VAR}` substitution and path resolution, so a change goes through
 * exactly what start-up does (env, relative paths, defaults, every check
 * that spans sections), and an error names the key as start-up would
 * (`cameras[2].url: ...`).
 *
 * A camera's body (YAML or JSON: JSON is YAML) is spliced in as a YAML node,
 * so its scalars keep their style: a JSON string stays a string even when it
 * reads as a number, and a plain `${FPS}` is typed after substitution, as in
 * the file.
 */
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, type Document, type YAMLMap, type YAMLSeq } from 'yaml';
import { ConfigError } from '../core/errors.js';
import type { Env } from './interpolate.js';
import { parseConfig } from './load.js';
import type { CameraConfig, Config } from './schema.js';

/** Where a running config came from: its text (before substitution), its name in errors, and what it is read with. */
export interface ConfigSource {
  text: string;
  /** The file, or a name for errors (test.yaml). */
  name: string;
  /** Relative paths resolve against this. Default: the folder of `name`. */
  baseDir?: string;
  env: Env;
}

/**
 * Reads `text` as `source` is read (the same base folder and environment);
 * `name` (default: the source's) starts its error messages.
 */
export function parseSource(source: ConfigSource, text = source.text, name = source.name): Config {
  return parseConfig(text, name, source.env, { baseDir: source.baseDir ?? dirname(resolve(source.name)) });
}

function doc(text: string, what: string): Document {
  const d = parseDocument(text, { uniqueKeys: true });
  const err = d.errors[0];
  if (err) throw new ConfigError('', `${what}: YAML syntax error: ${err.message.split('\n')[0] ?? ''}`, { cause: err });
  return d;
}

function camerasOf(d: Document, what: string): YAMLSeq {
  const root = d.contents;
  const cams = isMap(root) ? root.get('cameras', true) : undefined;
  if (!isSeq(cams)) throw new ConfigError('cameras', `${what}: must be a list of cameras`);
  return cams;
}

function idOf(node: unknown): string | undefined {
  if (!isMap(node)) return undefined;
  const id = (node).get('id', true);
  return isScalar(id) ? String(id.value) : undefined;
}

export type CameraEdit = { kind: 'add' | 'replace'; id: string; body: string } | { kind: 'remove'; id: string };

/**
 * `text` with one camera added, replaced or removed. The body's `id`, when
 * it has one, must be the path's; without one it gets it. Throws
 * ConfigError (a body that is not a YAML/JSON mapping, an id that differs),
 * ConflictError-worthy and NotFound-worthy cases are the caller's to check
 * against what runs.
 */
export function editCamera(text: string, edit: CameraEdit): string {
  const d = doc(text, 'the running config');
  const cams = camerasOf(d, 'the running config');
  const at = cams.items.findIndex((n) => idOf(n) === edit.id);
  if (edit.kind === 'remove') {
    if (at >= 0) cams.items.splice(at, 1);
    return d.toString();
  }
  const body = doc(edit.body, 'the camera');
  if (!isMap(body.contents)) throw new ConfigError('', `the camera must be a mapping (the object of one entry of cameras:), got ${body.contents === null ? 'nothing' : 'a list or a value'}`);
  const node = body.contents;
  const given = idOf(node);
  if (node.has('id') && given !== edit.id) throw new ConfigError('id', `'${given ?? ''}' differs from the id in the path ('${edit.id}'); leave it out or make them the same`);
  if (!node.has('id')) node.items.unshift(d.createPair('id', edit.id));
  if (edit.kind === 'replace' && at >= 0) cams.items[at] = node;
  else cams.items.push(node);
  return d.toString();
}

/** Every `${` in the strings of `v` written `$${`: read again, they stay the literal text they already are. */
function keepLiteral(v: unknown): unknown {
  // A function, not a string: in a replacement string `$$` would itself mean one `$`.
  if (typeof v === 'string') return v.replaceAll('${', () => '$${');
  if (Array.isArray(v)) return v.map(keepLiteral);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, keepLiteral(x)]));
  return v;
}

/**
 * A fleet's camera list (the KV bucket's, src/fleet/camera-api.ts) with one
 * camera added, replaced or removed, read whole by the start-up parser as
 * the `cameras:` of this instance's config (`source`): the new camera's
 * `${VAR}`s, relative url, defaults and the checks that span sections
 * (a budget the strategy takes) are what start-up would make of them, and
 * an error names the key (`cameras[2].url`). The stored cameras were
 * substituted and resolved when they were written, so they go in as
 * literals. Unlike a config file, a fleet's list may become empty (its
 * instances then idle), so the last camera can be removed.
 */
export function editCameraList(source: ConfigSource, cameras: readonly CameraConfig[], edit: CameraEdit, what: string): CameraConfig[] {
  const d = doc(source.text, 'the running config');
  if (!isMap(d.contents)) throw new ConfigError('', 'the running config: the top level must be a mapping');
  d.contents.set('cameras', d.createNode(keepLiteral(cameras)));
  const text = editCamera(d.toString(), edit);
  if (edit.kind === 'remove' && cameras.every((c) => c.id === edit.id)) return [];
  return parseSource(source, text, what).cameras;
}

/** `text` (the running config) with its `cameras:` taken from `from` (the file read again); the rest stays. */
export function withCamerasOf(text: string, from: string, fromName: string): string {
  const d = doc(text, 'the running config');
  const f = doc(from, fromName);
  const cams = isMap(f.contents) ? f.contents.get('cameras', true) : undefined;
  if (cams === undefined) throw new ConfigError('cameras', `${fromName}: required`);
  (d.contents as YAMLMap).set('cameras', cams);
  return d.toString();
}

export interface CameraDiff {
  added: CameraConfig[];
  removed: string[];
  /** The new config of each camera whose settings differ. */
  changed: CameraConfig[];
}

/** Equal as JSON (the parsed configs' own key order). */
export const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Cameras by id: which `next` adds, removes and changes against `running`. */
export function diffCameras(running: readonly CameraConfig[], next: readonly CameraConfig[]): CameraDiff {
  const before = new Map(running.map((c) => [c.id, c]));
  const after = new Set(next.map((c) => c.id));
  return {
    added: next.filter((c) => !before.has(c.id)),
    removed: running.filter((c) => !after.has(c.id)).map((c) => c.id),
    changed: next.filter((c) => before.has(c.id) && !sameJson(before.get(c.id), c)),
  };
}

/** The keys outside `cameras` whose values differ between two configs (dotted, leaf-most), e.g. ['model.minScore']. */
export function settingsChanged(running: Config, next: Config): string[] {
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
    if (isObj(a) && isObj(b)) {
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[k], b[k], path ? `${path}.${k}` : k);
    } else if (!sameJson(a, b)) out.push(path);
  };
  for (const key of new Set([...Object.keys(running), ...Object.keys(next)])) {
    if (key === 'cameras') continue;
    walk((running as Record<string, unknown>)[key], (next as Record<string, unknown>)[key], key);
  }
  return out;
}
