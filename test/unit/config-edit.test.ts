/**
 * Runtime camera changes on the config's text (src/config/edit.ts): a
 * camera added, replaced or removed as a YAML node, the file's cameras
 * taken into the running text, the diff by id, and the keys outside
 * cameras that a reload cannot apply. Every result is read back by the
 * start-up parser, as the service does.
 */
import { describe, expect, it } from 'vitest';
import { diffCameras, editCamera, editCameraList, parseSource, settingsChanged, withCamerasOf, type ConfigSource } from '../../src/config/edit.js';
import { ConfigError } from '../../src/core/errors.js';

const TEXT = `# the running config, comments kept
model: { minScore: 0.4 }
cameras:
  - id: a
    url: rtsp://cam/a
  - id: b
    url: rtsp://cam/b
    fps: 5
`;
const source: ConfigSource = { text: TEXT, name: '/srv/neulens.yaml', env: { FPS: '7', PASS: 's3cret' } };
const read = (text: string) => parseSource(source, text);

describe('editCamera', () => {
  it('adds a camera from a JSON body (the id from the path), keeping the rest of the text', () => {
    const text = editCamera(TEXT, { kind: 'add', id: 'c', body: '{"url": "rtsp://cam/c", "fps": 2}' });
    expect(text).toContain('# the running config, comments kept');
    const c = read(text);
    expect(c.cameras.map((x) => x.id)).toEqual(['a', 'b', 'c']);
    expect(c.cameras[2]).toMatchObject({ id: 'c', kind: 'rtsp', url: 'rtsp://cam/c', fps: 2 });
    expect(c.model.minScore).toBe(0.4);
  });

  it('replaces a camera in place from a YAML body, with ${VAR} substituted as in the file', () => {
    const c = read(editCamera(TEXT, { kind: 'replace', id: 'b', body: 'id: b\nurl: rtsp://u:${PASS}@cam/b\nfps: ${FPS}\n' }));
    expect(c.cameras.map((x) => x.id)).toEqual(['a', 'b']);
    expect(c.cameras[1]).toMatchObject({ url: 'rtsp://u:s3cret@cam/b', fps: 7 });
  });

  it('keeps a JSON string a string: "7" for fps is refused, naming the key', () => {
    const text = editCamera(TEXT, { kind: 'replace', id: 'b', body: '{"url": "rtsp://cam/b", "fps": "7"}' });
    expect(() => read(text)).toThrow(/cameras\[1\]\.fps: expected a number, got '7'/);
  });

  it('removes a camera', () => {
    expect(read(editCamera(TEXT, { kind: 'remove', id: 'a' })).cameras.map((x) => x.id)).toEqual(['b']);
  });

  it('refuses a body that is not one camera, or names another id', () => {
    expect(() => editCamera(TEXT, { kind: 'add', id: 'c', body: '- url: x.mp4\n' })).toThrow(/must be a mapping/);
    expect(() => editCamera(TEXT, { kind: 'add', id: 'c', body: '{"url": ' })).toThrow(/YAML syntax error/);
    const e = (() => {
      try {
        editCamera(TEXT, { kind: 'add', id: 'c', body: '{"id": "d", "url": "rtsp://cam/d"}' });
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).path).toBe('id');
  });

  it('an invalid camera names its key in the whole config, as start-up would', () => {
    const text = editCamera(TEXT, { kind: 'add', id: 'c', body: '{"url": "ftp://cam/c"}' });
    try {
      read(text);
      expect.unreachable('an ftp:// camera must be refused');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).path).toBe('cameras[2].url');
      expect((err as ConfigError).message).toMatch(/unsupported URL scheme 'ftp:\/\/'/);
    }
  });
});

describe('withCamerasOf, diffCameras, settingsChanged', () => {
  const file = `model: { minScore: 0.6 }\nlogging: { level: debug }\ncameras:\n  - id: b\n    url: rtsp://cam/b\n    fps: 4\n  - id: c\n    url: rtsp://cam/c\n`;

  it('takes the cameras of the file into the running text and leaves the rest as it runs', () => {
    const next = read(withCamerasOf(TEXT, file, 'neulens.yaml'));
    expect(next.model.minScore).toBe(0.4);
    expect(next.logging.level).toBe('info');
    expect(next.cameras.map((x) => x.id)).toEqual(['b', 'c']);
  });

  it('diffs cameras by id: added, removed, changed (any setting, defaults included)', () => {
    const running = read(TEXT);
    const next = read(withCamerasOf(TEXT, file, 'neulens.yaml'));
    const d = diffCameras(running.cameras, next.cameras);
    expect(d.added.map((x) => x.id)).toEqual(['c']);
    expect(d.removed).toEqual(['a']);
    expect(d.changed.map((x) => x.id)).toEqual(['b']);
    expect(diffCameras(running.cameras, read(TEXT).cameras)).toEqual({ added: [], removed: [], changed: [] });
  });

  it('names the keys outside cameras that differ (they wait for a restart)', () => {
    expect(settingsChanged(read(TEXT), read(file))).toEqual(['model.minScore', 'logging.level']);
    expect(settingsChanged(read(TEXT), read(TEXT))).toEqual([]);
  });
});

describe('editCameraList (a fleet\'s list in KV)', () => {
  // As stored: substituted already, one url with a literal `${` (a password that has one).
  const stored = read(TEXT).cameras.map((c) => (c.id === 'a' ? { ...c, url: 'rtsp://u:p${x}@cam/a' } : c));

  it('edits the stored list as this config\'s cameras: the body substituted, the stored cameras kept literal', () => {
    const next = editCameraList(source, stored, { kind: 'add', id: 'c', body: 'url: rtsp://cam/c\nfps: ${FPS}\n' }, "add camera 'c'");
    expect(next.map((c) => c.id)).toEqual(['a', 'b', 'c']);
    expect(next[0]?.url).toBe('rtsp://u:p${x}@cam/a');
    expect(next[2]).toMatchObject({ url: 'rtsp://cam/c', fps: 7 });
  });

  it('refuses a bad camera naming its key; may remove the last camera (a fleet may idle)', () => {
    expect(() => editCameraList(source, stored, { kind: 'replace', id: 'b', body: 'url: rtsp://cam/b\nfps: 0\n' }, "replace camera 'b'")).toThrow(expect.objectContaining({ path: 'cameras[1].fps' }));
    expect(editCameraList(source, stored.slice(0, 1), { kind: 'remove', id: 'a' }, "remove camera 'a'")).toEqual([]);
  });
});
