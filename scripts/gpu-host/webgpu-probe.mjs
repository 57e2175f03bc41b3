// WebGPU per-call cost probe for the GPU host (issue 18, part 2), straight on onnxruntime-node:
// what the Node binding accepts, and what each knob does to a call's time, before the project
// builds on any of them.
//  1. Graph capture: which session config key the WebGPU provider reads (a bogus value must make
//     session creation fail; a key that is not read is accepted silently), then the unsplit model
//     with capture on at a fixed batch size, against the same without.
//  2. preferredOutputLocation 'gpu-buffer': the heads kept on the GPU and downloaded with
//     getData(), against plain CPU outputs; and the sliced level's front -> rest chain with the
//     stride-8 features left on the GPU between the two sessions, against a round trip via the CPU.
//  3. The unsplit model at batch sizes 1..64: what one more item costs once a call is paid for.
// Usage: node scripts/gpu-host/webgpu-probe.mjs [--provider webgpu|cpu] [--runs 30] [--size 512x288] [--batches 1,2,...,64]
//   [--fixed-batches 1,8,32,64] [--json-out FILE]
// (cpu: a dry run of the script itself; the GPU-only knobs are then accepted and ignored).
// Option names as onnxruntime-node 1.30 takes them (checked against its typings and binding):
// preferredOutputLocation is a session option ('gpu-buffer', or per output name); graph capture
// has no WebGPU option in the Node binding (it rejects unknown WebGPU option names) and the
// session-level enableGraphCapture is documented for ONNX Runtime Web only, so the provider's
// session config key goes through sessionOptions.extra (string values only; the runner's
// WEBGPU_GRAPH_CAPTURE_KEY, src/model/ort-runner.ts).
import ort from 'onnxruntime-node';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const provider = opt('--provider', 'webgpu');
const runs = Number(opt('--runs', '30'));
const [W, H] = opt('--size', '512x288').split('x').map(Number);
const pack = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../models/nanodet-g');
const FULL = path.join(pack, 'nanodet-g.onnx');
const FRONT = path.join(pack, 'front-c050.onnx');
const REST = path.join(pack, 'rest.onnx');
const HEADS = ['cls_s8', 'reg_s8', 'cls_s16', 'reg_s16', 'cls_s32', 'reg_s32'];
const base = { executionProviders: [provider], graphOptimizationLevel: 'all' };
const jsonOut = opt('--json-out', undefined);
const list = (text) => text.split(',').map(Number);
// Plain calls at every batch size; graph capture and gpu-buffer outputs (a session each) at a few.
const batches = list(opt('--batches', '1,2,4,8,16,32,64'));
const fixedBatches = list(opt('--fixed-batches', '1,8,32,64'));
const findings = [];
const line = (...a) => console.log(a.join('  '));
/** A finding: printed, and kept for --json-out. */
const note = (what, result, detail = '') => {
  findings.push({ what, result, ...(detail ? { detail } : {}) });
  line(what, result, detail);
  save();
};
const rows = [];
/** --json-out rewritten after every finding and timing: a run stopped by its timeout keeps what it measured. */
function save() {
  if (!jsonOut) return;
  writeFileSync(jsonOut, `${JSON.stringify({ date: new Date().toISOString(), provider, size: `${W}x${H}`, runs, findings, rows: rows.map(([model, variant, batch, t]) => ({ model, variant, batch, medianMs: t.median, p95Ms: t.p95, perItemMs: t.median / batch })) }, null, 2)}\n`);
}
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const p95 = (v) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(v.length * 0.95))];
const short = (e) => String(e?.message ?? e).split('\n')[0].slice(0, 160);

async function open(file, extra = {}) {
  return ort.InferenceSession.create(file, { ...base, ...extra });
}

function image(batch) {
  const data = new Float32Array(batch * 3 * H * W);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) % 1000) / 500 - 1;
  return new ort.Tensor('float32', data, [batch, 3, H, W]);
}

/** Times fn over runs after 5 warm-up calls; fn returns the outputs, which are released. */
async function time(fn) {
  const t = [];
  for (let r = 0; r < runs + 5; r++) {
    const t0 = performance.now();
    const out = await fn();
    for (const v of Object.values(out ?? {})) if (v && v.location === 'gpu-buffer') await v.getData(true);
    const ms = performance.now() - t0;
    for (const v of Object.values(out ?? {})) v?.dispose?.();
    if (r >= 5) t.push(ms);
  }
  return { median: median(t), p95: p95(t) };
}

line('providers', JSON.stringify(ort.listSupportedBackends()));
line('probe', `provider ${provider}, ${W}x${H}, ${runs} runs after 5 warm-up`);

// 1a. Which graph-capture key is read. The first is ONNX Runtime 1.30's (webgpu_provider_options.h),
// the second an older spelling. A key the provider parses fails session creation on a bogus value;
// one it never sees (a wrong key, or the binding adding extra entries only after it has appended
// the provider) is taken silently.
const CAPTURE_KEYS = ['ep.webgpuexecutionprovider.enableGraphCapture', 'ep.WebGpuExecutionProvider.enableGraphCapture'];
let captureKey;
for (const key of CAPTURE_KEYS) {
  try {
    const s = await open(FULL, { extra: { [key]: 'bogus-value' } });
    await s.release();
    note(`graph capture key ${key}`, 'NOT read', 'a bogus value was taken silently');
  } catch (e) {
    note(`graph capture key ${key}`, 'read', `a bogus value failed session creation: ${short(e)}`);
    captureKey ??= key;
  }
}
try {
  const s = await open(FULL, { enableGraphCapture: true });
  await s.release();
  note('session option enableGraphCapture: true', 'accepted', 'documented for ONNX Runtime Web; the Node binding does not parse it');
} catch (e) {
  note('session option enableGraphCapture: true', 'rejected', short(e));
}
// The capture variants run with the key read, or else with 1.30's key (then they show what not
// capturing costs, labelled so), so that every part of the script runs on any provider.
const captureLabel = captureKey ? 'graph capture' : 'graph capture (key NOT read: no capture)';
captureKey ??= CAPTURE_KEYS[0];

// Each timing is printed as it is measured (a timeout then keeps what was done) and listed again at the end.
const rowLine = ([model, variant, batch, t]) =>
  line(model.padEnd(20), variant.padEnd(62), String(batch).padStart(5), t.median.toFixed(2).padStart(9), t.p95.toFixed(2).padStart(6), (t.median / batch).toFixed(2).padStart(11));
const header = () => line('model'.padEnd(20), 'variant'.padEnd(62), 'batch', 'median ms', 'p95 ms', 'per item ms');
function addRow(model, variant, batch, t) {
  rows.push([model, variant, batch, t]);
  rowLine([model, variant, batch, t]);
  save();
}
header();

// 1b + 3. The unsplit model per batch size: plain, and with graph capture at that fixed batch.
for (const batch of [...new Set([...batches, ...fixedBatches])].sort((a, b) => a - b)) {
  const img = image(batch);
  const plain = batches.includes(batch) ? await open(FULL) : undefined;
  if (plain) {
    try {
      const t = await time(() => plain.run({ image: img }, HEADS));
      addRow('full', 'plain', batch, t);
    } catch (e) {
      note(`full plain batch ${batch}`, 'FAILED', short(e));
    } finally {
      await plain.release();
    }
  }
  if (fixedBatches.includes(batch)) {
    try {
      const cap = await open(FULL, { extra: { [captureKey]: '1' } });
      try {
        const t = await time(() => cap.run({ image: img }, HEADS));
        addRow('full', captureLabel, batch, t);
      } finally {
        await cap.release();
      }
    } catch (e) {
      note(`full graph capture batch ${batch}`, 'FAILED', short(e));
    }
    try {
      const cap = await open(FULL, { extra: { [captureKey]: '1' }, preferredOutputLocation: 'gpu-buffer' });
      try {
        const t = await time(() => cap.run({ image: img }, HEADS));
        addRow('full', `${captureLabel} + gpu-buffer outputs`, batch, t);
      } finally {
        await cap.release();
      }
    } catch (e) {
      note(`full graph capture + gpu-buffer batch ${batch}`, 'FAILED', short(e));
    }
  }
}

// 2a. Heads as gpu-buffer, downloaded with getData(), against CPU outputs.
for (const batch of fixedBatches) {
  try {
    const s = await open(FULL, { preferredOutputLocation: 'gpu-buffer' });
    try {
      const img = image(batch);
      const first = await s.run({ image: img }, HEADS);
      note(`gpu-buffer heads batch ${batch}`, `outputs on ${first.cls_s8.location}`, first.cls_s8.location === 'gpu-buffer' ? 'kept on the GPU, downloaded with getData()' : 'the provider gave CPU tensors');
      for (const v of Object.values(first)) v.dispose?.();
      addRow('full', 'gpu-buffer outputs', batch, await time(() => s.run({ image: img }, HEADS)));
    } finally {
      await s.release();
    }
  } catch (e) {
    note(`gpu-buffer heads batch ${batch}`, 'FAILED', short(e));
  }
}

// 2b. The sliced level's chain: front (c = 0.5) -> rest, the features through the CPU or left on the GPU.
const img1 = image(1);
const mask = new ort.Tensor('float32', new Float32Array(H * W).fill(1), [1, 1, H, W]);
for (const mode of ['cpu', 'gpu-buffer']) {
  try {
    const front = await open(FRONT, mode === 'gpu-buffer' ? { preferredOutputLocation: { features: 'gpu-buffer' } } : {});
    const rest = await open(REST);
    try {
      const t = await time(async () => {
        const f = await front.run({ image: img1, mask });
        const out = await rest.run({ features: f.features }, HEADS);
        f.features.dispose?.();
        return out;
      });
      addRow('front c0.5 -> rest', `features via ${mode}`, 1, t);
    } finally {
      await front.release();
      await rest.release();
    }
  } catch (e) {
    note(`front -> rest via ${mode}`, 'FAILED', short(e));
  }
}

line('');
header();
for (const r of rows) rowLine(r);
