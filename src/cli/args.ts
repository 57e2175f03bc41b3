/** Small typed parsers for CLI option values; each names the option in its error. */
import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage, InputError } from '../core/errors.js';
import { PROVIDERS, type Provider } from '../model/tensor.js';

/** An ONNX Runtime execution provider name; whether this build has it is the runner's check. */
export function parseProvider(name: string, raw: string): Provider {
  const p = PROVIDERS.find((x) => x === raw);
  if (!p) throw new InputError(`${name} must be ${PROVIDERS.join(', ')}, got '${raw}'`);
  return p;
}

export function parseNumber(name: string, raw: string, o: { integer?: boolean; min?: number; max?: number } = {}): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || (o.integer && !Number.isInteger(v))) {
    throw new InputError(`${name} must be ${o.integer ? 'an integer' : 'a number'}, got '${raw}'`);
  }
  if ((o.min !== undefined && v < o.min) || (o.max !== undefined && v > o.max)) {
    throw new InputError(`${name} must be within [${o.min ?? '-inf'}, ${o.max ?? 'inf'}], got ${v}`);
  }
  return v;
}

export function parseSize(name: string, raw: string, multiple: number): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(raw);
  if (!m) throw new InputError(`${name} must look like 512x384, got '${raw}'`);
  const width = Number(m[1]);
  const height = Number(m[2]);
  if (width % multiple || height % multiple || width === 0 || height === 0) throw new InputError(`${name} sides must be positive multiples of ${multiple}, got ${raw}`);
  return { width, height };
}

export function parseGrid(name: string, raw: string): { cols: number; rows: number } {
  const m = /^(\d+)x(\d+)$/.exec(raw);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new InputError(`${name} must look like 4x4 (columns x rows), got '${raw}'`);
  return { cols: Number(m[1]), rows: Number(m[2]) };
}

/**
 * An output file option, checked before any work: its folder is created and
 * must be writable, and the path must not be a folder. A bad path is then a
 * usage error naming the option, not a failure after a long run.
 */
export async function prepareOutput(name: string, file: string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (err) {
    throw new InputError(`${name} ${file}: cannot write there (${errorMessage(err)})`, { cause: err });
  }
  const st = await stat(file).catch(() => undefined);
  if (st?.isDirectory()) throw new InputError(`${name} ${file}: is a folder, not a file`);
}
