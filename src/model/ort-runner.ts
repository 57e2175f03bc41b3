/**
 * The only file that touches onnxruntime-node. Sessions are created once,
 * checked against what the model pack declares (input/output names and
 * fixed dimensions), and released by close().
 *
 * ORT's run() is synchronous on the calling thread (the promise only wraps
 * it), so services call this from a worker thread (see pool.ts).
 */
import ort from 'onnxruntime-node';
import { InferenceError, ModelPackError } from '../core/errors.js';
import type { Feeds, ModelRunner, Outputs, Provider } from './tensor.js';

export interface ModelSpec {
  /** Name the runner uses for this model (e.g. 'full', 'front:0', 'rest'). */
  name: string;
  path: string;
  inputs: ReadonlyArray<{ name: string; shape: ReadonlyArray<number | string> }>;
  outputs: ReadonlyArray<{ name: string; shape: ReadonlyArray<number | string> }>;
}

export interface RunnerOptions {
  provider?: Provider;
  /** Intra-op threads per session; default: ORT's choice (all cores). */
  threads?: number;
}

export function availableProviders(): string[] {
  return ort.listSupportedBackends().map((b) => b.name);
}

function checkIo(spec: ModelSpec, kind: 'input' | 'output', declared: ModelSpec['inputs'], actual: readonly ort.InferenceSession.ValueMetadata[]): void {
  const names = actual.map((a) => a.name);
  for (const d of declared) {
    const a = actual.find((x) => x.name === d.name);
    if (!a) throw new ModelPackError('MODEL_SHAPE_MISMATCH', spec.path, `the manifest declares ${kind} '${d.name}', the file has ${kind}s [${names.join(', ')}]`);
    if (!a.isTensor) continue;
    const shape = a.shape;
    const bad = shape.length !== d.shape.length || d.shape.some((dim, i) => typeof dim === 'number' && typeof shape[i] === 'number' && shape[i] !== dim);
    if (bad) throw new ModelPackError('MODEL_SHAPE_MISMATCH', spec.path, `${kind} '${d.name}' has shape [${shape.join(',')}], the manifest says [${d.shape.join(',')}]`);
  }
  if (declared.length !== actual.length) {
    throw new ModelPackError('MODEL_SHAPE_MISMATCH', spec.path, `the file has ${actual.length} ${kind}s [${names.join(', ')}], the manifest declares ${declared.length}`);
  }
}

export class OrtRunner implements ModelRunner {
  private closed = false;

  private constructor(private readonly sessions: Map<string, ort.InferenceSession>) {}

  static async open(specs: readonly ModelSpec[], opts: RunnerOptions = {}): Promise<OrtRunner> {
    const provider = opts.provider ?? 'cpu';
    const supported = availableProviders();
    if (!supported.includes(provider)) {
      throw new InferenceError(`execution provider '${provider}' is not available in this onnxruntime-node build (available: ${supported.join(', ')})`, { code: 'PROVIDER_UNAVAILABLE' });
    }
    const sessions = new Map<string, ort.InferenceSession>();
    const runner = new OrtRunner(sessions);
    try {
      for (const spec of specs) {
        let s: ort.InferenceSession;
        try {
          s = await ort.InferenceSession.create(spec.path, {
            executionProviders: [provider],
            graphOptimizationLevel: 'all',
            ...(opts.threads ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } : {}),
          });
        } catch (err) {
          const msg = (err as Error).message ?? String(err);
          if (provider !== 'cpu' && /provider|backend|webgpu|cuda|adapter|device/i.test(msg)) {
            throw new InferenceError(`execution provider '${provider}' failed to start for ${spec.name}: ${msg}`, { code: 'PROVIDER_UNAVAILABLE', cause: err });
          }
          throw new ModelPackError('MODEL_FILE_CORRUPT', spec.path, `onnxruntime cannot load it: ${msg.split('\n')[0]}`, { cause: err });
        }
        sessions.set(spec.name, s);
        checkIo(spec, 'input', spec.inputs, s.inputMetadata);
        checkIo(spec, 'output', spec.outputs, s.outputMetadata);
      }
    } catch (err) {
      await runner.close();
      throw err;
    }
    return runner;
  }

  async run(model: string, feeds: Feeds, outputs?: readonly string[]): Promise<Outputs> {
    if (this.closed) throw new InferenceError('runner is closed');
    const s = this.sessions.get(model);
    if (!s) throw new InferenceError(`no model named '${model}' (have ${[...this.sessions.keys()].join(', ')})`);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor('float32', t.data, t.dims);
    let res: ort.InferenceSession.OnnxValueMapType;
    try {
      res = await (outputs ? s.run(ortFeeds, [...outputs]) : s.run(ortFeeds));
    } catch (err) {
      throw new InferenceError(`${model}: ${(err as Error).message}`, { cause: err });
    }
    const out: Outputs = {};
    for (const [name, v] of Object.entries(res)) {
      out[name] = { data: v.data as Float32Array, dims: v.dims };
      v.dispose();
    }
    return out;
  }

  /** Idempotent: releases every session. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled(all.map((s) => s.release()));
  }
}
