/**
 * The fleet's camera list: the key `cameras` of <bucket>-fleet, which every
 * instance and gateway watches. Instances run the cameras of this list they
 * hold leases for; gateways greet clients with it. A change made there (by
 * an instance started with fleet.cameraList: config, by `nats kv put`, or by
 * a camera API writing it) reaches every instance within a moment: each one
 * stops the cameras that left the list or changed, and the lease rules
 * place the new ones.
 *
 * The value is JSON, {"cameras": [...], "by": <instance>, "atMs": <ms>},
 * the cameras as the config schema reads them (file paths absolute). A value
 * that does not validate is logged and ignored: the last good list stands.
 */
import type { KV, KvEntry } from 'nats';
import { CamerasSchema, type CameraConfig } from '../config/index.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { describeIssue } from '../config/issues.js';
import { sameJson } from '../config/edit.js';
import { isWrongSequence } from './link.js';
import { CAMERAS_KEY } from './subjects.js';

export interface CameraListValue {
  cameras: CameraConfig[];
  by: string;
  atMs: number;
}

/** The cameras of a stored value, or why it cannot be used. */
export function parseCameraList(bytes: Uint8Array): CameraConfig[] | string {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    return `not JSON: ${errorMessage(err)}`;
  }
  const cams = (value as { cameras?: unknown } | null)?.cameras;
  if (!Array.isArray(cams)) return 'expected {"cameras": [...]}';
  if (cams.length === 0) return [];
  const r = CamerasSchema.safeParse(cams);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  if (!issue) return 'invalid';
  const p = describeIssue(issue, CamerasSchema, cams);
  return `cameras${p.path.startsWith('[') ? '' : '.'}${p.path}: ${p.message}`;
}

export function encodeCameraList(cameras: readonly CameraConfig[], by: string): Uint8Array {
  return Buffer.from(JSON.stringify({ cameras: [...cameras], by, atMs: Date.now() } satisfies CameraListValue));
}

export interface CameraListOptions {
  kv: KV;
  instance: string;
  /**
   * seed: write `cameras` when the key is absent (fleet.cameraList: kv);
   * replace: write them whatever is there (fleet.cameraList: config);
   * read: only read (a gateway).
   */
  mode: 'seed' | 'replace' | 'read';
  cameras?: readonly CameraConfig[];
  log: Logger;
  /** Every list after the first, as it changes. */
  onChange: (cameras: CameraConfig[]) => void;
}

export class FleetCameraList {
  private list: CameraConfig[] = [];
  private stopped = false;
  private stopWatch: (() => void) | undefined;

  private constructor(private readonly o: CameraListOptions) {}

  /** Seeds or replaces the list as `mode` says, reads it, and watches it from then on. */
  static async open(o: CameraListOptions): Promise<FleetCameraList> {
    const l = new FleetCameraList(o);
    const mine = o.cameras ?? [];
    if (o.mode === 'replace') await o.kv.put(CAMERAS_KEY, encodeCameraList(mine, o.instance));
    if (o.mode === 'seed') {
      try {
        await o.kv.create(CAMERAS_KEY, encodeCameraList(mine, o.instance));
        o.log.info('fleet: camera list seeded from this config', { cameras: mine.length });
      } catch (err) {
        if (!isWrongSequence(err)) throw err; // the list exists already: it wins
      }
    }
    const e = await o.kv.get(CAMERAS_KEY);
    if (e && e.operation === 'PUT') l.apply(e, true);
    if (o.mode === 'seed' && !sameJson(l.list, mine)) {
      o.log.warn("fleet: this config's cameras differ from the fleet's list, which wins (fleet.cameraList: config makes this config's list the fleet's)", { config: mine.length, fleet: l.list.length });
    }
    await l.watch();
    return l;
  }

  get cameras(): CameraConfig[] {
    return this.list;
  }

  close(): void {
    this.stopped = true;
    this.stopWatch?.();
  }

  private async watch(): Promise<void> {
    const it = await this.o.kv.watch({ key: CAMERAS_KEY });
    this.stopWatch = () => it.stop();
    void (async () => {
      for await (const e of it) {
        if (this.stopped) break;
        if (e.operation === 'PUT') this.apply(e, false);
      }
    })().catch((err: unknown) => this.o.log.warn('fleet: camera list watch ended', { error: errorMessage(err) }));
  }

  private apply(e: KvEntry, first: boolean): void {
    const cams = parseCameraList(e.value);
    if (typeof cams === 'string') {
      this.o.log.error('fleet: the camera list in the bucket is not valid; keeping the last good one', { error: cams, revision: e.revision });
      return;
    }
    if (sameJson(cams, this.list)) return;
    this.list = cams;
    if (!first) {
      this.o.log.info('fleet: camera list changed', { cameras: cams.length, revision: e.revision });
      this.o.onChange(cams);
    }
  }
}
