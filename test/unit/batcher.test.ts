/**
 * The cross-camera batcher with a fake runner: what is merged, who gets what
 * back, and what happens when a merged call fails. The fake answers each
 * item with the sum of its input (and says which call it was in), so a
 * result that went to the wrong caller shows.
 */
import { describe, expect, it } from 'vitest';
import { CallBatcher, groupCalls, newMeter, splitOutputs, type CallMeter } from '../../src/inference/batcher.js';
import { BatchCostFit, fitLine } from '../../src/inference/batch-cost.js';
import type { Feeds, ModelRunner, Outputs } from '../../src/model/tensor.js';

interface Seen {
  model: string;
  items: number;
  dims: number[];
  outputs: readonly string[] | undefined;
}

/** Each item's output 'sum' is the sum of its 'image' input; 'call' is the call's number. Items holding NaN make the call throw. */
class FakeRunner implements ModelRunner {
  readonly seen: Seen[] = [];
  msPerCall = 0;
  msPerItem = 0;
  constructor(private readonly clock?: { t: number }) {}
  async run(model: string, feeds: Feeds, outputs?: readonly string[]): Promise<Outputs> {
    const img = feeds['image']!;
    const n = img.dims[0]!;
    const per = img.data.length / n;
    this.seen.push({ model, items: n, dims: [...img.dims], outputs });
    if (img.data.some(Number.isNaN)) throw new Error('bad input');
    if (this.clock) this.clock.t += this.msPerCall + this.msPerItem * n;
    const sum = new Float32Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < per; j++) sum[i] = sum[i]! + img.data[i * per + j]!;
    return { sum: { data: sum, dims: [n, 1] }, call: { data: new Float32Array(n).fill(this.seen.length), dims: [n, 1] } };
  }
  async close(): Promise<void> {}
}

/** A batcher whose flushes run when the test says (no timers). */
function manual(runner: ModelRunner, maxItems: number, extra: { meter?: () => CallMeter | undefined; now?: () => number } = {}) {
  const flushes: Array<() => void> = [];
  const b = new CallBatcher(runner, { maxItems, schedule: (f) => flushes.push(f), ...extra });
  const flush = async () => {
    while (flushes.length) {
      flushes.shift()!();
      // Let the round's calls run and their callers take their results.
      for (let i = 0; i < 20; i++) await Promise.resolve();
    }
  };
  return { b, flush };
}

const frame = (value: number, items = 1, side = 4): Feeds => ({ image: { data: new Float32Array(items * 3 * side * side).fill(value), dims: [items, 3, side, side] } });
const sumOf = (o: Outputs) => Array.from(o['sum']!.data);

describe('CallBatcher', () => {
  it('merges calls of one shape from several callers up to the cap; each caller gets its own results', async () => {
    const fake = new FakeRunner();
    const { b, flush } = manual(fake, 4);
    const calls = [1, 2, 3, 4, 5].map((v) => b.run('full', frame(v), ['sum', 'call']));
    await flush();
    const outs = await Promise.all(calls);
    // Five frames, cap 4: one call of 4 and one of 1, in arrival order.
    expect(fake.seen.map((s) => s.items)).toEqual([4, 1]);
    outs.forEach((o, i) => {
      expect(sumOf(o)).toEqual([(i + 1) * 48]);
      expect(o['sum']!.dims).toEqual([1, 1]);
    });
    expect(outs.map((o) => o['call']!.data[0])).toEqual([1, 1, 1, 1, 2]);
    expect(b.stats).toMatchObject({ calls: 2, items: 5, merged: 1, retried: 0 });
  });

  it('a caller with several items (a frame\'s windows of one size) keeps them together, in order', async () => {
    const fake = new FakeRunner();
    const { b, flush } = manual(fake, 8);
    const two = frame(0, 2);
    two['image']!.data.fill(1, 0, 48);
    two['image']!.data.fill(2, 48);
    const p = [b.run('full', frame(5)), b.run('full', two), b.run('full', frame(7))];
    await flush();
    const [a, pair, c] = await Promise.all(p);
    expect(fake.seen.map((s) => s.items)).toEqual([4]);
    expect(sumOf(a!)).toEqual([240]);
    expect(sumOf(pair!)).toEqual([48, 96]);
    expect(pair!['sum']!.dims).toEqual([2, 1]);
    expect(sumOf(c!)).toEqual([336]);
  });

  it('mixed shapes, models or outputs never share a call', async () => {
    const fake = new FakeRunner();
    const { b, flush } = manual(fake, 16);
    const p = [
      b.run('full', frame(1, 1, 4), ['sum']),
      b.run('full', frame(1, 1, 8), ['sum']),
      b.run('front:0', frame(1, 1, 4), ['sum']),
      b.run('full', frame(1, 1, 4), ['sum', 'call']),
      b.run('full', frame(2, 1, 4), ['sum']),
      b.run('full', frame(2, 1, 8), ['sum']),
    ];
    await flush();
    const outs = await Promise.all(p);
    const shapes = fake.seen.map((s) => `${s.model} ${s.dims.join('x')} ${(s.outputs ?? []).join('+')}`);
    expect(shapes).toEqual(['full 2x3x4x4 sum', 'full 2x3x8x8 sum', 'front:0 1x3x4x4 sum', 'full 1x3x4x4 sum+call']);
    expect(outs.map(sumOf)).toEqual([[48], [192], [48], [48], [96], [384]]);
  });

  it('one caller\'s bad input fails its own call only: the merged call runs again item by item', async () => {
    const fake = new FakeRunner();
    const { b, flush } = manual(fake, 8);
    const bad = frame(1);
    bad['image']!.data[5] = NaN;
    const p = [b.run('full', frame(1)), b.run('full', bad), b.run('full', frame(3))].map((x) => x.then((o) => sumOf(o), (e: Error) => e.message));
    await flush();
    expect(await Promise.all(p)).toEqual([[48], 'bad input', [144]]);
    // The merged call, then each of the three alone.
    expect(fake.seen.map((s) => s.items)).toEqual([3, 1, 1, 1]);
    expect(b.stats.retried).toBe(1);
  });

  it('calls made after a round started wait for the next round', async () => {
    const fake = new FakeRunner();
    const { b, flush } = manual(fake, 8);
    const first = b.run('full', frame(1)).then(async (o) => [sumOf(o), sumOf(await b.run('full', frame(4)))]);
    const other = b.run('full', frame(2));
    await flush();
    expect(await first).toEqual([[48], [192]]);
    expect(sumOf(await other)).toEqual([96]);
    expect(fake.seen.map((s) => s.items)).toEqual([2, 1]);
  });

  it('rejects inputs whose batch dimensions disagree', async () => {
    const { b } = manual(new FakeRunner(), 4);
    const feeds: Feeds = { image: { data: new Float32Array(96), dims: [2, 3, 4, 4] }, mask: { data: new Float32Array(16), dims: [1, 1, 4, 4] } };
    await expect(b.run('front:0', feeds)).rejects.toThrow(/same leading/);
    expect(() => new CallBatcher(new FakeRunner(), { maxItems: 0 })).toThrow(/maxItems/);
  });

  it('charges each request its items\' part of a call; the fixed part, once known, is no one\'s', async () => {
    const clock = { t: 0 };
    const fake = new FakeRunner(clock);
    fake.msPerCall = 8;
    fake.msPerItem = 1;
    let current: CallMeter | undefined;
    const { b, flush } = manual(fake, 8, { meter: () => current, now: () => clock.t });
    const round = async (n: number) => {
      const meters = Array.from({ length: n }, () => newMeter());
      const p = meters.map((m, i) => {
        current = m;
        return b.run('full', frame(i + 1));
      });
      current = undefined;
      await flush();
      await Promise.all(p);
      return meters;
    };
    // Before the fit knows the fixed cost, a call is all per-item: 4 frames share 12 ms.
    const all: CallMeter[] = [];
    const early = await round(4);
    all.push(...early);
    expect(early.map((m) => m.chargedMs)).toEqual([3, 3, 3, 3]);
    expect(early[0]).toMatchObject({ calls: 1, sharedItems: 4, waitedMs: 12 });
    // Batches of varying size teach it a = 8, b = 1.
    for (const n of [1, 2, 3, 5, 6, 7, 8, 2, 4]) all.push(...(await round(n)));
    const later = await round(4);
    all.push(...later);
    for (const m of later) expect(m.chargedMs).toBeCloseTo(1, 6);
    // What the requests were charged and the calls' fixed part add up to the calls' time.
    const s = b.stats;
    const charged = all.reduce((a, m) => a + m.chargedMs, 0);
    expect(s.busyMs).toBe(12 + [1, 2, 3, 5, 6, 7, 8, 2, 4].reduce((a, n) => a + 8 + n, 0) + 12);
    expect(charged + s.overheadMs).toBeCloseTo(s.busyMs, 6);
    // The fit needs 8 calls: from the 9th on, each call's 8 ms fixed part went to no one (three calls).
    expect(s.overheadMs).toBeCloseTo(3 * 8, 6);
  });
});

describe('groupCalls and splitOutputs', () => {
  it('groups by key in order of first arrival, a group holding at most the cap', () => {
    const c = (key: string, items: number, id: number) => ({ key, items, id });
    const groups = groupCalls([c('a', 1, 1), c('b', 1, 2), c('a', 2, 3), c('a', 2, 4), c('b', 5, 5), c('a', 9, 6)], 4);
    expect(groups.map((g) => g.map((x) => x.id))).toEqual([[1, 3], [2], [4], [5], [6]]);
  });

  it('splits a merged call\'s outputs back by items, as views', () => {
    const out: Outputs = { y: { data: Float32Array.from([1, 1, 2, 2, 3, 3]), dims: [3, 2] } };
    const parts = splitOutputs(out, [2, 1]);
    expect(parts.map((p) => Array.from(p['y']!.data))).toEqual([[1, 1, 2, 2], [3, 3]]);
    expect(parts[1]!['y']!.dims).toEqual([1, 2]);
    expect(parts[0]!['y']!.data.buffer).toBe(out['y']!.data.buffer);
    expect(() => splitOutputs(out, [1, 1])).toThrow(/batch 3/);
  });
});

describe('BatchCostFit', () => {
  it('tells the fixed cost from the per-item cost once batch sizes vary', () => {
    const fit = new BatchCostFit();
    for (let i = 0; i < 10; i++) fit.add(4, 12);
    // One batch size only: nothing to tell them apart with; the whole call is per-item.
    expect(fit.line).toBeUndefined();
    expect(fit.perItemShare(4)).toBe(1);
    for (const n of [1, 2, 8, 16, 32]) fit.add(n, 8 + n);
    const l = fit.line!;
    expect(l.a).toBeCloseTo(8, 6);
    expect(l.b).toBeCloseTo(1, 6);
    expect(fit.perItemShare(8)).toBeCloseTo(0.5, 6);
  });

  it('no fixed cost to be seen: a line through the origin; a flat or falling line says nothing', () => {
    // ms = 2n - 1 would need a negative fixed cost: the best line through the origin instead (sum n.ms / sum n^2).
    const l = fitLine([1, 2, 3, 4, 5, 6, 7, 8], [1, 3, 5, 7, 9, 11, 13, 15])!;
    expect(l.a).toBe(0);
    expect(l.b).toBeCloseTo(2 - 36 / 204, 9);
    expect(fitLine([1, 2, 3, 4, 5, 6, 7, 8], [9, 9, 9, 9, 9, 9, 9, 9])).toBeUndefined();
    expect(fitLine([1, 2, 3], [1, 2, 3])).toBeUndefined();
  });
});
