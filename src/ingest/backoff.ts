/**
 * Reconnect delay schedule for a lost camera. Pure so that it can be tested
 * without clocks: the caller passes the attempt number and (optionally) the
 * random source.
 *
 * Why jitter: when a switch or NVR reboots, every camera on it drops at the
 * same moment; without jitter all their ffmpeg children would retry in
 * lockstep and hit the recovering device together on every attempt.
 */

export interface BackoffPolicy {
  /** Delay before the first retry, ms. */
  initialMs: number;
  /** Upper bound of any delay, ms (jitter never pushes a delay above it). */
  maxMs: number;
  /** Growth per consecutive failure (2 = doubling). */
  factor: number;
  /** Relative spread in [0, 1]: 0.2 means each delay is base * (1 ± 0.2). */
  jitter: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = Object.freeze({
  initialMs: 500,
  maxMs: 10_000,
  factor: 2,
  jitter: 0.2,
});

/** The un-jittered delay for `attempt` (0-based): min(maxMs, initialMs * factor^attempt). */
export function backoffBaseMs(attempt: number, policy: BackoffPolicy): number {
  const n = Math.max(0, Math.floor(attempt));
  // Computed in the exponent domain so that a camera down for days (huge n)
  // cannot overflow to Infinity/NaN.
  const grown = policy.initialMs * Math.pow(Math.max(1, policy.factor), n);
  return Math.min(policy.maxMs, Number.isFinite(grown) ? grown : policy.maxMs);
}

/**
 * Delay before retry number `attempt` (0-based, reset after a successful
 * connection). Result lies in [base * (1 - jitter), min(maxMs, base * (1 + jitter))].
 */
export function backoffDelayMs(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const base = backoffBaseMs(attempt, policy);
  const j = Math.min(1, Math.max(0, policy.jitter));
  const r = Math.min(1, Math.max(0, random()));
  const jittered = base * (1 + j * (2 * r - 1));
  return Math.round(Math.max(0, Math.min(policy.maxMs, jittered)));
}

/** A message naming the first bad field, or undefined; callers wrap it in their own typed error. */
export function validateBackoffPolicy(p: BackoffPolicy): string | undefined {
  if (!(p.initialMs >= 0 && Number.isFinite(p.initialMs))) return `initialMs must be a finite number >= 0 (got ${p.initialMs})`;
  if (!(p.maxMs >= p.initialMs && Number.isFinite(p.maxMs))) return `maxMs must be finite and >= initialMs (got ${p.maxMs})`;
  if (!(p.factor >= 1 && Number.isFinite(p.factor))) return `factor must be >= 1 (got ${p.factor})`;
  if (!(p.jitter >= 0 && p.jitter <= 1)) return `jitter must be within [0, 1] (got ${p.jitter})`;
  return undefined;
}
