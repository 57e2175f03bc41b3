import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { buildFfmpegArgs, classifySource, rateCap, readTimeoutUs, resolveSourceSpec } from '../../src/ingest/source-spec.js';

const base = { cameraId: 'cam1', width: 416, height: 416 };

describe('resolveSourceSpec', () => {
  it('fills documented defaults', () => {
    const s = resolveSourceSpec({ ...base, url: 'rtsp://10.0.0.5/stream1' });
    expect(s).toMatchObject({
      kind: 'rtsp',
      transport: 'tcp',
      loop: false,
      pace: 'source',
      stallTimeoutMs: 10_000,
      reconnect: { initialMs: 500, maxMs: 10_000, factor: 2, jitter: 0.2 },
    });
    expect(s.fps).toBeUndefined();
  });

  it('classifies rtsp, http(s), file URLs and plain paths; rejects other schemes', () => {
    expect(classifySource('rtsps://h/x')?.kind).toBe('rtsp');
    expect(classifySource('https://h/x.m3u8')?.kind).toBe('http');
    expect(classifySource('file:///tmp/a%20b.mp4')).toEqual({ kind: 'file', input: '/tmp/a b.mp4' });
    expect(classifySource('videos/a.mp4')).toEqual({ kind: 'file', input: 'videos/a.mp4' });
    expect(classifySource('gopher://h/x')).toBeUndefined();
    expect(() => resolveSourceSpec({ ...base, url: 'gopher://h/x' })).toThrow(InputError);
  });

  it('names the camera and the bad field', () => {
    expect(() => resolveSourceSpec({ ...base, url: 'a.mp4', width: 0 })).toThrow(/camera cam1: width must be an integer/);
    expect(() => resolveSourceSpec({ ...base, url: 'a.mp4', fps: -1 })).toThrow(/fps must be/);
    expect(() => resolveSourceSpec({ ...base, url: 'a.mp4', stallTimeoutMs: 5 })).toThrow(/stallTimeoutMs/);
    expect(() =>
      resolveSourceSpec({ ...base, url: 'a.mp4', reconnect: { initialMs: 100, maxMs: 50, factor: 2, jitter: 0 } }),
    ).toThrow(/reconnect maxMs/);
    expect(() => resolveSourceSpec({ ...base, cameraId: '', url: 'a.mp4' })).toThrow(/cameraId/);
  });
});

describe('buildFfmpegArgs', () => {
  it('rtsp: transport, low-latency flags, no -re; scale then showinfo; rgb24 rawvideo', () => {
    const a = buildFfmpegArgs(resolveSourceSpec({ ...base, url: 'rtsp://h/s', transport: 'udp' }));
    expect(a.input).toBe('rtsp://h/s');
    expect(a.inputOptions).toContain('-nostdin');
    expect(a.inputOptions.join(' ')).toContain('-rtsp_transport udp');
    expect(a.inputOptions.join(' ')).toContain('-flags low_delay');
    expect(a.inputOptions).not.toContain('nobuffer');
    expect(a.inputOptions).not.toContain('-re');
    const out = a.outputOptions.join(' ');
    expect(out).toContain('-vf scale=416:416,showinfo');
    expect(out).toContain('-pix_fmt rgb24');
    expect(out).toContain('-f rawvideo');
    expect(out).toContain('-vsync passthrough');
  });

  it('file: -re and output paced by pts (realtime) for source pace, neither for fast; loop; rate cap (select, never duplicating) before scale', () => {
    const src = buildFfmpegArgs(resolveSourceSpec({ ...base, url: 'file:///v/a.mp4', loop: true, fps: 5 }));
    expect(src.input).toBe('/v/a.mp4');
    expect(src.inputOptions).toContain('-re');
    expect(src.inputOptions.join(' ')).toContain('-stream_loop -1');
    expect(src.outputOptions.join(' ')).toContain(`-vf ${rateCap(5)},scale=416:416,realtime,showinfo`);
    expect(rateCap(5)).toBe('select=isnan(t)+isnan(prev_selected_t)+not(eq(floor(t*5)\\,floor(prev_selected_t*5)))');
    const fast = buildFfmpegArgs(resolveSourceSpec({ ...base, url: '/v/a.mp4', pace: 'fast' }));
    expect(fast.inputOptions).not.toContain('-re');
    expect(fast.outputOptions.join(' ')).toContain('-vf scale=416:416,showinfo');
    expect(fast.inputOptions).not.toContain('-stream_loop');
    expect(fast.inputOptions).not.toContain('-rtsp_transport');
  });

  it('live inputs get a socket read timeout under the version\'s name, and a short probe unless asked for the full one', () => {
    const spec = resolveSourceSpec({ ...base, url: 'rtsp://h/s', stallTimeoutMs: 10_000 });
    // 4.x: -stimeout (its -timeout would make ffmpeg listen); 5.x and unknown builds: -timeout.
    expect(buildFfmpegArgs(spec, { ffmpegMajor: 4 }).inputOptions.join(' ')).toContain('-stimeout 2500000');
    expect(buildFfmpegArgs(spec, { ffmpegMajor: 5 }).inputOptions.join(' ')).toContain('-timeout 2500000');
    expect(buildFfmpegArgs(spec, { ffmpegMajor: 5 }).inputOptions).not.toContain('-stimeout');
    expect(buildFfmpegArgs(spec).inputOptions).toContain('-timeout');
    expect(buildFfmpegArgs(resolveSourceSpec({ ...base, url: 'http://h/live.ts' })).inputOptions.join(' ')).toContain('-rw_timeout');
    expect(readTimeoutUs(100_000)).toBe(5_000_000);
    expect(readTimeoutUs(500)).toBe(1_000_000);
    expect(buildFfmpegArgs(spec).inputOptions.join(' ')).toContain('-analyzeduration 500000 -probesize 500000');
    expect(buildFfmpegArgs(spec, { probe: 'full' }).inputOptions).not.toContain('-analyzeduration');
    // Files are read, not waited for: neither applies.
    const file = buildFfmpegArgs(resolveSourceSpec({ ...base, url: '/v/a.mp4' })).inputOptions;
    expect(file.some((o) => /timeout|analyzeduration/.test(o))).toBe(false);
  });

  it('http: low-latency flags, no rtsp transport, no -re', () => {
    const a = buildFfmpegArgs(resolveSourceSpec({ ...base, url: 'http://h/live.ts' }));
    expect(a.inputOptions).toContain('low_delay');
    expect(a.inputOptions).not.toContain('-re');
    expect(a.inputOptions).not.toContain('-rtsp_transport');
  });
});
