/**
 * The snapshots' files: `<data>/snapshots/<camera>/<event id>.jpg` (the
 * frame with its box) and `<event id>-crop.jpg`. Written to a temporary name
 * and renamed, so a reader never gets half a picture. All I/O is async (the
 * event loop never waits on the disk). Paths are built from a camera id and
 * an event id of the history's own making, checked again here: a request's
 * text never becomes a path.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export type SnapshotKind = 'snapshot' | 'crop';

const SAFE = /^[A-Za-z0-9_.-]+$/;

export class SnapshotFiles {
  private readonly made = new Set<string>();

  constructor(readonly dir: string) {}

  private file(camera: string, id: string, kind: SnapshotKind): string {
    if (!SAFE.test(camera) || !SAFE.test(id) || id.startsWith('.')) throw new Error(`snapshot: unsafe name ${JSON.stringify(`${camera}/${id}`)}`);
    return path.join(this.dir, camera, kind === 'crop' ? `${id}-crop.jpg` : `${id}.jpg`);
  }

  async write(camera: string, id: string, picture: Buffer, crop: Buffer): Promise<void> {
    const folder = path.join(this.dir, camera);
    if (!this.made.has(folder)) {
      await mkdir(folder, { recursive: true });
      this.made.add(folder);
    }
    for (const [kind, bytes] of [['snapshot', picture], ['crop', crop]] as const) {
      const to = this.file(camera, id, kind);
      const tmp = `${to}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, to);
    }
  }

  /** The file's bytes, or undefined when it is not there. */
  async read(camera: string, id: string, kind: SnapshotKind): Promise<Buffer | undefined> {
    try {
      return await readFile(this.file(camera, id, kind));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async remove(camera: string, id: string): Promise<void> {
    await Promise.all((['snapshot', 'crop'] as const).map((k) => rm(this.file(camera, id, k), { force: true })));
  }
}
