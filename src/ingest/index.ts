/** Camera ingest: sources in, scaled RGB frames and camera status out. */
export { CameraSource, describeExit } from './camera-source.js';
export type { CameraSourceOptions, CameraStats, CameraStatus } from './camera-source.js';
export { backoffBaseMs, backoffDelayMs, DEFAULT_BACKOFF } from './backoff.js';
export type { BackoffPolicy } from './backoff.js';
export { resolveFfmpeg, resolveFfmpegPath, resetFfmpegPathCache } from './ffmpeg-path.js';
export type { ResolvedFfmpeg } from './ffmpeg-path.js';
export { liveDecoderPids } from './ffmpeg-process.js';
export { SOURCE_DEFAULTS, resolveSourceSpec } from './source-spec.js';
export type { ResolvedSourceSpec, SourceKind, SourceSpec } from './source-spec.js';
export type { VideoStreamInfo } from './ffmpeg-stderr.js';
