/**
 * Which ffmpeg binary this service runs. Order: `FFMPEG_PATH` (an explicit
 * operator choice, so a wrong value is an error rather than silently falling
 * through), then `ffmpeg` on PATH (a distro build usually has hardware
 * decoders and newer demuxers), then the static binary shipped by the npm
 * package `@ffmpeg-installer/ffmpeg` (so `npm ci` alone gives a working box).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { SourceError, errorMessage } from '../core/errors.js';

/** Where the binary came from, for logs and diagnostics. */
export type FfmpegPathOrigin = 'FFMPEG_PATH' | 'PATH' | '@ffmpeg-installer/ffmpeg';

export interface ResolvedFfmpeg {
  path: string;
  origin: FfmpegPathOrigin;
}

/**
 * The ffmpeg release a binary belongs to, as its major version (4 for 4.x),
 * from its libavformat (58 = 4.x, 59 = 5.x, ...): git builds such as the npm
 * static one print no release in their banner ("N-47683-g0e8eb07980"), but
 * always their libraries. Some options changed name between releases (the
 * RTSP socket timeout is -stimeout up to 4.x and -timeout from 5.0, where
 * 4.x's -timeout meant "listen"), so the arguments depend on it. Undefined
 * when the binary says nothing usable.
 */
export function ffmpegMajorVersion(ffmpegPath: string): number | undefined {
  const r = spawnSync(ffmpegPath, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
  const m = /^libavformat\s+(\d+)\./m.exec(r.stdout ?? '');
  return m?.[1] ? Number(m[1]) - 54 : undefined;
}

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The npm-shipped binary's path, or undefined. Loaded lazily because the
 * package's entry point throws (a bare string) at import time on platforms it
 * has no binary for; a top-level import would take the whole process down.
 */
export function npmFfmpegPath(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const mod = require('@ffmpeg-installer/ffmpeg') as { path?: unknown };
    return typeof mod.path === 'string' && isExecutableFile(mod.path) ? mod.path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Uncached resolution with its inputs passed in, so the order can be tested
 * with real files in a temp dir.
 */
export function findFfmpeg(
  env: NodeJS.ProcessEnv,
  npmPath: () => string | undefined = npmFfmpegPath,
): ResolvedFfmpeg {
  const explicit = env.FFMPEG_PATH;
  if (explicit !== undefined && explicit !== '') {
    const abs = path.resolve(explicit);
    if (!isExecutableFile(abs)) {
      throw new SourceError(
        '*',
        'FFMPEG_NOT_FOUND',
        `FFMPEG_PATH=${explicit} is not an executable file; fix or unset it`,
      );
    }
    return { path: abs, origin: 'FFMPEG_PATH' };
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'ffmpeg');
    if (isExecutableFile(candidate)) return { path: candidate, origin: 'PATH' };
  }
  let shipped: string | undefined;
  try {
    shipped = npmPath();
  } catch (err) {
    throw new SourceError('*', 'FFMPEG_NOT_FOUND', `@ffmpeg-installer/ffmpeg failed: ${errorMessage(err)}`);
  }
  if (shipped) return { path: shipped, origin: '@ffmpeg-installer/ffmpeg' };
  throw new SourceError(
    '*',
    'FFMPEG_NOT_FOUND',
    'no ffmpeg found: FFMPEG_PATH is unset, there is no ffmpeg on PATH, and the npm package ' +
      '@ffmpeg-installer/ffmpeg has no binary for this platform; install ffmpeg or set FFMPEG_PATH',
  );
}

let cached: ResolvedFfmpeg | undefined;
let cachedMajor: { path: string; major: number | undefined } | undefined;

/** The major version of the ffmpeg this process runs (asked once; see ffmpegMajorVersion). */
export function resolveFfmpegMajor(): number | undefined {
  const p = resolveFfmpegPath();
  if (cachedMajor?.path !== p) cachedMajor = { path: p, major: ffmpegMajorVersion(p) };
  return cachedMajor.major;
}

/** The ffmpeg binary to spawn (resolved once per process, then cached). */
export function resolveFfmpegPath(): string {
  cached ??= findFfmpeg(process.env);
  return cached.path;
}

/** Like resolveFfmpegPath but says where the binary came from. */
export function resolveFfmpeg(): ResolvedFfmpeg {
  cached ??= findFfmpeg(process.env);
  return cached;
}

/** Forget the cached answer (tests, or after the operator changes FFMPEG_PATH). */
export function resetFfmpegPathCache(): void {
  cached = undefined;
  cachedMajor = undefined;
}
