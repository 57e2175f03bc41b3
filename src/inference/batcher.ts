/**
 * Cross-camera batching inside one inference worker. The worker runs the
 * requests of several cameras at once (the pool hands it a batch of them);
 * each request's Detector talks to this batcher as to any ModelRunner. Calls
 * that meet here with the same model, the same input shape (batch dimension
 * aside) and the same outputs run as one call of up to `maxItems` items (the
 * batch dimension summed), and each caller gets back its own slice of the
 * outputs. nvstreammux does this for DeepStream; here a call's fixed cost
 * is what it saves (on WebGPU most of a call's time: docs/architecture.md).
 *
 * When to run: the requests of a batch start in the same message, run their
 * synchronous work (preprocessing, window planning) and then ask for a
 * model call, so by the next turn of the event loop (setImmediate, after the
 * microtasks) every one of them that can go on has asked. No timer, no
 * barrier that a caller awaiting something else could hang: the pool's push
 * timeout is where waiting for late cameras happens (pool.ts).
 *
 * A merged call that fails is run again item by item, so a bad input fails
 * its own request only. Each call's time is charged to the requests in it
 * (BatchCostFit: their items' share), through the meter of the request that
 * asked, which the worker keeps per request.
 */
import { InferenceError } from '../core/errors.js';
import type { Feeds, ModelRunner, Outputs, Tensor } from '../model/tensor.js';
import { BatchCostFit } from './batch-cost.js';

/** What one request's calls cost and waited (the worker keeps one per request in flight). */
export interface CallMeter {
  /** Device time charged to the request: its items' part of every call it joined, ms. */
  chargedMs: number;
  /** Submit-to-result time of its calls, ms (waiting for the call to go, and the call). */
  waitedMs: number;
  calls: number;
  /** Items in the calls it joined, summed over its calls (its own included). */
  sharedItems: number;
}

export function newMeter(): CallMeter {
  return { chargedMs: 0, waitedMs: 0, calls: 0, sharedItems: 0 };
}

export interface BatcherOptions {
  /** Most items (the batch dimension, summed over callers) in one call; at least 1. */
  maxItems: number;
  /** Runs a flush later; default setImmediate (once the callers that can go on have asked). */
  schedule?: (flush: () => void) => void;
  /** The meter of the request making a call (the worker's AsyncLocalStorage); none: not charged. */
  meter?: () => CallMeter | undefined;
  /** Clock, ms. Default performance.now. */
  now?: () => number;
}

interface Call {
  model: string;
  feeds: Feeds;
  outputs: readonly string[] | undefined;
  items: number;
  key: string;
  meter: CallMeter | undefined;
  submitted: number;
  resolve: (o: Outputs) => void;
  reject: (e: Error) => void;
}

export interface BatcherStats {
  /** Model calls run (merged calls count once). */
  calls: number;
  /** Items over those calls. */
  items: number;
  /** Calls that held more than one caller. */
  merged: number;
  /** Time in model calls, ms. */
  busyMs: number;
  /** The fixed part of those calls (not charged to any request), ms. */
  overheadMs: number;
  /** Merged calls that failed and ran again item by item. */
  retried: number;
}

/** Copies kept of merged inputs, by feed and length (one merged call runs at a time). */
const KEEP_BUFFERS = 8;

export class CallBatcher implements ModelRunner {
  private pending: Call[] = [];
  private scheduled = false;
  private running = false;
  private readonly costs = new Map<string, BatchCostFit>();
  private readonly buffers = new Map<string, Float32Array>();
  private readonly schedule: (flush: () => void) => void;
  private readonly now: () => number;
  private readonly counts: BatcherStats = { calls: 0, items: 0, merged: 0, busyMs: 0, overheadMs: 0, retried: 0 };

  constructor(private readonly runner: ModelRunner, private readonly o: BatcherOptions) {
    if (!(Number.isInteger(o.maxItems) && o.maxItems >= 1)) throw new InferenceError(`batcher: maxItems must be a positive integer, got ${o.maxItems}`);
    this.schedule = o.schedule ?? ((f) => setImmediate(f));
    this.now = o.now ?? (() => performance.now());
  }

  get stats(): BatcherStats {
    return { ...this.counts };
  }

  run(model: string, feeds: Feeds, outputs?: readonly string[]): Promise<Outputs> {
    const tensors = Object.entries(feeds);
    const items = tensors[0]?.[1].dims[0];
    if (items === undefined || !(items >= 1) || tensors.some(([, t]) => t.dims[0] !== items)) {
      return Promise.reject(new InferenceError(`${model}: every input of a batched call needs the same leading (batch) dimension`));
    }
    const shape = tensors
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, t]) => `${name}:${t.dims.slice(1).join('x')}`)
      .join(',');
    const key = `${model}|${shape}|${outputs ? [...outputs].sort().join(',') : '*'}`;
    return new Promise<Outputs>((resolve, reject) => {
      this.pending.push({ model, feeds, outputs, items, key, meter: this.o.meter?.(), submitted: this.now(), resolve, reject });
      this.kick();
    });
  }

  /** The batcher owns no session: the runner's owner closes it. */
  async close(): Promise<void> {}

  private kick(): void {
    if (this.scheduled || this.running || this.pending.length === 0) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  /** One round: every call pending now, grouped; calls made meanwhile wait for the next round. */
  private async flush(): Promise<void> {
    this.running = true;
    try {
      const calls = this.pending;
      this.pending = [];
      for (const group of groupCalls(calls, this.o.maxItems)) await this.exec(group);
    } finally {
      this.running = false;
      this.kick();
    }
  }

  private async exec(group: readonly Call[]): Promise<void> {
    const first = group[0] as Call;
    const items = group.reduce((a, c) => a + c.items, 0);
    const t0 = this.now();
    let outs: Outputs[];
    try {
      if (group.length === 1) outs = [await this.runner.run(first.model, first.feeds, first.outputs)];
      else outs = splitOutputs(await this.runner.run(first.model, this.concat(group, items), first.outputs), group.map((c) => c.items));
    } catch (err) {
      if (group.length === 1) {
        first.reject(err instanceof Error ? err : new InferenceError(String(err)));
        return;
      }
      // Inputs of one shape fail together only if one of them is bad: find it, spare the others.
      this.counts.retried++;
      for (const c of group) await this.exec([c]);
      return;
    }
    const ms = this.now() - t0;
    let fit = this.costs.get(first.key);
    if (!fit) this.costs.set(first.key, (fit = new BatchCostFit()));
    const perItem = (ms * fit.perItemShare(items)) / items;
    fit.add(items, ms);
    this.counts.calls++;
    this.counts.items += items;
    this.counts.busyMs += ms;
    this.counts.overheadMs += ms - perItem * items;
    if (group.length > 1) this.counts.merged++;
    const done = this.now();
    group.forEach((c, i) => {
      if (c.meter) {
        c.meter.chargedMs += perItem * c.items;
        c.meter.waitedMs += done - c.submitted;
        c.meter.calls++;
        c.meter.sharedItems += items;
      }
      c.resolve(outs[i] as Outputs);
    });
  }

  /** The group's inputs, feed by feed, one after the other along the batch dimension. */
  private concat(group: readonly Call[], items: number): Feeds {
    const first = group[0] as Call;
    const feeds: Feeds = {};
    for (const [name, t] of Object.entries(first.feeds)) {
      const per = t.data.length / t.dims[0]!;
      const buf = this.buffer(name, per * items);
      let at = 0;
      for (const c of group) {
        const src = (c.feeds[name] as Tensor).data;
        buf.set(src, at);
        at += src.length;
      }
      feeds[name] = { data: buf, dims: [items, ...t.dims.slice(1)] };
    }
    return feeds;
  }

  /** A buffer to overwrite: merged calls run one at a time, and ONNX Runtime is done with its inputs when a run resolves. */
  private buffer(name: string, length: number): Float32Array {
    const key = `${name}/${length}`;
    let b = this.buffers.get(key);
    if (!b) {
      if (this.buffers.size >= KEEP_BUFFERS) this.buffers.delete(this.buffers.keys().next().value as string);
      b = new Float32Array(length);
      this.buffers.set(key, b);
    }
    return b;
  }
}

/**
 * Calls grouped by key, in order of first arrival; a group holds at most
 * `maxItems` items (a caller larger than that runs alone). Pure.
 */
export function groupCalls<C extends { key: string; items: number }>(calls: readonly C[], maxItems: number): C[][] {
  const open = new Map<string, C[]>();
  const out: C[][] = [];
  for (const c of calls) {
    let g = open.get(c.key);
    if (g && g.reduce((a, x) => a + x.items, 0) + c.items > maxItems) g = undefined;
    if (!g) {
      g = [];
      open.set(c.key, g);
      out.push(g);
    }
    g.push(c);
  }
  return out;
}

/** A merged call's outputs, sliced back per caller along the batch dimension (views, no copy). */
export function splitOutputs(out: Outputs, items: readonly number[]): Outputs[] {
  const total = items.reduce((a, b) => a + b, 0);
  const parts: Outputs[] = items.map(() => ({}));
  for (const [name, t] of Object.entries(out)) {
    if (t.dims[0] !== total) throw new InferenceError(`output ${name} has batch ${t.dims[0]}, the call had ${total} items`);
    const per = t.data.length / total;
    let at = 0;
    items.forEach((n, i) => {
      (parts[i] as Outputs)[name] = { data: t.data.subarray(at * per, (at + n) * per), dims: [n, ...t.dims.slice(1)] };
      at += n;
    });
  }
  return parts;
}
