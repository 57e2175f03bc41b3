/**
 * A snapshot's pixels (src/history/draw.ts, pure) and the frames held for
 * them (src/history/frames.ts): the outline lies inside the box and nowhere
 * else, the crop holds the box with a margin, and held frames are shared
 * per frame and capped.
 */
import { describe, expect, it } from 'vitest';
import type { Frame } from '../../src/core/types.js';
import { BOX_COLOUR, boxInPicture, cropAround, cropPixels, drawOutline, lineWidth } from '../../src/history/draw.js';
import { HeldFrames } from '../../src/history/frames.js';

const W = 64;
const H = 48;
const grey = () => new Uint8Array(W * H * 3).fill(100);
const isBox = (p: Uint8Array, x: number, y: number) => {
  const i = (y * W + x) * 3;
  return p[i] === BOX_COLOUR[0] && p[i + 1] === BOX_COLOUR[1] && p[i + 2] === BOX_COLOUR[2];
};

describe('boxInPicture', () => {
  it.each([
    ['scaled from source pixels', { x: 100, y: 50, w: 200, h: 100 }, 320, 240, 64, 48, { x: 20, y: 10, w: 40, h: 20 }],
    ['clipped to the picture', { x: -50, y: -10, w: 100, h: 500 }, 320, 240, 64, 48, { x: 0, y: 0, w: 10, h: 48 }],
    ['nothing left outside it', { x: 400, y: 10, w: 10, h: 10 }, 320, 240, 64, 48, null],
  ])('%s', (_what, box, sw, sh, w, h, want) => {
    expect(boxInPicture(box, w, h, sw, sh)).toEqual(want);
  });
});

describe('drawOutline', () => {
  it('paints a band of the thickness inside the box edges, and nothing else', () => {
    const p = grey();
    const r = { x: 10, y: 8, w: 30, h: 20 };
    drawOutline(p, W, H, r, 3);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const inside = x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h;
        const band = inside && (x < r.x + 3 || x >= r.x + r.w - 3 || y < r.y + 3 || y >= r.y + r.h - 3);
        expect(isBox(p, x, y), `(${x}, ${y})`).toBe(band);
      }
    }
  });

  it('fills a box thinner than two lines', () => {
    const p = grey();
    drawOutline(p, W, H, { x: 5, y: 5, w: 2, h: 9 }, 3);
    for (let y = 5; y < 14; y++) for (let x = 5; x < 7; x++) expect(isBox(p, x, y)).toBe(true);
    expect(isBox(p, 7, 5)).toBe(false);
  });

  it('is 3 px up to 640 wide, wider on larger pictures', () => {
    expect(lineWidth(512)).toBe(3);
    expect(lineWidth(1920)).toBe(10);
  });
});

describe('cropAround and cropPixels', () => {
  it('grows the box by a quarter a side, at least 32 px, within the picture', () => {
    expect(cropAround({ x: 20, y: 10, w: 40, h: 20 }, 640, 480)).toEqual({ x: 10, y: 4, w: 60, h: 32 });
    expect(cropAround({ x: 0, y: 0, w: 8, h: 8 }, 640, 480)).toEqual({ x: 0, y: 0, w: 20, h: 20 });
    expect(cropAround({ x: 600, y: 400, w: 40, h: 80 }, 640, 480)).toEqual({ x: 590, y: 380, w: 50, h: 100 });
  });

  it('copies the rows of a rectangle', () => {
    const p = new Uint8Array(W * H * 3);
    for (let i = 0; i < p.length; i++) p[i] = i % 251;
    const r = { x: 3, y: 2, w: 5, h: 4 };
    const out = cropPixels(p, W, r);
    expect(out.length).toBe(5 * 4 * 3);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 5; x++) for (let c = 0; c < 3; c++) expect(out[(y * 5 + x) * 3 + c]).toBe(p[((2 + y) * W + 3 + x) * 3 + c]);
  });
});

describe('HeldFrames', () => {
  const frame = (seq: number, fill = seq): Frame => ({ cameraId: 'cam', seq, ptsMs: seq * 100, captureWallMs: 1000 + seq, width: 4, height: 2, srcWidth: 8, srcHeight: 4, data: new Uint8Array(24).fill(fill) });

  it('copies the pixels (the pool may reuse the buffer) and shares one copy between events of the same frame', () => {
    const held = new HeldFrames(4);
    const f = frame(1);
    const a = held.replace(f, undefined)!;
    const b = held.replace(f, undefined)!;
    expect(a).toBe(b);
    expect(a.refs).toBe(2);
    expect(held.count).toBe(1);
    f.data.fill(9);
    expect(a.data[0]).toBe(1);
    expect(a).toMatchObject({ width: 4, height: 2, srcWidth: 8, srcHeight: 4, captureMs: 1001 });
  });

  it('releases what a better frame replaces, and counts each copy once', () => {
    const held = new HeldFrames(4);
    const a = held.replace(frame(1), undefined)!;
    const b = held.replace(frame(2), a)!;
    expect(b).not.toBe(a);
    expect(held.count).toBe(1);
    held.release(b);
    expect(held.count).toBe(0);
    held.release(b);
    expect(held.count).toBe(0);
  });

  it('at the cap: refuses a new copy (counted) unless the event gives back a copy of its own', () => {
    const held = new HeldFrames(2);
    const a = held.replace(frame(1), undefined)!;
    held.retain(a); // shared with an encoding in flight
    held.replace(frame(2), undefined);
    expect(held.count).toBe(2);
    expect(held.replace(frame(3), undefined)).toBeUndefined();
    expect(held.replace(frame(3), a)).toBeUndefined();
    expect(held.refused).toBe(2);
    const own = held.replace(frame(4), undefined);
    expect(own).toBeUndefined();
    held.release(a);
    const mine = held.replace(frame(5), a)!;
    expect(mine.captureMs).toBe(1005);
    expect(held.count).toBe(2);
  });
});
