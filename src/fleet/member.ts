/**
 * One instance's part in the fleet: which cameras it runs, decided by
 * leases in JetStream KV (the engine arbitrates; this file only asks).
 *
 * A lease is the camera's key in <bucket>-leases, whose TTL is
 * fleet.leaseTtlMs (Debian's nats-server 2.9 has no per-key TTL: the
 * bucket's max age expires a key that long after its last write).
 *
 * - Claim: `create(camera)` succeeds only while the key is absent (or
 *   deleted): exactly one instance wins. Only then does the camera start.
 * - Renew: every quarter TTL, `update(camera, value, revision)`: it fails if
 *   anyone else wrote the key since, so a lease cannot be renewed by two.
 * - Fence: a lease not renewed for TTL minus a guard (its key may be about to
 *   expire, and another instance to claim it) stops the camera here first.
 *   So a NATS outage shorter than TTL - TTL/4 - guard keeps every camera
 *   where it is; a longer one stops them here before anyone else can start
 *   them: never processed twice.
 * - Release: stop the camera, then delete the key with its revision (a
 *   graceful stop); the others are told on <prefix>.fleet.changed and claim
 *   it at once. A SIGKILLed instance says nothing: its keys expire.
 * - Hand off (rebalance): an instance under its share asks the fullest one
 *   (request/reply on <prefix>.fleet.handoff.<id>) at most once per lease
 *   period; the giver stops one camera and rewrites its lease in the
 *   asker's name (with its revision), and the asker starts it.
 *
 * Members: each instance heartbeats its key in <bucket>-members (same TTL)
 * with its maxCameras; the live members and the leases are read every tick
 * to compute the limits (./balance.ts).
 */
import type { KV, KvEntry } from 'nats';
import type { CameraConfig } from '../config/index.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { askWhom, claimOrder, holdLimits, pickToGive, shouldGive, type MemberView } from './balance.js';
import { isWrongSequence, type NatsLink } from './link.js';
import { changedSubject, handoffSubject } from './subjects.js';

/** What the member runs cameras on: the service's runtime camera methods. */
export interface CameraHost {
  /** Starts a camera this instance now holds. */
  start(cam: CameraConfig): Promise<void>;
  /** Stops it, and records what must be recorded before its lease moves (its events' journal). */
  stop(id: string): Promise<void>;
  /** Before a claimed camera starts: what a lost owner left open is closed (events ended). */
  claimed?(id: string): Promise<void>;
}

export interface MemberOptions {
  link: NatsLink;
  leases: KV;
  members: KV;
  instance: string;
  leaseTtlMs: number;
  maxCameras?: number | undefined;
  subjectPrefix: string;
  /** The fleet's camera list now (FleetCameraList.cameras). */
  cameras: () => readonly CameraConfig[];
  host: CameraHost;
  log: Logger;
}

/** A lease's value. */
export interface LeaseValue {
  instance: string;
  /** When it came to this instance (ms). */
  sinceMs: number;
  /** It came by a handoff: it has moved once. */
  moved?: boolean;
}

/** A member's heartbeat value. */
export interface MemberValue {
  instance: string;
  maxCameras?: number;
  held: string[];
  startedAtMs: number;
}

type HeldState = 'starting' | 'running' | 'stopping';

interface Held {
  rev: number;
  /** When the write that made `rev` was sent: its key expires no sooner than this + TTL. */
  writtenAtMs: number;
  moved: boolean;
  sinceMs: number;
  state: HeldState;
  /** Operations on this lease, one at a time (a renewal and a handoff must not race on the revision). */
  op: Promise<void>;
}

export interface MemberStats {
  instance: string;
  leaseTtlMs: number;
  maxCameras: number | null;
  limit: number | null;
  held: Array<{ camera: string; state: HeldState; sinceMs: number; moved: boolean; renewedAgoMs: number }>;
  members: Array<{ instance: string; held: number; maxCameras: number | null }>;
  unassigned: string[];
  totals: { claimed: number; released: number; handedOff: number; received: number; lost: number; fenced: number; renewFailures: number };
}

/** JetStream's "wrong last sequence": the key is not at the revision we wrote. */
const encode = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v));

export function decodeLease(e: KvEntry | null | undefined): LeaseValue | undefined {
  if (!e || e.operation !== 'PUT') return undefined;
  try {
    const v = e.json<LeaseValue>();
    return typeof v?.instance === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The live members: every key of <bucket>-members (expired ones are gone). Keys are listed first, then read: a read inside the listing stalls it. */
export async function readMembers(kv: KV): Promise<MemberValue[]> {
  const keys: string[] = [];
  for await (const k of await kv.keys()) keys.push(k);
  const entries = await Promise.all(keys.map((k) => kv.get(k)));
  const out: MemberValue[] = [];
  for (const e of entries) {
    if (!e || e.operation !== 'PUT') continue;
    try {
      const v = e.json<MemberValue>();
      if (typeof v?.instance === 'string' && Array.isArray(v.held)) out.push(v);
    } catch {
      // Not ours to read: skip it.
    }
  }
  return out;
}

/** How long after a failed start a camera is left to the others before this instance tries it again. */
const START_FAILURE_BACKOFF_TTLS = 4;

export class FleetMember {
  private readonly held = new Map<string, Held>();
  private readonly ttl: number;
  private readonly renewEveryMs: number;
  private readonly guardMs: number;
  private timer: NodeJS.Timeout | undefined;
  private fenceTimer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private lastAskMs = 0;
  private claiming = false;
  private starts: Promise<void> = Promise.resolve();
  private readonly failedUntil = new Map<string, number>();
  /** When this instance first saw each free camera free. */
  private readonly freeSince = new Map<string, number>();
  private readonly startedAtMs = Date.now();
  private closing: Promise<void> | undefined;
  private view: { members: MemberView[]; limit: number; unassigned: string[] } | undefined;
  private readonly totals = { claimed: 0, released: 0, handedOff: 0, received: 0, lost: 0, fenced: 0, renewFailures: 0 };
  private readonly subs: Array<{ unsubscribe(): void }> = [];

  constructor(private readonly o: MemberOptions) {
    this.ttl = o.leaseTtlMs;
    this.renewEveryMs = Math.max(100, Math.floor(o.leaseTtlMs / 4));
    // Stop a camera this long before its key can expire: its ffmpeg must be gone before another instance starts one.
    this.guardMs = Math.max(500, Math.floor(o.leaseTtlMs / 10));
  }

  /**
   * Joins: heartbeats at once and every renewal period, and answers handoff
   * requests, but claims nothing before begin(). An instance joins before it
   * loads its model, so instances started together count each other when
   * they first claim and spread the cameras without moving any later.
   */
  async join(): Promise<void> {
    const { link, subjectPrefix: prefix } = this.o;
    await this.heartbeat();
    this.subs.push(
      link.subscribe(handoffSubject(prefix, this.o.instance), (m) => void this.onHandoff(m.data).then((reply) => m.respond(encode(reply)))),
      link.subscribe(changedSubject(prefix), (m) => {
        if (Buffer.from(m.data).toString('utf8') !== this.o.instance) this.poke();
      }),
    );
    this.fenceTimer = setInterval(() => this.fence(), Math.min(250, this.guardMs / 2)).unref();
    this.schedule(this.renewEveryMs);
  }

  /** Claims from one renewal period on (the cameras can start now). */
  begin(): void {
    this.claiming = true;
    this.schedule(this.renewEveryMs);
  }

  /** Cameras held now. */
  heldCameras(): string[] {
    return [...this.held.keys()];
  }

  /** Look again now (a release elsewhere, a reconnection, a new camera list). */
  poke(): void {
    if (this.closing) return;
    this.schedule(0);
  }

  /**
   * The camera list changed: cameras this instance holds that left it, were
   * disabled or changed are stopped and released (a changed one is claimed
   * again under the usual rules, maybe here); new ones are claimed at the
   * next look.
   */
  async listChanged(cameras: readonly CameraConfig[]): Promise<void> {
    const now = new Map(cameras.map((c) => [c.id, c]));
    const running = new Map(this.runningConfigs.map((c) => [c.id, c]));
    const gone = [...this.held.keys()].filter((id) => {
      const next = now.get(id);
      return !next || !next.enabled || JSON.stringify(next) !== JSON.stringify(running.get(id) ?? next);
    });
    await Promise.all(gone.map((id) => this.release(id, 'the camera list changed')));
    this.poke();
  }

  /** The configs this instance started its cameras with (a changed list entry restarts the camera). */
  private runningConfigs: CameraConfig[] = [];

  stats(): MemberStats {
    const now = Date.now();
    return {
      instance: this.o.instance,
      leaseTtlMs: this.ttl,
      maxCameras: this.o.maxCameras ?? null,
      limit: this.view && Number.isFinite(this.view.limit) ? this.view.limit : null,
      held: [...this.held].map(([camera, h]) => ({ camera, state: h.state, sinceMs: h.sinceMs, moved: h.moved, renewedAgoMs: now - h.writtenAtMs })),
      members: (this.view?.members ?? []).map((m) => ({ instance: m.id, held: m.held, maxCameras: m.maxCameras ?? null })),
      unassigned: this.view?.unassigned ?? [],
      totals: { ...this.totals },
    };
  }

  /**
   * Leaves gracefully (idempotent): no more claims; every camera stopped and
   * its lease deleted, the heartbeat deleted, and the others told, so its
   * cameras move at once instead of after the TTL.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearTimeout(this.timer);
      clearInterval(this.fenceTimer);
      for (const s of this.subs.splice(0)) s.unsubscribe();
      await this.ticking;
      await this.starts;
      await Promise.all([...this.held.keys()].map((id) => this.release(id, 'shutting down', false)));
      await this.o.members.delete(this.o.instance).catch(() => undefined);
      this.announce();
    })();
    return this.closing;
  }

  // ------------------------------------------------------------------ the loop

  private schedule(ms: number): void {
    if (this.closing) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = this.look().catch((err: unknown) => this.o.log.warn('fleet: lease round failed', { error: errorMessage(err) }));
    await this.ticking;
    this.ticking = undefined;
    if (this.closing) return;
    if (this.again) {
      this.again = false;
      this.schedule(0);
    } else {
      this.schedule(this.renewEveryMs);
    }
  }

  /** One round: renew, heartbeat, read the leases and members, claim, adopt, ask. */
  private async look(): Promise<void> {
    if (!this.o.link.connected) return;
    if (!this.claiming) return this.heartbeat();
    await Promise.all([...this.held.keys()].map((id) => this.renew(id)));
    await this.heartbeat();
    if (this.closing) return;

    const enabled = this.o.cameras().filter((c) => c.enabled);
    const entries = await Promise.all(enabled.map((c) => this.o.leases.get(c.id)));
    const members = await readMembers(this.o.members);
    const holders = new Map<string, number>();
    const free: string[] = [];
    const now = Date.now();
    for (const [i, cam] of enabled.entries()) {
      const lease = decodeLease(entries[i]);
      if (!lease) {
        if (!this.held.has(cam.id) && (this.failedUntil.get(cam.id) ?? 0) <= now) free.push(cam.id);
        continue;
      }
      holders.set(lease.instance, (holders.get(lease.instance) ?? 0) + 1);
      // A lease in our name that we do not hold: a handoff whose answer we missed, or ours from before a restart with the same id.
      if (lease.instance === this.o.instance && !this.held.has(cam.id)) await this.adopt(cam, entries[i] as KvEntry, lease);
    }
    const view: MemberView[] = members.map((m) => ({ id: m.instance, maxCameras: m.maxCameras, held: m.instance === this.o.instance ? this.held.size : (holders.get(m.instance) ?? 0) }));
    if (!view.some((m) => m.id === this.o.instance)) view.push({ id: this.o.instance, maxCameras: this.o.maxCameras, held: this.held.size });
    const limits = holdLimits(view, enabled.length);
    const limit = limits.get(this.o.instance) ?? 0;
    this.view = { members: view, limit, unassigned: free };

    // While another member is two or more under its limit (instances starting together), claim up to one
    // under ours, and the last one only for a camera left free a whole round: they then settle at even
    // counts without handing any camera on afterwards. Otherwise (a failure, a graceful stop) take it all now.
    for (const id of [...this.freeSince.keys()]) if (!free.includes(id)) this.freeSince.delete(id);
    for (const id of free) if (!this.freeSince.has(id)) this.freeSince.set(id, now);
    const starving = view.some((m) => m.id !== this.o.instance && m.held < (limits.get(m.id) ?? 0) - 1);
    for (const id of claimOrder(free, this.o.instance)) {
      if (this.closing) break;
      const waited = now - (this.freeSince.get(id) ?? now) >= this.renewEveryMs;
      if (this.held.size >= (waited || !starving ? limit : limit - 1)) continue;
      const cam = enabled.find((c) => c.id === id) as CameraConfig;
      await this.claim(cam);
    }
    const stillFree = free.filter((id) => !this.held.has(id)).length;
    if (Date.now() - this.lastAskMs >= this.ttl) {
      const whom = askWhom(this.o.instance, view.map((m) => (m.id === this.o.instance ? { ...m, held: this.held.size } : m)), limits, stillFree);
      if (whom) {
        this.lastAskMs = Date.now();
        await this.ask(whom, enabled);
      }
    }
  }

  private async heartbeat(): Promise<void> {
    const v: MemberValue = { instance: this.o.instance, ...(this.o.maxCameras ? { maxCameras: this.o.maxCameras } : {}), held: [...this.held.keys()], startedAtMs: this.startedAtMs };
    await this.o.members.put(this.o.instance, encode(v)).catch((err: unknown) => this.o.log.debug('fleet: heartbeat failed', { error: errorMessage(err) }));
  }

  /** Tells the others to look now (a camera freed, an instance gone). */
  private announce(): void {
    try {
      this.o.link.nc.publish(changedSubject(this.o.subjectPrefix), Buffer.from(this.o.instance));
    } catch {
      // Closed: they will see it at their next look.
    }
  }

  // ----------------------------------------------------------------- leases

  private leaseValue(moved: boolean, sinceMs: number): Uint8Array {
    return encode({ instance: this.o.instance, sinceMs, ...(moved ? { moved: true } : {}) } satisfies LeaseValue);
  }

  private async claim(cam: CameraConfig): Promise<void> {
    const sent = Date.now();
    let rev: number;
    try {
      rev = await this.o.leases.create(cam.id, this.leaseValue(false, sent));
    } catch (err) {
      if (!isWrongSequence(err)) this.o.log.warn('fleet: claim failed', { camera: cam.id, error: errorMessage(err) });
      return; // another instance won it
    }
    this.totals.claimed++;
    this.hold(cam, { rev, writtenAtMs: sent, moved: false, sinceMs: sent, state: 'starting', op: Promise.resolve() }, 'claimed');
  }

  private async adopt(cam: CameraConfig, e: KvEntry, lease: LeaseValue): Promise<void> {
    const sent = Date.now();
    try {
      const rev = await this.o.leases.update(cam.id, this.leaseValue(lease.moved === true, lease.sinceMs), e.revision);
      this.totals.received++;
      // A handoff whose answer was lost counts like an answered one: the next ask waits a lease period from now.
      if (lease.moved === true) this.lastAskMs = Date.now();
      this.hold(cam, { rev, writtenAtMs: sent, moved: lease.moved === true, sinceMs: lease.sinceMs, state: 'starting', op: Promise.resolve() }, 'adopted');
    } catch (err) {
      this.o.log.debug('fleet: could not adopt a lease in our name', { camera: cam.id, error: errorMessage(err) });
    }
  }

  /** Holds the lease and starts the camera (starts run one after the other: each calibrates the device). */
  private hold(cam: CameraConfig, h: Held, how: string): void {
    this.held.set(cam.id, h);
    this.o.log.info(`fleet: camera ${how}`, { camera: cam.id, revision: h.rev, moved: h.moved });
    this.starts = this.starts.then(async () => {
      if (this.held.get(cam.id) !== h || this.closing) return;
      try {
        await this.o.host.claimed?.(cam.id);
        await this.o.host.start(cam);
        this.runningConfigs = [...this.runningConfigs.filter((c) => c.id !== cam.id), cam];
        if (this.held.get(cam.id) === h) h.state = 'running';
        // Lost while it started (fenced, taken): it must not run.
        else await this.o.host.stop(cam.id);
      } catch (err) {
        this.o.log.error('fleet: camera could not start here; leaving it to the others for a while', { camera: cam.id, error: errorMessage(err) });
        this.failedUntil.set(cam.id, Date.now() + START_FAILURE_BACKOFF_TTLS * this.ttl);
        await this.release(cam.id, 'it could not start');
      }
    });
  }

  /** One operation on a held lease at a time. */
  private withLease(id: string, fn: (h: Held) => Promise<void>): Promise<void> {
    const h = this.held.get(id);
    if (!h) return Promise.resolve();
    const run = h.op.then(() => (this.held.get(id) === h ? fn(h) : undefined));
    h.op = run.catch(() => undefined);
    return h.op;
  }

  private renew(id: string): Promise<void> {
    return this.withLease(id, async (h) => {
      const sent = Date.now();
      try {
        h.rev = await this.o.leases.update(id, this.leaseValue(h.moved, h.sinceMs), h.rev);
        h.writtenAtMs = sent;
      } catch (err) {
        if (!isWrongSequence(err)) {
          // NATS away or slow: the fence decides if this goes on too long.
          this.totals.renewFailures++;
          return;
        }
        await this.reconcile(id, h);
      }
    });
  }

  /** A renewal found the key at another revision: ours after all (a lost reply), gone (expired: claim it again), or someone else's. */
  private async reconcile(id: string, h: Held): Promise<void> {
    const e = await this.o.leases.get(id).catch(() => undefined);
    if (e === undefined) return; // cannot tell now; the fence guards
    const lease = decodeLease(e);
    const sent = Date.now();
    if (lease?.instance === this.o.instance && e) {
      h.rev = await this.o.leases.update(id, this.leaseValue(h.moved, h.sinceMs), e.revision);
      h.writtenAtMs = sent;
      return;
    }
    if (!lease) {
      try {
        h.rev = await this.o.leases.create(id, this.leaseValue(h.moved, h.sinceMs));
        h.writtenAtMs = sent;
        this.o.log.warn('fleet: a lease had expired and was taken again', { camera: id });
        return;
      } catch {
        // Someone was quicker: lost below.
      }
    }
    this.totals.lost++;
    this.o.log.warn('fleet: lease lost; stopping the camera here', { camera: id, holder: lease?.instance ?? '?' });
    await this.drop(id, h);
  }

  /**
   * A lease that could not be renewed for TTL minus the guard may expire at
   * any moment: its camera stops here before anyone else can claim it. The
   * lease is forgotten; the camera is claimed again through the usual rules
   * once NATS answers.
   */
  private fence(): void {
    const now = Date.now();
    for (const [id, h] of this.held) {
      if (h.state === 'stopping' || now - h.writtenAtMs < this.ttl - this.guardMs) continue;
      this.totals.fenced++;
      this.o.log.warn('fleet: lease not renewed in time; stopping the camera here so it never runs twice', { camera: id, sinceRenewalMs: now - h.writtenAtMs, leaseTtlMs: this.ttl });
      void this.drop(id, h);
    }
  }

  /** Stops a camera whose lease is not ours any more (nothing is written). */
  private async drop(id: string, h: Held): Promise<void> {
    if (this.held.get(id) !== h) return;
    this.held.delete(id);
    h.state = 'stopping';
    await this.o.host.stop(id).catch((err: unknown) => this.o.log.error('fleet: stopping a camera failed', { camera: id, error: errorMessage(err) }));
  }

  /** Stops a camera and deletes its lease (with its revision: never someone else's). */
  private async release(id: string, why: string, announce = true): Promise<void> {
    const h = this.held.get(id);
    if (!h) return;
    h.state = 'stopping';
    await this.withLease(id, async () => {
      await this.o.host.stop(id).catch((err: unknown) => this.o.log.error('fleet: stopping a camera failed', { camera: id, error: errorMessage(err) }));
      this.held.delete(id);
      await this.o.leases.delete(id, { previousSeq: h.rev }).catch((err: unknown) => this.o.log.debug('fleet: lease not deleted (it will expire)', { camera: id, error: errorMessage(err) }));
    });
    this.totals.released++;
    this.o.log.info('fleet: camera released', { camera: id, why });
    if (announce) this.announce();
  }

  // ------------------------------------------------------------- rebalance

  /** Asks `whom` for one camera; it answers with the camera whose lease it rewrote in our name. */
  private async ask(whom: string, enabled: readonly CameraConfig[]): Promise<void> {
    const sent = Date.now();
    let reply: { camera?: string; rev?: number; sinceMs?: number };
    try {
      const m = await this.o.link.nc.request(handoffSubject(this.o.subjectPrefix, whom), encode({ from: this.o.instance, held: this.held.size }), { timeout: Math.max(2000, this.ttl / 2) });
      reply = JSON.parse(Buffer.from(m.data).toString('utf8')) as typeof reply;
    } catch (err) {
      // No answer: if it did rewrite a lease for us, our next look adopts it.
      this.o.log.debug('fleet: handoff request unanswered', { to: whom, error: errorMessage(err) });
      return;
    }
    const cam = enabled.find((c) => c.id === reply.camera);
    if (!cam || typeof reply.rev !== 'number' || this.held.has(cam.id)) return;
    // The next ask waits a whole lease period from this camera's arrival, not from the question: one camera per period, however long the giver took to stop it.
    this.lastAskMs = Date.now();
    this.totals.received++;
    this.hold(cam, { rev: reply.rev, writtenAtMs: sent, moved: true, sinceMs: reply.sinceMs ?? sent, state: 'starting', op: Promise.resolve() }, `received from ${whom}`);
  }

  /** A handoff request: give one camera if we hold at least two more than the asker. */
  private async onHandoff(data: Uint8Array): Promise<{ camera?: string; rev?: number; sinceMs?: number }> {
    let req: { from?: unknown; held?: unknown };
    try {
      req = JSON.parse(Buffer.from(data).toString('utf8')) as typeof req;
    } catch {
      return {};
    }
    const to = req.from;
    if (this.closing || typeof to !== 'string' || typeof req.held !== 'number' || to === this.o.instance) return {};
    const running = [...this.held].filter(([, h]) => h.state === 'running');
    if (!shouldGive(running.length, req.held)) return {};
    const id = pickToGive(
      running.map(([camera, h]) => ({ camera, moved: h.moved })),
      to,
    );
    if (!id) return {};
    let answer: { camera?: string; rev?: number; sinceMs?: number } = {};
    const h = this.held.get(id) as Held;
    h.state = 'stopping';
    await this.withLease(id, async () => {
      // Stopped here first: it never runs in two places.
      await this.o.host.stop(id).catch((err: unknown) => this.o.log.error('fleet: stopping a camera failed', { camera: id, error: errorMessage(err) }));
      this.held.delete(id);
      const sinceMs = Date.now();
      try {
        const rev = await this.o.leases.update(id, encode({ instance: to, sinceMs, moved: true } satisfies LeaseValue), h.rev);
        answer = { camera: id, rev, sinceMs };
      } catch (err) {
        this.o.log.warn('fleet: handoff failed; the lease will expire', { camera: id, to, error: errorMessage(err) });
      }
    });
    if (answer.camera) {
      this.totals.handedOff++;
      this.o.log.info('fleet: camera handed off', { camera: id, to });
    }
    return answer;
  }
}
