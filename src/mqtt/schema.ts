/**
 * The JSON Schema (draft 2020-12) of every MQTT payload, one $defs entry per
 * topic kind, published as docs/mqtt.schema.json (generated from this
 * object; a test compares them) and checked against real payloads by the
 * tests. Types sit in ./payloads.ts, beside which this is reviewed.
 *
 * Two payloads are not JSON documents: `available` is the plain word online
 * or offline, and a count is a plain decimal integer ("2"). Their schemas
 * describe the value the text stands for (the word as a string, the count
 * as JSON reads "2").
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { checkSchema } from '../core/json-schema.js';
import { statsSchema } from '../serve/stats-schema.js';

const nonNegative = { type: 'number', minimum: 0 } as const;
const count = { type: 'integer', minimum: 0 } as const;
const names = { type: 'array', items: { type: 'string', minLength: 1 } } as const;

const { $schema: _s, $id: _i, title: _t, $defs: statsDefs, ...statsBody } = statsSchema;

export const mqttSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://neulens.dev/schemas/mqtt.schema.json',
  title: 'NeuLens-TS MQTT payloads',
  description: 'One $defs entry per topic kind (docs/mqtt.md lists the topics). available and the counts are plain text: their schemas describe the word, and the integer the text reads as.',
  $defs: {
    available: { description: "<prefix>/available, retained, plain text; also the last will (offline). In a fleet each instance's last will is on <prefix>/available/<instance>, and <prefix>/available says online while any instance is connected.", enum: ['online', 'offline'] },
    count: { description: '<prefix>/<camera>/[<zone>/]<label>[/active], retained, plain text: a decimal integer.', ...count },
    event: {
      description: '<prefix>/events: one tracked-object event.',
      type: 'object',
      required: ['type', 'seq', 'before', 'after'],
      additionalProperties: false,
      properties: {
        type: { enum: ['new', 'update', 'end'], description: 'new: the track is confirmed; update: it became stationary or active, entered or left a zone, its best score rose by 0.05 or its label changed; end: the track is gone.' },
        seq: { type: 'integer', minimum: 1, description: 'Counts every event the service generates from 1: a gap is an event lost to a full outbox, a repeat a redelivery (QoS 1). In a fleet, per instance.' },
        before: { $ref: '#/$defs/object', description: 'The object at its previous event (for new, the same as after).' },
        after: { $ref: '#/$defs/object', description: 'The object now.' },
        instance: { type: 'string', minLength: 1, maxLength: 64, description: 'In a fleet: the instance that made the event (seq counts per instance).' },
        reason: { enum: ['owner-lost'], description: "Only on an end that its track did not make: owner-lost, published by a camera's new owner for an event the lost instance left open (end_time: its last event's frame time)." },
      },
    },
    object: {
      description: "One tracked object, with Frigate's field names.",
      type: 'object',
      required: ['id', 'camera', 'track_id', 'label', 'score', 'top_score', 'box', 'area', 'frame_time', 'start_time', 'end_time', 'current_zones', 'entered_zones', 'stationary', 'active'],
      additionalProperties: false,
      properties: {
        id: { type: 'string', minLength: 1, description: 'Unique across restarts: <start_time>-<camera>-<track_id>.' },
        camera: { type: 'string', minLength: 1 },
        track_id: { type: 'integer', minimum: 1, description: "The tracker's id, as the WebSocket frames' trackId." },
        label: { type: 'string', minLength: 1, description: "Its tracker's label: the class with the most score over its detections." },
        score: { type: 'number', minimum: 0, maximum: 1, description: 'Score of its last detection.' },
        top_score: { type: 'number', minimum: 0, maximum: 1, description: 'Best score so far.' },
        box: { type: 'array', items: { type: 'integer' }, minItems: 4, maxItems: 4, description: 'Its last detected box [x1, y1, x2, y2], source pixels.' },
        area: { ...count, description: 'Box area, square source pixels.' },
        frame_time: { ...nonNegative, description: 'Capture time of the frame this state is from, Unix seconds.' },
        start_time: { ...nonNegative, description: 'When it was first detected, Unix seconds.' },
        end_time: { type: ['number', 'null'], minimum: 0, description: 'When it was last detected, Unix seconds; null until the event ends.' },
        current_zones: { ...names, description: 'Zones its box\'s bottom-centre is in now.' },
        entered_zones: { ...names, description: 'Every zone it has been in.' },
        stationary: { type: 'boolean', description: 'Detected near where it stopped (tracker.stationaryIou) for tracker.stationaryMs.' },
        active: { type: 'boolean', description: 'Exactly !stationary.' },
      },
    },
    status: {
      description: "<prefix>/<camera>/status, retained: the camera's state (as the WebSocket status message); 'removed' once the service no longer runs it (a runtime change).",
      type: 'object',
      required: ['camera', 'state', 'atMs'],
      additionalProperties: false,
      properties: {
        camera: { type: 'string', minLength: 1 },
        state: { enum: ['connecting', 'online', 'offline', 'stopped', 'removed'] },
        error: { type: 'string', description: 'Why it is offline (credentials redacted).' },
        atMs: nonNegative,
      },
    },
    stats: { description: '<prefix>/stats, every mqtt.statsIntervalMs: the /api/stats body.', ...statsBody },
    ...statsDefs,
    discovery: {
      description: '<discoveryPrefix>/{binary_sensor,sensor}/<node>/<object>/config, retained: Home Assistant MQTT discovery (mqtt.homeAssistant.discovery).',
      type: 'object',
      required: ['name', 'unique_id', 'state_topic', 'availability_topic', 'payload_available', 'payload_not_available', 'device'],
      additionalProperties: false,
      properties: {
        name: { type: 'string', minLength: 1 },
        unique_id: { type: 'string', minLength: 1 },
        state_topic: { type: 'string', minLength: 1 },
        availability_topic: { type: 'string', minLength: 1 },
        payload_available: { const: 'online' },
        payload_not_available: { const: 'offline' },
        device: {
          type: 'object',
          required: ['identifiers', 'name', 'manufacturer', 'model'],
          additionalProperties: false,
          properties: { identifiers: { ...names, minItems: 1 }, name: { type: 'string' }, manufacturer: { type: 'string' }, model: { type: 'string' } },
        },
        value_template: { type: 'string' },
        device_class: { const: 'occupancy' },
        state_class: { const: 'measurement' },
        icon: { type: 'string' },
      },
    },
  },
} as const;

export type PayloadKind = 'available' | 'count' | 'event' | 'status' | 'stats' | 'discovery';

/** Null when `value` is a valid payload of `kind` (a count as the number its text reads as); else why not. */
export function checkPayload(kind: PayloadKind, value: unknown): string | null {
  return checkSchema({ $ref: `#/$defs/${kind}` }, value, mqttSchema);
}

export function mqttSchemaJson(): string {
  return `${JSON.stringify(mqttSchema, null, 2)}\n`;
}

/** Writes docs/mqtt.schema.json. */
export async function writeMqttSchema(file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, mqttSchemaJson());
}
