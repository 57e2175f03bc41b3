/**
 * Parity with the original: the TF.js NanoDet graph (pure-JS tfjs) against
 * the converted, unsplit ONNX on real, redistributable images.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toTensor } from '../../src/detect/preprocess.js';
import { readStill } from '../../src/ingest/still.js';
import { IMAGES, maxAbsDiff, openPack } from '../helpers/pack.js';
import { TfjsNanodet } from '../helpers/tfjs-nanodet.js';

const CASES = [
  { file: 'astronaut.png', expect: 'person' },
  { file: 'coffee.png', expect: 'cup' },
  { file: 'chelsea.png', expect: 'cat' },
];

describe('converted NanoDet-g equals the TF.js original', () => {
  let ctx: Awaited<ReturnType<typeof openPack>>;
  let tfjs: TfjsNanodet;

  beforeAll(async () => {
    ctx = await openPack();
    tfjs = await TfjsNanodet.load();
  });
  afterAll(async () => {
    tfjs?.dispose();
    await ctx?.runner.close();
  });

  for (const c of CASES) {
    it(`${c.file}: raw outputs within 1e-3 and identical detections after NMS`, async () => {
      const frame = await readStill(path.join(IMAGES, c.file), { width: 416, height: 416 });
      const ours = await ctx.detector.detect(frame);
      const ref = tfjs.run(toTensor(frame.data, 416, 416, ctx.pack.manifest.input));
      const oursFlat = ours.heads.flatMap((h) => [h.cls, h.reg]);
      expect(oursFlat).toHaveLength(6);
      oursFlat.forEach((o, i) => expect(maxAbsDiff(o, ref[i]!)).toBeLessThanOrEqual(1e-3));

      const refHeads = ctx.pack.manifest.decoding.strides.map((stride, i) => ({ stride, cls: ref[2 * i]!, reg: ref[2 * i + 1]! }));
      const refDets = ctx.detector.postprocess(refHeads, frame);
      expect(ours.detections.map((d) => d.label)).toEqual(refDets.map((d) => d.label));
      ours.detections.forEach((d, i) => {
        const r = refDets[i]!;
        expect(d.score).toBeCloseTo(r.score, 3);
        for (const k of ['x', 'y', 'w', 'h'] as const) expect(Math.abs(d[k] - r[k])).toBeLessThan(0.05);
      });
      expect(ours.detections.map((d) => d.label)).toContain(c.expect);
    }, 120_000);
  }

  it('overlapping detect calls on one Detector each see their own frame (its reused input buffer is not shared)', async () => {
    const frames = await Promise.all(CASES.map((c) => readStill(path.join(IMAGES, c.file), { width: 416, height: 416 })));
    const alone: string[][] = [];
    for (const f of frames) alone.push((await ctx.detector.detect(f)).detections.map((d) => d.label));
    const together = await Promise.all(frames.map((f) => ctx.detector.detect(f)));
    expect(together.map((r) => r.detections.map((d) => d.label))).toEqual(alone);
    CASES.forEach((c, i) => expect(alone[i]).toContain(c.expect));
  }, 120_000);
});
