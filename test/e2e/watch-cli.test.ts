/**
 * `neulens watch` as a pipeline stage: `neulens watch ws://... | head -3`.
 * When the reader goes away, the next write fails with EPIPE; watch must
 * then end quietly (exit 0, no stack trace), as `cat` or `grep` do.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type ServeHandle } from '../../src/serve/server.js';
import { REPO_ROOT } from '../helpers/service.js';

const BIN = path.join(REPO_ROOT, 'bin/neulens.js');
const open: ServeHandle[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

describe('neulens watch | head', () => {
  it('exits 0 without a stack trace when its stdout closes', async () => {
    const s = await createServer({ port: 0 });
    open.push(s);
    s.hub.setCamera('door', 'online');
    let seq = 0;
    const publish = setInterval(() => {
      const now = Date.now();
      s.hub.publishFrame({ type: 'frame', camera: 'door', seq: seq++, ptsMs: 0, captureTs: now, publishTs: now, latencyMs: 0, inferenceMs: 1, width: 640, height: 480, boxes: [] });
    }, 20);
    try {
      const child = spawn(process.execPath, [BIN, 'watch', s.url], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
      // head -3: read three lines, then close the pipe's read end.
      await new Promise<void>((resolve) => {
        let lines = 0;
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          lines += d.split('\n').length - 1;
          if (lines >= 3) {
            child.stdout.destroy();
            resolve();
          }
        });
      });
      const r = await Promise.race([exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 15_000))]);
      if (r === 'hung') child.kill('SIGKILL');
      expect(r).toEqual({ code: 0, signal: null });
      expect(err).not.toMatch(/EPIPE|Error|at /);
    } finally {
      clearInterval(publish);
    }
  });
});
