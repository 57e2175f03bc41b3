/**
 * The WebSocket wire protocol: TypeScript types, the JSON Schema we publish
 * (docs/protocol.schema.json is generated from `protocolSchema`), and the one
 * parser every client message goes through. Types and schema sit side by side
 * so a change to one is reviewed next to the other; the unit tests check
 * sample messages against the schema and the docs file against this object.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { NeulensError } from '../core/errors.js';
import { makeTiles } from '../arac/geometry.js';
import type { CameraResult } from '../camera/camera.js';
import type { CameraState, Frame } from '../core/types.js';
import type { FramePlan } from '../strategy/types.js';
import { checkSchema } from '../core/json-schema.js';

/**
 * Bumped on any change a client could notice (field removed, meaning changed).
 * 2: the plan gained kind, tile edges and source-pixel regions.
 * 3: pictures: `subscribe` takes `pictures`, and clients that ask get binary
 *    picture messages (see PictureHeader); JSON-only clients see no other change.
 */
export const PROTOCOL_VERSION = 3;

// ---------------------------------------------------------------- server → client

export interface HelloMessage {
  type: 'hello';
  version: number;
  cameras: { id: string; state: CameraState }[];
  serverTimeMs: number;
}

/** One detected object, source pixels, top-left origin. */
export interface WireBox {
  x: number;
  y: number;
  w: number;
  h: number;
  label: string;
  classId: number;
  score: number;
  /** Absent when tracking is disabled for the camera. */
  trackId?: number;
  /** True when the box was held over from an earlier frame (an ARAC tile skipped this frame). */
  stale?: boolean;
}

export interface FrameMessage {
  type: 'frame';
  camera: string;
  seq: number;
  ptsMs: number;
  /** Wall-clock ms when the frame left the decoder. */
  captureTs: number;
  /** Wall-clock ms when the server published this message. */
  publishTs: number;
  /** publishTs - captureTs. */
  latencyMs: number;
  inferenceMs: number;
  /** Source frame size in pixels; box coordinates are in this space. */
  width: number;
  height: number;
  boxes: WireBox[];
  /** What the strategy did with the frame (absent for full). */
  plan?: WirePlan;
}

/** A rectangle in source pixels. */
export interface WireRect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** FramePlan (src/strategy/types.ts) on the wire: positions in source pixels, and the strategy's name. */
export type WirePlan =
  | {
      kind: 'tiles';
      strategy: string;
      grid: { cols: number; rows: number };
      /** Tile borders in source pixels: cols + 1 x positions and rows + 1 y positions (tiles need not be equal). */
      edges: { x: number[]; y: number[] };
      /** One per tile, row-major: a compute level (0 = full width) or 1 = skipped. */
      levels: number[];
      /** One letter per tile, why: t(rack) m(otion) c(hange) s(ettled) r(efresh) i(dle) l(earnt) q(uiet), x (masked: wholly inside a camera mask, never computed). */
      reasons?: string;
      labels?: number[];
      predictedMs?: number;
      budgetMs?: number;
      overheadMs?: number;
      dropped?: boolean;
      probe?: boolean;
      /** Under a work budget (model.budget): what it bought this frame. */
      spend?: 'windows' | 'whole-busy' | 'whole-spare' | 'hold' | 'idle';
    }
  | { kind: 'regions'; strategy: string; regions: WireRect[] | 'frame'; why?: string }
  | { kind: 'downscale'; strategy: string; input: { width: number; height: number } }
  | { kind: 'skip'; strategy: string; detected: boolean };

export interface StatusMessage {
  type: 'status';
  camera: string;
  /** A camera's state, or 'removed': the service stopped running it (a runtime change); it is gone from hello. */
  state: CameraState | 'removed';
  error?: string;
  atMs: number;
}

export type ProtocolErrorCode = 'MESSAGE_TOO_LARGE' | 'BINARY_NOT_SUPPORTED' | 'NOT_JSON' | 'UNKNOWN_TYPE' | 'BAD_MESSAGE' | 'UNKNOWN_CAMERA' | 'PICTURES_DISABLED';

export interface ErrorMessage {
  type: 'error';
  code: ProtocolErrorCode;
  message: string;
  /** UNKNOWN_CAMERA: the ids the server does not know. */
  cameras?: string[];
}

export interface PongMessage {
  type: 'pong';
  id?: string | number;
  serverTimeMs: number;
}

export type ServerMessage = HelloMessage | FrameMessage | StatusMessage | ErrorMessage | PongMessage;

/**
 * The JSON header of a binary picture message (the layout is in
 * PICTURE_LAYOUT). A picture goes only to clients that subscribed with
 * `pictures: true`, after the frame message of the same seq, and carries that
 * frame message itself: its boxes and plan are the picture's, never a later
 * frame's.
 */
export interface PictureHeader {
  type: 'picture';
  camera: string;
  /** The seq of the frame the picture shows (the same as frame.seq). */
  seq: number;
  format: 'jpeg';
  /** The picture's own size in pixels (the detector's input, scaled down to viewer.maxWidth); boxes stay in source pixels (frame.width x frame.height). */
  width: number;
  height: number;
  frame: FrameMessage;
}

/** How a binary picture message is laid out; the schema's picture description says the same. */
export const PICTURE_LAYOUT =
  'A binary WebSocket message: a 4-byte unsigned big-endian length N, then N bytes of UTF-8 JSON (this header), then the picture itself (a JPEG file) to the end of the message.';

// ---------------------------------------------------------------- client → server

/** '*' means every camera, including cameras added later. */
export type CameraSelection = string[] | '*';

export interface SubscribeMessage {
  type: 'subscribe';
  cameras: CameraSelection;
  /** true: the cameras' pictures too (binary messages); false: no more pictures of them (frames go on); absent: pictures as they were. */
  pictures?: boolean;
}

export interface UnsubscribeMessage {
  type: 'unsubscribe';
  cameras: CameraSelection;
}

export interface PingMessage {
  type: 'ping';
  id?: string | number;
}

export type ClientMessage = SubscribeMessage | UnsubscribeMessage | PingMessage;

// ---------------------------------------------------------------- JSON Schema

const CAMERA_ID_MAX = 128;
/** Caps keep one subscribe message from allocating without bound. */
const MAX_CAMERAS_PER_MESSAGE = 256;

const nonNegative = { type: 'number', minimum: 0 } as const;
const count = { type: 'integer', minimum: 0 } as const;
const cameraId = { type: 'string', minLength: 1, maxLength: CAMERA_ID_MAX } as const;
const pingId = { anyOf: [{ type: 'string', maxLength: 128 }, { type: 'integer' }] } as const;

export const protocolSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://neulens.dev/schemas/protocol.schema.json',
  title: 'NeuLens-TS WebSocket protocol',
  description: `Version ${PROTOCOL_VERSION}. Every WebSocket text message is one JSON object matching exactly one of $defs.serverMessage (sent by the server) or $defs.clientMessage (sent by clients). Binary messages go from the server only to clients that subscribed with pictures: true; each is one picture, laid out as $defs.picture says.`,
  oneOf: [{ $ref: '#/$defs/serverMessage' }, { $ref: '#/$defs/clientMessage' }],
  $defs: {
    cameraId,
    cameraState: { enum: ['connecting', 'online', 'offline', 'stopped'] },
    cameraSelection: {
      description: "A list of camera ids, or '*' for all cameras including ones added later.",
      anyOf: [{ const: '*' }, { type: 'array', items: { $ref: '#/$defs/cameraId' }, minItems: 1, maxItems: MAX_CAMERAS_PER_MESSAGE }],
    },
    serverMessage: {
      oneOf: [
        { $ref: '#/$defs/hello' },
        { $ref: '#/$defs/frame' },
        { $ref: '#/$defs/status' },
        { $ref: '#/$defs/error' },
        { $ref: '#/$defs/pong' },
      ],
    },
    clientMessage: {
      oneOf: [{ $ref: '#/$defs/subscribe' }, { $ref: '#/$defs/unsubscribe' }, { $ref: '#/$defs/ping' }],
    },
    hello: {
      description: 'First message on every connection.',
      type: 'object',
      required: ['type', 'version', 'cameras', 'serverTimeMs'],
      additionalProperties: false,
      properties: {
        type: { const: 'hello' },
        version: count,
        cameras: {
          type: 'array',
          items: {
            type: 'object',
            required: ['id', 'state'],
            additionalProperties: false,
            properties: { id: { $ref: '#/$defs/cameraId' }, state: { $ref: '#/$defs/cameraState' } },
          },
        },
        serverTimeMs: nonNegative,
      },
    },
    box: {
      description: 'One object in source pixels, top-left origin.',
      type: 'object',
      required: ['x', 'y', 'w', 'h', 'label', 'classId', 'score'],
      additionalProperties: false,
      properties: {
        x: { type: 'number' },
        y: { type: 'number' },
        w: nonNegative,
        h: nonNegative,
        label: { type: 'string' },
        classId: count,
        score: { type: 'number', minimum: 0, maximum: 1 },
        trackId: count,
        stale: { type: 'boolean', description: 'Held over from an earlier frame: the ARAC tile holding it was skipped.' },
      },
    },
    frame: {
      description: 'Detections for one processed frame; sent only to clients subscribed to the camera.',
      type: 'object',
      required: ['type', 'camera', 'seq', 'ptsMs', 'captureTs', 'publishTs', 'latencyMs', 'inferenceMs', 'width', 'height', 'boxes'],
      additionalProperties: false,
      properties: {
        type: { const: 'frame' },
        camera: { $ref: '#/$defs/cameraId' },
        seq: count,
        ptsMs: { type: 'number' },
        captureTs: nonNegative,
        publishTs: nonNegative,
        latencyMs: { type: 'number', description: 'publishTs - captureTs' },
        inferenceMs: nonNegative,
        width: count,
        height: count,
        boxes: { type: 'array', items: { $ref: '#/$defs/box' } },
        plan: { $ref: '#/$defs/plan' },
      },
    },
    rect: {
      type: 'object',
      required: ['x', 'y', 'w', 'h'],
      additionalProperties: false,
      properties: { x: { type: 'number' }, y: { type: 'number' }, w: nonNegative, h: nonNegative },
    },
    plan: {
      description: "What the camera's strategy did with the frame; positions in source pixels. Absent for the unsplit model (strategy full).",
      oneOf: [
        {
          type: 'object',
          description: 'A tiled strategy (arac and its variants): which tiles ran and why.',
          required: ['kind', 'strategy', 'grid', 'edges', 'levels'],
          additionalProperties: false,
          properties: {
            kind: { const: 'tiles' },
            strategy: { type: 'string' },
            grid: { type: 'object', required: ['cols', 'rows'], additionalProperties: false, properties: { cols: count, rows: count } },
            edges: {
              type: 'object',
              description: 'Tile borders in source pixels: cols + 1 x positions, rows + 1 y positions.',
              required: ['x', 'y'],
              additionalProperties: false,
              properties: { x: { type: 'array', items: { type: 'number' } }, y: { type: 'array', items: { type: 'number' } } },
            },
            levels: { type: 'array', description: 'One per tile, row-major: a compute level (0 = full width) or 1 = skipped.', items: { type: 'number', minimum: 0, maximum: 1 } },
            reasons: { type: 'string', description: 'One letter per tile: t(rack), m(otion), c(hange), s(ettled), r(efresh), i(dle), l(earnt), q(uiet), x (masked: wholly inside a camera mask, never computed).' },
            labels: { type: 'array', items: { type: 'number' }, description: 'arac-oracle: the labeling rule\'s level per tile.' },
            predictedMs: nonNegative,
            budgetMs: { type: 'number', description: "The frame's deadline or the camera's fair share, whichever is smaller, ms (may be negative when the frame is already late)." },
            overheadMs: nonNegative,
            dropped: { type: 'boolean', description: "No plan fit the budget: the boxes are the tracker's predictions." },
            probe: { type: 'boolean' },
            spend: {
              enum: ['windows', 'whole-busy', 'whole-spare', 'hold', 'idle'],
              description: "Under a work budget (model.budget), what it bought: windows for the most important tiles, the whole frame because most tiles wanted computing (whole-busy) or because tokens would otherwise go unspent (whole-spare), or nothing while saving up (hold: the tracker's boxes) or because nothing needed it (idle).",
            },
          },
        },
        {
          type: 'object',
          description: 'motion-regions: the regions the detector ran on.',
          required: ['kind', 'strategy', 'regions'],
          additionalProperties: false,
          properties: {
            kind: { const: 'regions' },
            strategy: { type: 'string' },
            regions: { anyOf: [{ const: 'frame' }, { type: 'array', items: { $ref: '#/$defs/rect' } }] },
            why: { type: 'string' },
          },
        },
        {
          type: 'object',
          required: ['kind', 'strategy', 'input'],
          additionalProperties: false,
          properties: {
            kind: { const: 'downscale' },
            strategy: { type: 'string' },
            input: { type: 'object', required: ['width', 'height'], additionalProperties: false, properties: { width: count, height: count } },
          },
        },
        {
          type: 'object',
          required: ['kind', 'strategy', 'detected'],
          additionalProperties: false,
          properties: { kind: { const: 'skip' }, strategy: { type: 'string' }, detected: { type: 'boolean' } },
        },
      ],
    },
    status: {
      description: 'Camera state change; sent to every client.',
      type: 'object',
      required: ['type', 'camera', 'state', 'atMs'],
      additionalProperties: false,
      properties: {
        type: { const: 'status' },
        camera: { $ref: '#/$defs/cameraId' },
        state: { description: "The camera's state, or 'removed' once the service no longer runs it (a runtime change): it is then gone from hello.", anyOf: [{ $ref: '#/$defs/cameraState' }, { const: 'removed' }] },
        error: { type: 'string' },
        atMs: nonNegative,
      },
    },
    error: {
      description: 'Reply to a client message the server could not accept; the connection stays open.',
      type: 'object',
      required: ['type', 'code', 'message'],
      additionalProperties: false,
      properties: {
        type: { const: 'error' },
        code: { enum: ['MESSAGE_TOO_LARGE', 'BINARY_NOT_SUPPORTED', 'NOT_JSON', 'UNKNOWN_TYPE', 'BAD_MESSAGE', 'UNKNOWN_CAMERA', 'PICTURES_DISABLED'] },
        message: { type: 'string' },
        cameras: { type: 'array', items: { $ref: '#/$defs/cameraId' }, description: 'UNKNOWN_CAMERA: the ids the server does not know (the subscription keeps them).' },
      },
    },
    picture: {
      description: `The header of a binary picture message. ${PICTURE_LAYOUT} Sent after the frame message of the same seq; frame repeats that message, so the boxes and plan drawn over the picture are its own.`,
      type: 'object',
      required: ['type', 'camera', 'seq', 'format', 'width', 'height', 'frame'],
      additionalProperties: false,
      properties: {
        type: { const: 'picture' },
        camera: { $ref: '#/$defs/cameraId' },
        seq: { ...count, description: 'The seq of the frame the picture shows (frame.seq).' },
        format: { const: 'jpeg' },
        width: { ...count, description: "The picture's width in pixels; boxes and plan stay in source pixels (frame.width x frame.height)." },
        height: count,
        frame: { $ref: '#/$defs/frame' },
      },
    },
    pong: {
      type: 'object',
      required: ['type', 'serverTimeMs'],
      additionalProperties: false,
      properties: { type: { const: 'pong' }, id: pingId, serverTimeMs: nonNegative },
    },
    subscribe: {
      description: 'Adds cameras to the subscription.',
      type: 'object',
      required: ['type', 'cameras'],
      additionalProperties: false,
      properties: {
        type: { const: 'subscribe' },
        cameras: { $ref: '#/$defs/cameraSelection' },
        pictures: {
          type: 'boolean',
          description:
            "true: the cameras' pictures too, as binary messages ($defs.picture), at most viewer.fps per camera; false: no more pictures of these cameras (their frames go on); absent: pictures stay as they were. A server with viewer.enabled: false answers pictures: true with PICTURES_DISABLED.",
        },
      },
    },
    unsubscribe: {
      description: "Removes cameras from the subscription, their pictures too; '*' removes all.",
      type: 'object',
      required: ['type', 'cameras'],
      additionalProperties: false,
      properties: { type: { const: 'unsubscribe' }, cameras: { $ref: '#/$defs/cameraSelection' } },
    },
    ping: {
      description: 'Answered with a pong carrying the same id.',
      type: 'object',
      required: ['type'],
      additionalProperties: false,
      properties: { type: { const: 'ping' }, id: pingId },
    },
  },
} as const;

type MessageDef = 'hello' | 'frame' | 'status' | 'error' | 'pong' | 'picture' | 'subscribe' | 'unsubscribe' | 'ping';

/** Null when `value` is a valid message of kind `def` (or any server/client message); else why not. */
export function checkMessage(def: MessageDef | 'serverMessage' | 'clientMessage', value: unknown): string | null {
  return checkSchema({ $ref: `#/$defs/${def}` }, value, protocolSchema);
}

/** Writes the schema as pretty JSON (used for docs/protocol.schema.json). */
export async function writeProtocolSchema(file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, protocolSchemaJson());
}

export function protocolSchemaJson(): string {
  return `${JSON.stringify(protocolSchema, null, 2)}\n`;
}

// ---------------------------------------------------------------- parsing client input

/** A client message the server refuses; `reason` is what the `error` reply carries. */
export class ProtocolError extends NeulensError {
  readonly reason: ProtocolErrorCode;

  constructor(reason: ProtocolErrorCode, message: string) {
    super('PROTOCOL_INVALID', message);
    this.reason = reason;
  }
}

const CLIENT_TYPES = new Set(['subscribe', 'unsubscribe', 'ping']);

/**
 * Parses one client text message. Throws ProtocolError (never anything else)
 * naming what is wrong: size, JSON syntax, unknown type, or the offending field.
 */
export function parseClientMessage(data: Buffer | string, maxBytes: number): ClientMessage {
  const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (bytes > maxBytes) throw new ProtocolError('MESSAGE_TOO_LARGE', `message is ${bytes} bytes; the limit is ${maxBytes}`);
  let value: unknown;
  try {
    value = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch (err) {
    throw new ProtocolError('NOT_JSON', `message is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError('BAD_MESSAGE', 'message must be a JSON object with a "type" field');
  }
  const type = (value as Record<string, unknown>).type;
  if (typeof type !== 'string' || !CLIENT_TYPES.has(type)) {
    throw new ProtocolError('UNKNOWN_TYPE', `unknown message type ${JSON.stringify(type) ?? 'undefined'}; expected subscribe, unsubscribe or ping`);
  }
  const err = checkMessage(type as MessageDef, value);
  if (err) throw new ProtocolError('BAD_MESSAGE', `${type}: ${err}`);
  return value as ClientMessage;
}

/** Parses the `?pictures=1` upgrade query (1, true, 0 or false); null when absent. */
export function parsePicturesQuery(raw: string | null): boolean | null {
  if (raw === null) return null;
  const v = raw.trim().toLowerCase();
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw new ProtocolError('BAD_MESSAGE', `pictures: expected 1, true, 0 or false, got '${raw.slice(0, 32)}'`);
}

/** Parses the `?cameras=a,b` / `?cameras=*` upgrade query; null when absent. */
export function parseCameraQuery(raw: string | null): CameraSelection | null {
  if (raw === null) return null;
  if (raw.trim() === '*') return '*';
  const ids = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const err = checkSchema({ $ref: '#/$defs/cameraSelection' }, ids, protocolSchema, 'cameras');
  if (err) throw new ProtocolError('BAD_MESSAGE', err);
  return ids;
}

// ---------------------------------------------------------------- building server messages

/** Builds the frame message of a published camera result; `publishTs` defaults to its publication time. */
export function buildFrameMessage(r: Pick<CameraResult, 'camera' | 'frame' | 'detections' | 'result' | 'strategy' | 'publishedAtMs'>, opts: { publishTs?: number } = {}): FrameMessage {
  const { frame } = r;
  const publishTs = opts.publishTs ?? r.publishedAtMs;
  const msg: FrameMessage = {
    type: 'frame',
    camera: r.camera,
    seq: frame.seq,
    ptsMs: frame.ptsMs,
    captureTs: frame.captureWallMs,
    publishTs,
    latencyMs: publishTs - frame.captureWallMs,
    inferenceMs: r.result.detectorMs,
    width: frame.srcWidth,
    height: frame.srcHeight,
    boxes: r.detections.map((d) => {
      const box: WireBox = { x: d.x, y: d.y, w: d.w, h: d.h, label: d.label, classId: d.classId, score: d.score };
      if (d.trackId !== undefined) box.trackId = d.trackId;
      if (d.stale) box.stale = true;
      return box;
    }),
  };
  if (r.result.plan) msg.plan = wirePlan(r.result.plan, r.strategy, frame);
  return msg;
}

/** A strategy's plan in source pixels. */
export function wirePlan(p: FramePlan, strategy: string, f: Pick<Frame, 'width' | 'height' | 'srcWidth' | 'srcHeight'>): WirePlan {
  const sx = f.srcWidth / f.width;
  const sy = f.srcHeight / f.height;
  switch (p.kind) {
    case 'tiles': {
      const tiles = makeTiles(f.width, f.height, p.grid);
      const xs = tiles.filter((t) => t.row === 0).map((t) => t.x * sx);
      const ys = tiles.filter((t) => t.col === 0).map((t) => t.y * sy);
      const { kind: _k, grid, levels, labels, ...rest } = p;
      return { kind: 'tiles', strategy, grid: { ...grid }, edges: { x: [...xs, f.srcWidth], y: [...ys, f.srcHeight] }, levels: [...levels], ...(labels ? { labels: [...labels] } : {}), ...rest };
    }
    case 'regions':
      return { kind: 'regions', strategy, regions: p.regions === 'frame' ? 'frame' : p.regions.map((b) => ({ x: b.x * sx, y: b.y * sy, w: b.w * sx, h: b.h * sy })), ...(p.why ? { why: p.why } : {}) };
    case 'downscale':
      return { kind: 'downscale', strategy, input: { ...p.input } };
    case 'skip':
      return { kind: 'skip', strategy, detected: p.detected };
  }
}
