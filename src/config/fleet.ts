/**
 * The `fleet:` section (or `neulens serve --fleet nats://...`): many
 * instances share one camera list through NATS JetStream (src/fleet/). Each
 * camera is run by the one instance that holds its lease, a key in a KV
 * bucket whose TTL is leaseTtlMs; frames, status, stats, events and (on
 * demand) pictures go out on subjects under subjectPrefix, where
 * `neulens gateway` serves them to WebSocket clients. Absent: a single
 * instance, as before. Defaults are written once, in FLEET_DEFAULTS, and
 * stated in each description.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { redactCredentials } from '../core/redact.js';

export const FLEET_DEFAULTS = Object.freeze({
  leaseTtlMs: 15_000,
  bucket: 'neulens',
  subjectPrefix: 'neulens',
  storage: 'file' as const,
  replicas: 1,
  cameraList: 'kv' as const,
  connectTimeoutMs: 5000,
  statsIntervalMs: 1000,
  outboxSize: 1000,
  maxPendingBytes: 8 * 1024 * 1024,
});

/** One NATS subject token or KV key part: what camera ids already are. */
export const INSTANCE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The instance id a config means by default: the host name (a pod's name in Kubernetes) and the process id, reduced to INSTANCE_ID's letters. */
export function defaultInstanceId(host = hostname(), pid = process.pid): string {
  const safe = host.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 50) || 'neulens';
  return `${safe}-${pid}`;
}

/** Why `url` cannot be the NATS server's address, or undefined. Never echoes credentials. */
export function natsUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `'${redactCredentials(url)}' is not a URL (write nats://host[:port])`;
  }
  if (u.protocol !== 'nats:' && u.protocol !== 'tls:') return `must be a nats:// (or tls://) URL, got ${u.protocol}//`;
  if (!u.hostname) return 'names no host (write nats://host[:port])';
  if (u.username || u.password) return 'must not carry credentials: write them in fleet.user and fleet.password (redacted wherever the config is shown)';
  return undefined;
}

/** A KV bucket name prefix: the buckets are <bucket>-leases, <bucket>-members and <bucket>-fleet. */
const BUCKET = /^[A-Za-z0-9_-]{1,48}$/;
/** Subject tokens separated by dots, no wildcards. */
const SUBJECT_PREFIX = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;

export const FleetSchema = z
  .strictObject({
    url: z
      .string()
      .superRefine((url, ctx) => {
        const problem = natsUrlProblem(url);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional()
      .describe('The NATS server (with JetStream: nats-server -js): nats://host[:port], default port 4222. `neulens serve --fleet <url>` and `neulens gateway --fleet <url>` set it. Required, here or on the command line.'),
    instance: z
      .string()
      .regex(INSTANCE_ID, { error: "must be 1-64 letters, digits, '_' or '-'" })
      .optional()
      .describe("This instance's id in the fleet: in lease values, on every message it publishes, in its MQTT client id and availability topic. Must differ between instances. Default: the host name and the process id (<host>-<pid>)."),
    maxCameras: z.number().int().min(1).max(10_000).optional().describe('Most cameras this instance runs at once. Default: no limit (an even share of the fleet\'s cameras).'),
    leaseTtlMs: z
      .number()
      .int()
      .min(1000)
      .max(600_000)
      .default(FLEET_DEFAULTS.leaseTtlMs)
      .describe(`How long a camera's lease lives without renewal: the lease bucket's TTL (a dead instance's cameras are picked up within it plus one start-up). Leases are renewed every quarter of it. Every instance must use the same value (the bucket keeps the TTL it was created with). Default: ${FLEET_DEFAULTS.leaseTtlMs}.`),
    bucket: z
      .string()
      .regex(BUCKET, { error: "must be 1-48 letters, digits, '_' or '-'" })
      .default(FLEET_DEFAULTS.bucket)
      .describe(`Name prefix of the fleet's JetStream KV buckets: <bucket>-leases (camera leases, TTL leaseTtlMs), <bucket>-members (instance heartbeats, same TTL) and <bucket>-fleet (the camera list and each camera's open events). Default: ${FLEET_DEFAULTS.bucket}.`),
    subjectPrefix: z
      .string()
      .regex(SUBJECT_PREFIX, { error: "must be dot-separated tokens of letters, digits, '_' or '-' (no wildcards)" })
      .default(FLEET_DEFAULTS.subjectPrefix)
      .describe(`First token(s) of every subject: <prefix>.<camera>.frames, .status, .stats, .events, .pictures, and <prefix>.fleet.* between instances and gateways. Default: ${FLEET_DEFAULTS.subjectPrefix}.`),
    storage: z.enum(['file', 'memory']).default(FLEET_DEFAULTS.storage).describe(`Storage of the KV buckets when this instance creates them: file survives a NATS restart with the leases in it. Default: ${FLEET_DEFAULTS.storage}.`),
    replicas: z.number().int().min(1).max(5).default(FLEET_DEFAULTS.replicas).describe(`Replicas of the KV buckets when this instance creates them (a NATS cluster). Default: ${FLEET_DEFAULTS.replicas}.`),
    cameraList: z
      .enum(['kv', 'config'])
      .default(FLEET_DEFAULTS.cameraList)
      .describe(
        "Where the fleet's camera list lives: the key `cameras` of <bucket>-fleet, which every instance and gateway watches (a change there reaches every instance). kv: this instance's cameras seed it when it is absent, and the list in the bucket wins from then on (a differing config is logged); config: this instance writes its config's cameras there at start-up, replacing the fleet's list. Default: kv.",
      ),
    user: z.string().min(1).optional().describe('NATS user, e.g. ${NATS_USER}. Default: none.'),
    password: z.string().min(1).optional().describe('NATS password, e.g. ${NATS_PASSWORD}; redacted wherever the config is shown. Needs user. Default: none.'),
    connectTimeoutMs: z
      .number()
      .int()
      .min(100)
      .max(120_000)
      .default(FLEET_DEFAULTS.connectTimeoutMs)
      .describe(`How long start-up waits for the NATS server; an unreachable server at start-up is an error (exit 1) naming fleet.url. Once up, a lost connection is retried forever while the cameras run on. Default: ${FLEET_DEFAULTS.connectTimeoutMs}.`),
    statsIntervalMs: z.number().int().min(100).max(60_000).default(FLEET_DEFAULTS.statsIntervalMs).describe(`Period of each camera's <prefix>.<camera>.stats (what the gateway's /api/stats and viewer show). Default: ${FLEET_DEFAULTS.statsIntervalMs}.`),
    outboxSize: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(FLEET_DEFAULTS.outboxSize)
      .describe(`Events kept while NATS is away (sent in order once it is back; the oldest dropped and counted when full). Frames and pictures are live: they are dropped, and counted, while it is away. Default: ${FLEET_DEFAULTS.outboxSize}.`),
    maxPendingBytes: z
      .number()
      .int()
      .min(65_536)
      .max(1_073_741_824)
      .default(FLEET_DEFAULTS.maxPendingBytes)
      .describe(`Frames and pictures are dropped (and counted) while this many bytes published are not yet acknowledged by the server: a slow link never grows the process. Default: ${FLEET_DEFAULTS.maxPendingBytes} (8 MiB).`),
  })
  .superRefine((f, ctx) => {
    if (f.password !== undefined && f.user === undefined) ctx.addIssue({ code: 'custom', path: ['password'], message: 'needs fleet.user' });
  })
  .describe('A fleet of instances sharing the cameras through NATS JetStream (leases in a KV bucket, fan-out on subjects). Absent: one instance runs every camera.');

export type FleetConfig = z.output<typeof FleetSchema>;

/** The instance id a config means (see instance's description). */
export function fleetInstanceId(f: Pick<FleetConfig, 'instance'>): string {
  return f.instance ?? defaultInstanceId();
}

/** A fleet section with its server's address (from the file or from --fleet). */
export type ResolvedFleetConfig = FleetConfig & { url: string };

/**
 * The fleet section a command runs with: the file's, with `--fleet <url>`
 * applied when given (a config without a fleet section then gets one with
 * every default); undefined when neither asks for a fleet. Checked like the
 * file: a bad URL, or none at all, is a ConfigError on fleet.url (exit 2).
 */
export function resolveFleet(fleet: FleetConfig | undefined, flagUrl: string | undefined): ResolvedFleetConfig | undefined {
  if (flagUrl === undefined && fleet === undefined) return undefined;
  const r = FleetSchema.safeParse({ ...(fleet ?? {}), ...(flagUrl !== undefined ? { url: flagUrl } : {}) });
  if (!r.success) {
    const issue = r.error.issues[0];
    const key = ['fleet', ...(issue?.path ?? [])].join('.');
    throw new ConfigError(key, `${issue?.message ?? 'invalid'}${flagUrl !== undefined ? ' (from --fleet)' : ''}`);
  }
  const url = r.data.url;
  if (url === undefined) throw new ConfigError('fleet.url', 'required: write it under fleet:, or pass --fleet nats://host:4222');
  return { ...r.data, url };
}
