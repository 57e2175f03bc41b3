/** serve-slo's sweep: modes with batching, when a run holds its SLO, what limits it, and /proc's CPU lines. */
import { describe, expect, it } from 'vitest';
import { cpuBetween, sampleCpu, statCpuMs } from '../../src/eval/proc-cpu.js';
import { holds, limitOf, parseSloMode, type ModeSlo } from '../../src/eval/slo-run.js';

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
