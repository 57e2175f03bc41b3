import { parseArgs } from 'node:util';
import { FeatureCache } from '../../detect/executor.js';
import { InputError } from '../../core/errors.js';
import { DEFAULT_PACK_DIR } from '../../core/paths.js';
import { DEFAULT_DETECT, Detector } from '../../detect/detector.js';
import { chooseInputSize } from '../../model/input-size.js';
import { openModel } from '../../model/open.js';
import { probeSize, readStill } from '../../ingest/still.js';
import { EXIT, type Command } from '../command.js';
import { parseGrid, parseNumber, parseProvider, parseSize } from '../args.js';

const usage = `usage: neulens detect <image-or-video> [options]

Detect objects in one image or one video frame and print label, score and box
(x, y, w, h in source pixels).

options:
  --frame N          video frame index, 0-based (default 0)
  --json             print JSON instead of text
  --pack DIR         model pack (default models/nanodet-g)
  --size WxH         detector input size (default: the pack's working size closest to the source aspect)
  --mode full|arac   unsplit model (default) or the ARAC executor with every tile at c=0
  --grid CxR         ARAC grid (default 4x4)
  --min-score X      score threshold (default ${DEFAULT_DETECT.minScore})
  --provider P       cpu (default), webgpu or cuda`;

export const detectCommand: Command = {
  name: 'detect',
  summary: 'detect objects in one image or video frame',
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        frame: { type: 'string', default: '0' },
        json: { type: 'boolean', default: false },
        pack: { type: 'string', default: DEFAULT_PACK_DIR },
        size: { type: 'string' },
        mode: { type: 'string', default: 'full' },
        grid: { type: 'string', default: '4x4' },
        'min-score': { type: 'string' },
        provider: { type: 'string', default: 'cpu' },
      },
    });
    const file = positionals[0];
    if (!file || positionals.length > 1) {
      console.error(usage);
      return EXIT.usage;
    }
    if (values.mode !== 'full' && values.mode !== 'arac') throw new InputError(`--mode must be full or arac, got '${values.mode}'`);
    const provider = parseProvider('--provider', values.provider);
    const frameIndex = parseNumber('--frame', values.frame, { integer: true, min: 0 });
    const minScore = values['min-score'] === undefined ? DEFAULT_DETECT.minScore : parseNumber('--min-score', values['min-score'], { min: 0, max: 1 });

    const { pack, runner } = await openModel(values.pack, { set: values.mode, provider });
    try {
      const src = await probeSize(file);
      const size = values.size ? parseSize('--size', values.size, pack.manifest.input.sizeMultiple) : chooseInputSize(pack.manifest, src.width, src.height);
      const frame = await readStill(file, { ...size, frame: frameIndex });
      const detector = new Detector(runner, pack, { ...DEFAULT_DETECT, minScore });
      const grid = parseGrid('--grid', values.grid);
      const res = await detector.detect(
        frame,
        values.mode === 'full' ? { kind: 'full' } : { kind: 'arac', plan: { grid, levels: Array<number>(grid.cols * grid.rows).fill(0) }, cache: new FeatureCache() },
      );
      if (values.json) {
        const round = (v: number) => Math.round(v * 10) / 10;
        console.log(JSON.stringify({
          file, frame: frameIndex, source: { width: src.width, height: src.height }, input: size, mode: values.mode,
          inferenceMs: round(res.inferenceMs),
          detections: res.detections.map((d) => ({ label: d.label, classId: d.classId, score: Math.round(d.score * 1000) / 1000, x: round(d.x), y: round(d.y), w: round(d.w), h: round(d.h) })),
        }, null, 2));
      } else {
        console.log(`${file} frame ${frameIndex}: ${src.width}x${src.height} -> ${size.width}x${size.height}, ${res.detections.length} detections, ${res.inferenceMs.toFixed(1)} ms (${values.mode})`);
        for (const d of res.detections) {
          console.log(`${d.label.padEnd(14)} ${d.score.toFixed(3)}  x=${d.x.toFixed(0)} y=${d.y.toFixed(0)} w=${d.w.toFixed(0)} h=${d.h.toFixed(0)}`);
        }
      }
    } finally {
      await runner.close();
    }
    return EXIT.ok;
  },
};
