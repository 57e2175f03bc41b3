/**
 * Typed errors. Every failure that crosses a room's door is a NeulensError
 * with a machine-readable `code`, so the edges (CLI exit codes, WebSocket close
 * codes, HTTP statuses, camera status events) can map it without parsing text.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'MODEL_PACK_INVALID'
  | 'MODEL_FILE_MISSING'
  | 'MODEL_FILE_CORRUPT'
  | 'MODEL_SHAPE_MISMATCH'
  | 'INFERENCE_FAILED'
  | 'PROVIDER_UNAVAILABLE'
  | 'INPUT_INVALID'
  | 'FFMPEG_NOT_FOUND'
  | 'SOURCE_FAILED'
  | 'SOURCE_STALLED'
  | 'PROTOCOL_INVALID'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNAVAILABLE'
  | 'FLEET_UNAVAILABLE'
  | 'CLOSED';

export class NeulensError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A configuration file or value is wrong; `path` names the offending key (dotted). */
export class ConfigError extends NeulensError {
  readonly path: string;

  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('CONFIG_INVALID', path ? `${path}: ${message}` : message, options);
    this.path = path;
  }
}

/** The model pack (manifest or one of its files) is unusable; `subject` names the field or file. */
export class ModelPackError extends NeulensError {
  readonly subject: string;

  constructor(
    code: 'MODEL_PACK_INVALID' | 'MODEL_FILE_MISSING' | 'MODEL_FILE_CORRUPT' | 'MODEL_SHAPE_MISMATCH',
    subject: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, `model pack: ${subject}: ${message}`, options);
    this.subject = subject;
  }
}

export class InferenceError extends NeulensError {
  constructor(
    message: string,
    options?: { cause?: unknown; code?: 'INFERENCE_FAILED' | 'PROVIDER_UNAVAILABLE' },
  ) {
    super(options?.code ?? 'INFERENCE_FAILED', message, options);
  }
}

/** A source (file, RTSP, HTTP stream) failed or stalled. */
export class SourceError extends NeulensError {
  readonly cameraId: string;

  constructor(
    cameraId: string,
    code: 'SOURCE_FAILED' | 'SOURCE_STALLED' | 'FFMPEG_NOT_FOUND',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, `camera ${cameraId}: ${message}`, options);
    this.cameraId = cameraId;
  }
}

/** Bad input given to a command or API (an unreadable image, a frame index out of range). */
export class InputError extends NeulensError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INPUT_INVALID', message, options);
  }
}

/** What a request names does not exist (an HTTP 404): an unknown camera or event. */
export class NotFoundError extends NeulensError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOT_FOUND', message, options);
  }
}

/** A request that contradicts what exists (an HTTP 409): adding a camera whose id runs. */
export class ConflictError extends NeulensError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFLICT', message, options);
  }
}

/** A part of the service that cannot answer now (an HTTP 503): a history whose database failed, a service still starting. */
export class UnavailableError extends NeulensError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNAVAILABLE', message, options);
  }
}

/**
 * The fleet's NATS server cannot be used (unreachable at start-up, no
 * JetStream, a bucket made with another TTL): `key` names the config key to
 * look at (fleet.url, fleet.leaseTtlMs). Not a config error: the file may be
 * right and the server down, so the CLI exits 1, not 2.
 */
export class FleetError extends NeulensError {
  readonly key: string;

  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super('FLEET_UNAVAILABLE', `${key}: ${message}`, options);
    this.key = key;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
