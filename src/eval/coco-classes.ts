import { COCO_LABELS } from '../core/coco.js';

/**
 * The 80 COCO detection classes in contiguous order (the order detectors
 * trained on COCO output, and YOLO label files use; one list for the whole
 * project, in src/core/coco.ts), and COCO's own sparse category ids (1..90,
 * 11 ids unused) for the same classes.
 */
export const COCO80_NAMES: readonly string[] = COCO_LABELS;

/** COCO category id of each contiguous class: COCO91_IDS[classId] = category_id. */
export const COCO91_IDS: readonly number[] = [
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31, 32, 33, 34,
  35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
  64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90,
];

const toContiguous = new Map(COCO91_IDS.map((id, i) => [id, i]));

/** Contiguous 0..79 class id for a COCO category id, or undefined when it is not one of the 80. */
export function cocoCategoryToClassId(categoryId: number): number | undefined {
  return toContiguous.get(categoryId);
}
