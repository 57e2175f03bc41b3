import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { COCO80_NAMES, COCO91_IDS, cocoCategoryToClassId } from '../../src/eval/coco-classes.js';
import { LabelParseError, parseCocoJson, parseMotGt, parseYoloLabels } from '../../src/eval/labels.js';

function thrown(fn: () => unknown): LabelParseError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LabelParseError);
    expect(err).toBeInstanceOf(InputError);
    return err as LabelParseError;
  }
  throw new Error('expected a throw');
}

describe('parseMotGt', () => {
  it('reads MOT16-style rows into 0-based frames with COCO classes', () => {
    const text = [
      '1,1,10,20,30,40,1,1,0.9',
      '1,2,50,60,20,20,1,3,1',
      '2,1,12,20,30,40,1,1,0.8',
      '2,3,0,0,5,5,0,1,1', // conf 0: ignored
      '2,4,0,0,5,5,1,8,1', // distractor: no COCO class
      '',
      '3,5,1,2,3,4', // first 6 fields only
    ].join('\n');
    const gt = parseMotGt(text, 'gt.txt');
    expect([...gt.keys()]).toEqual([0, 1, 2]);
    expect(gt.get(0)).toEqual([
      { x: 10, y: 20, w: 30, h: 40, classId: 0, trackId: 1, visibility: 0.9 },
      { x: 50, y: 60, w: 20, h: 20, classId: 2, trackId: 2, visibility: 1 },
    ]);
    expect(gt.get(1)).toEqual([{ x: 12, y: 20, w: 30, h: 40, classId: 0, trackId: 1, visibility: 0.8 }]);
    expect(gt.get(2)).toEqual([{ x: 1, y: 2, w: 3, h: 4, classId: 0, trackId: 5 }]);
  });

  it('treats 10-column rows as MOT15/PETS (world coordinates, no class)', () => {
    const gt = parseMotGt('1,1,682.07,285.96,34.32,102.25,-1,-11773,-14337,0\n', 'pets.txt', { defaultClassId: 0 });
    expect(gt.get(0)).toEqual([{ x: 682.07, y: 285.96, w: 34.32, h: 102.25, classId: 0, trackId: 1 }]);
  });

  it('applies visibility and class-map options', () => {
    const text = '1,1,0,0,10,10,1,1,0.2\n1,2,0,0,10,10,1,1,0.6\n1,3,0,0,10,10,1,9,1';
    const gt = parseMotGt(text, 'gt.txt', { minVisibility: 0.5, classMap: (c) => (c === 9 ? 42 : 0) });
    expect(gt.get(0)!.map((b) => [b.trackId, b.classId])).toEqual([
      [2, 0],
      [3, 42],
    ]);
  });

  it('names the file and line of bad rows', () => {
    const e = thrown(() => parseMotGt('1,1,0,0,1,1\n2,1,0,zero,1,1\n', 'seq/gt.txt'));
    expect(e.file).toBe('seq/gt.txt');
    expect(e.line).toBe(2);
    expect(e.message).toMatch(/^seq\/gt\.txt:2: field 4 is not a number/);
    expect(thrown(() => parseMotGt('1,2,3', 'a')).message).toMatch(/a:1: expected at least 6/);
    expect(thrown(() => parseMotGt('0,1,0,0,1,1', 'a')).message).toMatch(/frame must be an integer >= 1/);
    expect(thrown(() => parseMotGt('1,1,0,0,-1,1', 'a')).message).toMatch(/negative box size/);
  });
});

describe('parseYoloLabels', () => {
  it('converts normalised centre boxes to pixels', () => {
    const boxes = parseYoloLabels('0 0.5 0.5 0.25 0.5\n2 0.1 0.2 0.2 0.4 0.87\n', 'a.txt', 640, 480);
    expect(boxes).toEqual([
      { x: 240, y: 120, w: 160, h: 240, classId: 0 },
      { x: 0, y: 0, w: 128, h: 192, classId: 2 },
    ]);
  });

  it('turns a segmentation polygon into its bounding box', () => {
    const [b] = parseYoloLabels('5 0.1 0.1 0.5 0.2 0.3 0.6', 'seg.txt', 100, 200);
    expect(b!.classId).toBe(5);
    expect(b!.x).toBeCloseTo(10, 9);
    expect(b!.y).toBeCloseTo(20, 9);
    expect(b!.w).toBeCloseTo(40, 9);
    expect(b!.h).toBeCloseTo(100, 9);
  });

  it('returns no boxes for an empty file and rejects malformed lines', () => {
    expect(parseYoloLabels('\n', 'empty.txt', 10, 10)).toEqual([]);
    expect(thrown(() => parseYoloLabels('0 0.5 0.5 0.1', 'b.txt', 10, 10)).message).toMatch(/b\.txt:1: expected 'cls cx cy w h'/);
    expect(thrown(() => parseYoloLabels('0 0.5 0.5 0.1 0.1\n1.5 0.5 0.5 0.1 0.1', 'b.txt', 10, 10)).line).toBe(2);
    expect(thrown(() => parseYoloLabels('0 320 240 50 50', 'px.txt', 640, 480)).message).toMatch(/normalised/);
    expect(thrown(() => parseYoloLabels('0 0.5 0.5 0.1 0.1', 'c.txt', 0, 10)).message).toMatch(/image size/);
  });
});

describe('COCO class table', () => {
  it('maps the 80 sparse category ids onto 0..79', () => {
    expect(COCO80_NAMES).toHaveLength(80);
    expect(COCO91_IDS).toHaveLength(80);
    expect(cocoCategoryToClassId(1)).toBe(0);
    expect(cocoCategoryToClassId(3)).toBe(2);
    expect(cocoCategoryToClassId(13)).toBe(11); // stop sign: id 12 is unused
    expect(cocoCategoryToClassId(90)).toBe(79);
    expect(cocoCategoryToClassId(12)).toBeUndefined();
  });
});

describe('parseCocoJson', () => {
  const doc = {
    images: [
      { id: 7, file_name: 'a.jpg', width: 640, height: 480 },
      { id: 9, file_name: 'b.jpg', width: 320, height: 240 },
    ],
    annotations: [
      { id: 1, image_id: 7, category_id: 18, bbox: [1, 2, 3, 4], iscrowd: 0 },
      { id: 2, image_id: 7, category_id: 1, bbox: [10, 20, 30, 40], iscrowd: 1 },
    ],
    categories: [
      { id: 1, name: 'person' },
      { id: 18, name: 'dog' },
    ],
  };

  it('maps standard categories through the COCO table and flags crowds', () => {
    const gt = parseCocoJson(JSON.stringify(doc), 'inst.json');
    expect(gt.categories).toEqual([
      { cocoId: 1, name: 'person', classId: 0 },
      { cocoId: 18, name: 'dog', classId: 16 },
    ]);
    expect(gt.images.get('a.jpg')).toEqual({
      id: 7,
      fileName: 'a.jpg',
      width: 640,
      height: 480,
      boxes: [
        { x: 1, y: 2, w: 3, h: 4, classId: 16, label: 'dog' },
        { x: 10, y: 20, w: 30, h: 40, classId: 0, label: 'person', ignore: true },
      ],
    });
    expect(gt.images.get('b.jpg')!.boxes).toEqual([]);
  });

  it('numbers custom categories by ascending id', () => {
    const custom = { ...doc, categories: [{ id: 18, name: 'widget' }, { id: 1, name: 'gadget' }] };
    const gt = parseCocoJson(JSON.stringify(custom), 'c.json');
    expect(gt.categories.map((c) => [c.cocoId, c.classId])).toEqual([
      [1, 0],
      [18, 1],
    ]);
    expect(gt.images.get('a.jpg')!.boxes.map((b) => b.classId)).toEqual([1, 0]);
  });

  it('names the file and the failing field or line', () => {
    const e = thrown(() => parseCocoJson('{\n  "images": [\n  }', 'broken.json'));
    expect(e.message).toMatch(/^broken\.json(:\d+)?: invalid JSON/);
    // Where the runtime reports a position, it becomes the line.
    expect(thrown(() => parseCocoJson('{"a": 1\n "b": 2}', 'l.json')).line).toBe(2);
    const bad = (patch: object): string =>
      thrown(() => parseCocoJson(JSON.stringify({ ...doc, ...patch }), 'x.json')).message;
    expect(bad({ annotations: [{ image_id: 99, category_id: 1, bbox: [0, 0, 1, 1] }] })).toMatch(
      /x\.json: annotations\[0\]\.image_id: no image with id 99/,
    );
    expect(bad({ annotations: [{ image_id: 7, category_id: 2, bbox: [0, 0, 1, 1] }] })).toMatch(/no category with id 2/);
    expect(bad({ annotations: [{ image_id: 7, category_id: 1, bbox: [0, 0, 1] }] })).toMatch(/bbox: expected \[x, y, w, h\]/);
    expect(bad({ images: 'nope' })).toMatch(/images: expected an array/);
    expect(bad({ images: [{ id: 1, file_name: 'a.jpg', width: 1 }] })).toMatch(/images\[0\]\.height: expected a number/);
    expect(bad({ images: [doc.images[0], doc.images[0]] })).toMatch(/duplicate file name/);
  });
});
