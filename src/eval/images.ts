/**
 * COCO-style evaluation on labelled still images: every image through a
 * strategy (tracker off: stills have no time), then mAP50 and mAP50-95.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { computeLevels, loadModelPack } from '../model/manifest.js';
import { InputError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { chooseInputSize } from '../model/input-size.js';
import { InferencePool } from '../inference/pool.js';
import { probeSize, readStill } from '../ingest/still.js';
import { createStrategy } from '../strategy/registry.js';
import type { StrategySpec } from '../strategy/spec.js';
import { parseCocoJson, parseYoloLabels } from './labels.js';
import { cocoMap, type GtBox, type ScoredBox } from './metrics.js';
import { FrameProcessor } from './processor.js';
import { summarize, type LatencySummary } from '../core/stats.js';

const IMAGE = /\.(jpe?g|png|bmp|webp)$/i;
/** mAP needs the low-scoring tail of detections too (COCO keeps 100 per image). */
const MAP_SCORE_FLOOR = 0.01;

export interface ImageEvalReport {
  strategy: string;
  images: number;
  labels: string;
  /** null when no image has labels. */
  map50: number | null;
  map50_95: number | null;
  per_class: Array<{ classId: number; label: string; gt: number; ap50: number }>;
  detector_ms: LatencySummary;
}

async function labelsFor(labels: string, files: string[], sizes: Map<string, { width: number; height: number }>): Promise<Map<string, GtBox[]>> {
  const out = new Map<string, GtBox[]>();
  if ((await stat(labels)).isDirectory()) {
    for (const f of files) {
      const txt = path.join(labels, f.replace(/\.[^.]+$/, '.txt'));
      const size = sizes.get(f) as { width: number; height: number };
      // An image without a label file has no objects (the YOLO convention).
      const text = await readFile(txt, 'utf8').catch(() => '');
      out.set(f, parseYoloLabels(text, txt, size.width, size.height));
    }
    return out;
  }
  const coco = parseCocoJson(await readFile(labels, 'utf8'), labels);
  for (const f of files) out.set(f, coco.images.get(f)?.boxes ?? []);
  return out;
}

export async function evalImages(o: { dir: string; labels: string; strategy: StrategySpec; packDir: string; log: Logger; onProgress?: (done: number, total: number) => void }): Promise<ImageEvalReport> {
  const strategy = createStrategy(o.strategy);
  if (!(o.strategy.name === 'full' || o.strategy.name === 'downscale' || (o.strategy.name === 'arac-uniform' && o.strategy.level === 0))) {
    throw new InputError(`strategy '${strategy.name}' needs video (it uses time or motion); on still images use full, downscale or arac-c0`);
  }
  const files = (await readdir(o.dir)).filter((f) => IMAGE.test(f)).sort();
  if (files.length === 0) throw new InputError(`${o.dir}: no images (jpg, png, bmp, webp)`);
  const pack = await loadModelPack(o.packDir);
  const sizes = new Map<string, { width: number; height: number }>();
  for (const f of files) sizes.set(f, await probeSize(path.join(o.dir, f)));
  const gts = await labelsFor(o.labels, files, sizes);

  const pool = await InferencePool.open({
    packDir: o.packDir, provider: 'cpu', workers: 1, models: strategy.models, verifyChecksums: false,
    detect: { minScore: MAP_SCORE_FLOOR, nmsIou: 0.6, maxDetections: 100 },
  });
  const first = sizes.get(files[0] as string) as { width: number; height: number };
  // Stills have no time: no tracker, and each image starts afresh (reset below).
  const proc = await FrameProcessor.open({ id: 'images', strategy, input: chooseInputSize(pack.manifest, first.width, first.height), sloFps: 1, pool, info: { computeLevels: computeLevels(pack) }, tracker: false, log: o.log });
  const preds: ScoredBox[][] = [];
  const ms: number[] = [];
  try {
    for (const [i, f] of files.entries()) {
      const src = sizes.get(f) as { width: number; height: number };
      const size = chooseInputSize(pack.manifest, src.width, src.height);
      const still = await readStill(path.join(o.dir, f), size);
      proc.reset();
      const r = await proc.process({ cameraId: 'images', seq: i, ptsMs: 0, captureWallMs: Date.now(), ...still });
      preds.push(r?.detections ?? []);
      ms.push(r?.result.detectorMs ?? 0);
      o.onProgress?.(i + 1, files.length);
    }
  } finally {
    await proc.close();
    await pool.close();
  }
  const gtList = files.map((f) => gts.get(f) ?? []);
  const res = cocoMap(preds, gtList);
  return {
    strategy: strategy.name,
    images: files.length,
    labels: o.labels,
    map50: res.map50,
    map50_95: res.map,
    per_class: res.perClass.map((c) => ({ classId: c.classId, label: pack.manifest.classes[c.classId] ?? String(c.classId), gt: c.numGt, ap50: c.ap[0] ?? NaN })),
    detector_ms: summarize(ms),
  };
}
