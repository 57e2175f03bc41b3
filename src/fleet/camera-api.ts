/**
 * The camera routes of a fleet instance (GET /api/cameras,
 * POST/PUT/DELETE /api/cameras/{id}): they read and write the fleet's
 * camera list, the key `cameras` of <bucket>-fleet, not this instance's
 * running cameras. A change is not applied here: every instance (this one
 * too) sees it through its watch (./camera-list.ts), and the lease rules
 * (./member.ts) stop a removed or changed camera on its owner and place an
 * added one on whichever instance claims it.
 *
 * A change is the lone service's (src/service/camera-control.ts) up to the
 * write: the new list is read whole by the start-up parser as this
 * instance's `cameras:` (src/config/edit.ts editCameraList), so a bad
 * camera is refused whole naming the key, and nothing is written. The
 * write carries the revision the edit was made on (KV update): a list
 * changed meanwhile by another instance is read again and the edit made
 * on it, a few times, then 409. Probing the source is left to the owner
 * (the instance answering may not be the one that runs it); a camera that
 * will not open fails there, is logged, and is left to the others for a
 * while (the member's start-failure back-off).
 */
import type { KV } from 'nats';
import type { CameraConfig } from '../config/index.js';
import { diffCameras, editCameraList, type CameraEdit, type ConfigSource } from '../config/edit.js';
import { ConflictError, errorMessage, NeulensError, NotFoundError, UnavailableError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { redactCredentials } from '../core/redact.js';
import type { CamerasApi } from '../serve/api-types.js';
import type { CameraChange } from '../service/camera-control.js';
import { encodeCameraList, parseCameraList } from './camera-list.js';
import { isWrongSequence } from './link.js';
import { decodeLease } from './member.js';
import { CAMERAS_KEY } from './subjects.js';

/** Writes tried before a change that keeps losing the race to other writers is answered 409. */
const MAX_WRITES = 5;

export interface FleetCamerasOptions {
  /** <bucket>-fleet. */
  fleet: KV;
  /** <bucket>-leases: who runs each camera, for GET. */
  leases: KV;
  instance: string;
  /** This instance's config text: without it, changes are refused (503), as a lone service without it refuses them. */
  source: ConfigSource | undefined;
  /** The fleet's list as this instance's watch last read it (FleetCameraList.cameras). */
  cameras: () => readonly CameraConfig[];
  /** The state of each camera running on this instance. */
  states: () => ReadonlyMap<string, string>;
  log: Logger;
}

export interface FleetCameraEntry {
  id: string;
  kind: string;
  url: string;
  enabled: boolean;
  /**
   * This instance's state of a camera it runs; else `elsewhere` (another
   * instance holds its lease), `unassigned` (no lease yet) or `disabled`.
   */
  state: string;
  /** The instance holding its lease, or null. */
  owner: string | null;
}

/** What a change answers: the lone service's CameraChange, and the list's revision it wrote. */
export type FleetCameraChange = CameraChange & { revision: number };

export class FleetCameras implements CamerasApi {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: FleetCamerasOptions) {}

  /** Every camera of the fleet's list (url credentials redacted), with the instance that holds it. */
  async list(): Promise<{ cameras: FleetCameraEntry[] }> {
    const cams = this.o.cameras();
    // A lease that cannot be read now leaves that camera's owner unknown, not the whole list failed.
    const leases = await Promise.all(cams.map((c) => this.o.leases.get(c.id).catch(() => null)));
    const states = this.o.states();
    return {
      cameras: cams.map((c, i) => {
        const owner = decodeLease(leases[i])?.instance ?? null;
        const state = !c.enabled ? 'disabled' : owner === this.o.instance ? (states.get(c.id) ?? 'starting') : owner ? 'elsewhere' : 'unassigned';
        return { id: c.id, kind: c.kind, url: redactCredentials(c.url), enabled: c.enabled, state, owner };
      }),
    };
  }

  add(id: string, body: string): Promise<FleetCameraChange> {
    return this.edit({ kind: 'add', id, body });
  }

  replace(id: string, body: string): Promise<FleetCameraChange> {
    return this.edit({ kind: 'replace', id, body });
  }

  remove(id: string): Promise<FleetCameraChange> {
    return this.edit({ kind: 'remove', id });
  }

  /** One change of this instance at a time (the others' are fenced by the revision check). */
  private edit(edit: CameraEdit): Promise<FleetCameraChange> {
    const run = (): Promise<FleetCameraChange> => this.write(edit);
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async write(edit: CameraEdit): Promise<FleetCameraChange> {
    const source = this.o.source;
    if (!source) throw new UnavailableError("this instance was started without its config text, so it cannot check a camera as start-up would (`neulens serve --fleet` has it); change the fleet's list with an instance that has it, or with nats kv put");
    const what = `${edit.kind} camera '${edit.id}'`;
    for (let attempt = 1; ; attempt++) {
      const entry = await this.kv(() => this.o.fleet.get(CAMERAS_KEY));
      const stored = entry?.operation === 'PUT' ? parseCameraList(entry.value) : [];
      if (typeof stored === 'string') throw new UnavailableError(`the fleet's camera list in the bucket is not valid (${stored}); every instance keeps its last good one until it is put right (nats kv put)`);
      const exists = stored.some((c) => c.id === edit.id);
      if (edit.kind === 'add' && exists) throw new ConflictError(`camera '${edit.id}' exists in the fleet's list (PUT changes it)`);
      if (edit.kind !== 'add' && !exists) throw new NotFoundError(`no camera '${edit.id}' in the fleet's list (POST adds one)`);
      const next = editCameraList(source, stored, edit, what);
      const value = encodeCameraList(next, this.o.instance);
      let revision: number;
      try {
        // The revision the edit was made on: a list another writer changed since is not overwritten.
        revision = await this.kv(() => (entry ? this.o.fleet.update(CAMERAS_KEY, value, entry.revision) : this.o.fleet.create(CAMERAS_KEY, value)));
      } catch (err) {
        if (!(err instanceof ConcurrentWrite)) throw err;
        if (attempt >= MAX_WRITES) throw new ConflictError(`the fleet's camera list kept changing while ${what} was written (${attempt} tries); try again`);
        this.o.log.debug("fleet: the camera list changed under a change; making it again on the new list", { by: what, attempt });
        continue;
      }
      const diff = diffCameras(stored, next);
      const change = { added: diff.added.map((c) => c.id), removed: diff.removed, changed: diff.changed.map((c) => c.id), needsRestart: [], revision };
      this.o.log.info("fleet: camera list changed over HTTP; every instance applies it through its watch", { by: what, revision, cameras: next.length });
      return change;
    }
  }

  /** A KV call whose failures are typed: a concurrent write (retried), or the bucket out of reach (503). */
  private async kv<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isWrongSequence(err)) throw new ConcurrentWrite();
      if (err instanceof NeulensError) throw err;
      throw new UnavailableError(`cannot reach the fleet's KV bucket: ${errorMessage(err)}`, { cause: err });
    }
  }
}

/** Another writer changed the list after it was read (JetStream's wrong last sequence). */
class ConcurrentWrite extends Error {}
