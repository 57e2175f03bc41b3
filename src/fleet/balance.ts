/**
 * Who should run how many cameras, and which (pure). The engine (JetStream
 * KV) decides who holds a lease; these rules only decide what an instance
 * tries:
 *
 * - Limits: the fleet's cameras are water-filled over the live instances,
 *   each up to its own maxCameras: the smallest level L with
 *   sum(min(cap, L)) >= cameras. An instance claims free cameras while it
 *   holds fewer than min(cap, L). The limits add up to at least the cameras,
 *   so every camera finds a holder while the fleet has room.
 * - Order: rendezvous hashing (highest score of hash(camera, instance)
 *   first), so instances starting together reach for different cameras and
 *   rarely race for the same key.
 * - Rebalance, slowly: an instance that holds at least two fewer than the
 *   fullest one (and is under its limit) asks that one for a single camera,
 *   at most once per lease period. The giver hands over one it did not
 *   itself receive by a handoff when it can, so without a failure no camera
 *   moves twice.
 */

export interface MemberView {
  id: string;
  /** fleet.maxCameras; undefined: no limit. */
  maxCameras?: number | undefined;
  /** Cameras it holds leases for now. */
  held: number;
}

/** Each member's most cameras (see the file comment); Infinity when the fleet has no cameras to spread. */
export function holdLimits(members: readonly MemberView[], cameras: number): Map<string, number> {
  const caps = members.map((m) => m.maxCameras ?? Infinity);
  const total = caps.reduce((a, c) => a + c, 0);
  let level: number;
  if (total <= cameras) {
    level = Infinity; // not room for all: everyone takes what it may
  } else {
    level = 0;
    // The level rises one camera at a time; members are few, so this is cheap and obviously right.
    while (caps.reduce((a, c) => a + Math.min(c, level), 0) < cameras) level++;
  }
  return new Map(members.map((m, i) => [m.id, Math.min(caps[i] as number, level)]));
}

/** FNV-1a, 32 bits: a stable score for rendezvous hashing (not for security). */
export function score(camera: string, instance: string): number {
  let h = 0x811c9dc5;
  const s = `${camera}\u0000${instance}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // A final avalanche: FNV's low bits barely move for similar strings.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** Cameras in the order this instance reaches for them: its highest rendezvous score first. */
export function claimOrder(cameras: readonly string[], instance: string): string[] {
  return [...cameras].sort((a, b) => score(b, instance) - score(a, instance) || (a < b ? -1 : 1));
}

/**
 * The member to ask for one camera, or undefined: only when no camera is
 * free (free ones are claimed, not asked for), this instance is under its
 * limit, and the fullest other member holds at least two more.
 */
export function askWhom(me: string, members: readonly MemberView[], limits: ReadonlyMap<string, number>, freeCameras: number): string | undefined {
  if (freeCameras > 0) return undefined;
  const mine = members.find((m) => m.id === me);
  if (!mine || mine.held >= (limits.get(me) ?? 0)) return undefined;
  let fullest: MemberView | undefined;
  for (const m of members) {
    if (m.id === me) continue;
    if (!fullest || m.held > fullest.held || (m.held === fullest.held && m.id < fullest.id)) fullest = m;
  }
  return fullest && fullest.held >= mine.held + 2 ? fullest.id : undefined;
}

/** Whether a member holding `held` should give one to an asker holding `askerHeld`. */
export function shouldGive(held: number, askerHeld: number): boolean {
  return held >= askerHeld + 2;
}

export interface Holding {
  camera: string;
  /** It came to this instance by a handoff (it has moved once already). */
  moved: boolean;
}

/** Which held camera to hand to `to`: one that never moved if any, then the one `to` scores highest. */
export function pickToGive(held: readonly Holding[], to: string): string | undefined {
  const pool = held.some((h) => !h.moved) ? held.filter((h) => !h.moved) : held;
  return claimOrder(
    pool.map((h) => h.camera),
    to,
  )[0];
}
