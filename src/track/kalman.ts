/**
 * Constant-velocity Kalman filter over a box: state (cx, cy, w, h, vcx, vcy,
 * vw, vh) in pixels and pixels per second, measurement (cx, cy, w, h).
 *
 * Why w/h rather than DeepSORT's aspect ratio: the importance stage wants
 * positional uncertainty in pixels on both axes, and w/h keeps every state
 * component in pixels so its covariance reads directly as px^2.
 *
 * Time is continuous (seconds), not "one step per frame": the process noise
 * is the discretised white-noise-acceleration model, so a gap of 4 frame
 * intervals moves the box 4 intervals and widens the covariance as a 4-interval
 * step does, which is what makes dropped frames cost uncertainty rather than
 * silently look like a slower object.
 *
 * Noise scales with the box's own size (as in DeepSORT/ByteTrack), since
 * detector jitter and plausible accelerations both grow with apparent size.
 * The x axis and width scale with the box width, y and height with its height.
 *
 * The reported sigma is the uncertainty of the object's true box, not of the
 * next detection (that would add measurement noise on top). The defaults are
 * deliberately on the safe side for tile selection, where an extra tile is
 * cheaper than a missed object: on PETS09-S3-MF1 pedestrian ground truth at
 * 7 fps with 5% synthetic detector jitter, the +-2 sigma band held 99% of true
 * centres one frame ahead and 100% four frames ahead (test/unit/track-pets).
 */
import type { Box } from '../core/types.js';
import { add, diag, get, identity, inverse, mul, mulT, sub, symmetrize, zeros, type Mat } from './matrix.js';

export interface KalmanNoise {
  /** Measurement std as a fraction of box size (detector jitter). */
  measStd: number;
  /** Acceleration noise density for cx/cy, as a fraction of box size: velocity std grows by this x size x sqrt(seconds). */
  accelStd: number;
  /** Same for w/h (boxes change size more slowly than they move). */
  sizeAccelStd: number;
  /** Initial centre-velocity std for a new track, fraction of box size per second. */
  initVelStd: number;
  /** Initial w/h rate-of-change std for a new track, fraction of box size per second. */
  initSizeVelStd: number;
}

export const DEFAULT_KALMAN_NOISE: Readonly<KalmanNoise> = {
  measStd: 0.05,
  accelStd: 1.0,
  sizeAccelStd: 0.25,
  initVelStd: 1.0,
  initSizeVelStd: 0.25,
};

export interface KalmanState {
  /** 8x1 column: cx, cy, w, h, vcx, vcy, vw, vh. */
  readonly mean: Mat;
  /** 8x8 covariance. */
  readonly cov: Mat;
}

const N = 8;
const M = 4;
/** Floor on the size used to scale noise, so a degenerate box still has some uncertainty. */
const MIN_SCALE_PX = 2;

const H: Mat = (() => {
  const h = zeros(M, N);
  for (let i = 0; i < M; i++) h.data[i * N + i] = 1;
  return h;
})();

function scales(w: number, h: number): [number, number, number, number] {
  const sw = Math.max(Math.abs(w), MIN_SCALE_PX);
  const sh = Math.max(Math.abs(h), MIN_SCALE_PX);
  return [sw, sh, sw, sh];
}

export function boxToMeasurement(b: Box): [number, number, number, number] {
  return [b.x + b.w / 2, b.y + b.h / 2, b.w, b.h];
}

export function kalmanInit(b: Box, noise: KalmanNoise = DEFAULT_KALMAN_NOISE): KalmanState {
  const z = boxToMeasurement(b);
  const s = scales(b.w, b.h);
  const mean = zeros(N, 1);
  z.forEach((v, i) => (mean.data[i] = v));
  // Position starts at the measurement's own uncertainty; velocity is unknown.
  const variances = [
    ...s.map((si) => (noise.measStd * si) ** 2),
    ...s.map((si, i) => ((i < 2 ? noise.initVelStd : noise.initSizeVelStd) * si) ** 2),
  ];
  return { mean, cov: diag(variances) };
}

/** Advance the state by dtS seconds (dtS <= 0 returns the state unchanged). */
export function kalmanPredict(st: KalmanState, dtS: number, noise: KalmanNoise = DEFAULT_KALMAN_NOISE): KalmanState {
  if (!(dtS > 0)) return st;
  const f = identity(N);
  for (let i = 0; i < M; i++) f.data[i * N + i + M] = dtS;
  const s = scales(get(st.mean, 2, 0), get(st.mean, 3, 0));
  const q = zeros(N, N);
  for (let i = 0; i < M; i++) {
    const a = (i < 2 ? noise.accelStd : noise.sizeAccelStd) * (s[i] ?? MIN_SCALE_PX);
    const qc = a * a;
    q.data[i * N + i] = (qc * dtS ** 3) / 3;
    q.data[i * N + i + M] = (qc * dtS ** 2) / 2;
    q.data[(i + M) * N + i] = (qc * dtS ** 2) / 2;
    q.data[(i + M) * N + i + M] = qc * dtS;
  }
  return {
    mean: mul(f, st.mean),
    cov: symmetrize(add(mulT(mul(f, st.cov), f), q)),
  };
}

/** Fold in a measured box at the state's current time. */
export function kalmanUpdate(st: KalmanState, b: Box, noise: KalmanNoise = DEFAULT_KALMAN_NOISE): KalmanState {
  const z = zeros(M, 1);
  boxToMeasurement(b).forEach((v, i) => (z.data[i] = v));
  const s = scales(get(st.mean, 2, 0), get(st.mean, 3, 0));
  const r = diag(s.map((si) => (noise.measStd * si) ** 2));
  const pht = mulT(st.cov, H); // P H^T
  const innovCov = add(mul(H, pht), r);
  const k = mul(pht, inverse(innovCov));
  const mean = add(st.mean, mul(k, sub(z, mul(H, st.mean))));
  // Joseph form: stays positive semi-definite under rounding, unlike (I - KH)P.
  const ikh = sub(identity(N), mul(k, H));
  const cov = symmetrize(add(mulT(mul(ikh, st.cov), ikh), mulT(mul(k, r), k)));
  return { mean, cov };
}

export interface StateView {
  box: Box;
  /** Centre velocity, px/s. */
  vx: number;
  vy: number;
  /** Std (px) of cx, cy, w, h. */
  sigma: { cx: number; cy: number; w: number; h: number };
}

export function viewState(st: KalmanState): StateView {
  const cx = get(st.mean, 0, 0);
  const cy = get(st.mean, 1, 0);
  // A long coast with a shrinking velocity can drive w/h negative; a box cannot.
  const w = Math.max(0, get(st.mean, 2, 0));
  const h = Math.max(0, get(st.mean, 3, 0));
  const sd = (i: number): number => Math.sqrt(Math.max(0, get(st.cov, i, i)));
  return {
    box: { x: cx - w / 2, y: cy - h / 2, w, h },
    vx: get(st.mean, 4, 0),
    vy: get(st.mean, 5, 0),
    sigma: { cx: sd(0), cy: sd(1), w: sd(2), h: sd(3) },
  };
}
