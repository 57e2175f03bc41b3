/**
 * `neulens label`: the labeling rule over videos, as training labels for a
 * compression controller. Each frame runs through `arac-oracle` (the unsplit
 * reference, every level on the whole frame, the plan probed in its real
 * windows), and one JSON line per frame records the tiles' levels: what the
 * controller should have chosen. The tiles' pixels are not written: the
 * video and the grid give them back.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { computeLevels, loadModelPack } from '../../model/manifest.js';
import { errorMessage, InputError } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { DEFAULT_PACK_DIR } from '../../core/paths.js';
import { chooseInputSize } from '../../model/input-size.js';
import { SCORE_FLOOR } from '../../eval/bench.js';
import { readVideoFrames } from '../../eval/frame-reader.js';
import { FrameProcessor } from '../../eval/processor.js';
import { InferencePool } from '../../inference/pool.js';
import { probeSize } from '../../ingest/still.js';
import { AracOracleStrategy } from '../../strategy/arac-oracle.js';
import { DEFAULT_TRACKER_OPTIONS } from '../../track/tracker.js';
import { parseGrid, parseNumber, prepareOutput } from '../args.js';
import { EXIT, type Command } from '../command.js';
import { progressBar } from '../progress.js';

const usage = `usage: neulens label <video...> --out FILE.jsonl [--patches FILE.u8 [--whole-every N]] [--band B] [--grid CxR] [--frames N] [--min-score X]

Runs the labeling rule (arac-oracle) over each video and writes one JSON line
per frame: {"video", "seq", "ptsMs", "width", "height", "grid": [C, R],
"levels": [...]} with each tile's label (row-major; 0 = full width ... 1 =
skip), the highest level at which the tile's detections still match the
unsplit model's. Default grid 4x4, every frame, operating point 0.5.

--patches also writes the compression controller's input for each line, in
line order: tiles x 3 x 28 x 28 bytes a frame (value x 255, rounded; see
src/importance/cgg.ts). models/tools/train_cgg.py trains on both files.
--whole-every N runs every N-th frame whole (the first included), as the
live arac does (warm-up, whole-frame refresh every 16 frames), so the
input is recorded under the regime the controller runs in; labels are
unchanged.
--band B labels with a score tolerance: a detection at or above X + B must
be matched by one at or above X - B, both ways (default 0: exact). Score
flicker across X then does not count as change.`;

export interface LabelLine {
  video: string;
  seq: number;
  ptsMs: number;
  width: number;
  height: number;
  grid: [number, number];
  levels: number[];
}

/**
 * A file to write, opened before any work starts (prepareOutput checks its
 * folder): a path that cannot be written is an InputError naming the option,
 * not a crash from a stream's unhandled 'error' an hour into labelling.
 */
async function openOutput(file: string, option: string): Promise<WriteStream> {
  await prepareOutput(option, file);
  try {
    const stream = createWriteStream(file);
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    // A later write error (a full disk) is seen through `errored` after each write.
    stream.on('error', () => undefined);
    return stream;
  } catch (err) {
    throw new InputError(`${option} ${file}: cannot write (${errorMessage(err)})`, { cause: err });
  }
}

export const labelCommand: Command = {
  name: 'label',
  summary: 'write the labeling rule\'s per-tile levels over videos (compression-controller training labels)',
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        patches: { type: 'string' },
        'whole-every': { type: 'string' },
        band: { type: 'string' },
        grid: { type: 'string', default: '4x4' },
        frames: { type: 'string' },
        'min-score': { type: 'string', default: String(DEFAULT_TRACKER_OPTIONS.highThresh) },
      },
    });
    if (positionals.length === 0) throw new InputError('give at least one video');
    if (!values.out) throw new InputError('--out FILE.jsonl is required');
    const grid = parseGrid('--grid', values.grid);
    const maxFrames = values.frames === undefined ? Infinity : parseNumber('--frames', values.frames, { integer: true, min: 1 });
    const wholeEvery = values['whole-every'] === undefined ? Infinity : parseNumber('--whole-every', values['whole-every'], { integer: true, min: 1 });
    const band = values.band === undefined ? 0 : parseNumber('--band', values.band, { min: 0, max: 0.5 });
    const minScore = parseNumber('--min-score', values['min-score'], { min: 0, max: 1 });

    const pack = await loadModelPack(DEFAULT_PACK_DIR);
    const pool = await InferencePool.open({ packDir: DEFAULT_PACK_DIR, provider: 'cpu', workers: 1, models: 'arac', verifyChecksums: false, detect: { minScore: SCORE_FLOOR, nmsIou: 0.6, maxDetections: 100 } });
    const out = await openOutput(values.out, '--out');
    const patches = values.patches ? await openOutput(values.patches, '--patches') : undefined;
    let input: Float32Array | undefined;
    const log = createLogger('warn');
    let lines = 0;
    try {
      for (const [vi, video] of positionals.entries()) {
        const src = await probeSize(video);
        const size = chooseInputSize(pack.manifest, src.width, src.height);
        const record = patches ? (x: Float32Array) => void (input = x) : undefined;
        const proc = await FrameProcessor.open({
          id: `label-${vi}`,
          strategy: new AracOracleStrategy(grid, { ...(record ? { record } : {}), wholeEvery, band }),
          input: size,
          sloFps: src.fps ?? 25,
          pool,
          info: { computeLevels: computeLevels(pack), minScore },
          tracker: {},
          log,
        });
        const bar = progressBar(`label ${path.basename(video)}`, Number.isFinite(maxFrames) ? maxFrames : 0);
        try {
          for await (const frame of readVideoFrames(video, size, `label-${vi}`)) {
            if (frame.seq >= maxFrames) break;
            const r = await proc.process(frame);
            const levels = r?.result.plan?.kind === 'tiles' ? r.result.plan.labels : undefined;
            if (!levels) throw new InputError(`${video}: frame ${frame.seq} has no plan (the oracle failed on it)`);
            const line: LabelLine = { video: path.basename(video), seq: frame.seq, ptsMs: frame.ptsMs, width: frame.width, height: frame.height, grid: [grid.cols, grid.rows], levels: [...levels] };
            out.write(JSON.stringify(line) + '\n');
            if (out.errored) throw new InputError(`--out ${values.out}: write failed (${errorMessage(out.errored)})`);
            if (patches) {
              if (!input) throw new InputError(`${video}: frame ${frame.seq} has no controller input`);
              patches.write(Buffer.from(Uint8Array.from(input, (v) => Math.round(v * 255))));
              if (patches.errored) throw new InputError(`--patches ${values.patches}: write failed (${errorMessage(patches.errored)})`);
              input = undefined;
            }
            lines++;
            bar.tick(1);
          }
        } finally {
          bar.done();
          await proc.close();
        }
      }
    } finally {
      await new Promise<void>((resolve) => out.end(resolve));
      if (patches) await new Promise<void>((resolve) => patches.end(resolve));
      await pool.close();
    }
    console.log(`label: ${lines} frames -> ${values.out}${values.patches ? ` (controller input -> ${values.patches})` : ''}`);
    return EXIT.ok;
  },
};
