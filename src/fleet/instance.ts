/**
 * `neulens serve --fleet`: a service that runs only the cameras it holds
 * leases for. It owns, and closes in this order:
 *
 *   the member (leases: every camera stopped and released, so the others
 *   take them at once) -> the service (clients closed, pool released) ->
 *   the publisher -> the camera list watch -> the NATS link (drained).
 *
 * Start-up: NATS first (an unreachable server is a clear error before
 * anything loads), the buckets (their TTL checked against
 * fleet.leaseTtlMs), the fleet's camera list, then the service with no
 * cameras, then the member, which claims cameras one renewal period later.
 */
import { randomUUID } from 'node:crypto';
import { StorageType, type KV } from 'nats';
import type { CameraConfig, Config, FleetConfig, ResolvedFleetConfig } from '../config/index.js';
import type { ConfigSource } from '../config/edit.js';
import { fleetInstanceId } from '../config/index.js';
import { errorMessage, FleetError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { defaultWorkers } from '../inference/pool.js';
import type { FleetStatsSection } from '../serve/routes.js';
import { NeulensService } from '../service/service.js';
import { FleetCameras } from './camera-api.js';
import { FleetCameraList } from './camera-list.js';
import { EventJournal } from './journal.js';
import { NatsLink, describeNatsError } from './link.js';
import { FleetMember, type MemberStats } from './member.js';
import { FleetPublisher, type PublisherStats } from './publisher.js';
import { bucketNames } from './subjects.js';

export type FleetServeConfig = Config & { fleet: ResolvedFleetConfig };

/** Opens (or creates) a bucket, and checks that one that exists has the TTL this config expects. */
export async function openBucket(link: NatsLink, name: string, f: FleetConfig, ttlMs: number | undefined): Promise<KV> {
  let kv: KV;
  try {
    kv = await link.kv(name, { history: 1, storage: f.storage === 'memory' ? StorageType.Memory : StorageType.File, replicas: f.replicas, timeout: Math.max(1000, Math.min(5000, f.leaseTtlMs / 4)), ...(ttlMs ? { ttl: ttlMs } : {}) });
  } catch (err) {
    throw new FleetError('fleet.bucket', `cannot open the KV bucket ${name}: ${describeNatsError(err)}`, { cause: err });
  }
  const have = (await kv.status()).ttl;
  if ((ttlMs ?? 0) !== have) {
    throw new FleetError('fleet.leaseTtlMs', `the bucket ${name} was made with a TTL of ${have} ms, this config says ${ttlMs ?? 0} ms: every instance must use the same fleet.leaseTtlMs (or delete the buckets: nats kv rm ${name})`);
  }
  return kv;
}

export interface FleetInstanceStats extends FleetStatsSection {
  instance: string;
  nats: ReturnType<NatsLink['stats']>;
  member: MemberStats;
  published: PublisherStats;
}

export class FleetInstance {
  private closing: Promise<void> | undefined;

  private constructor(
    readonly instance: string,
    readonly service: NeulensService,
    private readonly link: NatsLink,
    private readonly member: FleetMember,
    private readonly publisher: FleetPublisher,
    private readonly list: FleetCameraList,
    private readonly journal: EventJournal,
  ) {}

  /**
   * `source`: the config's text and where it came from (`neulens serve`
   * passes its file's); with it the camera routes change the fleet's list,
   * checked as start-up checks a config. Without it they only read it.
   */
  static async start(config: FleetServeConfig, log: Logger, source?: ConfigSource): Promise<FleetInstance> {
    const f = config.fleet;
    const instance = fleetInstanceId(f);
    const flog = log.child('fleet');
    let member: FleetMember | undefined;
    let inst: FleetInstance | undefined;
    const link = await NatsLink.open({
      url: f.url,
      instance,
      user: f.user,
      password: f.password,
      connectTimeoutMs: f.connectTimeoutMs,
      outboxSize: f.outboxSize,
      maxPendingBytes: f.maxPendingBytes,
      log: flog,
      onReconnect: () => member?.poke(),
    });
    const closeAll: Array<() => Promise<void> | void> = [() => link.close()];
    const unwind = async (): Promise<void> => {
      for (const c of closeAll.reverse()) await c();
    };
    try {
      const names = bucketNames(f.bucket);
      const leases = await openBucket(link, names.leases, f, f.leaseTtlMs);
      const members = await openBucket(link, names.members, f, f.leaseTtlMs);
      const fleetKv = await openBucket(link, names.fleet, f, undefined);
      const list = await FleetCameraList.open({
        kv: fleetKv,
        instance,
        mode: f.cameraList === 'config' ? 'replace' : 'seed',
        cameras: config.cameras,
        log: flog,
        onChange: (cams) => void member?.listChanged(cams),
      });
      closeAll.push(() => list.close());
      const journal = new EventJournal(fleetKv, instance, `${instance}-${randomUUID()}`, flog);
      const publisher = new FleetPublisher({ link, prefix: f.subjectPrefix, instance, statsIntervalMs: f.statsIntervalMs, log: flog });
      closeAll.push(() => publisher.close());

      // The member joins before the service exists (it claims nothing until begin()).
      const late: { service?: NeulensService } = {};
      const svc = (): NeulensService => {
        if (!late.service) throw new Error('the service is not started yet');
        return late.service;
      };
      member = new FleetMember({
        link,
        leases,
        members,
        instance,
        leaseTtlMs: f.leaseTtlMs,
        maxCameras: f.maxCameras,
        subjectPrefix: f.subjectPrefix,
        cameras: () => list.cameras,
        log: flog,
        host: {
          start: (cam: CameraConfig) => svc().addCamera(cam),
          stop: async (id: string) => {
            if (late.service?.config.cameras.some((c) => c.id === id)) await late.service.removeCamera(id);
            // Its events ended with it: the empty record is written before the lease moves.
            await journal.flush(id);
          },
          claimed: async (id: string) => {
            if (!config.mqtt) return;
            const { from, open } = await journal.orphans(id);
            if (open.length === 0) return;
            const n = svc().endOrphanedEvents(id, open, 'owner-lost');
            flog.info('fleet: ended the events a lost owner left open', { camera: id, owner: from, events: n });
            journal.save(id, []);
            await journal.flush(id);
          },
        },
      });
      const m = member;
      closeAll.push(() => m.close());
      // Joined before the model loads: instances started together count each other from their first claim.
      await member.join();

      // The pool is sized for this instance's share, not the whole list (the service starts with no camera).
      const enabled = list.cameras.filter((c) => c.enabled).length;
      const expected = Math.max(1, Math.min(f.maxCameras ?? enabled, enabled));
      const model = { ...config.model, workers: config.model.workers ?? defaultWorkers(expected, config.model.provider) };
      const service = await NeulensService.start(
        { ...config, model, cameras: [] },
        {
          log,
          tap: publisher,
          mqtt: { instance, onEvent: (camera, e) => publisher.event(camera, e), onOpen: (camera, open) => journal.save(camera, open) },
          fleetStats: () => inst?.stats(),
          // The routes edit the fleet's list; this service's cameras follow the leases.
          cameras: new FleetCameras({
            fleet: fleetKv,
            leases,
            instance,
            source,
            cameras: () => list.cameras,
            states: () => new Map((late.service?.stats() ?? []).map((c) => [c.camera, c.state])),
            log: flog,
          }),
        },
      );
      late.service = service;
      // Closed after the member (which stops its cameras through it): unwinding runs in reverse.
      closeAll.splice(closeAll.length - 1, 0, () => service.close());
      publisher.startStats(() => ({ cameras: service.stats(), pictures: service.viewerStats().cameras }));
      member.begin();
      inst = new FleetInstance(instance, service, link, member, publisher, list, journal);
      return inst;
    } catch (err) {
      await unwind().catch((e: unknown) => flog.warn('fleet: start-up cleanup failed', { error: errorMessage(e) }));
      throw err;
    }
  }

  stats(): FleetInstanceStats {
    return { instance: this.instance, nats: this.link.stats(), member: this.member.stats(), published: this.publisher.stats() };
  }

  /** Idempotent: cameras released (they move at once), then the service, then NATS. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.member.close();
      await this.service.close();
      this.publisher.close();
      await this.journal.flushAll();
      this.list.close();
      await this.link.close();
    })();
    return this.closing;
  }
}
