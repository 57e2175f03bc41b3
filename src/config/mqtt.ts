/**
 * The `mqtt:` section: where events, counts, camera status and stats go
 * (src/mqtt/), and how. Absent, nothing is published over MQTT. Defaults
 * are written once here, in MQTT_DEFAULTS, and stated in each description.
 */
import { z } from 'zod';
import { redactCredentials } from '../core/redact.js';

export const MQTT_DEFAULTS = Object.freeze({
  topicPrefix: 'neulens',
  qos: 1,
  retain: true,
  outboxSize: 1000,
  updateIntervalMs: 1000,
  statsIntervalMs: 60_000,
  discoveryPrefix: 'homeassistant',
});

/** A topic (prefix) of one or more levels: no wildcards, no empty level, no spaces, no leading '$' (the broker's own topics). */
const TOPIC = /^(?!\$)[^/#+\s]+(?:\/[^/#+\s]+)*$/;
const topic = (what: string) =>
  z.string().regex(TOPIC, { error: `${what} must be one or more '/'-separated levels without spaces, '+', '#' or a leading '$'` });

const ms = (min: number) => z.number().int().min(min).max(3_600_000);

/** Why `url` cannot be the broker's address, or undefined. Never echoes credentials. */
export function mqttUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `'${redactCredentials(url)}' is not a URL (write mqtt://host[:port] or mqtts://host[:port])`;
  }
  if (u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:') return `must be an mqtt:// or mqtts:// URL, got ${u.protocol}//`;
  if (!u.hostname) return 'names no host (write mqtt://host[:port])';
  if (u.username || u.password) return 'must not carry credentials: write them in mqtt.user and mqtt.password (redacted wherever the config is shown)';
  return undefined;
}

const ReconnectSchema = z
  .strictObject({
    initialMs: ms(10).default(500).describe('First retry delay after the broker is lost or refuses. Default: 500.'),
    maxMs: ms(10).default(30_000).describe('Retry delay cap. Default: 30000.'),
    factor: z.number().min(1).max(10).default(2).describe('Delay multiplier per consecutive failure. Default: 2.'),
    jitter: z.number().min(0).max(1).default(0.2).describe('Random +/- fraction applied to each delay. Default: 0.2.'),
  })
  .superRefine((r, ctx) => {
    if (r.initialMs > r.maxMs) ctx.addIssue({ code: 'custom', path: ['initialMs'], message: `must not exceed maxMs (${r.maxMs})` });
  })
  .describe('Exponential backoff between connection attempts to the broker.');

const HomeAssistantSchema = z
  .strictObject({
    discovery: z
      .boolean()
      .default(false)
      .describe('Publish Home Assistant MQTT discovery configs (retained): per camera and label, an occupancy binary_sensor and a count sensor. Default: false.'),
    discoveryPrefix: topic('discoveryPrefix').default(MQTT_DEFAULTS.discoveryPrefix).describe(`Home Assistant's discovery prefix. Default: ${MQTT_DEFAULTS.discoveryPrefix}.`),
  })
  .describe('Home Assistant MQTT discovery.');

export const MqttSchema = z
  .strictObject({
    url: z
      .string()
      .superRefine((url, ctx) => {
        const problem = mqttUrlProblem(url);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .describe('The broker: mqtt://host[:port] (default port 1883) or mqtts://host[:port] (TLS, 8883). Required.'),
    topicPrefix: topic('topicPrefix').default(MQTT_DEFAULTS.topicPrefix).describe(`First level(s) of every topic: <prefix>/events, <prefix>/<camera>/<label>, ... Default: ${MQTT_DEFAULTS.topicPrefix}.`),
    clientId: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .describe("MQTT client id. Default: the topicPrefix with '/' as '-', so services with different prefixes never take over each other's connection."),
    user: z.string().min(1).optional().describe('Username, e.g. ${MQTT_USER}. Default: none (anonymous).'),
    password: z.string().min(1).optional().describe('Password, e.g. ${MQTT_PASSWORD}; redacted wherever the config or an error is shown. Needs user. Default: none.'),
    qos: z.literal([0, 1, 2]).default(MQTT_DEFAULTS.qos).describe(`QoS of events, counts, camera status and availability (stats always go at 0). Default: ${MQTT_DEFAULTS.qos} (at least once).`),
    retain: z
      .boolean()
      .default(MQTT_DEFAULTS.retain)
      .describe(`Retain the state topics (availability, counts, camera status), so a new subscriber sees the current state at once. Events and stats are never retained. Default: ${MQTT_DEFAULTS.retain}.`),
    outboxSize: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(MQTT_DEFAULTS.outboxSize)
      .describe(`Events kept while the broker is away (delivered in order once it is back); when full, the oldest is dropped and counted (neulens_mqtt_dropped_total). Default: ${MQTT_DEFAULTS.outboxSize}.`),
    updateIntervalMs: ms(0)
      .default(MQTT_DEFAULTS.updateIntervalMs)
      .describe(`Least time between two update events of one object; changes in between are merged into the next. Default: ${MQTT_DEFAULTS.updateIntervalMs}.`),
    statsIntervalMs: ms(1000).default(MQTT_DEFAULTS.statsIntervalMs).describe(`Period of <prefix>/stats (the /api/stats body), ms. Default: ${MQTT_DEFAULTS.statsIntervalMs}.`),
    reconnect: ReconnectSchema.prefault({}),
    homeAssistant: HomeAssistantSchema.prefault({}),
  })
  .superRefine((m, ctx) => {
    if (m.password !== undefined && m.user === undefined) ctx.addIssue({ code: 'custom', path: ['password'], message: 'needs mqtt.user (MQTT has no password without a username)' });
  })
  .describe('Events, object counts, camera status and stats over MQTT (Frigate-style topics). Absent: no MQTT.');

export type MqttConfig = z.output<typeof MqttSchema>;

/** The client id a config means (see clientId's description). */
export function mqttClientId(m: Pick<MqttConfig, 'clientId' | 'topicPrefix'>): string {
  return m.clientId ?? m.topicPrefix.replaceAll('/', '-');
}
