/** Scoring a live camera against its clip's offline reference (src/eval/live-score.ts). */
import { describe, expect, it } from 'vitest';
import type { Detection } from '../../src/core/types.js';
import { clipFrameAt, scoreLive } from '../../src/eval/live-score.js';

const box = (x: number, score = 0.9): Detection => ({ x, y: 10, w: 20, h: 40, classId: 0, label: 'person', score });
// A 30 fps clip of 60 frames (2 s): frame i has one person at x = 10 i.
const reference = Array.from({ length: 60 }, (_, i) => [box(10 * i)]);

describe('clipFrameAt', () => {
  it('maps stream time to the nearest clip frame, modulo the clip for a loop', () => {
    expect(clipFrameAt(0, 30, 60)).toBe(0);
    expect(clipFrameAt(100, 30, 60)).toBe(3);
    expect(clipFrameAt(2000, 30, 60)).toBe(0);
    expect(clipFrameAt(2100, 30, 60)).toBe(3);
    expect(clipFrameAt(1990, 30, 60)).toBe(59);
  });
});

describe('scoreLive', () => {
  it('scores 1 when every frame shows its reference, across a loop', () => {
    // The camera at 10 fps: pts 0, 100, ... past the loop at 2 s.
    const received = Array.from({ length: 30 }, (_, k) => ({ ptsMs: 100 * k, boxes: [box(10 * clipFrameAt(100 * k, 30, 60))] }));
    const s = scoreLive({ received, intervalMs: 100, reference, clipFps: 30, minScore: 0.5 });
    expect(s.slots).toBe(30);
    expect(s.f1).toBe(1);
  });

  it('counts a dropped frame as the boxes before it, which miss a moving object', () => {
    // Frames at 100 and 200 ms dropped: the frame at 0 stands for three slots. The person moves
    // 30 px a slot (20 px wide): stale boxes miss it at IoU 0.5.
    const received = [0, 300, 400].map((t) => ({ ptsMs: t, boxes: [box(10 * clipFrameAt(t, 30, 60))] }));
    const s = scoreLive({ received, intervalMs: 100, reference, clipFps: 30, minScore: 0.5 });
    expect(s.slots).toBe(5);
    expect(s.tp).toBe(3);
    expect(s.fp).toBe(2);
    expect(s.fn).toBe(2);
  });

  it('leaves boxes under the operating point out on both sides', () => {
    const received = [{ ptsMs: 0, boxes: [box(0, 0.4), box(200)] }];
    const s = scoreLive({ received, intervalMs: 100, reference: [[box(0), box(400, 0.3)]], clipFps: 10, minScore: 0.5 });
    expect(s).toMatchObject({ tp: 0, fp: 1, fn: 1 });
  });
});
