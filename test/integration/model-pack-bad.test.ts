/** A broken model pack gives a typed error naming the field or file, never a crash. */
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadModelPack, type Manifest } from '../../src/model/manifest.js';
import { ModelPackError } from '../../src/core/errors.js';
import { loadPackController } from '../../src/importance/cgg.js';
import { openModel } from '../../src/model/open.js';
import { PACK_DIR } from '../helpers/pack.js';

let dir: string;

async function editManifest(edit: (m: Manifest) => void): Promise<void> {
  const p = path.join(dir, 'manifest.json');
  const m = JSON.parse(await readFile(p, 'utf8')) as Manifest;
  edit(m);
  await writeFile(p, JSON.stringify(m));
}

async function openAll(): Promise<void> {
  const { runner } = await openModel(dir, { set: 'arac' });
  await runner.close();
}

async function rejection(p: Promise<unknown>): Promise<ModelPackError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ModelPackError);
  return err as ModelPackError;
}

describe('model pack validation', () => {
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'neulens-pack-'));
    await cp(PACK_DIR, dir, { recursive: true });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the committed pack loads and every session matches its manifest', async () => {
    await expect(openAll()).resolves.toBeUndefined();
  });

  it('missing file: MODEL_FILE_MISSING naming the file', async () => {
    await unlink(path.join(dir, 'rest.onnx'));
    const err = await rejection(openAll());
    expect(err.code).toBe('MODEL_FILE_MISSING');
    expect(err.message).toContain('rest.onnx');
  });

  it('missing manifest: MODEL_FILE_MISSING naming manifest.json', async () => {
    await unlink(path.join(dir, 'manifest.json'));
    const err = await rejection(openAll());
    expect(err.code).toBe('MODEL_FILE_MISSING');
    expect(err.message).toContain('manifest.json');
  });

  it('checksum mismatch: MODEL_FILE_CORRUPT naming the file', async () => {
    const p = path.join(dir, 'front-c0.onnx');
    const buf = await readFile(p);
    buf[buf.length - 10] = (buf[buf.length - 10]! + 1) & 0xff;
    await writeFile(p, buf);
    const err = await rejection(openAll());
    expect(err.code).toBe('MODEL_FILE_CORRUPT');
    expect(err.message).toMatch(/front-c0\.onnx.*sha256/);
  });

  it('corrupt ONNX whose checksum was updated: onnxruntime refuses it, MODEL_FILE_CORRUPT', async () => {
    const p = path.join(dir, 'front-c0.onnx');
    const junk = Buffer.from('this is not an onnx protobuf'.repeat(100));
    await writeFile(p, junk);
    const sha = createHash('sha256').update(junk).digest('hex');
    await editManifest((m) => {
      const f = m.files.find((x) => x.file === 'front-c0.onnx')!;
      f.sha256 = sha;
      f.bytes = junk.length;
    });
    const err = await rejection(openAll());
    expect(err.code).toBe('MODEL_FILE_CORRUPT');
    expect(err.message).toContain('front-c0.onnx');
  });

  it('manifest shapes that disagree with the file: MODEL_SHAPE_MISMATCH', async () => {
    await editManifest((m) => {
      const f = m.files.find((x) => x.role === 'front')!;
      f.outputs[0]!.shape = ['tiles', 64, 'fheight', 'fwidth'];
    });
    const err = await rejection(openAll());
    expect(err.code).toBe('MODEL_SHAPE_MISMATCH');
    expect(err.message).toMatch(/front-c0\.onnx.*features.*128/);
  });

  it('manifest input names that disagree with the file: MODEL_SHAPE_MISMATCH', async () => {
    await editManifest((m) => {
      m.files.find((x) => x.role === 'rest')!.inputs[0]!.name = 'feats';
    });
    const err = await rejection(openAll());
    expect(err.code).toBe('MODEL_SHAPE_MISMATCH');
    expect(err.message).toContain("'feats'");
  });

  it('an invalid field: MODEL_PACK_INVALID naming it', async () => {
    await editManifest((m) => {
      (m.input as { mean: unknown }).mean = [1, 2];
    });
    const err = await rejection(openAll());
    expect(err.code).toBe('MODEL_PACK_INVALID');
    expect(err.message).toContain('input.mean');
  });

  it('a broken compression controller: typed errors naming cgg.json, and a pack without one still loads', async () => {
    const file = path.join(dir, 'cgg.json');
    const spec = JSON.parse(await readFile(file, 'utf8')) as { weights: { fcB: string } };
    spec.weights.fcB = Buffer.from(new Float32Array([1, 2]).buffer).toString('base64');
    const text = JSON.stringify(spec);
    await writeFile(file, text);
    // The checksum catches it first; with the manifest updated, the controller's own check does.
    expect((await rejection(loadModelPack(dir))).message).toContain('cgg.json');
    await editManifest((m) => {
      m.controller!.sha256 = createHash('sha256').update(text).digest('hex');
      m.controller!.bytes = Buffer.byteLength(text);
    });
    const err = await rejection(loadModelPack(dir).then(loadPackController));
    expect(err.code).toBe('MODEL_PACK_INVALID');
    expect(err.message).toMatch(/cgg\.json weights\.fcB: has 2 values/);
    await editManifest((m) => {
      delete m.controller;
    });
    expect(await loadPackController(await loadModelPack(dir))).toBeUndefined();
  });

  it('inconsistent fields: MODEL_PACK_INVALID naming them', async () => {
    await editManifest((m) => {
      m.arac.split.halo = 60;
    });
    const err = await rejection(openAll());
    expect(err.message).toContain('arac.split.halo');
    await cp(path.join(PACK_DIR, 'manifest.json'), path.join(dir, 'manifest.json'));
    await editManifest((m) => {
      m.classes = m.classes.slice(0, 79);
    });
    expect((await rejection(openAll())).message).toContain('classes');
  });

  it('not JSON: MODEL_PACK_INVALID', async () => {
    await writeFile(path.join(dir, 'manifest.json'), '{ nope');
    const err = await rejection(openAll());
    expect(err.code).toBe('MODEL_PACK_INVALID');
  });
});
