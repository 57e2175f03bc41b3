/**
 * The `history:` section: the event history (src/history/), an SQLite file
 * and the events' snapshots in one data folder. Absent, nothing is recorded.
 * Defaults are written once here, in HISTORY_DEFAULTS, and stated in each
 * description.
 */
import { z } from 'zod';

export const HISTORY_DEFAULTS = Object.freeze({
  enabled: true,
  path: 'data',
  retentionDays: 10,
  maxEvents: 100_000,
  snapshots: true,
  maxBytes: 1_073_741_824,
  quality: 80,
});

const RetentionSchema = z
  .strictObject({
    days: z
      .number()
      .positive()
      .max(36_500)
      .default(HISTORY_DEFAULTS.retentionDays)
      .describe(`Events that started longer ago than this are deleted (with their snapshots), checked at start-up and every minute. Default: ${HISTORY_DEFAULTS.retentionDays}.`),
    maxEvents: z
      .number()
      .int()
      .min(1)
      .max(100_000_000)
      .default(HISTORY_DEFAULTS.maxEvents)
      .describe(`Most events kept; beyond it the oldest are deleted (with their snapshots) as new ones are written. Default: ${HISTORY_DEFAULTS.maxEvents}.`),
  })
  .describe('How long events are kept: both bounds hold.');

const SnapshotsSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(HISTORY_DEFAULTS.snapshots)
      .describe(`Keep a JPEG of each event's best-scoring frame with its box drawn, and a crop around the box (also published on MQTT <prefix>/<camera>/<label>/snapshot when mqtt: is set). Default: ${HISTORY_DEFAULTS.snapshots}.`),
    maxBytes: z
      .number()
      .int()
      .min(1_048_576)
      .max(Number.MAX_SAFE_INTEGER)
      .default(HISTORY_DEFAULTS.maxBytes)
      .describe(`Most bytes of snapshots (pictures and crops) on disk; beyond it the oldest events' snapshots are deleted first (the events stay). Default: ${HISTORY_DEFAULTS.maxBytes} (1 GiB).`),
    quality: z.number().int().min(1).max(100).default(HISTORY_DEFAULTS.quality).describe(`JPEG quality, 1-100. Default: ${HISTORY_DEFAULTS.quality}.`),
  })
  .describe("Each event's picture: the frame of its best score, at the detector's input size.");

export const HistorySchema = z
  .strictObject({
    enabled: z.boolean().default(HISTORY_DEFAULTS.enabled).describe(`Record events. Default: ${HISTORY_DEFAULTS.enabled} (the section's presence turns the history on).`),
    path: z
      .string()
      .min(1)
      .default(HISTORY_DEFAULTS.path)
      .describe(`The data folder: events.sqlite and snapshots/ inside it, created when missing. Relative paths are resolved against the config file directory. Default: ${HISTORY_DEFAULTS.path}.`),
    retention: RetentionSchema.prefault({}),
    snapshots: SnapshotsSchema.prefault({}),
  })
  .describe('Event history: one row per tracked object (camera, label, zones, start and end, best score and box, track id, stationary time) in an SQLite file, with snapshots; served at GET /api/events. Absent: no history.');

export type HistoryConfig = z.output<typeof HistorySchema>;
