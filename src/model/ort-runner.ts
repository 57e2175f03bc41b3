/**
 * The only file that touches onnxruntime-node. Sessions are created once,
 * checked against what the model pack declares (input/output names and
 * fixed dimensions), and released by close().
 *
 * ORT's run() is synchronous on the calling thread (the promise only wraps
 * it), so services call this from a worker thread (see pool.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
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
  /**
   * WebGPU's per-call knobs (issue 18), for measuring them on a GPU host
   * (`bench-pack --graph-capture --gpu-buffer-outputs`); not yet measured
   * there, so no service config sets them. Other providers ignore both
   * (ONNX Runtime reads neither on the CPU), which the CPU tests rely on.
   */
  webgpu?: WebGpuKnobs;
}

export interface WebGpuKnobs {
  /**
   * The WebGPU provider's graph capture: the first call of a session records
   * its GPU commands, later calls replay them. Replaying needs the same input
   * shape every call, so the runner refuses a second shape on a session
   * (a typed error, not a replay of the wrong graph): one session per shape
   * and batch size.
   */
  graphCapture?: boolean;
  /**
   * preferredOutputLocation 'gpu-buffer': outputs stay on the GPU and the
   * runner downloads them itself (Tensor.getData), so callers see CPU data
   * either way; what it changes is when and how the copy happens.
   */
  gpuBufferOutputs?: boolean;
}

/**
 * The session config key of the WebGPU provider's graph capture in ONNX
 * Runtime 1.30 (`kEnableGraphCapture` in
 * onnxruntime/core/providers/webgpu/webgpu_provider_options.h; values "1" /
 * "0", anything else fails session creation). The Node binding takes no
 * `enableGraphCapture` WebGPU option (its option list rejects unknown names)
 * and its session-level `enableGraphCapture` is for ONNX Runtime Web only,
 * so the key goes through `extra`, whose entries the binding adds verbatim
 * as session config entries (string values only).
 * scripts/gpu-host/webgpu-probe.mjs checks on a GPU that the provider reads it.
 */
export const WEBGPU_GRAPH_CAPTURE_KEY = 'ep.webgpuexecutionprovider.enableGraphCapture';

/** The session options for a provider and the knobs (exported for the binding test). */
export function sessionOptions(provider: Provider, opts: Pick<RunnerOptions, 'threads' | 'webgpu'> = {}): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    ...(opts.threads ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } : {}),
    ...(opts.webgpu?.graphCapture ? { extra: { [WEBGPU_GRAPH_CAPTURE_KEY]: '1' } } : {}),
    ...(opts.webgpu?.gpuBufferOutputs ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
  };
}

/**
 * Where onnxruntime-node keeps its native libraries, and its version: the
 * CUDA provider's libraries must go there, of the same ONNX Runtime version
 * (README, GPU providers).
 */
export function ortNativeDir(): { dir: string; version: string } {
  const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
  const version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  return { dir: path.join(path.dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch), version };
}

/**
 * What is missing when the CUDA provider cannot start: the npm package
 * ships neither of its two libraries (its install script would fetch them
 * from NuGet, which this project skips: .npmrc), and they need CUDA 12 and
 * cuDNN 9 on the library path.
 */
function cudaHint(): string {
  const { dir, version } = ortNativeDir();
  const libs = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];
  const missing = libs.filter((f) => !existsSync(path.join(dir, f)));
  const what = missing.length
    ? `${missing.join(' and ')} of ONNX Runtime ${version} (NuGet Microsoft.ML.OnnxRuntime.Gpu.Linux ${version}, runtimes/linux-x64/native/) must be placed in ${dir}`
    : `the provider libraries are in ${dir}; their CUDA 12 and cuDNN 9 libraries must be on the library path (ldd ${path.join(dir, libs[1] as string)} | grep 'not found')`;
  return `; ${what} (README: GPU providers)`;
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
  /** With graph capture: the input shape each session was first called with (a replay needs it again). */
  private readonly captured = new Map<string, string>();

  private constructor(
    private readonly sessions: Map<string, ort.InferenceSession>,
    private readonly graphCapture = false,
  ) {}

  static async open(specs: readonly ModelSpec[], opts: RunnerOptions = {}): Promise<OrtRunner> {
    const provider = opts.provider ?? 'cpu';
    const supported = availableProviders();
    if (!supported.includes(provider)) {
      throw new InferenceError(`execution provider '${provider}' is not available in this onnxruntime-node build (available: ${supported.join(', ')})`, { code: 'PROVIDER_UNAVAILABLE' });
    }
    const sessions = new Map<string, ort.InferenceSession>();
    const runner = new OrtRunner(sessions, opts.webgpu?.graphCapture ?? false);
    try {
      for (const spec of specs) {
        let s: ort.InferenceSession;
        try {
          s = await ort.InferenceSession.create(spec.path, sessionOptions(provider, opts));
        } catch (err) {
          const msg = (err as Error).message ?? String(err);
          if (provider !== 'cpu' && /provider|backend|webgpu|cuda|adapter|device/i.test(msg)) {
            throw new InferenceError(`execution provider '${provider}' failed to start for ${spec.name}: ${msg}${provider === 'cuda' ? cudaHint() : ''}`, { code: 'PROVIDER_UNAVAILABLE', cause: err });
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
    if (this.graphCapture) {
      const shape = Object.entries(feeds)
        .map(([name, t]) => `${name}[${t.dims.join(',')}]`)
        .join(' ');
      const first = this.captured.get(model);
      if (first === undefined) this.captured.set(model, shape);
      else if (first !== shape) {
        throw new InferenceError(`${model}: graph capture replays the graph of its first call (${first}); this call is ${shape}: use one session per input shape and batch size`);
      }
    }
    let res: ort.InferenceSession.OnnxValueMapType;
    try {
      res = await (outputs ? s.run(ortFeeds, [...outputs]) : s.run(ortFeeds));
    } catch (err) {
      throw new InferenceError(`${model}: ${(err as Error).message}`, { cause: err });
    }
    const out: Outputs = {};
    for (const [name, v] of Object.entries(res)) {
      // gpu-buffer outputs: downloaded here (getData(true) copies and releases the GPU buffer).
      const data = v.location === 'gpu-buffer' ? ((await v.getData(true)) as Float32Array) : (v.data as Float32Array);
      out[name] = { data, dims: v.dims };
      if (v.location !== 'gpu-buffer') v.dispose();
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
