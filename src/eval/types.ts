/** Box shapes the evaluation code reads; detector output (Detection) satisfies ScoredBox. */
import type { Box } from '../core/types.js';

/** A ground-truth (reference) box. */
export interface GtBox extends Box {
  /** Contiguous 0-based class id (COCO 80-class ids for COCO data). */
  classId: number;
  label?: string;
  /**
   * A region where detections are neither rewarded nor punished (COCO
   * `iscrowd`): never a false negative, and a prediction that falls inside it
   * (intersection / prediction area >= IoU threshold) is not a false positive.
   */
  ignore?: boolean;
  /** Object identity when the source has one (MOT). */
  trackId?: number;
  /** MOT visibility ratio 0..1 when the source has one. */
  visibility?: number;
}

/** A prediction with a confidence. */
export interface ScoredBox extends Box {
  classId: number;
  score: number;
}
