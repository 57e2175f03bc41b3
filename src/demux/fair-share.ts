/**
 * Fair share of one inference device between cameras. Capacity is device
 * time per second: `workers` x 1000 ms, times a `utilisation` target that
 * leaves headroom for jitter. Each camera's demand is what its own plans
 * would cost at its SLO frame rate (fps x predicted ms of importance's plan,
 * before DEMUX cut it down: the cut-down cost would feed back and freeze any
 * allocation).
 *
 * Under capacity every camera gets at least its demand (the spare is spread
 * in proportion to demand, and the frame deadline caps it anyway). Over
 * capacity, the default policy is max-min: cameras that ask for less than an
 * equal split get all they ask, and the others share what is left equally.
 * The alternative, `policy: 'proportional'`
 *
 *   share_c (ms/s) = capacity x D_c / sum D      budget_c = share_c / fps_c
 *
 * cuts every camera by the same fraction of its demand. That looks fairer,
 * but plans are not divisible: a camera that needs one tile's window cannot
 * run 40 % of it, so every one of its frames is dropped while a heavy camera
 * steps its many tiles down to fit. Live, 8 cameras on this 2-core machine
 * (`neulens serve-slo`): proportional left six cameras at 18-35 % SLO and two
 * at 70 %; max-min held all eight at 62-70 %. Two guards keep it from starving a camera
 * that was quiet: demand never counts as less than `floor` x an equal split
 * (a reserve for the moment it wakes up), and the demand estimate rises fast
 * and falls slowly (one busy frame is believed at once; one idle frame is not).
 * A camera that has not asked for a budget for `staleMs` (paused, offline)
 * frees its share.
 *
 * With several workers, a camera runs on the one it is pinned to (its ARAC
 * cache lives there), so cameras share their own worker's time, not a pool
 * of all of it: each worker's capacity is split between its cameras. Pooled,
 * two workers on 8 cameras gave every camera a quarter of 1,800 ms/s, while
 * the worker that held three traffic cameras ran late (e2e p50 100 ms) and
 * the other had time to spare.
 */
import { ConfigError, InputError } from '../core/errors.js';

export interface FairShareOptions {
  /** Inference workers sharing the device (each gives 1000 ms of device time per second). Default 1. */
  workers?: number;
  /** Share of capacity handed out. Default 0.9. */
  utilisation?: number;
  /** Least demand any active camera is assumed to have, as a share of an equal split. Default 0.25. */
  floor?: number;
  /** Demand estimate's rate when demand rises / falls. Defaults 0.5 / 0.1. */
  riseAlpha?: number;
  fallAlpha?: number;
  /** A camera silent for this long frees its share. Default 5000 ms. */
  staleMs?: number;
  /**
   * Over capacity: 'max-min' (default): cameras below an equal split get all
   * they ask for, the rest share what is left equally (a light camera is
   * never cut because a heavy one is greedy). 'proportional': every camera
   * gets the same fraction of its demand.
   */
  policy?: 'proportional' | 'max-min';
  /**
   * The worker each camera runs on, asked at every share (the inference pool
   * owns that mapping, and a dead worker's cameras may move). Absent: the
   * worker given to setCamera.
   */
  workerOf?: (cameraId: string) => number;
  /**
   * Device time per second a worker spends on what no camera is charged
   * for, ms/s: the fixed part of batched calls (InferencePool.overheadMsPerS),
   * taken off that worker's capacity before it is shared. Absent: none.
   */
  overheadOf?: (worker: number) => number;
}

export interface CameraSlo {
  /** Frames per second the camera must process (its SLO). */
  fps: number;
  /** The worker it runs on, 0 .. workers - 1 (default 0). */
  worker?: number;
}

export interface CameraShare {
  cameraId: string;
  fps: number;
  /** Demand estimate, ms of device time per frame; NaN until the first report. */
  demandMs: number;
  /** Measured device time per frame (EWMA); NaN until the first report. */
  measuredMs: number;
  /** Device ms per second allotted. */
  shareMsPerS: number;
  /** Per-frame budget, ms. */
  budgetMs: number;
  worker: number;
  active: boolean;
}

interface Camera {
  fps: number;
  worker: number;
  demand: number;
  measured: number;
  lastSeen: number;
}

export class FairShare {
  private readonly cams = new Map<string, Camera>();
  private readonly workers: number;
  private readonly capacity: number;
  private readonly floor: number;
  private readonly rise: number;
  private readonly fall: number;
  private readonly staleMs: number;
  readonly policy: 'proportional' | 'max-min';
  private readonly workerOf: ((cameraId: string) => number) | undefined;
  private readonly overheadOf: ((worker: number) => number) | undefined;

  constructor(o: FairShareOptions = {}) {
    const workers = o.workers ?? 1;
    const util = o.utilisation ?? 0.9;
    if (!(workers > 0)) throw new ConfigError('model.workers', `must be > 0, got ${workers}`);
    if (!(util > 0 && util <= 1)) throw new InputError(`fair share: utilisation must be in (0, 1], got ${util}`);
    this.workers = workers;
    this.capacity = workers * 1000 * util;
    this.floor = o.floor ?? 0.25;
    this.rise = o.riseAlpha ?? 0.5;
    this.fall = o.fallAlpha ?? 0.1;
    this.staleMs = o.staleMs ?? 5000;
    this.policy = o.policy ?? 'max-min';
    this.workerOf = o.workerOf;
    this.overheadOf = o.overheadOf;
    if (!(this.floor >= 0 && this.floor <= 1)) throw new InputError(`fair share: floor must be in [0, 1], got ${this.floor}`);
  }

  /** Device ms per second handed out. */
  get capacityMsPerS(): number {
    return this.capacity;
  }

  /** Add a camera or change its SLO or worker (keeps its demand estimate). */
  setCamera(cameraId: string, slo: CameraSlo): void {
    if (!(slo.fps > 0 && Number.isFinite(slo.fps))) throw new InputError(`fair share: camera '${cameraId}' frame rate must be > 0, got ${slo.fps}`);
    const worker = slo.worker ?? this.cams.get(cameraId)?.worker ?? 0;
    if (!(Number.isInteger(worker) && worker >= 0 && worker < this.workers)) throw new InputError(`fair share: camera '${cameraId}' on worker ${worker}, not one of 0..${this.workers - 1}`);
    const c = this.cams.get(cameraId);
    if (c) {
      c.fps = slo.fps;
      c.worker = worker;
    } else this.cams.set(cameraId, { fps: slo.fps, worker, demand: NaN, measured: NaN, lastSeen: -Infinity });
  }

  removeCamera(cameraId: string): void {
    this.cams.delete(cameraId);
  }

  /**
   * One processed frame: `measuredMs` of device time spent; `wantedMs` what
   * importance's plan was predicted to cost (ControlResult.wantedMs; defaults
   * to the measured time, which under-states demand once DEMUX cuts plans).
   */
  report(cameraId: string, measuredMs: number, wantedMs: number = measuredMs): void {
    const c = this.camera(cameraId);
    if (Number.isFinite(measuredMs) && measuredMs >= 0) c.measured = Number.isNaN(c.measured) ? measuredMs : c.measured + 0.2 * (measuredMs - c.measured);
    if (!(Number.isFinite(wantedMs) && wantedMs >= 0)) return;
    if (Number.isNaN(c.demand)) c.demand = wantedMs;
    else c.demand += (wantedMs > c.demand ? this.rise : this.fall) * (wantedMs - c.demand);
  }

  /** Per-frame device-time budget for the camera's next frame. */
  budgetFor(cameraId: string, nowMs: number): number {
    this.camera(cameraId).lastSeen = nowMs;
    return this.compute(nowMs).get(cameraId)?.budgetMs ?? 0;
  }

  /** Every camera's share as of `nowMs` (for metrics and tests). */
  snapshot(nowMs: number): CameraShare[] {
    return [...this.compute(nowMs).values()];
  }

  private camera(id: string): Camera {
    const c = this.cams.get(id);
    if (!c) throw new InputError(`fair share: unknown camera '${id}' (setCamera first)`);
    return c;
  }

  private compute(nowMs: number): Map<string, CameraShare> {
    const out = new Map<string, CameraShare>();
    const perWorker = this.capacity / this.workers;
    if (this.workerOf) for (const [id, c] of this.cams) c.worker = this.workerOf(id);
    for (let w = 0; w < this.workers; w++) {
      const on = [...this.cams].filter(([, c]) => c.worker === w);
      // Batched calls' fixed part is nobody's demand but takes the worker's time (a tenth stays shared, whatever it measures).
      const overhead = Math.max(0, this.overheadOf?.(w) ?? 0);
      this.split(on, Math.max(0.1 * perWorker, perWorker - overhead), nowMs, out);
    }
    return out;
  }

  /** One worker's capacity split between the cameras pinned to it (see the module comment), into `out`. */
  private split(cams: ReadonlyArray<[string, Camera]>, capacity: number, nowMs: number, out: Map<string, CameraShare>): void {
    const active = cams.filter(([, c]) => nowMs - c.lastSeen <= this.staleMs);
    const equal = capacity / Math.max(1, active.length);
    const demandPerS = new Map<string, number>();
    let total = 0;
    for (const [id, c] of active) {
      const perS = Number.isNaN(c.demand) ? equal : Math.max(c.demand * c.fps, this.floor * equal);
      demandPerS.set(id, perS);
      total += perS;
    }
    const shares = this.policy === 'max-min' && total > capacity ? waterFill(demandPerS, capacity) : undefined;
    for (const [id, c] of cams) {
      const d = demandPerS.get(id);
      const share = d === undefined ? 0 : (shares?.get(id) ?? (total > 0 ? (capacity * d) / total : equal));
      out.set(id, { cameraId: id, fps: c.fps, demandMs: c.demand, measuredMs: c.measured, shareMsPerS: share, budgetMs: share / c.fps, worker: c.worker, active: d !== undefined });
    }
  }
}

/** Max-min fair split of `capacity` (demands in ascending order are met while they fit an equal split of what is left). */
function waterFill(demand: ReadonlyMap<string, number>, capacity: number): Map<string, number> {
  const sorted = [...demand].sort((a, b) => a[1] - b[1]);
  const out = new Map<string, number>();
  let left = capacity;
  sorted.forEach(([id, d], i) => {
    const fair = left / (sorted.length - i);
    const give = Math.min(d, fair);
    out.set(id, give);
    left -= give;
  });
  return out;
}
