/**
 * The reference detections (the unsplit model on every frame, through the
 * same pipeline) cached on disk, keyed by the video's and the model's
 * hashes, the input size and the score floor: a changed video or model pack
 * never reuses a stale reference.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Detection } from '../core/types.js';

export async function fileSha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export interface ReferenceKey {
  videoSha: string;
  modelSha: string;
  width: number;
  height: number;
  scoreFloor: number;
  /** 'all', or the N of a run limited to the first N frames. */
  frames: number | 'all';
}

function cacheFile(dir: string, k: ReferenceKey): string {
  return path.join(dir, `ref-${k.videoSha.slice(0, 16)}-${k.modelSha.slice(0, 12)}-${k.width}x${k.height}-${k.scoreFloor}-${k.frames}.json`);
}

export async function loadReference(dir: string, k: ReferenceKey): Promise<Detection[][] | undefined> {
  try {
    const data = JSON.parse(await readFile(cacheFile(dir, k), 'utf8')) as { key: ReferenceKey; frames: Detection[][] };
    const same = (Object.keys(k) as Array<keyof ReferenceKey>).every((f) => data.key[f] === k[f]);
    return same ? data.frames : undefined;
  } catch {
    return undefined; // absent or unreadable: recompute
  }
}

export async function saveReference(dir: string, k: ReferenceKey, frames: Detection[][]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = cacheFile(dir, k);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ key: k, frames }));
  await rename(tmp, file); // atomic: a concurrent reader never sees half a file
}
