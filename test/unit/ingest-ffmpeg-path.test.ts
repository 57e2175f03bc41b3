import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceError } from '../../src/core/errors.js';
import {
  findFfmpeg,
  npmFfmpegPath,
  resetFfmpegPathCache,
  resolveFfmpeg,
  resolveFfmpegPath,
} from '../../src/ingest/ffmpeg-path.js';

let dir: string;
let binA: string; // an "ffmpeg" on PATH dir A
let binB: string; // an "ffmpeg" on PATH dir B
let explicit: string;

function fakeExe(p: string): string {
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, '#!/bin/sh\nexit 0\n');
  chmodSync(p, 0o755);
  return p;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'neulens-ffpath-'));
  binA = fakeExe(path.join(dir, 'a', 'ffmpeg'));
  binB = fakeExe(path.join(dir, 'b', 'ffmpeg'));
  explicit = fakeExe(path.join(dir, 'custom', 'my-ffmpeg'));
  // Present but not executable: must be skipped on PATH.
  mkdirSync(path.join(dir, 'noexec'));
  writeFileSync(path.join(dir, 'noexec', 'ffmpeg'), '');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  resetFfmpegPathCache();
});

const shipped = (): string => '/opt/shipped/ffmpeg';
const none = (): undefined => undefined;

describe('ffmpeg path resolution order', () => {
  it('1. FFMPEG_PATH wins over PATH and the npm binary', () => {
    const r = findFfmpeg({ FFMPEG_PATH: explicit, PATH: path.join(dir, 'a') }, shipped);
    expect(r).toEqual({ path: explicit, origin: 'FFMPEG_PATH' });
  });

  it('FFMPEG_PATH pointing at nothing is an error, not a silent fallback', () => {
    const bad = path.join(dir, 'missing', 'ffmpeg');
    const call = (): unknown => findFfmpeg({ FFMPEG_PATH: bad, PATH: path.join(dir, 'a') }, shipped);
    expect(call).toThrow(SourceError);
    expect(call).toThrow(/FFMPEG_PATH=.*missing\/ffmpeg is not an executable file/);
    try {
      call();
    } catch (e) {
      expect((e as SourceError).code).toBe('FFMPEG_NOT_FOUND');
    }
  });

  it('FFMPEG_PATH naming a directory is an error too', () => {
    expect(() => findFfmpeg({ FFMPEG_PATH: dir }, shipped)).toThrow(/not an executable file/);
  });

  it('2. first executable ffmpeg on PATH, in PATH order, skipping non-executables', () => {
    const PATH = [path.join(dir, 'noexec'), path.join(dir, 'b'), path.join(dir, 'a')].join(path.delimiter);
    expect(findFfmpeg({ PATH }, shipped)).toEqual({ path: binB, origin: 'PATH' });
    expect(findFfmpeg({ PATH: path.join(dir, 'a'), FFMPEG_PATH: '' }, shipped)).toEqual({ path: binA, origin: 'PATH' });
  });

  it('3. the npm-shipped binary when PATH has none', () => {
    expect(findFfmpeg({ PATH: path.join(dir, 'noexec') }, shipped)).toEqual({
      path: '/opt/shipped/ffmpeg',
      origin: '@ffmpeg-installer/ffmpeg',
    });
  });

  it('FFMPEG_NOT_FOUND with a helpful message when there is none at all', () => {
    expect(() => findFfmpeg({ PATH: path.join(dir, 'noexec') }, none)).toThrow(
      /no ffmpeg found.*install ffmpeg or set FFMPEG_PATH/,
    );
    expect(() =>
      findFfmpeg({}, () => {
        throw new Error('Unsupported platform');
      }),
    ).toThrow(/@ffmpeg-installer\/ffmpeg failed: Unsupported platform/);
  });

  it('the real npm package ships an executable for this platform', () => {
    const p = npmFfmpegPath();
    expect(p).toMatch(/@ffmpeg-installer\/.+\/ffmpeg$/);
  });

  it('resolveFfmpegPath caches its answer until reset', () => {
    const saved = process.env.FFMPEG_PATH;
    try {
      resetFfmpegPathCache();
      process.env.FFMPEG_PATH = explicit;
      expect(resolveFfmpegPath()).toBe(explicit);
      process.env.FFMPEG_PATH = binA;
      expect(resolveFfmpegPath()).toBe(explicit);
      expect(resolveFfmpeg().origin).toBe('FFMPEG_PATH');
      resetFfmpegPathCache();
      expect(resolveFfmpegPath()).toBe(binA);
    } finally {
      if (saved === undefined) delete process.env.FFMPEG_PATH;
      else process.env.FFMPEG_PATH = saved;
      resetFfmpegPathCache();
    }
  });
});
