/**
 * Object counts of one camera, per label and per zone, from its current
 * objects (CameraEvents.objects): every live track counts, stationary ones
 * included (a parked car still occupies the car park), and `active` counts
 * only those that are not stationary. `all` counts every label together.
 *
 * Counts are kept for every label seen on the camera (and those it was told
 * of up front), so a count that falls to 0 is said once more, as 0.
 */
import type { ObjectState } from './objects.js';

export const ALL = 'all';

export interface CountKey {
  /** Null: the whole camera. */
  zone: string | null;
  /** A label, or 'all'. */
  label: string;
  /** Only the objects that are not stationary. */
  active: boolean;
}

export interface Count extends CountKey {
  value: number;
}

const keyOf = (k: CountKey): string => `${k.zone ?? ''}\u0000${k.label}\u0000${k.active ? 'a' : ''}`;

export class CameraCounts {
  private readonly labels = new Set<string>([ALL]);
  /** What was last said for each key. */
  private readonly said = new Map<string, Count>();

  /** `zones` by name; `labels` to count (and say 0 for) from the start, besides those seen. */
  constructor(
    private readonly zones: readonly string[],
    labels: Iterable<string> = [],
  ) {
    for (const l of labels) this.labels.add(l);
  }

  /** Every count for `objects`, in a stable order: camera then zones, labels as first seen, count then active. */
  all(objects: readonly ObjectState[]): Count[] {
    for (const o of objects) this.labels.add(o.label);
    const out: Count[] = [];
    for (const zone of [null, ...this.zones]) {
      const here = zone === null ? objects : objects.filter((o) => o.currentZones.includes(zone));
      for (const label of this.labels) {
        const of = label === ALL ? here : here.filter((o) => o.label === label);
        out.push({ zone, label, active: false, value: of.length });
        out.push({ zone, label, active: true, value: of.filter((o) => !o.stationary).length });
      }
    }
    return out;
  }

  /** The counts that differ from what was last said (all of them the first time), now taken as said. */
  changed(objects: readonly ObjectState[]): Count[] {
    const out: Count[] = [];
    for (const c of this.all(objects)) {
      const k = keyOf(c);
      if (this.said.get(k)?.value === c.value) continue;
      this.said.set(k, c);
      out.push(c);
    }
    return out;
  }

  /** Whether `label` is counted (seen, or told up front). */
  knows(label: string): boolean {
    return this.labels.has(label);
  }

  /** Counts `label` from now on (a count left by an earlier run); returns the counts that change, its own included. */
  adopt(label: string, objects: readonly ObjectState[]): Count[] {
    this.labels.add(label);
    return this.changed(objects);
  }

  /** Every count as last said (to say again after the broker was away, or to a new subscriber). */
  current(): Count[] {
    return [...this.said.values()];
  }
}
