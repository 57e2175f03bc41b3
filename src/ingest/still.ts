/**
 * One frame of an image or video file, decoded and scaled by ffmpeg: the
 * `detect` command and tests use it. Streams go through CameraSource instead.
 */
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { InputError } from '../core/errors.js';
import { redactCredentials } from '../core/redact.js';
import { resolveFfmpegPath } from './ffmpeg-path.js';
import { parseVideoStreamLine } from './ffmpeg-stderr.js';

export interface StillFrame {
  data: Uint8Array;
  width: number;
  height: number;
  srcWidth: number;
  srcHeight: number;
}

export interface StillOptions {
  /** 0-based frame index for videos (images have only frame 0). */
  frame?: number;
  /** Output size; omit to learn the source size first (see probeSize). */
  width: number;
  height: number;
}

function run(args: string[], expectBytes: number, timeoutMs = 60_000): Promise<{ stdout: Buffer; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(resolveFfmpegPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    // A stream that never answers must not hold the caller (or leave ffmpeg behind).
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (expectBytes > 0 && size > expectBytes * 2) child.kill('SIGKILL');
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (stderr.length < 64_000) stderr += s;
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(chunks), stderr, code });
    });
  });
}

/**
 * Source width/height (and fps) of an image, a video file or a stream, read
 * from ffmpeg's stream banner. Streams get `timeoutMs` (default 60 s) to answer.
 */
export async function probeSize(file: string, opts: { timeoutMs?: number; transport?: 'tcp' | 'udp' } = {}): Promise<{ width: number; height: number; fps?: number }> {
  const isStream = /^[a-z][a-z0-9+.-]*:\/\//i.test(file) && !file.startsWith('file://');
  if (!isStream) {
    try {
      await access(file.startsWith('file://') ? new URL(file) : file);
    } catch {
      throw new InputError(`${file}: no such file`);
    }
  }
  const transport = /^rtsps?:/i.test(file) ? ['-rtsp_transport', opts.transport ?? 'tcp'] : [];
  const { stderr } = await run(['-hide_banner', '-nostdin', ...transport, '-i', file, '-frames:v', '0', '-f', 'null', '-'], 0, opts.timeoutMs);
  const info = stderr.split('\n').map(parseVideoStreamLine).find((x) => x !== undefined);
  // ffmpeg's words quote the URL, credentials included.
  if (!info) throw new InputError(redactCredentials(`${file}: ffmpeg finds no video stream (${lastLine(stderr)})`));
  return { width: info.width, height: info.height, ...(info.fps ? { fps: info.fps } : {}) };
}

export async function readStill(file: string, opts: StillOptions): Promise<StillFrame> {
  const src = await probeSize(file);
  const frame = opts.frame ?? 0;
  if (!Number.isInteger(frame) || frame < 0) throw new InputError(`--frame must be a non-negative integer, got ${frame}`);
  const bytes = opts.width * opts.height * 3;
  const { stdout, stderr } = await run(
    [
      '-hide_banner', '-nostdin', '-v', 'error', '-i', file,
      '-vf', `select=eq(n\\,${frame}),scale=${opts.width}:${opts.height}`,
      '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
    ],
    bytes,
  );
  if (stdout.length < bytes) {
    throw new InputError(stdout.length === 0 && !stderr.trim() ? `${file}: frame ${frame} is past the end` : `${file}: cannot decode frame ${frame} (${lastLine(stderr) || 'no output'})`);
  }
  return { data: new Uint8Array(stdout.buffer, stdout.byteOffset, bytes), width: opts.width, height: opts.height, srcWidth: src.width, srcHeight: src.height };
}

function lastLine(s: string): string {
  return s.trim().split('\n').pop() ?? '';
}
