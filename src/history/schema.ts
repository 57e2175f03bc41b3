/**
 * The JSON Schema (draft 2020-12) of GET /api/events, published as
 * docs/events.schema.json (generated from this object; a test compares
 * them, and the integration tests check real pages against it). The query
 * parameters are described in the root's description: a schema describes
 * bodies, and ./api.ts reads the parameters.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { checkSchema } from '../core/json-schema.js';
import { DEFAULT_LIMIT, MAX_LIMIT } from './api.js';

const ms = { type: 'integer', minimum: 0 } as const;

export const eventsSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://neulens.dev/schemas/events.schema.json',
  title: 'NeuLens-TS GET /api/events',
  description: `A page of the event history, newest first (by start time, then id). Query: camera, label, zone (an entered zone), after (start >= after), before (start < before): times as ms since the epoch or ISO 8601; limit (1-${MAX_LIMIT}, default ${DEFAULT_LIMIT}); cursor (a page's nextCursor). An unknown or malformed parameter is answered 400 with $defs.error naming it; a history whose database failed, 503.`,
  $ref: '#/$defs/page',
  $defs: {
    page: {
      type: 'object',
      required: ['events', 'nextCursor'],
      additionalProperties: false,
      properties: {
        events: { type: 'array', items: { $ref: '#/$defs/event' } },
        nextCursor: { type: ['string', 'null'], description: 'Pass as cursor for the next (older) page; null on the last. Keyset: arriving events never shift or repeat a page.' },
      },
    },
    event: {
      description: 'One tracked object, from its track being confirmed to its end. Its id is the id of its MQTT events.',
      type: 'object',
      required: ['id', 'camera', 'label', 'zones', 'startMs', 'endMs', 'topScore', 'box', 'trackId', 'stationaryMs', 'snapshot'],
      additionalProperties: false,
      properties: {
        id: { type: 'string', minLength: 1, description: '<start time, Unix seconds>-<camera>-<track id>, as MQTT events.' },
        camera: { type: 'string', minLength: 1 },
        label: { type: 'string', minLength: 1, description: "The tracker's label (the class with the most score over its detections)." },
        zones: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'Every zone it entered.' },
        startMs: { ...ms, description: 'When it was first detected, ms since the epoch.' },
        endMs: { type: ['integer', 'null'], minimum: 0, description: 'When it was last detected; null while it goes on.' },
        topScore: { type: 'number', minimum: 0, maximum: 1, description: 'Its best score.' },
        box: {
          type: 'object',
          description: 'Its box at its best score (the one the snapshot shows), source pixels.',
          required: ['x', 'y', 'w', 'h'],
          additionalProperties: false,
          properties: { x: { type: 'integer' }, y: { type: 'integer' }, w: { type: 'integer', minimum: 0 }, h: { type: 'integer', minimum: 0 } },
        },
        trackId: { type: 'integer', minimum: 1 },
        stationaryMs: { ...ms, description: 'How long the tracker called it stationary, in total.' },
        snapshot: {
          description: 'Its pictures: the frame of its best score with its box drawn, and a crop around the box (JPEG); null without one (snapshots off, none yet, or removed by the size cap).',
          anyOf: [
            { type: 'null' },
            {
              type: 'object',
              required: ['url', 'cropUrl', 'width', 'height', 'frameMs'],
              additionalProperties: false,
              properties: {
                url: { type: 'string', minLength: 1, description: '/api/events/{id}/snapshot.jpg' },
                cropUrl: { type: 'string', minLength: 1, description: '/api/events/{id}/crop.jpg' },
                width: { type: 'integer', minimum: 1, description: "The picture's size: the detector's input size." },
                height: { type: 'integer', minimum: 1 },
                frameMs: { ...ms, description: 'Capture time of the frame it shows.' },
              },
            },
          ],
        },
      },
    },
    error: {
      description: 'Any 4xx/5xx answer of the API: what went wrong, naming the parameter or config key.',
      type: 'object',
      required: ['error'],
      properties: { error: { type: 'string', minLength: 1 }, key: { type: 'string', description: 'The config key a camera change got wrong (cameras[2].url).' }, code: { type: 'string' } },
    },
  },
} as const;

/** Null when `value` is a valid events page; else why not. */
export function checkEventsPage(value: unknown): string | null {
  return checkSchema({ $ref: '#/$defs/page' }, value, eventsSchema);
}

export function eventsSchemaJson(): string {
  return `${JSON.stringify(eventsSchema, null, 2)}\n`;
}

/** Writes docs/events.schema.json. */
export async function writeEventsSchema(file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, eventsSchemaJson());
}
