/**
 * The JSON Schema (draft 2020-12) of the /api/stats body (StatsBody in
 * ./routes.ts), which MQTT also publishes on <prefix>/stats. Written beside
 * the types it describes; the tests check real bodies against it. Detail
 * objects that grow with the code (a plan, a client's entry) are checked for
 * their required keys and left open to new ones. Its $defs are named
 * stats* so that other schemas (MQTT's) can take them in whole.
 */
const number = { type: 'number' } as const;
const nonNegative = { type: 'number', minimum: 0 } as const;
const count = { type: 'integer', minimum: 0 } as const;

export const statsSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://neulens.dev/schemas/stats.schema.json',
  title: 'NeuLens-TS /api/stats body',
  type: 'object',
  required: ['serverTimeMs', 'uptimeMs', 'cameras', 'ws'],
  additionalProperties: false,
  properties: {
    serverTimeMs: nonNegative,
    uptimeMs: nonNegative,
    cameras: { type: 'array', items: { $ref: '#/$defs/statsCamera' } },
    ws: { $ref: '#/$defs/statsWs' },
    demux: { $ref: '#/$defs/statsDemux' },
    viewer: { $ref: '#/$defs/statsViewer' },
    mqtt: { $ref: '#/$defs/statsMqtt' },
    history: { $ref: '#/$defs/statsHistory' },
    fleet: { type: 'object', description: "In a fleet (an instance's or a gateway's body): the NATS link, and the instance's leases or the gateway's view of the fleet. Its details grow with the code.", required: ['nats'], properties: { nats: { type: 'object', required: ['url', 'connected'] } } },
  },
  $defs: {
    statsCamera: {
      type: 'object',
      required: ['camera', 'state', 'fpsIn', 'fpsProcessed', 'fpsDropped', 'inferenceMs', 'reconnects', 'framesIn', 'processed', 'dropped', 'droppedBy', 'e2eMs', 'workFraction', 'sloAttainment', 'input', 'sloFps'],
      additionalProperties: false,
      properties: {
        camera: { type: 'string' },
        state: { enum: ['connecting', 'online', 'offline', 'stopped'] },
        fpsIn: nonNegative,
        fpsProcessed: nonNegative,
        fpsDropped: nonNegative,
        inferenceMs: nonNegative,
        reconnects: count,
        framesIn: count,
        processed: count,
        dropped: count,
        droppedBy: { type: 'object', required: ['gate', 'error'], additionalProperties: false, properties: { gate: count, error: count } },
        e2eMs: { type: 'object', required: ['p50', 'p95'], additionalProperties: false, properties: { p50: number, p95: number } },
        workFraction: nonNegative,
        sloAttainment: { type: ['number', 'null'], minimum: 0, maximum: 1, description: 'Of the frames that came in over the last 10 s, the share published within one frame interval of capture; null before any frame.' },
        input: { type: 'object', required: ['width', 'height', 'strategy'], additionalProperties: false, properties: { width: count, height: count, strategy: { type: 'string' } } },
        sloFps: nonNegative,
        instance: { type: 'string', minLength: 1, maxLength: 64, description: "In a fleet: the instance that runs the camera (a gateway's /api/stats names it for every camera)." },
        lastPlan: {
          type: 'object',
          description: "The last processed frame's plan (detector-input pixels) with its measured detector time.",
          required: ['kind', 'measuredMs'],
          properties: { kind: { enum: ['tiles', 'regions', 'downscale', 'skip'] }, measuredMs: nonNegative },
        },
        lastError: { type: 'string' },
        shareBudgetMs: number,
        worker: count,
      },
    },
    statsWs: {
      type: 'object',
      required: ['limits', 'clients', 'totals'],
      additionalProperties: false,
      properties: {
        limits: {
          type: 'object',
          required: ['maxQueue', 'maxBufferedBytes', 'stuckTimeoutMs', 'pongTimeoutMs', 'maxQueuedPictures', 'pictureMaxBufferedBytes'],
          additionalProperties: false,
          properties: { maxQueue: count, maxBufferedBytes: count, stuckTimeoutMs: count, pongTimeoutMs: count, maxQueuedPictures: count, pictureMaxBufferedBytes: count },
        },
        clients: {
          type: 'array',
          items: { type: 'object', required: ['id', 'remote', 'state', 'subscribed', 'queued', 'dropped', 'sent'], properties: { id: count, remote: { type: 'string' }, state: { enum: ['open', 'closing', 'closed'] } } },
        },
        totals: {
          type: 'object',
          required: ['clients', 'connected', 'queued', 'dropped', 'sent', 'terminatedStuck', 'terminatedDead', 'framesPublished', 'picturesPublished', 'picturesSent', 'picturesDropped'],
          additionalProperties: false,
          properties: { clients: count, connected: count, queued: count, dropped: count, sent: count, terminatedStuck: count, terminatedDead: count, framesPublished: count, picturesPublished: count, picturesSent: count, picturesDropped: count },
        },
      },
    },
    statsDemux: {
      type: 'object',
      required: ['policy', 'capacityMsPerS', 'workers', 'threadsPerWorker', 'calibrations'],
      additionalProperties: false,
      properties: {
        policy: { enum: ['max-min', 'proportional'] },
        capacityMsPerS: nonNegative,
        workers: count,
        threadsPerWorker: count,
        calibrations: {
          type: 'array',
          items: {
            type: 'object',
            required: ['key', 'samples', 'runs', 'elapsedMs', 'rmseMs', 'mape'],
            additionalProperties: false,
            properties: { key: { type: 'string' }, samples: count, runs: count, elapsedMs: nonNegative, rmseMs: { type: ['number', 'null'] }, mape: { type: ['number', 'null'] }, error: { type: 'string' } },
          },
        },
        batch: {
          type: 'object',
          description: 'With model.batch: cross-camera batching. Per worker: requests answered, batches handed to it, the time it held them (ms), its model calls (a merged call counts once) and their items, and the calls\' fixed part charged to no camera (ms, and ms per second lately).',
          required: ['maxSize', 'timeoutMs', 'workers'],
          additionalProperties: false,
          properties: {
            maxSize: count,
            timeoutMs: nonNegative,
            workers: {
              type: 'array',
              items: {
                type: 'object',
                required: ['worker', 'requests', 'dispatches', 'busyMs', 'calls', 'items', 'overheadMs', 'overheadMsPerS'],
                additionalProperties: false,
                properties: { worker: count, requests: count, dispatches: count, busyMs: nonNegative, calls: count, items: count, overheadMs: nonNegative, overheadMsPerS: nonNegative },
              },
            },
          },
        },
      },
    },
    statsViewer: {
      type: 'object',
      description: "The viewer's pictures: the config they follow and, per camera, who watches and what encoding cost.",
      required: ['fps', 'maxWidth', 'quality', 'cameras'],
      additionalProperties: false,
      properties: {
        fps: nonNegative,
        maxWidth: count,
        quality: count,
        cameras: {
          type: 'array',
          items: {
            type: 'object',
            required: ['camera', 'encoded', 'skipped', 'failed', 'encodeMs', 'bytes', 'width', 'height', 'watchers'],
            additionalProperties: false,
            properties: {
              camera: { type: 'string' },
              encoded: count,
              skipped: { type: 'object', required: ['rate', 'busy'], additionalProperties: false, properties: { rate: count, busy: count } },
              failed: count,
              encodeMs: { type: 'object', required: ['p50', 'p95'], additionalProperties: false, properties: { p50: nonNegative, p95: nonNegative } },
              bytes: nonNegative,
              width: count,
              height: count,
              watchers: count,
            },
          },
        },
      },
    },
    statsMqtt: {
      type: 'object',
      description: 'The MQTT output: every message handed to it is published, dropped, failed, or still queued or in flight.',
      required: ['connected', 'queued', 'inFlight', 'published', 'dropped', 'failed', 'reconnects', 'events'],
      additionalProperties: false,
      properties: {
        connected: { type: 'boolean' },
        queued: count,
        inFlight: count,
        published: count,
        dropped: { ...count, description: 'Events dropped, oldest first, from a full outbox.' },
        failed: { ...count, description: 'Messages the client failed to deliver, or still queued at shutdown.' },
        reconnects: count,
        retryDelayMs: { ...count, description: 'While disconnected: the wait before the next connection attempt (backoff), ms.' },
        events: { ...count, description: 'Events generated since start (the seq of the latest).' },
        lastError: { type: 'string' },
      },
    },
    statsHistory: {
      type: 'object',
      description: 'The event history (history:): every event row handed to it is written, still queued, dropped (a full queue) or failed (the database failed).',
      required: ['state', 'path', 'events', 'queued', 'written', 'dropped', 'failed', 'expired', 'flushMs', 'snapshots'],
      additionalProperties: false,
      properties: {
        state: { enum: ['ok', 'failed'] },
        error: { type: 'string', description: 'Why it failed, naming history.path; live detections go on.' },
        path: { type: 'string' },
        events: { ...count, description: 'Events in the database.' },
        queued: count,
        written: { ...count, description: 'Rows written (an event is written when it starts, changes and ends).' },
        dropped: { ...count, description: 'Rows refused because the write queue was full.' },
        failed: { ...count, description: 'Rows lost because the database failed.' },
        expired: { ...count, description: 'Events deleted by retention (age or count).' },
        flushMs: { type: 'object', required: ['p50', 'p95'], additionalProperties: false, properties: { p50: nonNegative, p95: nonNegative } },
        snapshots: {
          type: 'object',
          required: ['enabled', 'pending', 'encoded', 'failed', 'evicted', 'bytes', 'maxBytes', 'heldFrames', 'framesRefused'],
          additionalProperties: false,
          properties: {
            enabled: { type: 'boolean' },
            pending: { ...count, description: 'Snapshots being made or waiting for an encoder.' },
            encoded: count,
            failed: count,
            evicted: { ...count, description: 'Snapshots deleted, oldest first, to stay under maxBytes (their events stay).' },
            bytes: count,
            maxBytes: count,
            heldFrames: { ...count, description: 'Frames held now for the snapshots of events that go on.' },
            framesRefused: { ...count, description: 'Better frames not copied because the held-frame cap was reached.' },
          },
        },
      },
    },
  },
} as const;
