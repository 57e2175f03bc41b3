/**
 * The COCO and YOLO readers against each other on coco128 (shared data: the
 * same 128 images labelled both ways; skips when absent). The YOLO files were
 * converted from the COCO JSON without crowd annotations, so every non-crowd
 * COCO box must reappear as a YOLO box of the same class.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COCO80_NAMES } from '../../src/eval/coco-classes.js';
import { parseCocoJson, parseYoloLabels } from '../../src/eval/labels.js';
import { matchGreedy } from '../../src/eval/metrics.js';
import { sharedData } from '../helpers/shared-data.js';

const JSON_FILE = sharedData('coco128-train2017/instances_train2017_coco128.json');
const DIR = JSON_FILE ? dirname(JSON_FILE) : '';

describe.skipIf(JSON_FILE === undefined)('COCO and YOLO labels of coco128 agree', () => {
  it('yields the same boxes and class ids from both formats', () => {
    const file = JSON_FILE as string;
    const coco = parseCocoJson(readFileSync(file, 'utf8'), file);
    expect(coco.images.size).toBe(128);
    expect(coco.categories.map((c) => c.name)).toEqual(COCO80_NAMES);
    let boxes = 0;
    for (const img of coco.images.values()) {
      const file = join(DIR, 'labels-yolo', img.fileName.replace(/\.jpg$/, '.txt'));
      const yolo = existsSync(file) ? parseYoloLabels(readFileSync(file, 'utf8'), file, img.width, img.height) : [];
      const refs = img.boxes.filter((b) => !b.ignore);
      const m = matchGreedy(
        yolo.map((b) => ({ ...b, score: 1 })),
        refs,
        0.99,
      );
      expect([img.fileName, m.unmatchedPreds, m.unmatchedRefs]).toEqual([img.fileName, [], []]);
      boxes += refs.length;
    }
    expect(boxes).toBeGreaterThan(900);
  });
});
