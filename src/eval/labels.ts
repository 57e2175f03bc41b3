/**
 * Ground-truth readers: MOT-style CSV, YOLO .txt labels and COCO instances
 * JSON, each parsed from text the caller has read, into GtBox values in
 * source-image pixels. Any malformed input raises LabelParseError, an
 * InputError naming the file and (for line formats) the 1-based line.
 */
import { InputError } from '../core/errors.js';
import { COCO80_NAMES, cocoCategoryToClassId } from './coco-classes.js';
import type { GtBox } from './types.js';

export class LabelParseError extends InputError {
  readonly file: string;
  readonly line: number | undefined;

  constructor(file: string, line: number | undefined, message: string, options?: { cause?: unknown }) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${message}`, options);
    this.file = file;
    this.line = line;
  }
}

function* dataLines(text: string): Generator<[number, string]> {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const l = (lines[i] ?? '').trim();
    if (l !== '' && !l.startsWith('#')) yield [i + 1, l];
  }
}

function numbers(file: string, line: number, fields: string[]): number[] {
  return fields.map((f, k) => {
    const v = f.trim() === '' ? Number.NaN : Number(f);
    if (!Number.isFinite(v)) throw new LabelParseError(file, line, `field ${k + 1} is not a number: '${f}'`);
    return v;
  });
}

// ---------------------------------------------------------------- MOT -----

/**
 * MOT16/17/20 ground-truth class ids mapped to COCO 80-class ids. Pedestrian
 * (1), person on vehicle (2) and static person (7) are all people to a COCO
 * detector. Classes with no COCO counterpart (non-motorized vehicle 6,
 * distractor 8, occluders 9-11, reflection 12) map to null: those rows are
 * dropped, as the MOT benchmark does not score them either.
 */
export const MOT_CLASS_TO_COCO: Readonly<Record<number, number | null>> = {
  1: 0, 2: 0, 3: 2, 4: 1, 5: 3, 6: null, 7: 0, 8: null, 9: null, 10: null, 11: null, 12: null,
};

export interface MotParseOptions {
  /**
   * Column layout. 'mot16': `frame,id,x,y,w,h,conf,class,visibility` (MOT16+
   * GT; class and visibility optional). 'mot15': `frame,id,x,y,w,h,conf,
   * wx,wy,wz` (2D MOT 2015 and PETS files; columns 8-10 are world
   * coordinates, there is no class). 'auto' (default) decides per line:
   * 10 or more fields -> mot15, otherwise mot16.
   */
  format?: 'auto' | 'mot15' | 'mot16';
  /** Class for rows without a class column. Default 0 (COCO person). */
  defaultClassId?: number;
  /** MOT class -> COCO class, null to drop the row. Default MOT_CLASS_TO_COCO; unknown classes are dropped. */
  classMap?: (motClass: number) => number | null;
  /** Drop rows whose visibility column is below this. Default 0 (keep all). */
  minVisibility?: number;
}

/**
 * Parse MOT-format ground truth. Only the first 6 fields are required.
 * Returns boxes keyed by 0-based frame index (the file's 1-based `frame`
 * minus 1, matching Frame.seq for a file decoded from its first frame).
 * Rows with `conf == 0` (the column, when present, marks "ignore" in MOT GT;
 * PETS files use -1 for "no value") are dropped, as are rows removed by
 * class mapping or visibility. Frames with no kept rows are absent: treat a
 * missing frame as annotated-empty only if the sequence is fully annotated.
 */
export function parseMotGt(text: string, file: string, opts: MotParseOptions = {}): Map<number, GtBox[]> {
  const classMap = opts.classMap ?? ((c: number) => MOT_CLASS_TO_COCO[c] ?? null);
  const defaultClassId = opts.defaultClassId ?? 0;
  const minVis = opts.minVisibility ?? 0;
  const out = new Map<number, GtBox[]>();
  for (const [ln, l] of dataLines(text)) {
    const f = l.split(',');
    if (f.length < 6) throw new LabelParseError(file, ln, `expected at least 6 comma-separated fields, got ${f.length}`);
    const v = numbers(file, ln, f);
    const [frame = 0, id = 0, x = 0, y = 0, w = 0, h = 0] = v;
    if (!Number.isInteger(frame) || frame < 1) throw new LabelParseError(file, ln, `frame must be an integer >= 1, got ${frame}`);
    if (w < 0 || h < 0) throw new LabelParseError(file, ln, `negative box size ${w}x${h}`);
    if (v.length >= 7 && v[6] === 0) continue;
    const layout = opts.format === undefined || opts.format === 'auto' ? (v.length >= 10 ? 'mot15' : 'mot16') : opts.format;
    let classId = defaultClassId;
    let visibility: number | undefined;
    if (layout === 'mot16') {
      if (v.length >= 8) {
        const mapped = classMap(v[7] ?? 0);
        if (mapped === null) continue;
        classId = mapped;
      }
      if (v.length >= 9) {
        visibility = v[8];
        if ((visibility ?? 1) < minVis) continue;
      }
    }
    const box: GtBox = { x, y, w, h, classId, trackId: id };
    if (visibility !== undefined) box.visibility = visibility;
    const key = frame - 1;
    const list = out.get(key);
    if (list) list.push(box);
    else out.set(key, [box]);
  }
  return out;
}

// --------------------------------------------------------------- YOLO -----

const NORM_TOLERANCE = 1e-6;

/**
 * Parse one YOLO label file: `cls cx cy w h` per line, normalised to 0..1 by
 * the image size, into pixel boxes. A 6th field (a prediction file's
 * confidence) is ignored; a line with an odd number of 7 or more fields is a
 * segmentation polygon `cls x1 y1 x2 y2 ...` and becomes its bounding box.
 * Coordinates outside [0, 1] are rejected (they usually mean pixel labels).
 */
export function parseYoloLabels(text: string, file: string, imageWidth: number, imageHeight: number): GtBox[] {
  if (!(imageWidth > 0 && imageHeight > 0)) {
    throw new LabelParseError(file, undefined, `image size must be positive, got ${imageWidth}x${imageHeight}`);
  }
  const out: GtBox[] = [];
  for (const [ln, l] of dataLines(text)) {
    const f = l.split(/\s+/);
    const v = numbers(file, ln, f);
    const cls = v[0] ?? -1;
    if (!Number.isInteger(cls) || cls < 0) throw new LabelParseError(file, ln, `class must be an integer >= 0, got ${f[0]}`);
    let coords: number[];
    if (v.length === 5 || v.length === 6) coords = v.slice(1, 5);
    else if (v.length >= 7 && v.length % 2 === 1) coords = v.slice(1);
    else throw new LabelParseError(file, ln, `expected 'cls cx cy w h' (5 fields) or a polygon, got ${v.length} fields`);
    if (coords.some((c) => c < -NORM_TOLERANCE || c > 1 + NORM_TOLERANCE)) {
      throw new LabelParseError(file, ln, 'coordinates must be normalised to [0, 1]');
    }
    let cx: number, cy: number, w: number, h: number;
    if (v.length <= 6) {
      [cx = 0, cy = 0, w = 0, h = 0] = coords;
    } else {
      const xs = coords.filter((_, i) => i % 2 === 0);
      const ys = coords.filter((_, i) => i % 2 === 1);
      const x0 = Math.min(...xs);
      const y0 = Math.min(...ys);
      w = Math.max(...xs) - x0;
      h = Math.max(...ys) - y0;
      cx = x0 + w / 2;
      cy = y0 + h / 2;
    }
    out.push({
      x: (cx - w / 2) * imageWidth,
      y: (cy - h / 2) * imageHeight,
      w: w * imageWidth,
      h: h * imageHeight,
      classId: cls,
    });
  }
  return out;
}

// --------------------------------------------------------------- COCO -----

export interface CocoCategory {
  cocoId: number;
  classId: number;
  name: string;
}

export interface CocoImageGt {
  id: number;
  fileName: string;
  width: number;
  height: number;
  /** Crowd annotations come back with `ignore: true`. */
  boxes: GtBox[];
}

export interface CocoGroundTruth {
  /** Keyed by `file_name`; images without annotations are present with no boxes. */
  images: Map<string, CocoImageGt>;
  categories: CocoCategory[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * JSON.parse's message carries, depending on the V8 version and the error,
 * a line, a character position, or neither; recover a line when it can.
 */
function jsonErrorLine(text: string, err: unknown): number | undefined {
  const msg = err instanceof Error ? err.message : '';
  const line = /\(line (\d+) column \d+\)/.exec(msg);
  if (line) return Number(line[1]);
  const pos = /at position (\d+)/.exec(msg);
  return pos ? text.slice(0, Number(pos[1])).split('\n').length : undefined;
}

/**
 * Parse a COCO instances JSON. Class ids: when every category is one of the
 * 80 standard COCO categories (same id and name), the standard table maps
 * COCO's sparse ids to 0..79, so a file listing only some categories still
 * lines up with a COCO-trained detector; otherwise categories are numbered
 * 0..n-1 in ascending category id.
 */
export function parseCocoJson(text: string, file: string): CocoGroundTruth {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // V8 quotes a snippet of the input, newlines included; keep the message one line.
    const why = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ');
    throw new LabelParseError(file, jsonErrorLine(text, err), `invalid JSON: ${why}`, { cause: err });
  }
  const fail = (path: string, msg: string): never => {
    throw new LabelParseError(file, undefined, `${path}: ${msg}`);
  };
  if (!isRecord(doc)) return fail('(root)', 'expected an object');
  const arr = (key: string): unknown[] => {
    const v = doc[key];
    return Array.isArray(v) ? v : fail(key, 'expected an array');
  };
  const num = (o: Record<string, unknown>, key: string, path: string): number => {
    const v = o[key];
    return typeof v === 'number' && Number.isFinite(v) ? v : fail(`${path}.${key}`, 'expected a number');
  };
  const str = (o: Record<string, unknown>, key: string, path: string): string => {
    const v = o[key];
    return typeof v === 'string' ? v : fail(`${path}.${key}`, 'expected a string');
  };

  const rawCats = arr('categories').map((c, i) => {
    const p = `categories[${i}]`;
    if (!isRecord(c)) return fail(p, 'expected an object');
    return { cocoId: num(c, 'id', p), name: str(c, 'name', p) };
  });
  const standard = rawCats.every((c) => {
    const k = cocoCategoryToClassId(c.cocoId);
    return k !== undefined && COCO80_NAMES[k] === c.name;
  });
  const sortedIds = [...new Set(rawCats.map((c) => c.cocoId))].sort((a, b) => a - b);
  if (sortedIds.length !== rawCats.length) fail('categories', 'duplicate category id');
  const categories: CocoCategory[] = rawCats
    .map((c) => ({ ...c, classId: standard ? (cocoCategoryToClassId(c.cocoId) ?? -1) : sortedIds.indexOf(c.cocoId) }))
    .sort((a, b) => a.classId - b.classId);
  const catById = new Map(categories.map((c) => [c.cocoId, c]));

  const images = new Map<string, CocoImageGt>();
  const imageById = new Map<number, CocoImageGt>();
  arr('images').forEach((im, i) => {
    const p = `images[${i}]`;
    if (!isRecord(im)) return fail(p, 'expected an object');
    const img: CocoImageGt = {
      id: num(im, 'id', p),
      fileName: str(im, 'file_name', p),
      width: num(im, 'width', p),
      height: num(im, 'height', p),
      boxes: [],
    };
    if (images.has(img.fileName)) fail(`${p}.file_name`, `duplicate file name '${img.fileName}'`);
    if (imageById.has(img.id)) fail(`${p}.id`, `duplicate image id ${img.id}`);
    images.set(img.fileName, img);
    imageById.set(img.id, img);
  });

  arr('annotations').forEach((a, i) => {
    const p = `annotations[${i}]`;
    if (!isRecord(a)) return fail(p, 'expected an object');
    const imageId = num(a, 'image_id', p);
    const img = imageById.get(imageId) ?? fail(`${p}.image_id`, `no image with id ${imageId}`);
    const catId = num(a, 'category_id', p);
    const cat = catById.get(catId) ?? fail(`${p}.category_id`, `no category with id ${catId}`);
    const bbox = a.bbox;
    if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      return fail(`${p}.bbox`, 'expected [x, y, w, h] numbers');
    }
    const [x, y, w, h] = bbox as [number, number, number, number];
    if (w < 0 || h < 0) fail(`${p}.bbox`, `negative size ${w}x${h}`);
    const box: GtBox = { x, y, w, h, classId: cat.classId, label: cat.name };
    if (a.iscrowd === 1 || a.iscrowd === true) box.ignore = true;
    img.boxes.push(box);
  });
  return { images, categories };
}
