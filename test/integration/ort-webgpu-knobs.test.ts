/**
 * WebGPU's per-call knobs (issue 18, part 2) as the runner passes them to
 * onnxruntime-node. What they do to a call only a GPU host can say
 * (scripts/gpu-host/webgpu-probe.mjs); here, with the real model on the CPU
 * build, that the binding takes the option names and value types the runner
 * gives it, that outputs come back the same, and the runner's guard for
 * graph capture's one shape per session.
 */
import path from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceError } from '../../src/core/errors.js';
import { headNames } from '../../src/detect/executor.js';
import { toTensor } from '../../src/detect/preprocess.js';
import { readStill } from '../../src/ingest/still.js';
import type { ModelPack } from '../../src/model/manifest.js';
import { openModel } from '../../src/model/open.js';
import { sessionOptions, WEBGPU_GRAPH_CAPTURE_KEY, type OrtRunner } from '../../src/model/ort-runner.js';
import { IMAGES, PACK_DIR, maxAbsDiff } from '../helpers/pack.js';

describe('WebGPU knobs through onnxruntime-node', () => {
  let pack: ModelPack;
  let plain: OrtRunner;
  let knobs: OrtRunner;
  let image: Float32Array;

  beforeAll(async () => {
    ({ pack, runner: plain } = await openModel(PACK_DIR, { set: 'full', threads: 1, verifyChecksums: false }));
    ({ runner: knobs } = await openModel(PACK_DIR, { set: 'full', threads: 1, verifyChecksums: false, webgpu: { graphCapture: true, gpuBufferOutputs: true } }));
    const frame = await readStill(path.join(IMAGES, 'coffee.png'), { width: 512, height: 288 });
    image = toTensor(frame.data, 512, 288, pack.manifest.input);
  }, 120_000);
  afterAll(async () => {
    await plain?.close();
    await knobs?.close();
  });

  it('the runner sets graph capture as a string session config entry and gpu-buffer as the preferred output location', () => {
    const o = sessionOptions('webgpu', { webgpu: { graphCapture: true, gpuBufferOutputs: true } });
    expect(o.extra).toEqual({ [WEBGPU_GRAPH_CAPTURE_KEY]: '1' });
    expect(o.preferredOutputLocation).toBe('gpu-buffer');
    // Without the knobs, neither is set (a service's sessions stay as they were).
    const none = sessionOptions('webgpu');
    expect(none.extra).toBeUndefined();
    expect(none.preferredOutputLocation).toBeUndefined();
  });

  it('the binding reads sessionOptions.extra entry by entry: a value that is not a string is refused', async () => {
    const file = pack.filePath('full');
    const err = await ort.InferenceSession.create(file, { ...sessionOptions('cpu'), extra: { [WEBGPU_GRAPH_CAPTURE_KEY]: 1 } }).catch((e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/extra value must be a string/);
  });

  it('a runner opened with both knobs gives the same outputs as one without (the CPU provider reads neither)', async () => {
    const heads = headNames(pack.manifest.decoding.strides);
    const feeds = { image: { data: image, dims: [1, 3, 288, 512] } };
    const a = await plain.run('full', feeds, heads);
    const b = await knobs.run('full', feeds, heads);
    expect(Object.keys(b).sort()).toEqual([...heads].sort());
    for (const h of heads) {
      expect(b[h]!.dims).toEqual(a[h]!.dims);
      expect(maxAbsDiff(b[h]!.data, a[h]!.data)).toBe(0);
    }
  }, 60_000);

  it('graph capture: a session called with a second input shape is a typed error naming both shapes; its first shape still runs', async () => {
    const heads = headNames(pack.manifest.decoding.strides);
    const one = { image: { data: image, dims: [1, 3, 288, 512] } };
    await knobs.run('full', one, heads);
    const two = new Float32Array(image.length * 2);
    two.set(image);
    two.set(image, image.length);
    const err = await knobs.run('full', { image: { data: two, dims: [2, 3, 288, 512] } }, heads).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InferenceError);
    expect((err as Error).message).toContain('image[1,3,288,512]');
    expect((err as Error).message).toContain('image[2,3,288,512]');
    await expect(knobs.run('full', one, heads)).resolves.toHaveProperty(heads[0]!);
    // Without graph capture a session takes any batch size.
    await expect(plain.run('full', { image: { data: two, dims: [2, 3, 288, 512] } }, heads)).resolves.toHaveProperty(heads[0]!);
  }, 60_000);
});
