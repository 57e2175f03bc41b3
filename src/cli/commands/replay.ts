/**
 * `neulens replay` and `neulens bench`: recorded videos through the live
 * pipeline, scored against the reference and the labels. One module: bench
 * is replay over several strategies and videos, interleaved.
 */
import { DEFAULT_TRACKER_OPTIONS } from '../../track/tracker.js';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { InputError } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { DEFAULT_PACK_DIR } from '../../core/paths.js';
import { runBench, type BenchResult } from '../../eval/bench.js';
import type { Report } from '../../eval/report.js';
import { benchPlots } from '../../eval/bench-plot.js';
import { parseStrategy, strategyNames } from '../../strategy/registry.js';
import type { StrategySpec } from '../../strategy/spec.js';
import { parseNumber, parseProvider, parseSize, prepareOutput } from '../args.js';
import { EXIT, type Command } from '../command.js';
import { progressBar } from '../progress.js';

const fmt = (v: number | null | undefined, d = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));

export function reportTable(reports: readonly Report[]): string {
  const head = ['strategy', 'video', 'frames', 'drop', 'dmx', 'F1', 'P', 'R', 'AP50gt', 'det ms', 'p95', 'e2e p50', 'fps', 'work', 'x full', 'SLO', 'ctl ms'];
  const rows = reports.map((r) => [
    r.strategy, path.basename(r.video), String(r.frames), String(r.dropped), String(r.demux_dropped), fmt(r.f1_vs_reference), fmt(r.precision_vs_reference), fmt(r.recall_vs_reference),
    fmt(r.ap50_vs_gt), fmt(r.detector_ms.mean, 1), fmt(r.detector_ms.p95, 1), fmt(r.e2e_ms.p50, 1), fmt(r.throughput_fps, 1), fmt(r.work_fraction, 2),
    fmt(r.latency_ratio_vs_full, 2), r.slo_attainment === null ? '-' : `${(r.slo_attainment * 100).toFixed(1)}%`, fmt(r.control_ms?.p50, 2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

interface Common {
  strategies: StrategySpec[];
  videos: string[];
  gt: Array<string | undefined>;
  realtime: boolean;
  minScore: number;
  json?: string;
  plot?: string;
  size?: string;
  maxSide?: string;
  threads?: string;
  frames?: string;
  pack: string;
  provider: string;
}

async function execute(c: Common, label: string): Promise<BenchResult> {
  if (c.json) await prepareOutput('--json', c.json);
  if (c.plot) await prepareOutput('--plot', c.plot);
  const log = createLogger('warn');
  const bar = progressBar(label, 1);
  let lastTotal = 1;
  const res = await runBench({
    videos: c.videos,
    strategies: c.strategies,
    realtime: c.realtime,
    minScore: c.minScore,
    gt: c.gt,
    packDir: c.pack,
    provider: parseProvider('--provider', c.provider),
    cacheDir: path.resolve('.cache/neulens'),
    log,
    ...(c.threads ? { threads: parseNumber('--threads', c.threads, { integer: true, min: 1 }) } : {}),
    ...(c.size ? { inputSize: c.size === 'native' ? 'native' : parseSize('--size', c.size, 32) } : {}),
    ...(c.maxSide ? { maxSide: parseNumber('--max-side', c.maxSide, { integer: true, min: 32, max: 8192 }) } : {}),
    ...(c.frames ? { maxFrames: parseNumber('--frames', c.frames, { integer: true, min: 1 }) } : {}),
    onProgress: (done, total, note) => {
      if (total !== lastTotal) lastTotal = total;
      bar.set(done, total, note);
    },
  });
  bar.done();
  return res;
}

async function writeOutputs(res: BenchResult, c: Common, single: boolean): Promise<void> {
  console.log(reportTable(res.reports));
  if (res.referenceFrom.includes('cache')) console.log('(reference read from .cache/neulens; delete it to recompute)');
  if (c.json) {
    await mkdir(path.dirname(path.resolve(c.json)), { recursive: true });
    await writeFile(c.json, JSON.stringify(single && res.reports.length === 1 ? res.reports[0] : { results: res.reports }, null, 2) + '\n');
    console.log(`report: ${c.json}`);
  }
  if (c.plot) {
    await mkdir(path.dirname(path.resolve(c.plot)), { recursive: true });
    await writeFile(c.plot, benchPlots(res.reports, res.runs));
    console.log(`plot: ${c.plot}`);
  }
}

const common = {
  gt: { type: 'string' },
  realtime: { type: 'boolean', default: false },
  // The tracker publishes every detection at or above its high threshold and weaker ones only
  // when they extend a track: scoring at that threshold compares detectors, not track histories.
  'min-score': { type: 'string', default: String(DEFAULT_TRACKER_OPTIONS.highThresh) },
  json: { type: 'string' },
  size: { type: 'string' },
  'max-side': { type: 'string' },
  threads: { type: 'string' },
  frames: { type: 'string' },
  pack: { type: 'string', default: DEFAULT_PACK_DIR },
  provider: { type: 'string', default: 'cpu' },
} as const;

/** The options both commands share, from parsed values. */
function commonFrom(
  values: { realtime: boolean; 'min-score': string; pack: string; provider: string; json?: string | undefined; size?: string | undefined; 'max-side'?: string | undefined; threads?: string | undefined; frames?: string | undefined },
  rest: Pick<Common, 'strategies' | 'videos' | 'gt'> & { plot?: string | undefined },
): Common {
  const optional = { json: values.json, size: values.size, maxSide: values['max-side'], threads: values.threads, frames: values.frames, plot: rest.plot };
  return {
    strategies: rest.strategies,
    videos: rest.videos,
    gt: rest.gt,
    realtime: values.realtime,
    minScore: parseNumber('--min-score', values['min-score'], { min: 0, max: 1 }),
    pack: values.pack,
    provider: values.provider,
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
  };
}

/**
 * `--strategies a,b:3x3,c` -> specs. A comma also separates a spec's own
 * items (`arac:3x3,refresh=8`), so an item that is `key=value` or a bare
 * grid/number belongs to the spec before it.
 */
export function splitStrategies(text: string): StrategySpec[] {
  const parts: string[] = [];
  for (const raw of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    // `refresh=8` or `3x3` continues the strategy before it; `arac:budget=0.5` starts a new one.
    const isItem = !raw.includes(':') && (/=/.test(raw) || /^\d+(x\d+)?$/.test(raw));
    if (isItem && parts.length > 0) parts[parts.length - 1] += `,${raw}`;
    else parts.push(raw);
  }
  return parts.map((p) => parseStrategy(p, '--strategies'));
}

const strategyHelp = () => strategyNames().map((s) => `  ${s.name.padEnd(16)} ${s.summary}`).join('\n');

export const replayCommand: Command = {
  name: 'replay',
  summary: 'run a recorded video through the pipeline and score it against the reference',
  get usage() {
    return `usage: neulens replay <video> [--strategy S] [--gt FILE] [--realtime] [--min-score X] [--json OUT] [--size WxH|native [--max-side N]] [--frames N]
       [--threads T] [--provider cpu|webgpu|cuda]

Unpaced by default (every frame processed); --realtime paces at the source fps
so drops and deadlines are real. Accuracy is scored against the reference (the
unsplit model on every frame, cached in .cache/neulens by video and model
hash) and, with --gt (MOT format), against labels.

strategies:
${strategyHelp()}`;
  },
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { ...common, strategy: { type: 'string', default: 'full' } },
    });
    if (positionals.length !== 1) throw new InputError('replay takes exactly one video (see --help)');
    const c = commonFrom(values, { strategies: [parseStrategy(values.strategy)], videos: positionals, gt: [values.gt] });
    await writeOutputs(await execute(c, 'replay'), c, true);
    return EXIT.ok;
  },
};

export const benchCommand: Command = {
  name: 'bench',
  summary: 'every strategy on the same videos, interleaved; table, JSON and SVG plot',
  get usage() {
    return `usage: neulens bench <video...> --strategies a,b,c [--gt FILE,FILE...] [--realtime] [--json OUT] [--plot OUT.svg] [--frames N]
       [--size WxH|native [--max-side N]] [--threads T] [--provider cpu|webgpu|cuda]

Each frame is decoded once and every strategy takes its turn on it, so
machine drift hits all alike. --gt gives one MOT file per video ('' to skip).
--provider runs the detector on ONNX Runtime's WebGPU or CUDA provider (the
reference too, so ratios compare like with like); --threads sets the CPU
provider's intra-op threads (default: all cores). --size native runs each
video at its own size (sides rounded to multiples of 32, the longer one
capped at --max-side, default 1280); default: the pack's working size
nearest the video's aspect ratio.

strategies:
${strategyHelp()}`;
  },
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { ...common, strategies: { type: 'string', default: 'full,downscale,skip-track,motion-regions,arac-c0' }, plot: { type: 'string' } },
    });
    if (positionals.length === 0) throw new InputError('bench needs at least one video (see --help)');
    const gt = values.gt === undefined ? [] : values.gt.split(',').map((g) => (g.trim() === '' ? undefined : g.trim()));
    if (gt.length > positionals.length) throw new InputError(`--gt lists ${gt.length} files for ${positionals.length} videos`);
    const c = commonFrom(values, { strategies: splitStrategies(values.strategies), videos: positionals, gt, plot: values.plot });
    await writeOutputs(await execute(c, 'bench'), c, false);
    return EXIT.ok;
  },
};
