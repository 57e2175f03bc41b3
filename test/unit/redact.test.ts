import { describe, expect, it } from 'vitest';
import { redactCredentials } from '../../src/core/redact.js';

describe('redactCredentials', () => {
  it.each([
    ['rtsp://admin:s3cretPW@127.0.0.1:1/x: Connection refused', 'rtsp://<redacted>@127.0.0.1:1/x: Connection refused'],
    ['ffmpeg: [rtsp @ 0x5] method DESCRIBE failed on rtsps://u:p@cam.lan:322/s1', 'ffmpeg: [rtsp @ 0x5] method DESCRIBE failed on rtsps://<redacted>@cam.lan:322/s1'],
    ['two: rtsp://a:b@h1/1 and http://c:d@h2/2', 'two: rtsp://<redacted>@h1/1 and http://<redacted>@h2/2'],
    // A password holding '@' (unescaped, as people type it): everything up to the host goes.
    ['rtsp://a:b@c@host/x', 'rtsp://<redacted>@host/x'],
    ['user only: rtsp://viewer@host/x', 'user only: rtsp://<redacted>@host/x'],
  ])('%s', (text, want) => {
    expect(redactCredentials(text)).toBe(want);
  });

  it.each(['rtsp://host/path', 'file /tmp/a@b.mp4', 'http://host/x?a=b@c', '[tcp @ 0x55] Connection to tcp://127.0.0.1:1?timeout=0 failed'])('leaves %s alone', (text) => {
    expect(redactCredentials(text)).toBe(text);
  });
});
