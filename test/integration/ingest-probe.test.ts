/**
 * Live sources are probed briefly (half a second of stream) so a camera
 * starts in about a second, not three. A stream that does not show its frame
 * size that fast (joined mid-GOP, no parameter sets before the next
 * keyframe) still decodes from its first keyframe; its next run probes fully.
 */
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../src/core/types.js';
import { CameraSource } from '../../src/ingest/index.js';
import { runFfmpeg, waitFor } from '../helpers/ffmpeg-fixtures.js';

let dir: string;
let server: Server;
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'neulens-probe-'));
  // 640x480 at about 8 Mbit/s (noise keeps the P-frames large), a keyframe every 4 s exactly. Joined 1 s in,
  // the next keyframe (and with it the stream's size) is 3 s and about 3 MB away: beyond the short probe
  // (0.5 MB), within ffmpeg's default one (5 MB).
  const whole = path.join(dir, 'gop4.ts');
  await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=10', '-vf', 'noise=alls=10:allf=t', '-t', '8', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '40', '-x264-params', 'scenecut=0', '-f', 'mpegts', whole]);
  const bytes = readFileSync(whole);
  writeFileSync(path.join(dir, 'mid.ts'), bytes.subarray(tsOffsetAt(bytes, 1)));
  server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'video/mp2t' });
    createReadStream(path.join(dir, 'mid.ts')).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mid.ts`;
});

/** Byte offset of the first video PES in an MPEG-TS whose PTS is `seconds` past the first one (188-byte packets). */
function tsOffsetAt(ts: Buffer, seconds: number): number {
  let first: number | undefined;
  for (let off = 0; off + 188 <= ts.length; off += 188) {
    if (ts[off] !== 0x47 || !(ts[off + 1]! & 0x40)) continue; // sync byte; payload unit start
    const pid = ((ts[off + 1]! & 0x1f) << 8) | ts[off + 2]!;
    if (pid !== 0x100) continue;
    const adapt = (ts[off + 3]! >> 4) & 3;
    const p = off + 4 + (adapt & 2 ? 1 + ts[off + 4]! : 0);
    if (ts[p] !== 0 || ts[p + 1] !== 0 || ts[p + 2] !== 1 || !(ts[p + 7]! & 0x80)) continue; // PES with a PTS
    const b = (i: number) => ts[p + 9 + i]!;
    const pts = ((b(0) >> 1) & 7) * 2 ** 30 + (b(1) << 22) + ((b(2) >> 1) << 15) + (b(3) << 7) + (b(4) >> 1);
    first ??= pts;
    if (pts - first >= seconds * 90_000) return off;
  }
  throw new Error(`no PES ${seconds} s into the stream`);
}

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('probing live sources', () => {
  it('a stream whose size the short probe missed decodes anyway, and its next run probes fully and learns the size', async () => {
    const cam = new CameraSource({ cameraId: 'mid', url, width: 160, height: 128, stallTimeoutMs: 20_000, reconnect: { initialMs: 50, maxMs: 50, factor: 1, jitter: 0 } });
    const runs: Frame[][] = [[]];
    cam.status$.subscribe((st) => {
      if (st.state === 'connecting' && runs.at(-1)!.length > 0) runs.push([]);
    });
    cam.frames$.subscribe((f) => runs.at(-1)!.push(f));
    cam.start();
    try {
      await waitFor(() => runs.length >= 2 && runs[1]!.length > 0, 60_000, 'frames from a second run');
      // First run: half a second of stream told ffmpeg no size, so the source size fell back to the input's.
      expect(runs[0]!.length).toBeGreaterThan(0);
      expect(runs[0]![0]).toMatchObject({ srcWidth: 160, srcHeight: 128 });
      // Second run: the full probe reached the keyframe.
      expect(runs[1]![0]).toMatchObject({ srcWidth: 640, srcHeight: 480 });
    } finally {
      await cam.close();
    }
  });

  it('the size probed at start-up stands in when a run\'s banner has none', async () => {
    const cam = new CameraSource({ cameraId: 'mid-hint', url, width: 160, height: 128, sourceSize: { width: 640, height: 480 }, stallTimeoutMs: 20_000 });
    const frames: Frame[] = [];
    cam.frames$.subscribe((f) => frames.push(f));
    cam.start();
    try {
      await waitFor(() => frames.length > 0, 30_000, 'a frame');
      expect(frames[0]).toMatchObject({ srcWidth: 640, srcHeight: 480 });
    } finally {
      await cam.close();
    }
  });
});
