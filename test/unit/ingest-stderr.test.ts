import { describe, expect, it } from 'vitest';
import { FfmpegStderrScanner, parseShowinfoLine, parseVideoStreamLine } from '../../src/ingest/ffmpeg-stderr.js';

// Real lines from ffmpeg 4.1 (npm static) and 5.1 (Debian), file and RTSP inputs.
const FILE_41 =
  '    Stream #0:0(und): Video: h264 (Constrained Baseline) (avc1 / 0x31637661), yuv420p, 320x240 [SAR 1:1 DAR 4:3], 412 kb/s, 10 fps, 10 tbr, 10240 tbn, 20 tbc (default)';
const FILE_51 =
  '  Stream #0:0[0x1](und): Video: h264 (Constrained Baseline) (avc1 / 0x31637661), yuv420p(progressive), 320x240 [SAR 1:1 DAR 4:3], 412 kb/s, 10 fps, 10 tbr, 10240 tbn (default)';
const RTSP_51 =
  '  Stream #0:0: Video: h264 (Constrained Baseline), yuv420p(tv, smpte170m, progressive), 320x240 [SAR 1:1 DAR 4:3], 10 fps, 10 tbr, 90k tbn';
const PAL = '    Stream #0:0: Video: h264 (Main), yuv420p(tv, bt709), 768x576, 25 fps, 25 tbr, 90k tbn, 50 tbc';
const NTSC = '    Stream #0:1(eng): Video: hevc (Main), yuv420p(tv), 1920x1080, 29.97 fps, 29.97 tbr, 90k tbn';
const TBR_ONLY = '    Stream #0:0: Video: mjpeg (Baseline), yuvj420p(pc, bt470bg/unknown/unknown), 640x480, 30 tbr, 90k tbn';
const OUTPUT =
  '    Stream #0:0(und): Video: rawvideo (RGB[24] / 0x18424752), rgb24, 64x48 [SAR 1:1 DAR 4:3], q=2-31, 737 kb/s, 10 fps, 10 tbn, 10 tbc (default)';
const SHOW_41 =
  '[Parsed_showinfo_1 @ 0xd94a640] n:   1 pts:   1024 pts_time:0.1     pos:     8679 fmt:rgb24 sar:1/1 s:64x48 i:P iskey:0 type:P checksum:34065B49 plane_checksum:[34065B49] mean:[123 ] stdev:[117.3 ]';
const SHOW_51 =
  '[Parsed_showinfo_1 @ 0x56015585d1c0] n:  12 pts: 207000 pts_time:2.3     pos:       -1 fmt:rgb24 sar:1/1 s:64x48 i:P iskey:1 type:I checksum:817F870C plane_checksum:[817F870C] mean:[4] stdev:[29.1]';

describe('parseVideoStreamLine', () => {
  it('reads size, fps and codec from 4.1 and 5.1 file lines (not the avc1 hex tag)', () => {
    expect(parseVideoStreamLine(FILE_41)).toEqual({ codec: 'h264', width: 320, height: 240, fps: 10 });
    expect(parseVideoStreamLine(FILE_51)).toEqual({ codec: 'h264', width: 320, height: 240, fps: 10 });
  });

  it('reads RTSP lines, fractional fps, and falls back to tbr', () => {
    expect(parseVideoStreamLine(RTSP_51)).toEqual({ codec: 'h264', width: 320, height: 240, fps: 10 });
    expect(parseVideoStreamLine(PAL)).toEqual({ codec: 'h264', width: 768, height: 576, fps: 25 });
    expect(parseVideoStreamLine(NTSC)).toEqual({ codec: 'hevc', width: 1920, height: 1080, fps: 29.97 });
    expect(parseVideoStreamLine(TBR_ONLY)).toEqual({ codec: 'mjpeg', width: 640, height: 480, fps: 30 });
  });

  it('leaves fps undefined when ffmpeg prints none, and ignores non-video lines', () => {
    expect(parseVideoStreamLine('  Stream #0:0: Video: h264, yuv420p, 640x360, 90k tbn')).toEqual({
      codec: 'h264',
      width: 640,
      height: 360,
    });
    expect(parseVideoStreamLine('  Stream #0:1(und): Audio: aac (LC), 48000 Hz, stereo, fltp')).toBeUndefined();
    expect(parseVideoStreamLine('  Duration: 00:00:03.00, start: 0.000000, bitrate: 414 kb/s')).toBeUndefined();
  });
});

describe('parseShowinfoLine', () => {
  it('reads frame number and pts in ms', () => {
    expect(parseShowinfoLine(SHOW_41)).toEqual({ n: 1, ptsMs: 100 });
    expect(parseShowinfoLine(SHOW_51)).toEqual({ n: 12, ptsMs: 2300 });
  });

  it('handles NOPTS and ignores showinfo config/side-data lines', () => {
    expect(parseShowinfoLine('[Parsed_showinfo_0 @ 0x1] n:   3 pts:NOPTS pts_time:NOPTS pos: 1 fmt:yuv420p')).toEqual({ n: 3 });
    expect(parseShowinfoLine('[Parsed_showinfo_1 @ 0x1] config in time_base: 1/90000, frame_rate: 10/1')).toBeUndefined();
    expect(parseShowinfoLine('[Parsed_showinfo_1 @ 0x1] color_range:pc color_space:gbr')).toBeUndefined();
  });
});

describe('FfmpegStderrScanner', () => {
  it('takes the input stream, not the rawvideo output stream, and reports frames', () => {
    const s = new FfmpegStderrScanner();
    const events = [
      "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'clip.mp4':",
      FILE_41,
      'Stream mapping:',
      SHOW_41,
      "Output #0, rawvideo, to 'pipe:1':",
      OUTPUT,
    ].map((l) => s.feed(l));
    expect(events[1]).toEqual({ kind: 'input-video', info: { codec: 'h264', width: 320, height: 240, fps: 10 } });
    expect(events[3]).toEqual({ kind: 'frame', frame: { n: 1, ptsMs: 100 } });
    expect(events[5]).toEqual({ kind: 'log', line: OUTPUT });
    expect(s.videoInfo).toEqual({ codec: 'h264', width: 320, height: 240, fps: 10 });
  });

  it('ignores an output Video line when no input line came first', () => {
    const s = new FfmpegStderrScanner();
    s.feed("Output #0, rawvideo, to 'pipe:1':");
    s.feed(OUTPUT);
    expect(s.videoInfo).toBeUndefined();
  });

  it('picks the last error-looking line as the explanation', () => {
    const s = new FfmpegStderrScanner();
    for (const l of [
      '[tcp @ 0x55] Connection to tcp://127.0.0.1:9?timeout=0 failed: Connection refused',
      'rtsp://127.0.0.1:9/cam: Connection refused',
      'frame=    0 fps=0.0 q=0.0 size=       0kB time=00:00:00.00',
      'Exiting normally, received signal 15.',
    ]) {
      s.feed(l);
    }
    expect(s.errorLine()).toBe('rtsp://127.0.0.1:9/cam: Connection refused');
  });

  it('explains a corrupt file by its demuxer error', () => {
    const s = new FfmpegStderrScanner();
    s.feed('[mov,mp4,m4a,3gp,3g2,mj2 @ 0x1] moov atom not found');
    s.feed('/tmp/x/truncated.mp4: Invalid data found when processing input');
    expect(s.errorLine()).toBe('/tmp/x/truncated.mp4: Invalid data found when processing input');
  });

  it('diagnoses from what came after the last frame: an older warning explains nothing', () => {
    const s = new FfmpegStderrScanner();
    s.feed('[h264 @ 0x1] error while decoding MB 11 7');
    s.frameDelivered();
    expect(s.errorLine()).toBeUndefined();
    expect(s.lastLine()).toBeUndefined();
    s.feed('rtsp://cam/1: Connection reset by peer');
    expect(s.errorLine()).toBe('rtsp://cam/1: Connection reset by peer');
  });

  it('has no error line when nothing looks like one, but keeps the last line', () => {
    const s = new FfmpegStderrScanner();
    s.feed('some note');
    s.feed('video:63kB audio:0kB subtitle:0kB other streams:0kB global headers:0kB muxing overhead: 0.000000%');
    expect(s.errorLine()).toBeUndefined();
    expect(s.lastLine()).toMatch(/^video:63kB/);
    expect(new FfmpegStderrScanner().lastLine()).toBeUndefined();
  });
});
