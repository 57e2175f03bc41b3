/**
 * Masks on the real pipeline (real ffmpeg, the real model and ARAC executor,
 * the bundled parade clip): arac never computes a tile that lies wholly
 * inside a mask (counted from the executor's own report of the tiles each
 * call refreshed), and no strategy publishes a detection inside a mask.
 * Each claim has its control: the same run without the mask computes those
 * tiles and publishes boxes there, so the assertions can fail.
 */
import { Subject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASKED_REASON } from '../../src/arac/mask.js';
import { Camera, type CameraResult, type DetectorPort } from '../../src/camera/camera.js';
import { insideMask } from '../../src/camera/masks.js';
import { silentLogger } from '../../src/core/log.js';
import type { Polygon } from '../../src/core/polygon.js';
import type { Frame } from '../../src/core/types.js';
import { readVideoFrames } from '../../src/eval/frame-reader.js';
import { InferencePool } from '../../src/inference/pool.js';
import { computeLevels, loadModelPack } from '../../src/model/manifest.js';
import { parseStrategy } from '../../src/strategy/registry.js';
import { PACK_DIR } from '../helpers/pack.js';
import { PARADE } from '../helpers/service.js';

let pool: InferencePool;
let levels: readonly number[];
/** The clip's 120 frames, decoded once: every run sees every frame (none dropped by the gate). */
const frames: Frame[] = [];
beforeAll(async () => {
  pool = await InferencePool.open({ packDir: PACK_DIR, provider: 'cpu', workers: 1, threads: 2, models: 'arac', verifyChecksums: false, detect: { minScore: 0.35, nmsIou: 0.6, maxDetections: 100 } });
  levels = computeLevels(await loadModelPack(PACK_DIR));
  for await (const f of readVideoFrames(PARADE, { width: 512, height: 384 })) frames.push({ ...f, data: f.data.slice() });
});
afterAll(async () => {
  await pool.close();
});

// parade.mp4 is 960x540; at 512x384 a 4x4 grid's columns are 128 input px, 240 source px wide.
// The right column (tiles 3, 7, 11, 15): the cup drifts in there, and every other object passes through.
const RIGHT_COLUMN: Polygon = [
  [720, 0],
  [960, 0],
  [960, 540],
  [720, 540],
];
const RIGHT_TILES = [3, 7, 11, 15];
// A mask that follows no tile edge: a triangle over the bottom-left, where the cat and the horse come in.
const TRIANGLE: Polygon = [
  [0, 250],
  [420, 540],
  [0, 540],
];

interface Run {
  results: CameraResult[];
  /** Tiles each executor call refreshed, over the run (start-up calibration on a grey frame excluded). */
  computed: number[][];
}

/** The clip's frames (every `step`-th), one after the other, through one Camera whose detector calls are recorded. */
async function run(strategy: string, masks: Polygon[], step = 1): Promise<Run> {
  const computed: number[][] = [];
  const port: DetectorPort = {
    detect: async (r) => {
      const reply = await pool.detect(r);
      if (!r.scratch) for (const c of reply.arac?.calls ?? []) computed.push(c.tiles);
      return reply;
    },
    backlogMs: (id) => pool.backlogMs(id),
    reset: (id) => pool.reset(id),
  };
  const id = `masks-${strategy}-${masks.length}`;
  const feed = new Subject<Frame>();
  const camera = await Camera.open({
    id,
    frames: { feed, paced: false },
    strategy: parseStrategy(strategy),
    input: { width: 512, height: 384 },
    sloFps: 10,
    pool: port,
    info: { computeLevels: levels },
    tracker: {},
    masks,
    log: silentLogger,
    onDrop: (f, reason) => {
      dropped.push(`${f.seq}: ${reason}`);
      done?.();
    },
  });
  const results: CameraResult[] = [];
  const dropped: string[] = [];
  let done: (() => void) | undefined;
  camera.results$.subscribe((r) => {
    results.push(r);
    done?.();
  });
  for (const f of frames.filter((_, i) => i % step === 0)) {
    const published = new Promise<void>((resolve) => (done = resolve));
    feed.next({ ...f, cameraId: id, captureWallMs: Date.now() });
    await published;
  }
  feed.complete();
  await camera.close();
  expect(dropped).toEqual([]);
  pool.reset(id);
  return { results, computed };
}

const inside = (r: CameraResult, mask: Polygon) => r.detections.filter((d) => insideMask(d, [mask]));

describe('masks', () => {
  it('arac never computes a tile wholly inside a mask (the executor\'s tiles), skips it with reason x, and publishes nothing inside it', async () => {
    const masked = await run('arac', [RIGHT_COLUMN]);
    const open = await run('arac', []);

    // Control: without the mask the executor computes the right column and boxes are published there.
    expect(open.computed.flat().filter((t) => RIGHT_TILES.includes(t)).length).toBeGreaterThan(0);
    expect(open.results.flatMap((r) => inside(r, RIGHT_COLUMN)).length).toBeGreaterThan(0);

    // With it: the executor ran (the rest of the frame is computed), never on a masked tile.
    expect(masked.results.length).toBe(frames.length);
    expect(masked.computed.length).toBeGreaterThan(0);
    expect(masked.computed.flat().filter((t) => RIGHT_TILES.includes(t))).toEqual([]);
    expect(masked.computed.flat().length).toBeLessThan(open.computed.flat().length);
    for (const r of masked.results) {
      const plan = r.result.plan;
      expect(plan?.kind).toBe('tiles');
      if (plan?.kind !== 'tiles') continue;
      for (const t of RIGHT_TILES) {
        expect(plan.levels[t]).toBe(1);
        if (plan.reasons !== undefined) expect(plan.reasons[t]).toBe(MASKED_REASON);
      }
      expect(inside(r, RIGHT_COLUMN)).toEqual([]);
      expect(r.tracks?.filter((t) => insideMask({ ...t.lastBox, classId: t.classId, label: t.label, score: t.score }, [RIGHT_COLUMN])) ?? []).toEqual([]);
    }
    // The warm-up and the refreshes, which run every tile when nothing is masked, ran the rest instead.
    expect(masked.results.filter((r) => r.result.plan?.kind === 'tiles' && r.result.plan.reasons?.includes('r')).length).toBeGreaterThan(0);
  }, 180_000);

  it.each(['full', 'skip-track:3'])('%s publishes no detection inside a mask that follows no tile edge', async (strategy) => {
    // Every other frame (5 fps): the full model is the slow one here.
    const open = await run(strategy, [], 2);
    expect(open.results.flatMap((r) => inside(r, TRIANGLE)).length).toBeGreaterThan(0);
    const masked = await run(strategy, [TRIANGLE], 2);
    expect(masked.results.length).toBe(frames.length / 2);
    expect(masked.results.flatMap((r) => inside(r, TRIANGLE))).toEqual([]);
    // What lies outside the mask is still published.
    expect(masked.results.flatMap((r) => r.detections).length).toBeGreaterThan(0);
  }, 180_000);
});
