/** Shared test plumbing for the committed model pack. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelPack } from '../../src/model/manifest.js';
import { Detector } from '../../src/detect/detector.js';
import { openModel } from '../../src/model/open.js';
import type { Feeds, ModelRunner, Outputs } from '../../src/model/tensor.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const PACK_DIR = path.join(ROOT, 'models/nanodet-g');
export const IMAGES = path.join(ROOT, 'test/fixtures/images');

/** A real runner that records every call (model name and batch size) it forwards. */
export class CountingRunner implements ModelRunner {
  calls: Array<{ model: string; batch: number; dims: readonly number[]; outputs?: readonly string[] }> = [];

  constructor(private readonly inner: ModelRunner) {}

  async run(model: string, feeds: Feeds, outputs?: readonly string[]): Promise<Outputs> {
    const first = Object.values(feeds)[0];
    this.calls.push({ model, batch: first?.dims[0] ?? 0, dims: first?.dims ?? [], ...(outputs ? { outputs } : {}) });
    return this.inner.run(model, feeds, outputs);
  }

  async close(): Promise<void> {
    await this.inner.close();
  }
}

export async function openPack(): Promise<{ pack: ModelPack; runner: CountingRunner; detector: Detector }> {
  const model = await openModel(PACK_DIR, { set: 'arac', threads: 2 });
  const pack = model.pack;
  const runner = new CountingRunner(model.runner);
  return { pack, runner, detector: new Detector(runner, pack) };
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (!(d <= m)) m = d; // NaN propagates as the max
  }
  return m;
}
