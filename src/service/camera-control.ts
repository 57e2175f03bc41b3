/**
 * Cameras changed while the service runs: over HTTP (POST/PUT/DELETE
 * /api/cameras/{id}) and by reading the config file again (SIGHUP). Both
 * go the same way:
 *
 *  1. the change is made on the running config's text (src/config/edit.ts)
 *     and the whole text is read by the start-up parser: one bad key
 *     refuses the change whole, naming it (`cameras[2].url: ...`);
 *  2. the cameras are diffed by id against what runs;
 *  3. every camera to start is probed first (its frame size and rate), and
 *     what only its frame can tell (zones and masks inside it, a grid that
 *     tiles its input) is checked: a failure there refuses the change too,
 *     before anything stopped;
 *  4. then removed cameras stop, changed ones restart, added ones start;
 *     the others are never touched.
 *
 * One change at a time: a second waits for the first. A failure in step 4
 * (not a config problem: a camera that would not open) restarts what it had
 * stopped with its old settings, as far as it can, and is reported.
 *
 * A reload applies only `cameras:`. Other sections changed in the file are
 * named in the answer and the log (`needsRestart`) and keep their running
 * values until a restart: a Home Assistant user who edits a camera and a
 * log level in one go gets the camera now, and is told about the rest.
 */
import type { CameraConfig, Config } from '../config/index.js';
import { diffCameras, editCamera, parseSource, settingsChanged, withCamerasOf, type CameraEdit, type ConfigSource } from '../config/edit.js';
import { ConflictError, errorMessage, NotFoundError, UnavailableError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { redactCredentials } from '../core/redact.js';
import type { CamerasApi } from '../serve/api-types.js';

/** What a change did, by camera id. */
export interface CameraChange {
  added: string[];
  removed: string[];
  changed: string[];
  /** Keys outside `cameras` that differ in the file read again (SIGHUP): they take effect at the next restart. */
  needsRestart: string[];
}

/** What the control needs of the service (NeulensService has it). */
export interface RuntimeCameras<P> {
  /** The running config (it follows the changes). */
  config(): Config;
  /** Whether start-up has finished starting the cameras (changes wait for it). */
  ready(): boolean;
  stopping(): boolean;
  /** Probes and checks a camera that is to start, without starting it; throws ConfigError. */
  prepareCamera(cam: CameraConfig, config: Config): Promise<P>;
  addCamera(cam: CameraConfig, prepared?: P): Promise<void>;
  replaceCamera(cam: CameraConfig, prepared?: P): Promise<void>;
  removeCamera(id: string): Promise<void>;
  /** The state of each running camera. */
  states(): Map<string, string>;
}

export class CameraControl<P> implements CamerasApi {
  private text: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly service: RuntimeCameras<P>,
    private readonly source: ConfigSource | undefined,
    private readonly log: Logger,
  ) {
    this.text = source?.text;
  }

  /** GET /api/cameras: every configured camera (url credentials redacted) with its state; disabled ones say so. */
  list(): { cameras: Array<{ id: string; kind: string; url: string; enabled: boolean; state: string }> } {
    const states = this.service.states();
    return {
      cameras: this.service.config().cameras.map((c) => ({ id: c.id, kind: c.kind, url: redactCredentials(c.url), enabled: c.enabled, state: c.enabled ? (states.get(c.id) ?? 'stopped') : 'disabled' })),
    };
  }

  add(id: string, body: string): Promise<CameraChange> {
    return this.edit({ kind: 'add', id, body });
  }

  replace(id: string, body: string): Promise<CameraChange> {
    return this.edit({ kind: 'replace', id, body });
  }

  remove(id: string): Promise<CameraChange> {
    return this.edit({ kind: 'remove', id });
  }

  /** SIGHUP: `fileText` is the config file read again. Its cameras are applied; other changed keys are reported. */
  reload(fileText: string): Promise<CameraChange> {
    return this.serial(async (source, text) => {
      // The whole file must be valid, as at start-up, even the sections that wait for a restart.
      const file = parseSource(source, fileText);
      const needsRestart = settingsChanged(this.service.config(), file);
      const change = await this.apply(withCamerasOf(text, fileText, source.name), source.name);
      if (needsRestart.length > 0) this.log.warn('config reloaded: keys outside cameras changed and take effect at the next restart', { keys: needsRestart.join(',') });
      return { ...change, needsRestart };
    });
  }

  private edit(edit: CameraEdit): Promise<CameraChange> {
    return this.serial(async (_source, text) => {
      const exists = this.service.config().cameras.some((c) => c.id === edit.id);
      if (edit.kind === 'add' && exists) throw new ConflictError(`camera '${edit.id}' exists (PUT changes it)`);
      if (edit.kind !== 'add' && !exists) throw new NotFoundError(`no camera '${edit.id}' (POST adds one)`);
      return { ...(await this.apply(editCamera(text, edit), `${edit.kind} camera '${edit.id}'`)), needsRestart: [] };
    });
  }

  /** Runs changes one at a time, once the cameras are up. */
  private serial<T>(fn: (source: ConfigSource, text: string) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (!this.source || this.text === undefined) throw new UnavailableError('this service was started without its config text, so cameras cannot change at runtime (`neulens serve` has it)');
      if (this.service.stopping()) throw new UnavailableError('the service is stopping');
      if (!this.service.ready()) throw new UnavailableError('the service is still starting its cameras; try again in a moment');
      return fn(this.source, this.text);
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async apply(nextText: string, what: string): Promise<Omit<CameraChange, 'needsRestart'>> {
    const source = this.source as ConfigSource;
    const next = parseSource(source, nextText, what);
    const running = this.service.config();
    const diff = diffCameras(running.cameras, next.cameras);
    const starting = [...diff.changed, ...diff.added].filter((c) => c.enabled);
    // Every check before anything stops: a change that cannot run is refused whole.
    const prepared = new Map(await Promise.all(starting.map(async (c) => [c.id, await this.service.prepareCamera(c, next)] as const)));
    /** The cameras this change has touched so far, the failing one included. */
    const touched: string[] = [];
    try {
      for (const id of diff.removed) {
        touched.push(id);
        await this.service.removeCamera(id);
      }
      for (const c of diff.changed) {
        touched.push(c.id);
        await this.service.replaceCamera(c, prepared.get(c.id));
      }
      for (const c of diff.added) {
        touched.push(c.id);
        await this.service.addCamera(c, prepared.get(c.id));
      }
    } catch (err) {
      this.log.error('a camera change failed after its checks; restoring the cameras it touched', { by: what, error: errorMessage(err) });
      await this.restore(running, touched);
      throw err;
    }
    this.text = nextText;
    const change = { added: diff.added.map((c) => c.id), removed: diff.removed, changed: diff.changed.map((c) => c.id) };
    if (change.added.length + change.removed.length + change.changed.length > 0) this.log.info('cameras changed', { by: what, added: change.added.join(','), removed: change.removed.join(','), changed: change.changed.join(',') });
    return change;
  }

  /** After a failed step: the cameras it stopped or changed go back to how they ran. */
  private async restore(running: Config, touched: readonly string[]): Promise<void> {
    const before = new Map(running.cameras.map((c) => [c.id, c]));
    const now = new Set(this.service.config().cameras.map((c) => c.id));
    for (const id of touched) {
      const old = before.get(id);
      try {
        if (!old) {
          if (now.has(id)) await this.service.removeCamera(id);
        } else if (now.has(id)) {
          await this.service.replaceCamera(old);
        } else {
          await this.service.addCamera(old);
        }
      } catch (err) {
        this.log.error('a camera could not be restored after a failed change', { camera: id, error: errorMessage(err) });
      }
    }
  }
}
