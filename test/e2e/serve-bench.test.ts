/**
 * `neulens serve-bench` on a short window: the command runs both phases
 * against the real service and reports numbers that hang together. Only
 * relations that hold on any machine are checked, never speeds.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { serveBenchCommand, type PhaseResult } from '../../src/cli/commands/serve-bench.js';
import { ffmpegDescendants } from '../helpers/ffmpeg-fixtures.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('neulens serve-bench', () => {
  it('--json reports both phases with consistent counters and latencies', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    });
    const code = await serveBenchCommand.run(['--seconds', '2', '--warmup', '0', '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(lines.join('\n')) as { phases: PhaseResult[]; loadavg: { before: number[]; after: number[] } };
    expect(report.phases.map((p) => p.phase)).toEqual(['paced', 'unpaced']);
    expect(report.loadavg.before).toHaveLength(3);
    for (const p of report.phases) {
      expect(p.processed).toBeGreaterThan(0);
      expect(p.processedFps).toBeGreaterThan(0);
      // At the window's start one frame may be in inference and one waiting in the gate's slot.
      expect(p.processed + p.dropped).toBeLessThanOrEqual(p.framesIn + 2);
      expect(p.dropRate).toBeGreaterThanOrEqual(0);
      expect(p.dropRate).toBeLessThanOrEqual(1);
      // Per frame, the client receives after the server publishes (one clock: same host).
      expect(p.clientLatencyMs.p50).toBeGreaterThanOrEqual(p.publishLatencyMs.p50);
      expect(p.publishLatencyMs.p50).toBeGreaterThanOrEqual(0);
      expect(p.input).toMatch(/^\d+x\d+ full$/);
    }
    expect(ffmpegDescendants()).toEqual([]);
  });

  it('rejects a missing clip as bad input', async () => {
    await expect(serveBenchCommand.run(['--clip', '/nonexistent/clip.mp4'])).rejects.toThrow(/--clip: no such file/);
  });
});
