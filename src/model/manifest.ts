/**
 * The model pack's manifest: what each ONNX file is, how to feed it and how to
 * read its outputs. Loading validates the manifest against the files on disk
 * (presence, checksum, declared input/output names) so that a broken pack
 * fails with a typed error naming the field or file, never a crash later.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ModelPackError } from '../core/errors.js';

const dim = z.union([z.number().int().nonnegative(), z.string().min(1)]);
const ioSpec = z.object({ name: z.string().min(1), shape: z.array(dim).min(1) });
const tileSchema = z.object({
  index: z.number().int().nonnegative(),
  col: z.number().int().nonnegative(),
  row: z.number().int().nonnegative(),
  x: z.number().int().nonnegative(),
  y: z.number().int().nonnegative(),
  w: z.number().int().positive(),
  h: z.number().int().positive(),
});

const fileSchema = z.object({
  role: z.enum(['full', 'front', 'rest', 'head']),
  file: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().positive(),
  level: z.number().min(0).max(1).optional(),
  inputs: z.array(ioSpec).min(1),
  outputs: z.array(ioSpec).min(1),
});

const levelSchema = z.object({
  c: z.number().min(0).max(1),
  kind: z.enum(['compute', 'skip']),
  file: z.string().nullable(),
  widthFraction: z.number().min(0).max(1),
  /** The level's front MACs relative to c = 0 (measured by the build); default widthFraction squared. */
  macsFraction: z.number().min(0).max(1).optional(),
  /** Output channels of each sliced layer. */
  widths: z.record(z.string(), z.number().int().positive()).optional(),
  note: z.string().optional(),
});

export const manifestSchema = z.object({
  format: z.literal('neulens-pack/1'),
  name: z.string().min(1),
  description: z.string().optional(),
  source: z.unknown().optional(),
  licenses: z.record(z.string(), z.string()).optional(),
  input: z.object({
    layout: z.literal('NCHW'),
    channels: z.enum(['BGR', 'RGB']),
    dtype: z.literal('float32'),
    mean: z.tuple([z.number(), z.number(), z.number()]),
    std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
    sizeMultiple: z.number().int().positive(),
    defaultSize: z.tuple([z.number().int().positive(), z.number().int().positive()]),
    workingSizes: z.array(z.object({ width: z.number().int().positive(), height: z.number().int().positive(), aspect: z.string() })).min(1),
  }),
  classes: z.array(z.string().min(1)).min(1),
  decoding: z.object({
    kind: z.literal('gfl'),
    strides: z.array(z.number().int().positive()).min(1),
    regMax: z.number().int().positive(),
    numClasses: z.number().int().positive(),
    centerOffset: z.number().min(0).max(1),
  }).passthrough(),
  outputs: z.array(z.string()).min(2),
  receptiveFields: z.array(z.object({ name: z.string(), stride: z.number(), rf: z.number().nullable() }).passthrough()),
  arac: z.object({
    split: z.object({
      after: z.string(),
      stride: z.number().int().positive(),
      channels: z.number().int().positive(),
      receptiveField: z.number().int().positive(),
      halo: z.number().int().nonnegative(),
    }).passthrough(),
    levels: z.array(levelSchema).min(2),
    grids: z.array(z.object({
      cols: z.number().int().positive(),
      rows: z.number().int().positive(),
      sizes: z.array(z.object({
        width: z.number().int().positive(),
        height: z.number().int().positive(),
        tiles: z.array(tileSchema).min(1),
        window: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }),
      })),
    })).min(1),
  }),
  /** MACs per network part at one input size (the executor weighs work with the shares). */
  macs: z
    .object({
      width: z.number().int().positive(),
      height: z.number().int().positive(),
      total: z.number().positive(),
      parts: z.array(z.object({ part: z.string(), macs: z.number().nonnegative(), share: z.number().min(0).max(1) }).strict()).min(1),
    })
    .strict()
    .optional(),
  files: z.array(fileSchema).min(1),
  /** The compression controller (src/importance/cgg.ts), trained by models/tools/train_cgg.py. */
  controller: z
    .object({
      kind: z.literal('cgg'),
      file: z.string().min(1),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      bytes: z.number().int().positive(),
      levels: z.array(z.number().min(0).max(1)).min(2),
      skipThreshold: z.number().gt(0).lt(1),
      trainedOn: z.array(z.string()),
    })
    .optional(),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type PackFile = z.infer<typeof fileSchema>;
export type ManifestTile = z.infer<typeof tileSchema>;

/** A manifest checked against its files; `dir` is the pack's folder. */
export interface ModelPack {
  dir: string;
  manifest: Manifest;
  /** Absolute path of the file with this role (and level, for fronts). */
  filePath(role: PackFile['role'], level?: number): string;
  file(role: PackFile['role'], level?: number): PackFile;
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function zodPath(p: ReadonlyArray<PropertyKey>): string {
  return p.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');
}

/**
 * Read and validate `<dir>/manifest.json`. With `verifyChecksums` (default)
 * every file's sha256 is recomputed: 15 MB takes ~50 ms, worth it at start-up.
 */
export async function loadModelPack(dir: string, opts: { verifyChecksums?: boolean } = {}): Promise<ModelPack> {
  const manifestPath = path.join(dir, 'manifest.json');
  let raw: string;
  try {
    raw = await readFile(manifestPath, 'utf8');
  } catch (err) {
    throw new ModelPackError('MODEL_FILE_MISSING', manifestPath, 'cannot read the manifest', { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new ModelPackError('MODEL_PACK_INVALID', manifestPath, `not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? zodPath(issue.path) || '(root)' : '(root)';
    throw new ModelPackError('MODEL_PACK_INVALID', `manifest.json ${where}`, issue?.message ?? 'invalid');
  }
  const manifest = parsed.data;
  checkConsistency(manifest);

  for (const f of manifest.files) await checkFile(dir, f, `role ${f.role}`, opts.verifyChecksums !== false);
  if (manifest.controller) await checkFile(dir, manifest.controller, 'the compression controller', opts.verifyChecksums !== false);

  const find = (role: PackFile['role'], level?: number): PackFile => {
    const f = manifest.files.find((x) => x.role === role && (level === undefined || x.level === level));
    if (!f) throw new ModelPackError('MODEL_PACK_INVALID', 'manifest.json files', `no file with role '${role}'${level === undefined ? '' : ` at level ${level}`}`);
    return f;
  };
  return {
    dir,
    manifest,
    file: find,
    filePath: (role, level) => path.join(dir, find(role, level).file),
  };
}

/** A file the manifest lists is there, with its size and (when asked) its sha256. */
async function checkFile(dir: string, f: { file: string; bytes: number; sha256: string }, what: string, verify: boolean): Promise<void> {
  const p = path.join(dir, f.file);
  let size: number;
  try {
    size = (await stat(p)).size;
  } catch (err) {
    throw new ModelPackError('MODEL_FILE_MISSING', f.file, `listed in the manifest (${what}) but not found at ${p}`, { cause: err });
  }
  if (size !== f.bytes) {
    throw new ModelPackError('MODEL_FILE_CORRUPT', f.file, `size ${size} bytes, manifest says ${f.bytes}`);
  }
  if (verify) {
    const sum = await sha256(p);
    if (sum !== f.sha256) throw new ModelPackError('MODEL_FILE_CORRUPT', f.file, `sha256 ${sum.slice(0, 12)}… does not match the manifest's ${f.sha256.slice(0, 12)}…`);
  }
}

/** The pack's compute levels (0 = full width), sorted; skip (c = 1) is implied. */
export function computeLevels(pack: ModelPack): number[] {
  return pack.manifest.arac.levels.filter((l) => l.kind === 'compute').map((l) => l.c).sort((a, b) => a - b);
}

/** Cross-field rules a schema cannot express. */
function checkConsistency(m: Manifest): void {
  const fail = (field: string, msg: string): never => {
    throw new ModelPackError('MODEL_PACK_INVALID', `manifest.json ${field}`, msg);
  };
  if (m.classes.length !== m.decoding.numClasses) fail('classes', `${m.classes.length} names but decoding.numClasses is ${m.decoding.numClasses}`);
  if (m.outputs.length !== 2 * m.decoding.strides.length) fail('outputs', `expected a cls and a reg output per stride (${2 * m.decoding.strides.length}), got ${m.outputs.length}`);
  for (const role of ['full', 'front', 'rest'] as const) {
    if (!m.files.some((f) => f.role === role)) fail('files', `no file with role '${role}'`);
  }
  m.arac.levels.forEach((lvl, i) => {
    if (lvl.kind === 'compute' && !m.files.some((f) => f.role === 'front' && f.level === lvl.c && f.file === lvl.file)) {
      fail(`arac.levels[${i}].file`, `level c=${lvl.c} names '${lvl.file}', which is not a front file of that level`);
    }
  });
  if (!m.arac.levels.some((l) => l.c === 0 && l.kind === 'compute')) fail('arac.levels', 'level c=0 (full width) is required');
  if (!m.arac.levels.some((l) => l.c === 1 && l.kind === 'skip')) fail('arac.levels', 'level c=1 (skip) is required');
  const { stride, halo } = m.arac.split;
  if (halo % stride !== 0) fail('arac.split.halo', `${halo} is not a multiple of the split stride ${stride}`);
  for (const [gi, g] of m.arac.grids.entries()) {
    for (const [si, s] of g.sizes.entries()) {
      if (s.tiles.length !== g.cols * g.rows) fail(`arac.grids[${gi}].sizes[${si}].tiles`, `${s.tiles.length} tiles for a ${g.cols}x${g.rows} grid`);
    }
  }
}
