/**
 * Pure parsers for ffmpeg's stderr. ffmpeg has no machine-readable channel
 * that both 4.x (the npm static build) and 5.x+ (distro builds) share, so we
 * read the human log: the input's "Stream #0:0: Video: ..." line for the
 * source geometry and rate, `showinfo` filter lines for each frame's
 * presentation time, and the last error-looking line to explain a failure.
 */

export interface VideoStreamInfo {
  /** Decoder name as ffmpeg prints it, e.g. "h264". */
  codec: string;
  width: number;
  height: number;
  /** Nominal rate ("25 fps", else "tbr"); undefined when ffmpeg does not know it. */
  fps?: number;
}

export interface ShowinfoFrame {
  /** 0-based index of the frame at the showinfo filter (= output frame index). */
  n: number;
  /** Presentation time in ms, undefined when the frame has no pts. */
  ptsMs?: number;
}

const VIDEO_STREAM_RE = /^\s*Stream #\d+:\d+\S*: Video: ([^\s,]+)(.*)$/;
// Preceded by ", " so that the codec tag "(avc1 / 0x31637661)" is not taken for a size.
const SIZE_RE = /,\s(\d{1,5})x(\d{1,5})(?=[\s,[]|$)/;
const FPS_RE = /,\s(\d+(?:\.\d+)?)(k?) fps\b/;
const TBR_RE = /,\s(\d+(?:\.\d+)?)(k?) tbr\b/;
const SHOWINFO_RE = /\bn:\s*(\d+)\s+pts:\s*(-?\d+|NOPTS)\s+pts_time:\s*(-?[\d.e+-]+|NOPTS)/;
/** ffmpeg's words when its probe ended before the stream told it the frame size. */
const PROBE_TOO_SHORT = /could not find codec parameters|unspecified size/i;
const ERROR_RE =
  /error|invalid|fail|refused|not found|no such|unable|could not|cannot|denied|unauthori[sz]ed|forbidden|timed? ?out|broken pipe|reset by peer|end of file|moov atom|server returned/i;

function rate(m: RegExpMatchArray | null): number | undefined {
  if (!m?.[1]) return undefined;
  const v = Number(m[1]) * (m[2] === 'k' ? 1000 : 1);
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

/** Parse one "Stream #i:j...: Video: ..." line; undefined for anything else. */
export function parseVideoStreamLine(line: string): VideoStreamInfo | undefined {
  const m = VIDEO_STREAM_RE.exec(line);
  if (!m?.[1] || m[2] === undefined) return undefined;
  const rest = m[2];
  const size = SIZE_RE.exec(rest);
  if (!size?.[1] || !size[2]) return undefined;
  const width = Number(size[1]);
  const height = Number(size[2]);
  if (width <= 0 || height <= 0) return undefined;
  const fps = rate(FPS_RE.exec(rest)) ?? rate(TBR_RE.exec(rest));
  return fps === undefined ? { codec: m[1], width, height } : { codec: m[1], width, height, fps };
}

/** Parse a `showinfo` per-frame line; undefined for its other lines and anything else. */
export function parseShowinfoLine(line: string): ShowinfoFrame | undefined {
  if (!line.includes('showinfo')) return undefined;
  const m = SHOWINFO_RE.exec(line);
  if (!m?.[1]) return undefined;
  const n = Number(m[1]);
  const t = m[3] === undefined || m[3] === 'NOPTS' ? NaN : Number(m[3]);
  return Number.isFinite(t) ? { n, ptsMs: t * 1000 } : { n };
}

export type StderrEvent =
  | { kind: 'input-video'; info: VideoStreamInfo }
  | { kind: 'frame'; frame: ShowinfoFrame }
  | { kind: 'log'; line: string };

/**
 * Stateful line scanner for one ffmpeg run. It only takes the video stream
 * line inside the "Input #" section: the "Output #0, rawvideo" section
 * prints a Video line too, with the scaled size, which must not be mistaken
 * for the source's.
 */
export class FfmpegStderrScanner {
  private section: 'none' | 'input' | 'output' = 'none';
  private inputVideo: VideoStreamInfo | undefined;
  /** Recent diagnostic lines, each with the frame epoch it arrived in (see frameDelivered). */
  private readonly recent: Array<{ line: string; epoch: number }> = [];
  private readonly keep: number;
  private epoch = 0;
  private shortProbe = false;

  constructor(keepLines = 20) {
    this.keep = keepLines;
  }

  feed(rawLine: string): StderrEvent | undefined {
    const line = rawLine.trimEnd();
    if (!line) return undefined;
    if (line.includes('showinfo')) {
      const frame = parseShowinfoLine(line);
      return frame ? { kind: 'frame', frame } : undefined;
    }
    if (/^Input #\d+/.test(line)) this.section = 'input';
    else if (/^Output #\d+/.test(line) || /^Stream mapping:/.test(line)) this.section = 'output';
    if (this.section === 'input' && !this.inputVideo) {
      const info = parseVideoStreamLine(line);
      if (info) {
        this.inputVideo = info;
        return { kind: 'input-video', info };
      }
    }
    // Progress lines ("frame=  12 fps=...") carry no diagnosis.
    if (/^(frame|size)=\s*\d/.test(line)) return undefined;
    if (PROBE_TOO_SHORT.test(line)) this.shortProbe = true;
    this.recent.push({ line, epoch: this.epoch });
    if (this.recent.length > this.keep) this.recent.shift();
    return { kind: 'log', line };
  }

  get videoInfo(): VideoStreamInfo | undefined {
    return this.inputVideo;
  }

  /** ffmpeg said its probe ended before the stream told it the frame size (it still decodes from the first keyframe). */
  get probeTooShort(): boolean {
    return this.shortProbe;
  }

  /**
   * A frame went out. Lines from before it cannot explain a later exit: a
   * looping RTSP clip warns of a non-monotonic dts on every loop, and the
   * warning 28 s old was reported as the cause of a kill. So the diagnosis
   * reads only what ffmpeg wrote after the last frame.
   */
  frameDelivered(): void {
    this.epoch++;
  }

  /** The last line since the last frame that looks like an error (ffmpeg's own explanation), if any. */
  errorLine(): string | undefined {
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const r = this.recent[i] as { line: string; epoch: number };
      if (r.epoch !== this.epoch) break;
      if (ERROR_RE.test(r.line) && !/^Exiting normally/.test(r.line)) return r.line.trim();
    }
    return undefined;
  }

  /** The last diagnostic line since the last frame, whatever it says. */
  lastLine(): string | undefined {
    const r = this.recent.at(-1);
    return r && r.epoch === this.epoch ? r.line.trim() : undefined;
  }
}
