/** serve-slo's sweep: modes with batching, when a run holds its SLO, what limits it, and /proc's CPU lines. */
import { describe, expect, it } from 'vitest';
import { cpuBetween, sampleCpu, statCpuMs } from '../../src/eval/proc-cpu.js';
import { holds, limitOf, parseSloMode, type ModeSlo } from '../../src/eval/slo-run.js';
import { nextRun, sweepOutcome } from '../../src/eval/sweep-plan.js';

function run(over: Partial<ModeSlo> & { busy?: number; callShare?: number; main?: number; proc?: number; children?: number }): ModeSlo {
  const { busy = 0.5, callShare, main = 0.2, proc = 1, children = 1, ...rest } = over;
  return {
    mode: 'full',
    cameras: 8,
    cameraResults: [],
    minAttainment: 1,
    medianAttainment: 1,
    meanF1: 1,
    minF1: 1,
    minInputRatio: 1,
    resources: {
      cpu: { wallS: 20, processCores: proc, mainThreadCores: main, childrenCores: children, children: 8 },
      cores: 16,
      framesProcessed: 1600,
      workerBusy: busy,
      workerMsPerFrame: 10,
      ...(callShare !== undefined ? { callMsPerFrame: 10 * callShare, itemsPerCall: 8, overheadMsPerFrame: 1 } : {}),
    },
    ...rest,
  };
}

describe('serve-slo modes', () => {
  it('a mode is a strategy, with an optional batch cap', () => {
    expect(parseSloMode('full')).toEqual({ name: 'full', strategy: 'full' });
    expect(parseSloMode('full@batch=32')).toEqual({ name: 'full@batch=32', strategy: 'full', batch: 32 });
    expect(parseSloMode(' arac:budget=0.5 @batch=64')).toEqual({ name: 'arac:budget=0.5@batch=64', strategy: 'arac:budget=0.5', batch: 64 });
    // A cap of 1 is no batching.
    expect(parseSloMode('full@batch=1')).toEqual({ name: 'full', strategy: 'full' });
    expect(() => parseSloMode('full@batch=0')).toThrow(/must be in 1..1024/);
    expect(() => parseSloMode('full@threads=2')).toThrow(/only mode option is @batch=N/);
    expect(() => parseSloMode('fulll')).toThrow(/unknown strategy/);
  });
});

describe('holds and limitOf', () => {
  it('holds: every camera at the target, and every camera fed its frames', () => {
    expect(holds(run({ minAttainment: 0.99 }), 0.99)).toBe(true);
    expect(holds(run({ minAttainment: 0.989 }), 0.99)).toBe(false);
    // Decoding fell behind: on time, but not at its frame rate.
    expect(holds(run({ minInputRatio: 0.9 }), 0.99)).toBe(false);
  });

  it('names the part nearest saturation', () => {
    expect(limitOf(run({ busy: 0.97 })).by).toBe('device');
    expect(limitOf(run({ main: 0.95 })).by).toBe('main thread');
    // 15 of 16 cores, mostly decoders.
    expect(limitOf(run({ proc: 3, children: 12 })).by).toBe('decode');
    expect(limitOf(run({ proc: 12, children: 3 })).by).toBe('host CPU');
    // Batched: a busy worker mostly in model calls is the device; mostly in its own work, the worker.
    expect(limitOf(run({ busy: 0.98, callShare: 0.8 }))).toMatchObject({ by: 'device', worker: 0.98, device: expect.closeTo(0.784, 6) as number });
    expect(limitOf(run({ busy: 0.98, callShare: 0.3 })).by).toBe('inference worker');
  });
});

describe('proc CPU', () => {
  it('reads utime + stime of a stat line whose command holds spaces and parentheses', () => {
    const line = '4242 (python3 (ffmpeg) x) S 77 4242 77 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 1 0 100 0 0';
    expect(statCpuMs(line)).toEqual({ ppid: 77, cpuMs: 3000 });
  });

  it('samples this process: its CPU grows while it computes', () => {
    const a = sampleCpu();
    let x = 0;
    const until = performance.now() + 60;
    while (performance.now() < until) x += Math.sqrt(x + 1);
    const u = cpuBetween(a, sampleCpu());
    expect(x).toBeGreaterThan(0);
    expect(u.processCores).toBeGreaterThan(0);
    expect(u.wallS).toBeGreaterThan(0.05);
    if (process.platform === 'linux') expect(u.mainThreadCores).toBeGreaterThan(0);
  });
});

describe('sweep order', () => {
  const counts = [1, 2, 4, 8, 16, 32, 64, 128];
  /** Runs the plan against modes that hold up to a count each; returns the runs in order. */
  function play(order: 'linear' | 'search', limits: Record<string, number>, budget = Infinity) {
    const results = new Map<string, Map<number, boolean>>();
    const runs: string[] = [];
    for (let i = 0; i < budget; i++) {
      const next = nextRun(order, counts, Object.keys(limits), results);
      if (!next) break;
      runs.push(`${next.mode}${next.count}`);
      const r = results.get(next.mode) ?? new Map<number, boolean>();
      r.set(next.count, next.count <= limits[next.mode]!);
      results.set(next.mode, r);
    }
    return { runs, results };
  }

  it('linear: count by count, a mode dropping out at its first miss', () => {
    const { runs, results } = play('linear', { a: 2, b: 8 });
    expect(runs).toEqual(['a1', 'b1', 'a2', 'b2', 'a4', 'b4', 'b8', 'b16']);
    expect(sweepOutcome(results.get('a'))).toEqual({ largestHeld: 2, firstMissed: 4 });
    expect(sweepOutcome(results.get('b'))).toEqual({ largestHeld: 8, firstMissed: 16 });
  });

  it('search: three runs per mode find the answer, modes taking turns; then the counts below the miss', () => {
    const { runs, results } = play('search', { a: 8, b: 64, c: 200 });
    // 1..128 in eight steps: the middle first (16), then a quarter either way.
    expect(runs.slice(0, 9)).toEqual(['a16', 'b16', 'c16', 'a4', 'b64', 'c64', 'a8', 'b128', 'c128']);
    expect(sweepOutcome(results.get('a'))).toEqual({ largestHeld: 8, firstMissed: 16 });
    // The fill, smallest first, never above a mode's miss.
    expect(runs.slice(9)).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'c2', 'b4', 'c4', 'b8', 'c8', 'b32', 'c32']);
    expect(sweepOutcome(results.get('b'))).toEqual({ largestHeld: 64, firstMissed: 128 });
    expect(sweepOutcome(results.get('c'))).toEqual({ largestHeld: 128 });
  });

  it('search under a budget of nine runs already has every mode\'s answer', () => {
    const { results } = play('search', { a: 8, b: 64, c: 200 }, 9);
    expect(['a', 'b', 'c'].map((m) => sweepOutcome(results.get(m)))).toEqual([
      // 4 and 8 held, 16 missed (1 and 2 are not run yet: the fill comes after the search).
      { largestHeld: 8, firstMissed: 16 },
      { largestHeld: 64, firstMissed: 128 },
      { largestHeld: 128 },
    ]);
  });

  it('a result that breaks the assumption (held above a miss) does not count past the miss', () => {
    expect(sweepOutcome(new Map([[4, true], [8, false], [16, true]]))).toEqual({ largestHeld: 4, firstMissed: 8 });
    expect(sweepOutcome(undefined)).toEqual({ largestHeld: 0 });
  });
});
