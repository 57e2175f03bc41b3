/**
 * Test fixtures made with the same ffmpeg the service would run, so a test
 * clip is always decodable by the binary under test (npm static 4.1 on a
 * bare CI box, the distro build on a dev box).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { resolveFfmpegPath } from '../../src/ingest/ffmpeg-path.js';

export interface ClipOptions {
  width?: number;
  height?: number;
  fps?: number;
  seconds?: number;
}

/** Run ffmpeg to completion; rejects with its stderr tail on failure. */
export function runFfmpeg(args: string[], timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(resolveFfmpegPath(), ['-hide_banner', '-nostdin', '-y', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`ffmpeg ${args.join(' ')} failed (${code ?? signal}): ${err}`));
    });
  });
}

/** H.264 test clip (lavfi testsrc2), one keyframe per second, in `dir`. */
export async function makeTestClip(dir: string, o: ClipOptions = {}, name = 'clip.mp4'): Promise<string> {
  const { width = 320, height = 240, fps = 10, seconds = 3 } = o;
  const out = path.join(dir, name);
  await runFfmpeg([
    '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}`,
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    '-g', String(fps), out,
  ]);
  return out;
}

interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
}

function readProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // "pid (comm) state ppid ..." and comm may itself contain spaces or parens.
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      out.push({ pid: Number(name), ppid, comm });
    } catch {
      // Exited while we looked.
    }
  }
  return out;
}

/** Pids of ffmpeg processes descended from this (test worker) process. */
export function ffmpegDescendants(root = process.pid): number[] {
  const procs = readProcs();
  const children = new Map<number, ProcInfo[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const found: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    for (const c of children.get(pid) ?? []) {
      if (c.comm.includes('ffmpeg')) found.push(c.pid);
      stack.push(c.pid);
    }
  }
  return found;
}

/** Poll until `pred` holds; rejects with `what` after `timeoutMs`. */
export async function waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
