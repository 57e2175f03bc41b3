/**
 * The small typed values that stages pass to each other. Stages never reach
 * into each other's internals; they exchange these.
 */

/** Axis-aligned box, top-left origin, in source-image pixels unless stated. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Detection extends Box {
  classId: number;
  label: string;
  score: number;
  /** Set by the tracker; absent on raw detector output. */
  trackId?: number;
  /**
   * The box comes from an ARAC tile skipped this frame: what the tile showed
   * when it was last computed. The tracker must not take it as a new
   * measurement (it would read a moving object as stopped).
   */
  stale?: boolean;
}

/**
 * One decoded video frame, already scaled by ffmpeg to the detector's input
 * size (`width` x `height`), packed RGB24. `srcWidth`/`srcHeight` are the
 * source's own dimensions, used to map boxes back to source pixels.
 */
export interface Frame {
  cameraId: string;
  /** 0-based sequence number of frames read from the source (gaps = drops). */
  seq: number;
  /** Presentation time in the source, milliseconds from the stream start. */
  ptsMs: number;
  /** Wall-clock time (Date.now()) when the frame left ffmpeg. */
  captureWallMs: number;
  width: number;
  height: number;
  srcWidth: number;
  srcHeight: number;
  /** width * height * 3 bytes, RGB order. */
  data: Uint8Array;
}

export type CameraState = 'connecting' | 'online' | 'offline' | 'stopped';
