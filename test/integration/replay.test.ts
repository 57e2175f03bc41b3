/**
 * Replay and bench on the bundled sample clip, through the same pipeline as
 * `serve`: reports validate against the published schema, `full` scores
 * F1 = 1 against its own reference, a project-made MOT fixture gives the AP50
 * worked out by hand (test/fixtures/mot/README.md), and unpaced replays are
 * deterministic.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { checkSchema } from '../../src/core/json-schema.js';
import { silentLogger } from '../../src/core/log.js';
import { runBench, type BenchOptions, type BenchResult } from '../../src/eval/bench.js';
import { benchSchema, reportSchema } from '../../src/eval/report.js';
import { PACK_DIR, ROOT } from '../helpers/pack.js';
import { parseStrategy } from '../../src/strategy/registry.js';

const CLIP = path.join(ROOT, 'samples/parade.mp4');
const GT = path.join(ROOT, 'test/fixtures/mot/parade-first12.txt');
const STRATEGIES = ['full', 'downscale', 'skip-track', 'motion-regions', 'arac-c0'].map((s) => parseStrategy(s));

let tmp: string;
const opts = (cacheDir: string, extra: Partial<BenchOptions> = {}): BenchOptions => ({
  videos: [CLIP], strategies: STRATEGIES, minScore: 0.35, gt: [GT], packDir: PACK_DIR, cacheDir, log: silentLogger, maxFrames: 12, ...extra,
});

describe('replay / bench on samples/parade.mp4 (first 12 frames)', () => {
  let first: BenchResult;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'neulens-replay-'));
    first = await runBench(opts(path.join(tmp, 'cache-a')));
  }, 180_000);
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('writes one report per strategy that validates against the schema', () => {
    // Reports name each strategy by its spec's text form, defaults written out where they matter.
    expect(first.reports.map((r) => r.strategy)).toEqual(['full', 'downscale', 'skip-track:3', 'motion-regions', 'arac-c0']);
    for (const r of first.reports) {
      expect(checkSchema(reportSchema, r)).toBeNull();
      expect(r.frames).toBe(12);
      expect(r.processed + r.dropped).toBe(12);
      expect(r.slo_attainment).toBeNull(); // unpaced
    }
    expect(checkSchema(benchSchema, { results: first.reports })).toBeNull();
    expect(first.referenceFrom).toEqual(['computed']);
  });

  it('full scores F1 = 1.0 against its own reference; ratios are relative to full', () => {
    const full = first.reports.find((r) => r.strategy === 'full')!;
    expect(full.f1_vs_reference).toBe(1);
    expect(full.precision_vs_reference).toBe(1);
    expect(full.recall_vs_reference).toBe(1);
    expect(full.latency_ratio_vs_full).toBe(1);
    expect(full.work_fraction).toBe(1);
    // arac-c0 merges a uniform plan into one unsplit call: identical detections.
    expect(first.reports.find((r) => r.strategy === 'arac-c0')!.f1_vs_reference).toBe(1);
  });

  it('the MOT fixture gives the AP50 and recall worked out by hand', () => {
    const full = first.reports.find((r) => r.strategy === 'full')!;
    expect(full.ap50_vs_gt).toBeCloseTo(91 / 101, 9);
    expect(full.recall_vs_gt).toBeCloseTo(0.9, 9);
  });

  it('skip-track runs the detector on every third frame and the tracker in between', () => {
    const run = first.runs.find((r) => r.strategy === 'skip-track:3')!;
    expect(run.frames.map((f) => f.detectorMs > 0)).toEqual(Array.from({ length: 12 }, (_, i) => i % 3 === 0));
    expect(run.frames.every((f) => f.published)).toBe(true);
  });

  it('downscale works on half the input size; motion-regions detects whole frames only while warming up', () => {
    // 512x288 halves to 256x144, rounded up to multiples of 32: 256x160.
    expect(first.reports.find((r) => r.strategy === 'downscale')!.work_fraction).toBeCloseTo((256 * 160) / (512 * 288), 9);
    const mr = first.runs.find((r) => r.strategy === 'motion-regions')!;
    expect(mr.frames.slice(0, 5).every((f) => f.workFraction === 1)).toBe(true);
    expect(mr.frames.slice(6).some((f) => f.workFraction < 1)).toBe(true);
  });

  it('unpaced replays are deterministic, and the cached reference is reused', async () => {
    const again = await runBench(opts(path.join(tmp, 'cache-a')));
    expect(again.referenceFrom).toEqual(['cache']);
    for (const [i, run] of again.runs.entries()) {
      expect(run.frames.map((f) => f.detections)).toEqual(first.runs[i]!.frames.map((f) => f.detections));
    }
    expect(again.reports.map((r) => r.f1_vs_reference)).toEqual(first.reports.map((r) => r.f1_vs_reference));
  }, 180_000);

  it('realtime replay: paced at the source rate, every frame accounted for, SLO attainment reported', async () => {
    const rt = await runBench(opts(path.join(tmp, 'cache-a'), { strategies: [parseStrategy('downscale')], realtime: true, gt: [] }));
    const r = rt.reports[0]!;
    expect(checkSchema(reportSchema, r)).toBeNull();
    expect(r.realtime).toBe(true);
    expect(r.frames).toBe(12);
    expect(r.slo_attainment).toBeGreaterThanOrEqual(0);
    expect(r.slo_attainment).toBeLessThanOrEqual(1);
    expect(r.processed).toBeGreaterThan(0);
    // Paced at 10 fps: a published frame's e2e latency is capture -> publish, never negative.
    expect(r.e2e_ms.p50).toBeGreaterThanOrEqual(0);
  }, 120_000);

  it('the CLI writes a schema-valid JSON report and an SVG plot; unknown strategies exit 2', async () => {
    const json = path.join(tmp, 'bench.json');
    const svg = path.join(tmp, 'bench.svg');
    const code = await main(['bench', CLIP, '--strategies', 'full,downscale', '--frames', '6', '--json', json, '--plot', svg]);
    expect(code).toBe(0);
    const body = JSON.parse(await readFile(json, 'utf8')) as unknown;
    expect(checkSchema(benchSchema, body)).toBeNull();
    const plot = await readFile(svg, 'utf8');
    expect(plot.startsWith('<svg')).toBe(true);
    expect(plot).not.toMatch(/NaN|Infinity/);
    expect(await main(['replay', CLIP, '--strategy', 'nope'])).toBe(2);
  }, 120_000);

  it('--provider: a misspelt name is a usage error; one this build lacks fails with its typed error', async () => {
    const errors: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
    try {
      expect(await main(['bench', CLIP, '--strategies', 'full', '--frames', '2', '--provider', 'gpu'])).toBe(2);
      expect(errors.join('\n')).toMatch(/--provider must be cpu, webgpu, cuda, got 'gpu'/);
      expect(await main(['bench-pack', '--runs', '1', '--provider', 'cuda'])).toBe(1);
      expect(errors.join('\n')).toMatch(/execution provider 'cuda' (is not available|failed to start)/);
      // Graph capture replays one shape per session: only --batch gives each shape its own.
      expect(await main(['bench-pack', '--runs', '1', '--graph-capture'])).toBe(2);
      expect(errors.join('\n')).toMatch(/--graph-capture needs --batch/);
    } finally {
      spy.mockRestore();
    }
  }, 60_000);
});
