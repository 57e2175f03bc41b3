/**
 * One door to a runnable model: the pack (manifest, verified files) and an
 * ONNX Runtime runner over the files a detector needs. Workers, the `detect`
 * and `bench-pack` commands and the tests all open models here, so the
 * choice of files per mode and the provider check live in one place.
 */
import { loadModelPack, type ModelPack } from './manifest.js';
import { OrtRunner, type ModelSpec, type RunnerOptions } from './ort-runner.js';

/** Which models to load: the unsplit model alone, or with the ARAC parts (fronts per level, rest). */
export type ModelSet = 'full' | 'arac';

/** The ONNX files (with their declared I/O) a detector over this pack needs. */
export function packModelSpecs(pack: ModelPack, set: ModelSet): ModelSpec[] {
  const specs: ModelSpec[] = [];
  const add = (name: string, role: 'full' | 'front' | 'rest', level?: number) => {
    const f = pack.file(role, level);
    specs.push({ name, path: pack.filePath(role, level), inputs: f.inputs, outputs: f.outputs });
  };
  // ARAC uses the unsplit model too: a frame whose tiles are all at c = 0 runs whole.
  add('full', 'full');
  if (set === 'arac') {
    for (const l of pack.manifest.arac.levels) if (l.kind === 'compute') add(`front:${l.c}`, 'front', l.c);
    add('rest', 'rest');
  }
  return specs;
}

export interface OpenModelOptions extends RunnerOptions {
  set: ModelSet;
  /** Hash every file against the manifest (default true; a worker whose owner checked them once passes false). */
  verifyChecksums?: boolean;
}

export interface OpenModel {
  pack: ModelPack;
  runner: OrtRunner;
}

/** Loads the pack at `packDir` and opens its sessions; typed ModelPackError / InferenceError on failure. */
export async function openModel(packDir: string, o: OpenModelOptions): Promise<OpenModel> {
  const pack = await loadModelPack(packDir, { verifyChecksums: o.verifyChecksums ?? true });
  const runner = await OrtRunner.open(packModelSpecs(pack, o.set), { ...(o.provider ? { provider: o.provider } : {}), ...(o.threads ? { threads: o.threads } : {}), ...(o.webgpu ? { webgpu: o.webgpu } : {}) });
  return { pack, runner };
}
