/**
 * The configuration schema: the single source of truth for what a NeuLens
 * YAML file may contain, its defaults, and the JSON Schema that editors use.
 *
 * Every object is strict (an unknown key is an error, never ignored: a typo
 * like `minscore` must not silently fall back to the default). Every field
 * states its default in its description so `neulens config schema` is the
 * reference documentation.
 */
import { z } from 'zod';
import { COCO_LABELS } from '../core/coco.js';
import { PROVIDERS } from '../model/tensor.js';
import { DEFAULT_GRID, DEFAULT_REFRESH, formatSpec, hasBudget, isAdaptive, isTiled, parseSpecText, specFrom, type StrategySpec } from '../strategy/spec.js';
import { DEFAULT_TRACKER_OPTIONS } from '../track/tracker.js';
import { HistorySchema } from './history.js';
import { FleetSchema } from './fleet.js';
import { MqttSchema } from './mqtt.js';
import { MasksSchema, ZonesSchema } from './regions.js';

/** A duration in milliseconds, at most an hour (larger values are always a unit mistake). */
const ms = (min: number) => z.number().int().min(min).max(3_600_000);

/** One side of a model input size: a positive multiple of 32 (the detector's largest stride). */
const dim = z.number().int().min(32).max(4096).multipleOf(32);

const inputSize = z
  .tuple([dim, dim])
  .describe('Model input size [width, height] in pixels; each a multiple of 32 between 32 and 4096.');

// ---------------------------------------------------------------- server

/** The server's defaults, written once: the hub and the server take theirs from here too. */
export const SERVER_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  wsPath: '/ws',
  clientQueue: 32,
  clientMaxBufferedBytes: 4_194_304,
  clientStuckTimeoutMs: 10_000,
});

export const ServerSchema = z
  .strictObject({
    host: z.string().min(1).default(SERVER_DEFAULTS.host).describe(`Interface to listen on. Default: ${SERVER_DEFAULTS.host} (local only); use 0.0.0.0 to accept remote clients.`),
    port: z.number().int().min(0).max(65535).default(SERVER_DEFAULTS.port).describe(`TCP port for HTTP and WebSocket. 0 picks a free port. Default: ${SERVER_DEFAULTS.port}.`),
    wsPath: z
      .string()
      .regex(/^\/[^\s?#]*$/, { error: "must start with '/' and contain no spaces, '?' or '#'" })
      .default(SERVER_DEFAULTS.wsPath)
      .describe(`URL path of the WebSocket endpoint. Default: ${SERVER_DEFAULTS.wsPath}.`),
    authToken: z
      .string()
      .min(1)
      .optional()
      .describe('Bearer token for the WebSocket (and so the viewer\'s pictures), /api/stats and /metrics. The viewer page itself is served openly and asks for the token once. Default: the NEULENS_TOKEN environment variable if set, otherwise no authentication. /healthz and /readyz stay open for probes.'),
    publicMetrics: z.boolean().default(false).describe('Serve /metrics without the token (for a Prometheus scraper that has none). Default: false.'),
    clientQueue: z.number().int().min(1).max(4096).default(SERVER_DEFAULTS.clientQueue).describe(`Messages queued per client before old ones are dropped. Default: ${SERVER_DEFAULTS.clientQueue}.`),
    clientMaxBufferedBytes: z
      .number()
      .int()
      .min(1024)
      .max(1_073_741_824)
      .default(SERVER_DEFAULTS.clientMaxBufferedBytes)
      .describe(`Socket send buffer (bytes) above which a client counts as slow and frames are skipped for it. Default: ${SERVER_DEFAULTS.clientMaxBufferedBytes} (4 MiB).`),
    clientStuckTimeoutMs: ms(100)
      .default(SERVER_DEFAULTS.clientStuckTimeoutMs)
      .describe(`A client that answers no ping for this long, or stays above clientMaxBufferedBytes this long, is disconnected. Default: ${SERVER_DEFAULTS.clientStuckTimeoutMs}.`),
  })
  .describe('HTTP/WebSocket server.');

// ----------------------------------------------------------------- viewer

/** The viewer's defaults, written once: the picture feed takes its own from here too. */
export const VIEWER_DEFAULTS = Object.freeze({
  enabled: true,
  fps: 5,
  maxWidth: 960,
  quality: 75,
});

export const ViewerSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(VIEWER_DEFAULTS.enabled)
      .describe(`Serve the live viewer page at / and JPEG pictures of the frames to WebSocket clients that ask for them. Pictures are encoded only while some client watches a camera. Default: ${VIEWER_DEFAULTS.enabled}.`),
    fps: z
      .number()
      .positive()
      .max(30)
      .default(VIEWER_DEFAULTS.fps)
      .describe(`Most pictures per second per camera (frames in between carry boxes only). Default: ${VIEWER_DEFAULTS.fps}.`),
    maxWidth: z
      .number()
      .int()
      .min(64)
      .max(4096)
      .default(VIEWER_DEFAULTS.maxWidth)
      .describe(`Pictures wider than this are scaled down to it (never up): they show the pixels the detector saw, at its input size. Default: ${VIEWER_DEFAULTS.maxWidth}.`),
    quality: z.number().int().min(1).max(100).default(VIEWER_DEFAULTS.quality).describe(`JPEG quality, 1-100. Default: ${VIEWER_DEFAULTS.quality}.`),
  })
  .describe('The live viewer (GET /): cameras with their boxes and tile plans in the browser.');

// ----------------------------------------------------------------- model

const pack = z
  .string()
  .min(1)
  .default('models/nanodet-g')
  .describe('Model pack directory (contains manifest.json). Relative paths are resolved against the config file directory. Default: models/nanodet-g.');

/** Defaults of model.batch, written once (the service and serve-slo take theirs from here). */
export const BATCH_DEFAULTS = Object.freeze({ maxSize: 32, timeoutMs: 20 });

const BatchSchema = z
  .strictObject({
    maxSize: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .default(BATCH_DEFAULTS.maxSize)
      .describe(`Most frames (requests of different cameras) a worker takes as one batch, and most items (frames, or windows of one shape) in one model call; 1 turns batching off. Default: ${BATCH_DEFAULTS.maxSize}.`),
    timeoutMs: z
      .number()
      .min(0)
      .max(1000)
      .default(BATCH_DEFAULTS.timeoutMs)
      .describe(`Push timeout: the most a frame waits for other cameras' frames before its batch goes, ms (never past its deadline less two batches' time; a batch holding a frame of every camera on the worker goes at once). Default: ${BATCH_DEFAULTS.timeoutMs}.`),
  })
  .describe("Cross-camera batching: the frames of the cameras on one inference worker run together, and their model calls of one shape (frames of one input size; arac's windows, padded to a few canonical shapes) run as one call. It pays where a call's fixed cost is high (WebGPU); on the CPU it measured no better, so it is off unless set (docs/results/batch-cpu.txt). Default: off.");

const modelCommon = {
  inputSize: inputSize
    .optional()
    .describe("Model input size [width, height], multiples of 32. Default: for each camera, the pack's working size closest to the camera's aspect ratio."),
  provider: z.enum(PROVIDERS).default('cpu').describe('ONNX Runtime execution provider. Default: cpu.'),
  threads: z.number().int().min(1).max(256).optional().describe('Intra-op threads per inference session. Default: the CPU count divided between the workers (ONNX Runtime\'s own default ran one thread on 2-core machines).'),
  workers: z.number().int().min(1).max(64).optional().describe('Inference worker threads (a camera is pinned to one). Default: on the CPU, one per enabled camera up to the CPU count; on an accelerator, 1.'),
  batch: BatchSchema.optional(),
  minScore: z.number().min(0).max(1).default(0.35).describe('Detections scoring below this are dropped. Default: 0.35.'),
  nmsIou: z.number().min(0).max(1).default(0.6).describe('IoU above which non-maximum suppression merges boxes of the same class. Default: 0.6.'),
  maxDetections: z.number().int().min(1).max(10_000).default(100).describe('Most detections kept per frame (highest scores first). Default: 100.'),
  classes: z
    .array(z.enum(COCO_LABELS))
    .min(1)
    .optional()
    .describe('COCO labels to keep, e.g. [person, car]. Default: all 80 classes.'),
};

const gridTuple = z.tuple([z.number().int().min(1).max(16), z.number().int().min(1).max(16)]);

const RefreshSchema = z
  .strictObject({
    frames: z.number().int().min(1).max(10_000).optional().describe(`At most this many frames between two computations of a tile. Default: ${DEFAULT_REFRESH.frames}.`),
    ms: ms(1).optional().describe(`At most this long between two computations of a tile, ms. Default: ${DEFAULT_REFRESH.ms}.`),
  })
  .describe('Refresh bound of the arac strategies: every tile is computed at least this often, whichever bound comes first, so that an object appearing in a skipped tile is found.');

/** A work budget, model.budget and a camera's budget (src/demux/budget.ts). */
const budgetSchema = z
  .number()
  .gt(0)
  .max(1)
  .describe("Detector cost the camera may spend on average, as a fraction of the unsplit model's on the same input (0.35 = about a third of strategy full's time): arac spends it where the scene needs it (windows for the most important tiles, the whole frame when most tiles need it, the tracker's boxes meanwhile). The frame's deadline and the camera's fair share of the device still cap each frame. Default: no budget (importance decides, the deadline caps).");

/**
 * model.strategy is the one name of how frames become detections; model.grid
 * and model.refresh are its settings written as YAML keys. The deprecated
 * model.mode (full | arac) still reads, as the strategy of the same name.
 * All of it becomes one typed StrategySpec (src/strategy/spec.ts), the same
 * the CLI's --strategy parses to.
 */
export const ModelSchema = z
  .strictObject({
    pack,
    strategy: z
      .string()
      .min(1)
      .optional()
      .describe("How frames become detections: arac (NeuLens: tracked objects and change choose the tiles computed each frame, DEMUX fits each frame into its camera's frame-rate SLO), full (the unsplit model on every frame), or any strategy `neulens bench --help` lists, with its argument (e.g. 'skip-track:3', 'arac-cgg'). Default: arac."),
    mode: z.enum(['full', 'arac']).optional().describe('Deprecated: write strategy instead (mode: full is strategy: full; mode: arac is strategy: arac).'),
    grid: gridTuple.optional().describe(`Tile grid [columns, rows] of the tiled strategies (arac and its variants). Default: [${DEFAULT_GRID.cols}, ${DEFAULT_GRID.rows}].`),
    refresh: RefreshSchema.optional(),
    budget: budgetSchema.optional(),
    ...modelCommon,
  })
  .transform((m, ctx) => {
    const { strategy: text, mode, grid, refresh, budget, ...rest } = m;
    const fail = (path: string[], message: string): never => {
      ctx.addIssue({ code: 'custom', path, message });
      return z.NEVER;
    };
    if (mode !== undefined && text !== undefined && mode === 'full' && !text.startsWith('full')) {
      return fail(['mode'], `mode: full conflicts with strategy '${text}' (mode is deprecated: keep strategy only)`);
    }
    const parsed = parseSpecText(text ?? mode ?? 'arac');
    if (typeof parsed === 'string') return fail(text === undefined ? ['mode'] : ['strategy'], parsed);
    const spec = specFrom(parsed, { ...(grid ? { grid: { cols: grid[0], rows: grid[1] } } : {}), ...(refresh ? { refresh } : {}), ...(budget !== undefined ? { budget } : {}) });
    const named = `strategy '${formatSpec(spec)}'`;
    if (grid) {
      if (!isTiled(spec)) return fail(['grid'], `${named} has no tile grid`);
      if (parsed.grid && (parsed.grid.cols !== grid[0] || parsed.grid.rows !== grid[1])) {
        return fail(['grid'], `[${grid.join(', ')}] conflicts with the grid in strategy '${text ?? ''}' (write it once)`);
      }
    }
    if (refresh) {
      if (!isAdaptive(spec)) return fail(['refresh'], `${named} has no refresh bound`);
      if (parsed.refreshFrames !== undefined && refresh.frames !== undefined && parsed.refreshFrames !== refresh.frames) {
        return fail(['refresh', 'frames'], `${refresh.frames} conflicts with refresh=${parsed.refreshFrames} in strategy '${text ?? ''}' (write it once)`);
      }
    }
    if (budget !== undefined) {
      if (!hasBudget(spec)) return fail(['budget'], `${named} takes no budget (arac, its variants and arac-oracle do)`);
      if (parsed.budget !== undefined && parsed.budget !== budget) return fail(['budget'], `${budget} conflicts with budget=${parsed.budget} in strategy '${text ?? ''}' (write it once)`);
    }
    return { ...rest, strategy: spec };
  })
  .describe('Detector: the model pack, the strategy that runs it, and how its output is filtered.');

// --------------------------------------------------------------- tracker

export const TrackerSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Assign track ids across frames. Default: true.'),
    highThresh: z.number().min(0).max(1).default(0.5).describe('Detections at or above this score start and extend tracks. Default: 0.5.'),
    lowThresh: z.number().min(0).max(1).default(0.1).describe('Detections between lowThresh and highThresh only extend existing tracks. Default: 0.1.'),
    matchIou: z.number().min(0).max(1).default(0.3).describe('Minimum IoU to match a detection to a track. Default: 0.3.'),
    maxAgeMs: ms(0)
      .default(DEFAULT_TRACKER_OPTIONS.maxAgeMs)
      .describe(`A track neither matched nor held this long is dropped (a box an arac tile holds while skipped keeps its track, up to model.refresh). Default: ${DEFAULT_TRACKER_OPTIONS.maxAgeMs}.`),
    minHits: z.number().int().min(1).max(1000).default(2).describe('Matches needed before a track is reported. Default: 2.'),
    stationaryMs: ms(0)
      .default(DEFAULT_TRACKER_OPTIONS.stationaryMs)
      .describe(`A tracked object whose detected boxes stay near where it stopped (IoU >= stationaryIou) this long is stationary, else active. Default: ${DEFAULT_TRACKER_OPTIONS.stationaryMs}.`),
    stationaryIou: z
      .number()
      .gt(0)
      .max(1)
      .default(DEFAULT_TRACKER_OPTIONS.stationaryIou)
      .describe(`Overlap (IoU) with the box where an object stopped at or above which it has not moved (0.6: sideways, less than a quarter of its width). Default: ${DEFAULT_TRACKER_OPTIONS.stationaryIou}.`),
  })
  .superRefine((t, ctx) => {
    if (t.lowThresh > t.highThresh) {
      ctx.addIssue({ code: 'custom', path: ['lowThresh'], message: `must not exceed highThresh (${t.highThresh})` });
    }
  })
  .describe('Multi-object tracker (ByteTrack-style two-threshold matching).');

// --------------------------------------------------------------- cameras

export const ReconnectSchema = z
  .strictObject({
    initialMs: ms(10).default(500).describe('First retry delay after a source fails. Default: 500.'),
    maxMs: ms(10).default(10_000).describe('Retry delay cap. Default: 10000.'),
    factor: z.number().min(1).max(10).default(2).describe('Delay multiplier per consecutive failure. Default: 2.'),
    jitter: z.number().min(0).max(1).default(0.2).describe('Random +/- fraction applied to each delay. Default: 0.2.'),
  })
  .superRefine((r, ctx) => {
    if (r.initialMs > r.maxMs) {
      ctx.addIssue({ code: 'custom', path: ['initialMs'], message: `must not exceed maxMs (${r.maxMs})` });
    }
  })
  .describe('Exponential backoff between reconnect attempts.');

export type CameraKind = 'rtsp' | 'http' | 'file';

const RTSP_URL = /^rtsps?:\/\/\S+$/i;
const HTTP_URL = /^https?:\/\/\S+$/i;
// A file camera is a file:// URL or anything without a URL scheme (a path).
const FILE_URL = /^(?:file:\/\/|(?![A-Za-z][A-Za-z0-9+.-]*:\/\/)).+$/;
const ANY_SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/** The source kind a camera URL implies, or undefined for an unsupported scheme. */
export function cameraKindOf(url: string): CameraKind | undefined {
  if (RTSP_URL.test(url)) return 'rtsp';
  if (HTTP_URL.test(url)) return 'http';
  if (FILE_URL.test(url)) return 'file';
  return undefined;
}

const id = z
  .string()
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, { error: "must be 1-64 letters, digits, '_' or '-'" })
  .describe('Unique camera id (letters, digits, _ and -); used in logs, metrics and client messages.');

const cameraCommon = {
  enabled: z.boolean().default(true).describe('Disabled cameras are validated but not started. Default: true.'),
  fps: z.number().positive().max(240).optional().describe('Cap on frames per second taken from the source (extra frames are dropped in ffmpeg). Default: no cap.'),
  inputSize: inputSize.optional().describe('Per-camera override of model.inputSize [width, height], multiples of 32.'),
  budget: budgetSchema.optional().describe("Per-camera override of model.budget (a fraction of the unsplit model's cost, 0 < budget <= 1); only for the strategies that take one."),
  stallTimeoutMs: ms(500).default(10_000).describe('No frame for this long counts as a stall and triggers a reconnect. Default: 10000.'),
  reconnect: ReconnectSchema.prefault({}),
  zones: ZonesSchema.optional(),
  masks: MasksSchema.optional(),
};

export const RtspCameraSchema = z
  .strictObject({
    id,
    kind: z.literal('rtsp').describe('Source kind; inferred from the url when omitted.'),
    url: z.string().regex(RTSP_URL, { error: 'must be an rtsp:// or rtsps:// URL' }).describe('rtsp://[user:pass@]host[:port]/path'),
    ...cameraCommon,
    transport: z.enum(['tcp', 'udp']).default('tcp').describe('RTSP transport. Default: tcp (survives lossy links and NAT).'),
  })
  .describe('RTSP camera.');

export const HttpCameraSchema = z
  .strictObject({
    id,
    kind: z.literal('http').describe('Source kind; inferred from the url when omitted.'),
    url: z.string().regex(HTTP_URL, { error: 'must be an http:// or https:// URL' }).describe('http(s):// stream (MJPEG, HLS, or a video file over HTTP).'),
    ...cameraCommon,
  })
  .describe('HTTP(S) stream.');

export const FileCameraSchema = z
  .strictObject({
    id,
    kind: z.literal('file').describe('Source kind; inferred from the url when omitted.'),
    url: z
      .string()
      .regex(FILE_URL, { error: 'must be a file path or file:// URL' })
      .describe('Video file path or file:// URL. Relative paths are resolved against the config file directory; after loading this is an absolute path.'),
    ...cameraCommon,
    loop: z.boolean().default(false).describe('Restart from the beginning at end of file. Default: false (the camera stops).'),
    pace: z
      .enum(['source', 'fast'])
      .default('source')
      .describe('source: deliver frames at the recorded frame rate, like a live camera; fast: as fast as decoding allows (benchmarks). Default: source.'),
  })
  .describe('Recorded video file.');

const cameraVariants = [RtspCameraSchema, HttpCameraSchema, FileCameraSchema] as const;

// `kind` is optional for users: the scheme of `url` already says it.
function inferCameraKind(value: unknown, ctx: z.core.$RefinementCtx): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || 'kind' in value) return value;
  const url = (value as { url?: unknown }).url;
  if (typeof url !== 'string') {
    ctx.addIssue({
      code: 'custom',
      path: ['url'],
      message: url === undefined ? 'required (rtsp://..., http(s)://..., or a file path)' : `expected a string, got ${typeOf(url)}`,
    });
    return value;
  }
  const kind = cameraKindOf(url);
  if (!kind) {
    const scheme = ANY_SCHEME.exec(url)?.[1] ?? '';
    ctx.addIssue({
      code: 'custom',
      path: ['url'],
      message: `unsupported URL scheme '${scheme}://' (use rtsp://, rtsps://, http://, https://, file:// or a file path)`,
    });
    return value;
  }
  return { ...value, kind };
}

export const CameraSchema = z
  .preprocess(inferCameraKind, z.discriminatedUnion('kind', cameraVariants))
  .describe('One video source. kind (rtsp | http | file) is inferred from url.');

export const CamerasSchema = z
  .array(CameraSchema)
  .min(1)
  .superRefine((cams, ctx) => {
    const first = new Map<string, number>();
    cams.forEach((cam, i) => {
      const j = first.get(cam.id);
      if (j === undefined) first.set(cam.id, i);
      else ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate camera id '${cam.id}' (first used by cameras[${j}])` });
    });
  })
  .describe('Video sources; at least one. Ids must be unique.');

// --------------------------------------------------------------- logging

export const LoggingSchema = z
  .strictObject({
    level: z.enum(['debug', 'info', 'warn', 'error']).default('info').describe('Minimum level written. Default: info.'),
  })
  .describe('Logging.');

// ------------------------------------------------------------------- all

export const ConfigSchema = z
  .strictObject({
    server: ServerSchema.prefault({}),
    model: ModelSchema.prefault({}),
    tracker: TrackerSchema.prefault({}),
    cameras: CamerasSchema,
    viewer: ViewerSchema.prefault({}),
    logging: LoggingSchema.prefault({}),
    mqtt: MqttSchema.optional(),
    history: HistorySchema.optional(),
    fleet: FleetSchema.optional(),
  })
  .superRefine((c, ctx) => {
    // Events and counts are the tracker's tracks: without it there is nothing to publish.
    if (c.mqtt && !c.tracker.enabled) ctx.addIssue({ code: 'custom', path: ['tracker', 'enabled'], message: 'must be true when mqtt is set (events and counts come from the tracker)' });
    if (c.history?.enabled && !c.tracker.enabled) ctx.addIssue({ code: 'custom', path: ['tracker', 'enabled'], message: 'must be true when history is enabled (events come from the tracker)' });
  })
  .superRefine((c, ctx) => {
    c.cameras.forEach((cam, i) => {
      if (cam.budget !== undefined && !hasBudget(c.model.strategy)) {
        ctx.addIssue({ code: 'custom', path: ['cameras', i, 'budget'], message: `strategy '${formatSpec(c.model.strategy)}' takes no budget (arac, its variants and arac-oracle do)` });
      }
    });
  })
  .describe('NeuLens configuration. Only cameras is required; every other key has a default.');

/** A camera's strategy: model.strategy with the camera's own budget, when it sets one. */
export function cameraStrategy(model: Pick<ModelConfig, 'strategy'>, cam: Pick<CameraConfig, 'budget'>): StrategySpec {
  const spec = model.strategy;
  return cam.budget !== undefined && hasBudget(spec) ? { ...spec, budget: cam.budget } : spec;
}

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
export type ServerConfig = Config['server'];
export type ModelConfig = Config['model'];
export type TrackerConfig = Config['tracker'];
export type ViewerConfig = Config['viewer'];
export type CameraConfig = Config['cameras'][number];
export type RtspCameraConfig = Extract<CameraConfig, { kind: 'rtsp' }>;
export type HttpCameraConfig = Extract<CameraConfig, { kind: 'http' }>;
export type FileCameraConfig = Extract<CameraConfig, { kind: 'file' }>;
export type ReconnectConfig = CameraConfig['reconnect'];
export type LogLevel = Config['logging']['level'];
export type { MqttConfig } from './mqtt.js';
export type { HistoryConfig } from './history.js';
export type { FleetConfig } from './fleet.js';

/** The JSON Schema (draft 2020-12) of what a user may write: defaulted keys are optional. */
export function configJsonSchema(): Record<string, unknown> {
  const variants = new Set<unknown>(cameraVariants);
  const schema = z.toJSONSchema(ConfigSchema, {
    target: 'draft-2020-12',
    io: 'input',
    override: (ctx) => {
      // Zod sees the post-inference shape, where `kind` is required; users may omit it.
      if (variants.has(ctx.zodSchema) && Array.isArray(ctx.jsonSchema.required)) {
        ctx.jsonSchema.required = ctx.jsonSchema.required.filter((k) => k !== 'kind');
      }
    },
  });
  return { ...schema, title: 'NeuLens configuration' };
}

export function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}
