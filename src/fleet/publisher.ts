/**
 * An instance's fan-out: what its WebSocket hub gets, also on NATS
 * (src/fleet/subjects.ts), through the NatsLink's bounded, counted paths.
 * It is the service's ServiceTap, so a camera's emission costs one
 * JSON.stringify and one publish here, and nothing waits.
 *
 * Pictures flow only on demand: gateways say which cameras' pictures their
 * viewers watch (<prefix>.fleet.pictures, every second, for 3 s each), and
 * this instance encodes a camera's pictures only while a gateway or a local
 * client wants them.
 */
import type { Logger } from '../core/log.js';
import type { WireEvent } from '../mqtt/payloads.js';
import { encodeOutgoingPicture, type OutgoingPicture } from '../serve/hub.js';
import type { FrameMessage, StatusMessage } from '../serve/protocol.js';
import type { ServedCameraStats } from '../serve/routes.js';
import type { PictureStats } from '../serve/viewer-types.js';
import type { ServiceTap } from '../service/service.js';
import type { NatsLink } from './link.js';
import { cameraSubject, picturesDemandSubject } from './subjects.js';

/** A gateway's wanted pictures. */
export interface PicturesDemand {
  gateway: string;
  cameras: string[];
  /** The demand lapses this long after it was sent, unless repeated. */
  ttlMs: number;
}

/** What an instance publishes on <prefix>.<camera>.stats. */
export type CameraStatsMessage = ServedCameraStats & { instance: string; pictures?: PictureStats };

export interface PublisherOptions {
  link: NatsLink;
  prefix: string;
  instance: string;
  statsIntervalMs: number;
  log: Logger;
}

export interface PublisherStats {
  frames: number;
  pictures: number;
  events: number;
  /** Gateways asking for pictures now, with their cameras. */
  pictureDemand: Array<{ gateway: string; cameras: string[] }>;
}

const json = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v));

export class FleetPublisher implements ServiceTap {
  private readonly demand = new Map<string, { cameras: Set<string>; untilMs: number }>();
  private readonly counts = { frames: 0, pictures: 0, events: 0 };
  private statsTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly o: PublisherOptions) {
    o.link.subscribe(picturesDemandSubject(o.prefix), (m) => this.onDemand(m.data));
  }

  /** Publishes each camera's stats every statsIntervalMs from now on. */
  startStats(source: () => { cameras: ServedCameraStats[]; pictures: PictureStats[] }): void {
    this.statsTimer = setInterval(() => {
      const { cameras, pictures } = source();
      const byCamera = new Map(pictures.map((p) => [p.camera, p]));
      for (const s of cameras) {
        const p = byCamera.get(s.camera);
        const msg: CameraStatsMessage = { ...s, instance: this.o.instance, ...(p ? { pictures: p } : {}) };
        this.o.link.publishState(cameraSubject(this.o.prefix, s.camera, 'stats'), json(msg));
      }
    }, this.o.statsIntervalMs).unref();
  }

  frame(msg: FrameMessage): void {
    if (this.closed) return;
    if (this.o.link.publishLive(cameraSubject(this.o.prefix, msg.camera, 'frames'), json(msg))) this.counts.frames++;
  }

  status(msg: StatusMessage): void {
    if (this.closed) return;
    this.o.link.publishState(cameraSubject(this.o.prefix, msg.camera, 'status'), json(msg));
  }

  picturesWanted(camera: string): boolean {
    if (this.demand.size === 0) return false;
    const now = Date.now();
    for (const [gateway, d] of this.demand) {
      if (d.untilMs < now) this.demand.delete(gateway);
      else if (d.cameras.has(camera)) return true;
    }
    return false;
  }

  picture(p: OutgoingPicture): void {
    if (this.closed || !this.picturesWanted(p.frame.camera)) return;
    if (this.o.link.publishLive(cameraSubject(this.o.prefix, p.frame.camera, 'pictures'), encodeOutgoingPicture(p))) this.counts.pictures++;
  }

  /** An MQTT event of one of its cameras (MqttOutputOptions.onEvent). */
  event(camera: string, e: WireEvent): void {
    if (this.closed) return;
    this.counts.events++;
    this.o.link.publishEvent(cameraSubject(this.o.prefix, camera, 'events'), json(e));
  }

  stats(): PublisherStats {
    const now = Date.now();
    return { ...this.counts, pictureDemand: [...this.demand].filter(([, d]) => d.untilMs >= now).map(([gateway, d]) => ({ gateway, cameras: [...d.cameras] })) };
  }

  close(): void {
    this.closed = true;
    clearInterval(this.statsTimer);
  }

  private onDemand(data: Uint8Array): void {
    const d = JSON.parse(Buffer.from(data).toString('utf8')) as Partial<PicturesDemand>;
    if (typeof d.gateway !== 'string' || !Array.isArray(d.cameras) || typeof d.ttlMs !== 'number') return;
    const cameras = new Set(d.cameras.filter((c): c is string => typeof c === 'string'));
    if (cameras.size === 0) this.demand.delete(d.gateway);
    else this.demand.set(d.gateway, { cameras, untilMs: Date.now() + Math.min(d.ttlMs, 60_000) });
  }
}
