/**
 * The compression controller (the paper's CGG): a tiny CNN that looks at a
 * tile and says which ARAC level it needs. Architecture as in NeuLens: the
 * tile at 28x28 -> conv 7x7 stride 4 -> ReLU -> max-pool 2 -> fully
 * connected -> one logit per level. Trained by `models/tools/train_cgg.py`
 * on the labeling rule's labels (`neulens label --patches`) and shipped in
 * the pack (`manifest.controller`).
 *
 * Its input differs from the paper's RGB tile on purpose. Our skip level
 * shows a tile's detections from when it was last computed, so whether a
 * skip is safe depends on what changed since then, which the current tile
 * alone cannot show. The three planes are:
 *   0. luma now;
 *   1. |luma now - luma when the tile was last computed| where it exceeds
 *      the noise level (ChangeMap.patch), else 0;
 *   2. the tracker's prime: each tracked object's predicted box, valued by how
 *      far it has moved from the box the camera last showed for it
 *      (1 - IoU; 1 for a tentative track, which the camera has not shown).
 * This is how tracked regions "prime" the tile's importance here: as input.
 *
 * Inference is plain TypeScript (about 30 k multiply-adds a tile at 4
 * channels; tiles with nothing in planes 1 and 2 are not run): cheaper
 * than a call into onnxruntime, and it runs on the frame's own thread.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ModelPack } from '../model/manifest.js';
import { ModelPackError } from '../core/errors.js';
import { iou } from '../core/geometry.js';
import type { Box } from '../core/types.js';
import type { Tile } from '../arac/geometry.js';
import type { PredictedTrack } from '../track/tracker.js';
import type { ChangeMap } from './change.js';

export const CGG_SIZE = 28;
export const CGG_PLANES = 3;
const PLANE = CGG_SIZE * CGG_SIZE;

export interface CggSpec {
  format: 'neulens-cgg/1';
  inputSize: number;
  planes: string[];
  conv: { out: number; kernel: number; stride: number; pad: number };
  pool: { kernel: number };
  /** Output order of the logits: compute levels, then 1 = skip. */
  levels: number[];
  /** A tile is skipped when P(skip) reaches this (chosen by the training tool). */
  skipThreshold: number;
  /** Little-endian float32, base64: conv weight [out, planes, k, k], conv bias, fc weight [levels, features], fc bias. */
  weights: { convW: string; convB: string; fcW: string; fcB: string };
  /** A fixed input (base64 float32, one tile) and the logits the training framework gave for it. */
  check?: { input: string; logits: number[] };
  training?: unknown;
}

/** Little-endian float32 from base64; undefined when it is not a whole number of floats. */
function floats(b64: unknown): Float32Array | undefined {
  if (typeof b64 !== 'string') return undefined;
  const buf = Buffer.from(b64, 'base64');
  if (buf.length % 4 !== 0) return undefined;
  const out = new Float32Array(buf.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

export class Cgg {
  readonly levels: readonly number[];
  readonly skipThreshold: number;
  private readonly c: number;
  private readonly k: number;
  private readonly stride: number;
  private readonly pad: number;
  private readonly convOut: number;
  private readonly poolK: number;
  private readonly poolOut: number;
  private readonly features: number;
  private readonly convW: Float32Array;
  private readonly convB: Float32Array;
  private readonly fcW: Float32Array;
  private readonly fcB: Float32Array;
  private conv = new Float32Array(0);
  private pooled = new Float32Array(0);

  /** @param where names the file in errors. */
  constructor(readonly spec: CggSpec, where = 'cgg') {
    const bad = (field: string, msg: string): never => {
      throw new ModelPackError('MODEL_PACK_INVALID', `${where} ${field}`, msg);
    };
    if (spec.format !== 'neulens-cgg/1') bad('format', `expected 'neulens-cgg/1', got ${String(spec.format)}`);
    if (!Array.isArray(spec.planes) || !Array.isArray(spec.levels) || typeof spec.conv !== 'object' || typeof spec.pool !== 'object' || typeof spec.weights !== 'object') {
      bad('(root)', 'needs planes and levels (arrays), conv, pool and weights (objects)');
    }
    if (spec.inputSize !== CGG_SIZE) bad('inputSize', `must be ${CGG_SIZE}, got ${spec.inputSize}`);
    if (spec.planes.length !== CGG_PLANES) bad('planes', `must list ${CGG_PLANES} planes, got ${spec.planes.length}`);
    const { out, kernel, stride, pad } = spec.conv;
    if (![out, kernel, stride].every((v) => Number.isInteger(v) && v > 0) || !(Number.isInteger(pad) && pad >= 0)) bad('conv', 'out, kernel, stride must be positive integers and pad >= 0');
    if (!(Number.isInteger(spec.pool.kernel) && spec.pool.kernel > 0)) bad('pool.kernel', 'must be a positive integer');
    const levels = spec.levels;
    if (levels.length < 2 || levels.at(-1) !== 1 || levels.some((l, i) => !(l >= 0 && l <= 1) || (i > 0 && l <= levels[i - 1]!))) bad('levels', `must be increasing compute levels ending in 1 (skip), got ${levels.join(', ')}`);
    this.levels = Object.freeze([...levels]);
    if (!(spec.skipThreshold > 0 && spec.skipThreshold < 1)) bad('skipThreshold', `must be in (0, 1), got ${spec.skipThreshold}`);
    this.skipThreshold = spec.skipThreshold;
    this.c = out;
    this.k = kernel;
    this.stride = stride;
    this.pad = pad;
    this.convOut = Math.floor((CGG_SIZE + 2 * pad - kernel) / stride) + 1;
    this.poolK = spec.pool.kernel;
    // Ceil mode: the last, partial window is kept (7 -> 4 with a kernel of 2).
    this.poolOut = Math.ceil(this.convOut / this.poolK);
    this.features = out * this.poolOut * this.poolOut;
    const want = (name: keyof CggSpec['weights'], n: number): Float32Array => {
      const a = floats(spec.weights[name]);
      if (!a) return bad(`weights.${name}`, 'must be base64 of little-endian float32 values');
      if (a.length !== n) bad(`weights.${name}`, `has ${a.length} values, the architecture needs ${n}`);
      if (!a.every(Number.isFinite)) bad(`weights.${name}`, 'holds a non-finite value');
      return a;
    };
    this.convW = want('convW', out * CGG_PLANES * kernel * kernel);
    this.convB = want('convB', out);
    this.fcW = want('fcW', levels.length * this.features);
    this.fcB = want('fcB', levels.length);
  }

  /** Read a controller file; every defect is a ModelPackError naming the file. */
  static async load(file: string): Promise<Cgg> {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      throw new ModelPackError('MODEL_FILE_CORRUPT', file, `cannot read the controller (${(err as Error).message})`, { cause: err });
    }
    if (typeof json !== 'object' || json === null) throw new ModelPackError('MODEL_PACK_INVALID', file, 'not a neulens-cgg/1 controller (a JSON object)');
    return new Cgg(json as CggSpec, file);
  }

  /** Logits [n, levels] for n tiles of input [n, 3, 28, 28]; tiles `only` leaves out keep zeros. */
  forward(x: Float32Array, n: number, only?: readonly boolean[]): Float32Array {
    if (x.length < n * CGG_PLANES * PLANE) throw new RangeError(`cgg: input holds ${x.length} values, ${n} tiles need ${n * CGG_PLANES * PLANE}`);
    const { c, k, stride, pad, convOut: co, poolK, poolOut: po, features } = this;
    const L = this.levels.length;
    if (this.conv.length !== c * co * co) this.conv = new Float32Array(c * co * co);
    if (this.pooled.length !== features) this.pooled = new Float32Array(features);
    const conv = this.conv;
    const pooled = this.pooled;
    const out = new Float32Array(n * L);
    const kk = k * k;
    const convW = this.convW;
    const active: number[] = [];
    for (let t = 0; t < n; t++) {
      if (only && !only[t]) continue;
      const base = t * CGG_PLANES * PLANE;
      // An all-zero plane adds nothing (the track prime is zero in most tiles, the change in
      // quiet ones): leave it out of every dot product.
      active.length = 0;
      for (let p = 0; p < CGG_PLANES; p++) {
        const from = base + p * PLANE;
        for (let i = from; i < from + PLANE; i++) {
          if (x[i] !== 0) {
            active.push(p);
            break;
          }
        }
      }
      for (let oy = 0; oy < co; oy++) {
        const y0 = oy * stride - pad;
        const ky0 = y0 < 0 ? -y0 : 0;
        const ky1 = Math.min(k, CGG_SIZE - y0);
        for (let ox = 0; ox < co; ox++) {
          const x0 = ox * stride - pad;
          const kx0 = x0 < 0 ? -x0 : 0;
          const kx1 = Math.min(k, CGG_SIZE - x0);
          for (let oc = 0; oc < c; oc++) {
            let s = this.convB[oc] as number;
            const wBase = oc * CGG_PLANES * kk;
            for (const p of active) {
              const xBase = base + p * PLANE + y0 * CGG_SIZE + x0;
              const wp = wBase + p * kk;
              for (let ky = ky0; ky < ky1; ky++) {
                const xi = xBase + ky * CGG_SIZE;
                const wi = wp + ky * k;
                if (k === 7 && kx0 === 0 && kx1 === 7) {
                  // The interior, unrolled for the paper's 7x7 kernel: V8 does not unroll it itself.
                  s +=
                    (x[xi] as number) * (convW[wi] as number) +
                    (x[xi + 1] as number) * (convW[wi + 1] as number) +
                    (x[xi + 2] as number) * (convW[wi + 2] as number) +
                    (x[xi + 3] as number) * (convW[wi + 3] as number) +
                    (x[xi + 4] as number) * (convW[wi + 4] as number) +
                    (x[xi + 5] as number) * (convW[wi + 5] as number) +
                    (x[xi + 6] as number) * (convW[wi + 6] as number);
                } else {
                  for (let kx = kx0; kx < kx1; kx++) s += (x[xi + kx] as number) * (convW[wi + kx] as number);
                }
              }
            }
            conv[(oc * co + oy) * co + ox] = s > 0 ? s : 0;
          }
        }
      }
      for (let oc = 0; oc < c; oc++) {
        for (let py = 0; py < po; py++) {
          for (let px = 0; px < po; px++) {
            let m = -Infinity;
            for (let dy = 0; dy < poolK; dy++) {
              const y = py * poolK + dy;
              if (y >= co) break;
              for (let dx = 0; dx < poolK; dx++) {
                const xx = px * poolK + dx;
                if (xx >= co) break;
                const v = conv[(oc * co + y) * co + xx] as number;
                if (v > m) m = v;
              }
            }
            pooled[(oc * po + py) * po + px] = m;
          }
        }
      }
      for (let l = 0; l < L; l++) {
        let s = this.fcB[l] as number;
        const wi = l * features;
        for (let f = 0; f < features; f++) s += (pooled[f] as number) * (this.fcW[wi + f] as number);
        out[t * L + l] = s;
      }
    }
    return out;
  }

  /**
   * Per tile, the probability (softmax over the levels) that skipping it is
   * safe. With `evidence`, a tile without any (nothing changed above noise
   * since it was last computed, no moved track: its held detections are what
   * a computation would most likely give again) is 1 without running the
   * network; the training tool leaves such tiles out the same way.
   */
  skipProbabilities(x: Float32Array, n: number, evidence?: readonly boolean[]): number[] {
    const logits = this.forward(x, n, evidence);
    const L = this.levels.length;
    const out: number[] = [];
    for (let t = 0; t < n; t++) {
      if (evidence && !evidence[t]) {
        out.push(1);
        continue;
      }
      let max = -Infinity;
      for (let l = 0; l < L; l++) max = Math.max(max, logits[t * L + l] as number);
      let sum = 0;
      for (let l = 0; l < L; l++) sum += Math.exp((logits[t * L + l] as number) - max);
      out.push(Math.exp((logits[t * L + L - 1] as number) - max) / sum);
    }
    return out;
  }
}

/** The pack's controller (manifest `controller`), or undefined when it ships none. */
export async function loadPackController(pack: ModelPack): Promise<Cgg | undefined> {
  const entry = pack.manifest.controller;
  if (!entry) return undefined;
  const file = path.join(pack.dir, entry.file);
  const cgg = await Cgg.load(file);
  if (cgg.levels.join() !== entry.levels.join()) throw new ModelPackError('MODEL_PACK_INVALID', `manifest.json controller.levels`, `${entry.levels.join(', ')} but ${entry.file} has ${cgg.levels.join(', ')}`);
  return cgg;
}

/** How much a tracked object calls for a fresh detection (see plane 2): 1 - IoU(predicted, last shown), 1 if tentative. */
export function trackPrime(t: PredictedTrack): number {
  if (!t.confirmed) return 1;
  const v = 1 - iou(t.box, t.lastBox);
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

export interface CggInput {
  /** [tiles, 3, 28, 28]. */
  x: Float32Array;
  /** Per tile: plane 1 or 2 holds anything (a change above noise, a track that moved). */
  evidence: boolean[];
}

/**
 * The controller's input for every tile, [tiles, 3, 28, 28] (see the module
 * comment), from the change map (this frame's luma and each tile's reference)
 * and the tracker's predictions (source pixels; `scale` = source per input
 * pixel). Empty planes 0 and 1 before the change map has seen a frame.
 */
export function cggInput(tiles: readonly Tile[], change: ChangeMap, tracks: readonly PredictedTrack[], scale: { sx: number; sy: number }, out?: Float32Array): CggInput {
  const n = tiles.length;
  const x = out && out.length === n * CGG_PLANES * PLANE ? out : new Float32Array(n * CGG_PLANES * PLANE);
  const evidence: boolean[] = [];
  const primes: Array<{ box: Box; v: number }> = [];
  for (const t of tracks) {
    const v = trackPrime(t);
    const b = t.box;
    if (v > 0 && [b.x, b.y, b.w, b.h].every(Number.isFinite)) primes.push({ box: { x: b.x / scale.sx, y: b.y / scale.sy, w: b.w / scale.sx, h: b.h / scale.sy }, v });
  }
  tiles.forEach((tile, ti) => {
    const base = ti * CGG_PLANES * PLANE;
    let any = change.patch(tile, CGG_SIZE, x, x.subarray(PLANE), base);
    const prime = x.subarray(base + 2 * PLANE, base + 3 * PLANE);
    prime.fill(0);
    for (const { box, v } of primes) {
      // The box in the tile's 28x28 sample grid (sample i sits at tile.x + (i + 0.5) * w / 28).
      const i0 = Math.max(0, Math.ceil(((box.x - tile.x) * CGG_SIZE) / tile.w - 0.5));
      const i1 = Math.min(CGG_SIZE - 1, Math.floor(((box.x + box.w - tile.x) * CGG_SIZE) / tile.w - 0.5));
      const j0 = Math.max(0, Math.ceil(((box.y - tile.y) * CGG_SIZE) / tile.h - 0.5));
      const j1 = Math.min(CGG_SIZE - 1, Math.floor(((box.y + box.h - tile.y) * CGG_SIZE) / tile.h - 0.5));
      for (let j = j0; j <= j1; j++) {
        for (let i = i0; i <= i1; i++) {
          any = true;
          if ((prime[j * CGG_SIZE + i] as number) < v) prime[j * CGG_SIZE + i] = v;
        }
      }
    }
    evidence.push(any);
  });
  return { x, evidence };
}
