/**
 * Each camera's open events, kept where a camera's next owner can read them:
 * the key events.<camera> of <bucket>-fleet (no TTL: a dead owner's record
 * must outlive its leases). An instance writes a camera's open events (as
 * its MQTT subscribers last heard them) after every event of that camera,
 * the latest value only and one write in flight per camera; a camera that
 * stops here ends its events itself, which writes an empty record, flushed
 * before its lease moves.
 *
 * A new owner reads the record before it starts the camera: a record from
 * another process (another instance, or this instance's id in an earlier
 * process) with open events means that process was lost; the new owner ends
 * them (reason owner-lost) and clears the record.
 */
import type { KV } from 'nats';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { WireObject } from '../mqtt/payloads.js';
import { openEventsKey } from './subjects.js';

export interface JournalValue {
  instance: string;
  /** The writing process: the instance id alone cannot tell a restarted instance from itself. */
  session: string;
  open: WireObject[];
  atMs: number;
}

export class EventJournal {
  private readonly latest = new Map<string, WireObject[]>();
  private readonly writing = new Map<string, Promise<void>>();

  constructor(
    private readonly kv: KV,
    private readonly instance: string,
    private readonly session: string,
    private readonly log: Logger,
  ) {}

  /** Records a camera's open events (returns at once; the write follows). */
  save(camera: string, open: WireObject[]): void {
    this.latest.set(camera, open);
    if (!this.writing.has(camera)) this.writing.set(camera, this.drain(camera));
  }

  /** Resolves once what was saved for the camera is written (or failed). */
  async flush(camera: string): Promise<void> {
    while (this.writing.has(camera)) await this.writing.get(camera);
  }

  async flushAll(): Promise<void> {
    await Promise.all([...this.writing.keys()].map((c) => this.flush(c)));
  }

  /** What another process left open on `camera` (empty when nothing, or when the record is this process's). */
  async orphans(camera: string): Promise<{ from: string; open: WireObject[] }> {
    const e = await this.kv.get(openEventsKey(camera));
    if (!e || e.operation !== 'PUT') return { from: '', open: [] };
    try {
      const v = e.json<JournalValue>();
      if (v.session === this.session || !Array.isArray(v.open)) return { from: v.instance, open: [] };
      return { from: v.instance, open: v.open };
    } catch {
      return { from: '', open: [] };
    }
  }

  private async drain(camera: string): Promise<void> {
    try {
      for (;;) {
        const open = this.latest.get(camera);
        if (open === undefined) return;
        this.latest.delete(camera);
        const v: JournalValue = { instance: this.instance, session: this.session, open, atMs: Date.now() };
        await this.kv.put(openEventsKey(camera), Buffer.from(JSON.stringify(v))).catch((err: unknown) => {
          this.log.warn("fleet: a camera's open events were not recorded", { camera, error: errorMessage(err) });
        });
      }
    } finally {
      this.writing.delete(camera);
    }
  }
}
