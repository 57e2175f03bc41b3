/**
 * CPU time of this process's parts, from Linux's /proc, for serve-slo's
 * question of what limits a machine: the decoders (ffmpeg children), the
 * main thread (pipelines, tracker, importance, publishing) or the rest of
 * the process (inference workers, ONNX Runtime's threads, libuv's pool).
 * Elsewhere than Linux the figures are NaN (and say so), never invented.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's times (USER_HZ: 100 on every Linux this runs on). */
const TICKS_PER_S = 100;

export interface CpuSample {
  /** performance.now() when taken. */
  atMs: number;
  /** The whole process (every thread), ms of CPU. */
  processMs: number;
  /** The main thread alone, ms of CPU (NaN off Linux). */
  mainThreadMs: number;
  /** Direct child processes alive now (the decoders), ms of CPU (NaN off Linux). */
  childrenMs: number;
  /** How many children were counted. */
  children: number;
}

/** utime + stime of a /proc stat line, ms; the command name may hold spaces, so fields count from its ')'. */
export function statCpuMs(stat: string): { cpuMs: number; ppid: number } {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name: state(0) ppid(1) ... utime(11) stime(12).
  return { ppid: Number(f[1]), cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_S };
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

export function sampleCpu(): CpuSample {
  const u = process.cpuUsage();
  const atMs = performance.now();
  const processMs = (u.user + u.system) / 1000;
  if (process.platform !== 'linux') return { atMs, processMs, mainThreadMs: NaN, childrenMs: NaN, children: 0 };
  const main = read(`/proc/self/task/${process.pid}/stat`);
  let childrenMs = 0;
  let children = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = read(`/proc/${name}/stat`);
    if (!stat) continue;
    const s = statCpuMs(stat);
    if (s.ppid !== process.pid) continue;
    childrenMs += s.cpuMs;
    children++;
  }
  return { atMs, processMs, mainThreadMs: main ? statCpuMs(main).cpuMs : NaN, childrenMs, children };
}

export interface CpuUse {
  wallS: number;
  /** Cores' worth of CPU over the interval (1 = one core busy the whole time). */
  processCores: number;
  mainThreadCores: number;
  childrenCores: number;
  children: number;
}

/** What each part used between two samples. Children that exited in between are missed (looping decoders do not). */
export function cpuBetween(a: CpuSample, b: CpuSample): CpuUse {
  const wallMs = Math.max(1e-6, b.atMs - a.atMs);
  return {
    wallS: wallMs / 1000,
    processCores: (b.processMs - a.processMs) / wallMs,
    mainThreadCores: (b.mainThreadMs - a.mainThreadMs) / wallMs,
    childrenCores: (b.childrenMs - a.childrenMs) / wallMs,
    children: b.children,
  };
}
