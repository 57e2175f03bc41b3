/**
 * Detection strategies: how a camera's frame becomes detections. The live
 * service and the evaluation harness run the same pipeline; only the
 * strategy differs. Each camera gets its own instance (strategies keep
 * per-camera state: frame counters, motion background, ...).
 */
import type { TilePlan } from '../arac/plan.js';
import type { Grid } from '../arac/geometry.js';
import type { Polygon } from '../core/polygon.js';
import type { Box, Detection, Frame } from '../core/types.js';
import type { BudgetChoice } from '../demux/budget.js';
import type { CalibrationCache } from '../demux/calibrate.js';
import type { Cgg } from '../importance/cgg.js';
import type { DetectReply } from '../inference/protocol.js';
import type { PredictedTrack } from '../track/tracker.js';

/** A frame-sized RGB24 image for the detector (a frame, a crop or a resized copy). */
export interface DetectorImage {
  data: Uint8Array;
  width: number;
  height: number;
  /** Size of the image the boxes must come back in (source pixels for a whole frame). */
  srcWidth: number;
  srcHeight: number;
}

/** What a strategy may know about the camera and the model it runs on. */
export interface StreamInfo {
  /** The model pack's compute levels, sorted (0 = full width; skip = 1 is implied). */
  computeLevels: readonly number[];
  /** One frame interval of the source (or of the configured fps cap), ms: the frame-rate SLO deadline. */
  frameIntervalMs: number;
  /** True when frames arrive in real time (live cameras, --realtime): deadlines count from capture. */
  paced: boolean;
  /** The score at which detections count (the report's operating point); the oracle labels tiles at it. */
  minScore?: number;
  /**
   * This camera's share of a device several cameras use (DEMUX fair share):
   * a per-frame budget, and where to report what a frame cost and what its
   * unconstrained plan would have cost. Absent: the camera has the device.
   */
  share?: DeviceShare;
  /** The pack's learnt compression controller, when it ships one (stateless; cameras share it). */
  controller?: Cgg;
  /**
   * Start-up calibration of DEMUX's cost model, shared by the cameras of
   * this machine. Paced streams with it calibrate on their first frame
   * (a few seconds); without it, the model starts from a prior scaled by
   * the first measured frame.
   */
  calibration?: CalibrationCache;
  /**
   * BATCH (issue 18): the camera's inference worker batches model calls
   * across cameras (model.batch): windowed plans grow their windows to
   * canonical shapes so that they batch, and the times reported back are
   * each frame's charged share of the calls (DetectReply.deviceMs).
   */
  batched?: boolean;
  /** MASK (issue 16): the camera's masks, source pixels; arac never computes a tile wholly inside one (src/arac/mask.ts). */
  masks?: readonly Polygon[];
}

export interface DeviceShare {
  budgetMs(nowMs: number): number;
  report(measuredMs: number, wantedMs: number): void;
}

export interface StrategyContext {
  info: StreamInfo;
  /** Runs the shared inference pool; `key` isolates ARAC feature caches (per camera, per strategy). */
  detect(image: DetectorImage, mode: 'full' | 'arac', plan?: TilePlan, opts?: { scratch?: 'empty' | 'copy' }): Promise<DetectReply>;
  /** The camera tracker's predicted boxes for a time (empty when tracking is off). */
  predictTracks(tsMs: number): PredictedTrack[];
  /** How long a detect call made now would queue behind other cameras' work, ms (InferencePool.backlogMs). */
  backlogMs?(): number;
}

export interface StrategyResult {
  /** Source-pixel boxes. */
  detections: Detection[];
  /** Detector (inference) time spent on this frame, ms; 0 when no model ran. */
  detectorMs: number;
  /** Model work done on this frame relative to the unsplit model on the whole frame. */
  workFraction: number;
  /**
   * True when the detections are the tracker's own predictions (no model ran):
   * the track stage must not feed them back into the tracker.
   */
  fromTracker?: boolean;
  /** What ran, for clients and reports. */
  plan?: FramePlan;
}

/**
 * What a strategy did with one frame. Tiled strategies say which tiles ran
 * and why; the viewer draws it, the bench reads DEMUX's drops from it.
 */
export type FramePlan = TilesPlan | RegionsPlan | DownscalePlan | SkipPlan;

export interface TilesPlan {
  kind: 'tiles';
  grid: Grid;
  /** One per tile, row-major: a compute level (0 = full width), or 1 = skipped. */
  levels: readonly number[];
  /** One letter per tile: why importance chose its level (ImportanceReason's first letter). */
  reasons?: string;
  /** arac-oracle: the labeling rule's level per tile, before the plan was probed in its windows. */
  labels?: readonly number[];
  /** DEMUX's cost model's price of the plan, ms. */
  predictedMs?: number;
  /** The frame's budget: its deadline or the camera's fair share, whichever is smaller, ms. */
  budgetMs?: number;
  /** Importance + DEMUX time for this frame, ms. */
  overheadMs?: number;
  /** No plan fit the budget: the tracker's predictions were published instead. */
  dropped?: boolean;
  /** The frame ran one tile anyway after several drops in a row (the camera must not stay blind). */
  probe?: boolean;
  /** Under a work budget: what the budget bought this frame (src/demux/budget.ts). */
  spend?: BudgetChoice;
}

export interface RegionsPlan {
  kind: 'regions';
  /** Detector-input pixels; 'frame' when the whole frame ran. */
  regions: readonly Box[] | 'frame';
  why?: string;
}

export interface DownscalePlan {
  kind: 'downscale';
  /** The size the frame was scaled to before the unsplit model ran. */
  input: { width: number; height: number };
}

export interface SkipPlan {
  kind: 'skip';
  /** True on the frames the detector ran; between them the tracker's predictions stand in. */
  detected: boolean;
}

export interface Strategy {
  readonly name: string;
  /** Which models the inference pool must load for it. */
  readonly models: 'full' | 'arac';
  process(frame: Frame, ctx: StrategyContext): Promise<StrategyResult>;
  /**
   * Optional, before frames flow (a live camera's start-up): work that would
   * otherwise delay the first frames, such as calibrating DEMUX's cost model
   * for this input size. Must not fail for a reason a frame would not.
   */
  prepare?(size: { width: number; height: number }, ctx: StrategyContext): Promise<void>;
  /** Forget per-camera state (a reconnect, a new video). */
  reset(): void;
}
