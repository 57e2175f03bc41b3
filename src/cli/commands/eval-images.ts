import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { InputError } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { DEFAULT_PACK_DIR } from '../../core/paths.js';
import { evalImages } from '../../eval/images.js';
import { EXIT, type Command } from '../command.js';
import { parseStrategy } from '../../strategy/registry.js';
import { prepareOutput } from '../args.js';
import { progressBar } from '../progress.js';

const usage = `usage: neulens eval-images <dir> --labels <yolo-dir | coco.json> [--strategy S] [--json OUT]

COCO mAP50 and mAP50-95 (101-point interpolation, up to 100 detections per
image) of a strategy (full, downscale, arac-c0) on labelled still images.
YOLO labels: one <image>.txt per image (class cx cy w h, normalised, 80 COCO classes).`;

export const evalImagesCommand: Command = {
  name: 'eval-images',
  summary: 'COCO mAP50 and mAP50-95 on labelled images',
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { labels: { type: 'string' }, strategy: { type: 'string', default: 'full' }, json: { type: 'string' }, pack: { type: 'string', default: DEFAULT_PACK_DIR } },
    });
    if (positionals.length !== 1 || !values.labels) throw new InputError('eval-images needs an image folder and --labels (see --help)');
    if (values.json) await prepareOutput('--json', values.json);
    const bar = progressBar('eval-images', 1);
    const r = await evalImages({ dir: positionals[0] as string, labels: values.labels, strategy: parseStrategy(values.strategy), packDir: values.pack, log: createLogger('warn'), onProgress: (d, t) => bar.set(d, t) });
    bar.done();
    const pct = (v: number | null) => (v === null ? '-' : (v * 100).toFixed(1));
    console.log(`${r.strategy} on ${r.images} images: mAP50 ${pct(r.map50)}  mAP50-95 ${pct(r.map50_95)}  detector ${r.detector_ms.mean.toFixed(1)} ms mean`);
    const top = [...r.per_class].sort((a, b) => b.gt - a.gt).slice(0, 10);
    for (const c of top) console.log(`  ${c.label.padEnd(14)} gt ${String(c.gt).padStart(4)}  AP50 ${pct(c.ap50)}`);
    if (values.json) {
      await mkdir(path.dirname(path.resolve(values.json)), { recursive: true });
      await writeFile(values.json, JSON.stringify(r, null, 2) + '\n');
    }
    return EXIT.ok;
  },
};
