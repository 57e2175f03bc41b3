/**
 * Last line of defence against orphans: a process that exits without
 * closing its cameras must still take its ffmpeg children with it. The
 * child's ffmpeg is blocked on a silent RTSP server, so it would never hit
 * EPIPE by itself: only the 'exit' hook can kill it.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ffmpeg-fixtures.js';
import { startSilentServer, type SilentServer } from '../helpers/rtsp-silent-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../helpers/ffmpeg-orphan-child.ts', import.meta.url));

/** Gone, or a zombie nobody reaped (PID 1 in a container may not reap). */
function dead(pid: number): boolean {
  if (!existsSync(`/proc/${pid}`)) return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

let server: SilentServer | undefined;
let leaked: number | undefined;

afterEach(async () => {
  if (leaked !== undefined && !dead(leaked)) process.kill(leaked, 'SIGKILL');
  leaked = undefined;
  await server?.close();
  server = undefined;
});

describe('process exit hook', () => {
  it('kills a live ffmpeg child when the process exits without close()', async () => {
    server = await startSilentServer();
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, server.url], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(code, err).toBe(0);
    const pid = Number(/PID (\d+)/.exec(out)?.[1]);
    expect(pid, `child printed no ffmpeg pid: ${out}${err}`).toBeGreaterThan(0);
    leaked = pid;
    await waitFor(() => dead(pid), 5000, `ffmpeg ${pid} to die with its parent`);
  });
});
