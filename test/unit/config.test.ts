import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { cameraStrategy, configJsonSchema, loadConfig, parseConfig, type Config } from '../../src/config/index.js';
import { main } from '../../src/cli/main.js';
import { WsHub } from '../../src/serve/hub.js';
import { createStrategy, parseStrategy } from '../../src/strategy/registry.js';
import type { AracAdaptiveStrategy } from '../../src/strategy/arac-adaptive.js';

const BASE = '/srv/neulens';
const SOURCE = `${BASE}/neulens.yaml`;
const CAMS = 'cameras:\n  - { id: a, url: rtsp://cam/a }\n';
/** The committed model pack (config validate loads it). */
const PACK = resolve('models/nanodet-g');

function parse(text: string, env: Record<string, string> = {}): Config {
  return parseConfig(text, SOURCE, env);
}

/** The ConfigError a bad config raises; fails the test if it parses. */
function failure(text: string, env: Record<string, string> = {}): ConfigError {
  try {
    parse(text, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).not.toContain('\n');
    return e;
  }
  throw new Error(`expected a ConfigError for:\n${text}`);
}

describe('parseConfig: defaults and normalisation', () => {
  it('fills every default from a config that only lists a camera', () => {
    const c = parse('cameras:\n  - id: front\n    url: videos/front.mp4\n');
    expect(c.server).toEqual({
      host: '127.0.0.1',
      port: 8080,
      wsPath: '/ws',
      clientQueue: 32,
      clientMaxBufferedBytes: 4194304,
      clientStuckTimeoutMs: 10000,
      publicMetrics: false,
    });
    expect(c.model).toMatchObject({ strategy: { name: 'arac', grid: { cols: 4, rows: 4 }, refresh: { frames: 16, ms: 2000 } }, provider: 'cpu', minScore: 0.35, nmsIou: 0.6, maxDetections: 100 });
    // Left to the service, which sizes the pool by the cameras and cores (defaultWorkers, defaultThreads).
    expect(c.model.workers).toBeUndefined();
    expect(c.model.threads).toBeUndefined();
    // Batching is off unless set: on the CPU it measured no better (docs/results/batch-cpu.txt).
    expect(c.model.batch).toBeUndefined();
    expect(c.model.inputSize).toBeUndefined();
    expect(c.model.classes).toBeUndefined();
    expect(c.tracker).toEqual({ enabled: true, highThresh: 0.5, lowThresh: 0.1, matchIou: 0.3, maxAgeMs: 1000, minHits: 2, stationaryMs: 5000, stationaryIou: 0.6 });
    expect(c.mqtt).toBeUndefined();
    expect(c.history).toBeUndefined();
    expect(c.logging.level).toBe('info');
    expect(c.viewer).toEqual({ enabled: true, fps: 5, maxWidth: 960, quality: 75 });
    expect(c.cameras[0]).toEqual({
      id: 'front',
      kind: 'file',
      url: `${BASE}/videos/front.mp4`,
      enabled: true,
      stallTimeoutMs: 10000,
      reconnect: { initialMs: 500, maxMs: 10000, factor: 2, jitter: 0.2 },
      loop: false,
      pace: 'source',
    });
  });

  it('infers the camera kind from the url and applies per-kind defaults', () => {
    const c = parse('cameras:\n  - { id: r, url: rtsp://u:p@cam/1 }\n  - { id: h, url: "https://cam/mjpeg" }\n  - { id: f, url: "file:///data/clip.mp4", loop: true }\n');
    const [r, h, f] = c.cameras;
    expect(r).toMatchObject({ kind: 'rtsp', transport: 'tcp', url: 'rtsp://u:p@cam/1' });
    expect(h).toMatchObject({ kind: 'http', url: 'https://cam/mjpeg' });
    expect(h).not.toHaveProperty('transport');
    expect(f).toMatchObject({ kind: 'file', url: '/data/clip.mp4', loop: true });
  });

  it('resolves model.pack and file cameras against the config directory', () => {
    const c = parse(`model: { pack: ../models/nanodet-g }\n${CAMS}  - { id: b, url: ./b.mp4 }\n  - { id: c, url: /abs/c.mp4 }\n`);
    expect(c.model.pack).toBe(resolve(BASE, '../models/nanodet-g'));
    expect(c.cameras[1]!.url).toBe(`${BASE}/b.mp4`);
    expect(c.cameras[2]!.url).toBe('/abs/c.mp4');
    const other = parseConfig(CAMS, 'inline', {}, { baseDir: '/elsewhere' });
    expect(other.model.pack).toBe('/elsewhere/models/nanodet-g');
  });

  it('reads model.strategy (arac by default) with its grid', () => {
    const spec = (yaml: string) => parse(`${yaml}\n${CAMS}`).model.strategy;
    expect(spec('')).toEqual({ name: 'arac', grid: { cols: 4, rows: 4 }, refresh: { frames: 16, ms: 2000 } });
    expect(spec('model: { strategy: full }')).toEqual({ name: 'full' });
    expect(spec('model: { strategy: arac, grid: [4, 3] }')).toMatchObject({ name: 'arac', grid: { cols: 4, rows: 3 } });
    expect(spec('model: { strategy: "arac:3x2" }')).toMatchObject({ name: 'arac', grid: { cols: 3, rows: 2 } });
    expect(spec('model: { strategy: "skip-track:5" }')).toEqual({ name: 'skip-track', every: 5 });
    // The same text means the same on the command line.
    expect(spec('model: { strategy: "arac-cgg:2x2" }')).toEqual(parseStrategy('arac-cgg:2x2'));
  });

  it('reads a work budget from model.budget, the strategy text or a camera, the same as the CLI', () => {
    const spec = (yaml: string) => parse(`${yaml}\n${CAMS}`).model.strategy;
    expect(spec('model: { budget: 0.35 }')).toEqual({ name: 'arac', grid: { cols: 4, rows: 4 }, refresh: { frames: 16, ms: 2000 }, budget: 0.35 });
    expect(spec('model: { strategy: "arac:budget=0.35" }')).toEqual(parseStrategy('arac:budget=0.35'));
    expect(spec('model: { strategy: arac-oracle, budget: 0.5 }')).toEqual(parseStrategy('arac-oracle:budget=0.5'));
    expect(spec('')).not.toHaveProperty('budget');
    const c = parse('model: { budget: 0.5 }\ncameras:\n  - { id: a, url: rtsp://x/y, budget: 0.25 }\n  - { id: b, url: rtsp://x/z }\n');
    expect(cameraStrategy(c.model, c.cameras[0]!)).toMatchObject({ name: 'arac', budget: 0.25 });
    expect(cameraStrategy(c.model, c.cameras[1]!)).toMatchObject({ name: 'arac', budget: 0.5 });
    const s = createStrategy(cameraStrategy(c.model, c.cameras[0]!));
    expect(s.name).toBe('arac:budget=0.25');
  });

  it('reads model.batch, each key defaulted', () => {
    expect(parse(`model: { batch: { maxSize: 64 } }\n${CAMS}`).model.batch).toEqual({ maxSize: 64, timeoutMs: 20 });
    expect(parse(`model: { batch: {} }\n${CAMS}`).model.batch).toEqual({ maxSize: 32, timeoutMs: 20 });
    expect(parse(`model: { batch: { timeoutMs: 0 } }\n${CAMS}`).model.batch).toEqual({ maxSize: 32, timeoutMs: 0 });
  });

  it('model.strategy: arac-cgg with model.grid: [2, 2] runs a 2x2 grid (it ran 4x4 while the service checked 2x2)', () => {
    const m = parse(`model: { strategy: arac-cgg, grid: [2, 2] }\n${CAMS}`).model;
    expect(m.strategy).toMatchObject({ name: 'arac-cgg', grid: { cols: 2, rows: 2 } });
    const s = createStrategy(m.strategy) as AracAdaptiveStrategy;
    expect(s.grid).toEqual({ cols: 2, rows: 2 });
    expect(s.name).toBe('arac-cgg:2x2');
  });

  it('still reads the deprecated model.mode, and says so', () => {
    const told: string[] = [];
    const m = parseConfig(`model: { mode: full }\n${CAMS}`, SOURCE, {}, { onDeprecated: (key, msg) => told.push(`${key}|${msg}`) }).model;
    expect(m.strategy).toEqual({ name: 'full' });
    expect(told).toEqual([`model.mode|${SOURCE}: model.mode is deprecated: write model.strategy: full (and drop mode)`]);
    expect(parse(`model: { mode: arac, grid: [2, 2] }\n${CAMS}`).model.strategy).toMatchObject({ name: 'arac', grid: { cols: 2, rows: 2 } });
    // The old override: mode arac with an expert strategy beside it.
    expect(parse(`model: { mode: arac, strategy: arac-cgg }\n${CAMS}`).model.strategy).toMatchObject({ name: 'arac-cgg' });
  });

  it('reads the refresh bound and hands it to the arac strategies', () => {
    const m = parse(`model: { refresh: { frames: 4 } }\n${CAMS}`).model;
    expect(m.strategy).toMatchObject({ refresh: { frames: 4, ms: 2000 } });
    // The bound reaches the strategy, the default one and an override alike.
    expect(createStrategy(m.strategy)).toMatchObject({ name: 'arac:refresh=4', refreshBound: { frames: 4, ms: 2000 } });
    expect(createStrategy(parse(`model: { strategy: arac-cgg, refresh: { ms: 500 } }\n${CAMS}`).model.strategy)).toMatchObject({ name: 'arac-cgg', refreshBound: { frames: 16, ms: 500 } });
  });

  it('the hub\'s defaults are the config\'s (its send buffer cap was 1 MiB against the documented 4 MiB)', () => {
    const s = parse(CAMS).server;
    // The picture limits are the hub's own (no config key): two queued, none written past 1 MiB unsent.
    expect(new WsHub().stats().limits).toEqual({
      maxQueue: s.clientQueue,
      maxBufferedBytes: s.clientMaxBufferedBytes,
      stuckTimeoutMs: s.clientStuckTimeoutMs,
      pongTimeoutMs: s.clientStuckTimeoutMs,
      maxQueuedPictures: 2,
      pictureMaxBufferedBytes: 1_048_576,
    });
  });

  it('treats an empty key (YAML null) as "use the default"', () => {
    const c = parse(`server:\nmodel:\n  inputSize:\n${CAMS}`);
    expect(c.server.port).toBe(8080);
    expect(c.model.inputSize).toBeUndefined();
  });

  it('takes server.authToken from NEULENS_TOKEN when the file does not set it', () => {
    expect(parse(CAMS, { NEULENS_TOKEN: 'from-env' }).server.authToken).toBe('from-env');
    expect(parse(`server: { authToken: from-file }\n${CAMS}`, { NEULENS_TOKEN: 'from-env' }).server.authToken).toBe('from-file');
    expect(parse(CAMS).server.authToken).toBeUndefined();
  });

  it('accepts COCO class names', () => {
    expect(parse(`model: { classes: [person, traffic light, cat] }\n${CAMS}`).model.classes).toEqual(['person', 'traffic light', 'cat']);
  });
});

describe('parseConfig: history', () => {
  it('fills its defaults once the section is there, and resolves its folder against the config file', () => {
    const c = parse(`history: {}\n${CAMS}`);
    expect(c.history).toEqual({ enabled: true, path: `${BASE}/data`, retention: { days: 10, maxEvents: 100000 }, snapshots: { enabled: true, maxBytes: 1073741824, quality: 80 } });
    expect(parse(`history: { path: /var/lib/neulens }\n${CAMS}`).history?.path).toBe('/var/lib/neulens');
    expect(parse(`history: { enabled: false }\ntracker: { enabled: false }\n${CAMS}`).history?.enabled).toBe(false);
  });
});

describe('parseConfig: environment substitution', () => {
  it('substitutes ${VAR} in strings, keeping the surrounding text', () => {
    const c = parse('cameras:\n  - id: a\n    url: rtsp://${USER}:${PASS}@cam/1\n', { USER: 'admin', PASS: 's3cret' });
    expect(c.cameras[0]!.url).toBe('rtsp://admin:s3cret@cam/1');
  });

  it('uses ${VAR:-default} when VAR is unset or empty', () => {
    const text = `server: { host: "\${HOST:-0.0.0.0}" }\n${CAMS}`;
    expect(parse(text).server.host).toBe('0.0.0.0');
    expect(parse(text, { HOST: '' }).server.host).toBe('0.0.0.0');
    expect(parse(text, { HOST: '10.0.0.2' }).server.host).toBe('10.0.0.2');
  });

  it('types an unquoted whole reference by its value; a quoted one stays a string', () => {
    expect(parse(`server:\n  port: \${PORT:-9000}\n${CAMS}`).server.port).toBe(9000);
    expect(parse(`server:\n  port: \${PORT}\n${CAMS}`, { PORT: '8443' }).server.port).toBe(8443);
    expect(parse(`tracker:\n  enabled: \${TRACK}\n${CAMS}`, { TRACK: 'false' }).tracker.enabled).toBe(false);
    expect(parse(`server:\n  authToken: "\${T}"\n${CAMS}`, { T: '12345' }).server.authToken).toBe('12345');
    const e = failure(`server:\n  port: "\${PORT}"\n${CAMS}`, { PORT: '8443' });
    expect(e.path).toBe('server.port');
    expect(e.message).toContain('expected a number');
    expect(e.message).toContain('${PORT}');
  });

  it('writes a literal ${ for $${', () => {
    const c = parse(`server: { authToken: "a$\${NOT_A_VAR}b" }\n${CAMS}`);
    expect(c.server.authToken).toBe('a${NOT_A_VAR}b');
  });

  it('names the key and the variable when a variable is unset', () => {
    const e = failure('cameras:\n  - { id: a, url: rtsp://cam/a }\n  - id: b\n    url: ${CAM2_URL}\n');
    expect(e.path).toBe('cameras[1].url');
    expect(e.message).toMatch(/cameras\[1\]\.url: environment variable CAM2_URL is not set/);
  });

  it('rejects malformed references', () => {
    expect(failure(`server: { host: "\${1BAD}" }\n${CAMS}`).path).toBe('server.host');
    expect(failure(`server: { host: "\${OPEN" }\n${CAMS}`).message).toContain('unterminated');
  });
});

describe('parseConfig: every class of bad config is one ConfigError naming the key', () => {
  it.each([
    ['YAML syntax error', 'server:\n  port: [8080\ncameras: []\n', '', /neulens\.yaml:3:1: YAML syntax error/],
    ['unquoted ${} in a flow mapping', `server: { port: \${PORT} }\n${CAMS}`, '', /:1:\d+: YAML syntax error: .*quote values that use/],
    ['duplicate YAML key', `server: {}\nserver: {}\n${CAMS}`, '', /:2:1: YAML syntax error: Map keys must be unique/],
    ['empty file', '', '', /empty configuration/],
    ['top level not a mapping', '- a\n- b\n', '', /top level must be a mapping/],
    ['unknown top-level key', `servr: {}\n${CAMS}`, 'servr', /unknown key \(did you mean 'server'\?\)/],
    ['unknown nested key', `model: { minscore: 0.5 }\n${CAMS}`, 'model.minscore', /did you mean 'minScore'/],
    ['unknown viewer key', `viewer: { fsp: 5 }\n${CAMS}`, 'viewer.fsp', /unknown key \(did you mean 'fps'\?\)/],
    ['viewer fps of zero', `viewer: { fps: 0 }\n${CAMS}`, 'viewer.fps', /must be > 0/],
    ['viewer JPEG quality out of range', `viewer: { quality: 101 }\n${CAMS}`, 'viewer.quality', /must be <= 100/],
    ['unknown history key', `history: { retension: { days: 1 } }\n${CAMS}`, 'history.retension', /did you mean 'retention'/],
    ['history kept for no time', `history: { retention: { days: 0 } }\n${CAMS}`, 'history.retention.days', /must be > 0/],
    ['history snapshot cap under a MiB', `history: { snapshots: { maxBytes: 1000 } }\n${CAMS}`, 'history.snapshots.maxBytes', /must be >= 1048576/],
    ['history without the tracker', `history: {}\ntracker: { enabled: false }\n${CAMS}`, 'tracker.enabled', /must be true when history is enabled/],
    ['key of another camera kind', 'cameras:\n  - { id: a, url: clip.mp4, transport: udp }\n', 'cameras[0].transport', /only valid with kind: rtsp/],
    ['grid for a strategy without tiles', `model: { strategy: full, grid: [2, 2] }\n${CAMS}`, 'model.grid', /strategy 'full' has no tile grid/],
    ['grid written twice, differently', `model: { strategy: "arac:2x2", grid: [4, 4] }\n${CAMS}`, 'model.grid', /\[4, 4\] conflicts with the grid in strategy 'arac:2x2'/],
    ['refresh for a strategy without one', `model: { strategy: "skip-track:3", refresh: { frames: 4 } }\n${CAMS}`, 'model.refresh', /has no refresh bound/],
    ['deprecated mode contradicting the strategy', `model: { mode: full, strategy: arac }\n${CAMS}`, 'model.mode', /conflicts with strategy 'arac'/],
    ['unknown strategy', `model: { strategy: arac-turbo }\n${CAMS}`, 'model.strategy', /unknown strategy 'arac-turbo'/],
    ['bad strategy argument', `model: { strategy: "skip-track:0" }\n${CAMS}`, 'model.strategy', /skip-track '0' must be an integer >= 1/],
    ['unknown key deep inside a camera', 'cameras:\n  - { id: a, url: rtsp://x/y, reconnect: { maxDelay: 1 } }\n', 'cameras[0].reconnect.maxDelay', /unknown key/],
    ['wrong type', `server: { port: http }\n${CAMS}`, 'server.port', /expected a number, got 'http'/],
    ['non-integer', `model: { workers: 1.5 }\n${CAMS}`, 'model.workers', /expected an integer/],
    ['out of range', `server: { port: 70000 }\n${CAMS}`, 'server.port', /must be <= 65535/],
    ['bad enum', `model: { provider: tpu }\n${CAMS}`, 'model.provider', /must be one of cpu, webgpu, cuda, got 'tpu'/],
    ['bad deprecated mode', `model: { mode: tiles }\n${CAMS}`, 'model.mode', /must be one of full, arac/],
    ['refresh bound of zero frames', `model: { refresh: { frames: 0 } }\n${CAMS}`, 'model.refresh.frames', /must be >= 1/],
    ['unknown COCO class', `model: { classes: [persn] }\n${CAMS}`, 'model.classes[0]', /did you mean 'person'/],
    ['missing required cameras', 'server: {}\n', 'cameras', /required/],
    ['no cameras', 'cameras: []\n', 'cameras', /at least 1 item/],
    ['missing camera id', 'cameras:\n  - url: rtsp://x/y\n', 'cameras[0].id', /required/],
    ['missing camera url', 'cameras:\n  - id: a\n', 'cameras[0].url', /required/],
    ['bad camera id', 'cameras:\n  - { id: "front door", url: rtsp://x/y }\n', 'cameras[0].id', /letters, digits/],
    ['duplicate camera id', 'cameras:\n  - { id: a, url: rtsp://x/1 }\n  - { id: a, url: rtsp://x/2 }\n', 'cameras[1].id', /duplicate camera id 'a'.*cameras\[0\]/],
    ['unsupported url scheme', 'cameras:\n  - { id: a, url: "rtmp://x/live" }\n', 'cameras[0].url', /unsupported URL scheme 'rtmp:\/\/'/],
    ['url contradicting kind', 'cameras:\n  - { id: a, kind: rtsp, url: clip.mp4 }\n', 'cameras[0].url', /rtsp:\/\//],
    ['inputSize not a multiple of 32', `model: { inputSize: [416, 230] }\n${CAMS}`, 'model.inputSize[1]', /multiple of 32, got 230/],
    ['inputSize wrong length', 'cameras:\n  - { id: a, url: rtsp://x/y, inputSize: [320] }\n', 'cameras[0].inputSize', /exactly 2 items|at least 2 items/],
    ['lowThresh above highThresh', `tracker: { lowThresh: 0.6 }\n${CAMS}`, 'tracker.lowThresh', /must not exceed highThresh/],
    ['reconnect initial above max', 'cameras:\n  - { id: a, url: rtsp://x/y, reconnect: { initialMs: 5000, maxMs: 1000 } }\n', 'cameras[0].reconnect.initialMs', /must not exceed maxMs/],
    ['bad wsPath', `server: { wsPath: ws }\n${CAMS}`, 'server.wsPath', /must start with '\/'/],
    ['batch cap of zero', `model: { batch: { maxSize: 0 } }\n${CAMS}`, 'model.batch.maxSize', /must be >= 1/],
    ['batch cap not an integer', `model: { batch: { maxSize: 2.5 } }\n${CAMS}`, 'model.batch.maxSize', /expected an integer/],
    ['negative push timeout', `model: { batch: { timeoutMs: -1 } }\n${CAMS}`, 'model.batch.timeoutMs', /must be >= 0/],
    ['unknown batch key', `model: { batch: { maxsize: 8 } }\n${CAMS}`, 'model.batch.maxsize', /unknown key \(did you mean 'maxSize'\?\)/],
    ['budget above the unsplit model', `model: { budget: 1.5 }\n${CAMS}`, 'model.budget', /must be <= 1/],
    ['budget of zero', `model: { budget: 0 }\n${CAMS}`, 'model.budget', /must be > 0/],
    ['budget not a number', `model: { budget: third }\n${CAMS}`, 'model.budget', /expected a number/],
    ['budget for a strategy without one', `model: { strategy: "skip-track:3", budget: 0.3 }\n${CAMS}`, 'model.budget', /strategy 'skip-track:3' takes no budget/],
    ['budget written twice, differently', `model: { strategy: "arac:budget=0.3", budget: 0.5 }\n${CAMS}`, 'model.budget', /0\.5 conflicts with budget=0\.3/],
    ['bad budget in the strategy text', `model: { strategy: "arac:budget=2" }\n${CAMS}`, 'model.strategy', /budget '2' must be a fraction of the unsplit model's cost in \(0, 1\]/],
    ['camera budget for a strategy without one', `model: { strategy: full }\ncameras:\n  - { id: a, url: rtsp://x/y, budget: 0.3 }\n`, 'cameras[0].budget', /strategy 'full' takes no budget/],
    ['camera budget out of range', 'cameras:\n  - { id: a, url: rtsp://x/y, budget: -1 }\n', 'cameras[0].budget', /must be > 0/],
    ['mqtt.url not a URL', `mqtt: { url: "broker:1883" }\n${CAMS}`, 'mqtt.url', /must be an mqtt:\/\/ or mqtts:\/\/ URL/],
    ['mqtt.url of another scheme', `mqtt: { url: "http://broker" }\n${CAMS}`, 'mqtt.url', /must be an mqtt:\/\/ or mqtts:\/\/ URL, got http:/],
    ['mqtt.url with credentials', `mqtt: { url: "mqtt://me:pw@broker" }\n${CAMS}`, 'mqtt.url', /must not carry credentials: write them in mqtt.user/],
    ['mqtt without its url', `mqtt: { topicPrefix: cams }\n${CAMS}`, 'mqtt.url', /required/],
    ['unknown mqtt key', `mqtt: { url: "mqtt://b", topicprefix: x }\n${CAMS}`, 'mqtt.topicprefix', /unknown key \(did you mean 'topicPrefix'\?\)/],
    ['mqtt qos out of range', `mqtt: { url: "mqtt://b", qos: 3 }\n${CAMS}`, 'mqtt.qos', /must be one of 0, 1, 2, got 3/],
    ['mqtt topicPrefix with a wildcard', `mqtt: { url: "mqtt://b", topicPrefix: "a/#" }\n${CAMS}`, 'mqtt.topicPrefix', /without spaces, '\+', '#'/],
    ['mqtt password without user', `mqtt: { url: "mqtt://b", password: pw }\n${CAMS}`, 'mqtt.password', /needs mqtt.user/],
    ['mqtt with the tracker off', `mqtt: { url: "mqtt://b" }\ntracker: { enabled: false }\n${CAMS}`, 'tracker.enabled', /must be true when mqtt is set/],
    ['polygon of two points', 'cameras:\n  - { id: a, url: rtsp://x/y, zones: { driveway: { points: [[0, 0], [9, 9]] } } }\n', 'cameras[0].zones.driveway.points', /must have at least 3 items$/],
    ['polygon whose edges cross', 'cameras:\n  - { id: a, url: rtsp://x/y, zones: { driveway: { points: [[0, 0], [9, 9], [9, 0], [0, 9]] } } }\n', 'cameras[0].zones.driveway.points[2]', /edge points\[2\]-points\[3\] crosses edge points\[0\]-points\[1\]/],
    ['polygon on one line', 'cameras:\n  - { id: a, url: rtsp://x/y, masks: [{ points: [[0, 0], [5, 5], [9, 9]] }] }\n', 'cameras[0].masks[0].points', /encloses no area/],
    ['polygon with a repeated point', 'cameras:\n  - { id: a, url: rtsp://x/y, masks: [{ points: [[0, 0], [9, 0], [9, 0], [0, 9]] }] }\n', 'cameras[0].masks[0].points[2]', /repeats points\[1\]/],
    ['negative coordinate', 'cameras:\n  - { id: a, url: rtsp://x/y, masks: [{ points: [[0, 0], [-9, 0], [0, 9]] }] }\n', 'cameras[0].masks[0].points[1][0]', /must be >= 0, got -9/],
    ['zone named like a label', 'cameras:\n  - { id: a, url: rtsp://x/y, zones: { car: { points: [[0, 0], [9, 0], [0, 9]] } } }\n', 'cameras[0].zones.car', /must not be a label/],
    ['zone name with a space', 'cameras:\n  - { id: a, url: rtsp://x/y, zones: { "front yard": { points: [[0, 0], [9, 0], [0, 9]] } } }\n', 'cameras[0].zones["front yard"]', /letters, digits/],
    ['unknown zone key', 'cameras:\n  - { id: a, url: rtsp://x/y, zones: { drive: { points: [[0, 0], [9, 0], [0, 9]], label: car } } }\n', 'cameras[0].zones.drive.label', /unknown key/],
  ])('%s', (_name, text, path, message) => {
    const e = failure(text);
    expect(e.path).toBe(path);
    expect(e.message).toMatch(message);
    if (path) expect(e.message).toContain(`${SOURCE}: ${path}: `);
  });

  it('counts further problems without printing them', () => {
    const e = failure(`server: { port: x, host: 1 }\n${CAMS}`);
    expect(e.message).toMatch(/\(\+1 more problem\)$/);
  });
});

describe('configJsonSchema', () => {
  it('is a draft 2020-12 object schema documenting every field', () => {
    const schema = configJsonSchema() as {
      $schema: string;
      type: string;
      required: string[];
      properties: Record<string, { properties?: Record<string, { description?: string; default?: unknown }> }>;
    };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.type).toBe('object');
    expect(schema.properties).toHaveProperty('cameras');
    expect(schema.required).toEqual(['cameras']);
    const port = schema.properties.server!.properties!.port!;
    expect(port.default).toBe(8080);
    expect(port.description).toMatch(/Default: 8080/);
  });

  it('lets users omit a camera kind', () => {
    const text = JSON.stringify(configJsonSchema());
    expect(text).not.toContain('"required":["id","kind","url"]');
    expect(text).toContain('"required":["id","url"]');
  });

  it('matches the copy shipped for editors in pipelines/', async () => {
    const shipped: unknown = JSON.parse(await readFile('pipelines/neulens-config.schema.json', 'utf8'));
    // Regenerate with: neulens config schema > pipelines/neulens-config.schema.json
    expect(shipped).toEqual(configJsonSchema());
  });
});

describe('shipped pipelines', () => {
  it.each(['demo.yaml', 'eval.yaml', 'mqtt.yaml'])('pipelines/%s is valid', async (name) => {
    const c = await loadConfig(join('pipelines', name), {});
    expect(c.cameras[0]).toMatchObject({ kind: 'file', url: resolve('samples/parade.mp4') });
    expect(c.model.pack).toBe(resolve('models/nanodet-g'));
  });

  it('pipelines/rtsp-camera.yaml is valid once its variables are set', async () => {
    const env = { CAM1_URL: 'rtsp://u:p@10.0.0.1/1', CAM2_URL: 'rtsp://10.0.0.2/2', NEULENS_TOKEN: 'tok' };
    const c = await loadConfig('pipelines/rtsp-camera.yaml', env);
    expect(c.cameras.map((cam) => cam.kind)).toEqual(['rtsp', 'rtsp']);
    expect(c.server).toMatchObject({ port: 8080, authToken: 'tok' });
    await expect(loadConfig('pipelines/rtsp-camera.yaml', { ...env, CAM2_URL: undefined })).rejects.toThrow(/cameras\[1\]\.url: environment variable CAM2_URL is not set/);
  });

  it('pipelines/mqtt.yaml: a local broker, anonymous, by default; the broker and credentials from the environment', async () => {
    const plain = await loadConfig('pipelines/mqtt.yaml', {});
    expect(plain.mqtt).toMatchObject({ url: 'mqtt://127.0.0.1:1883', topicPrefix: 'neulens', homeAssistant: { discovery: true } });
    expect(plain.mqtt?.user).toBeUndefined();
    expect(plain.mqtt?.password).toBeUndefined();
    expect(Object.keys(plain.cameras[0]?.zones ?? {})).toEqual(['left_walk']);
    const withEnv = await loadConfig('pipelines/mqtt.yaml', { MQTT_URL: 'mqtts://broker.lan:8883', MQTT_USER: 'cam', MQTT_PASSWORD: 'pw' });
    expect(withEnv.mqtt).toMatchObject({ url: 'mqtts://broker.lan:8883', user: 'cam', password: 'pw' });
  });

  it('the demo clip exists', async () => {
    const mp4 = await readFile('samples/parade.mp4');
    expect(mp4.subarray(4, 8).toString('latin1')).toBe('ftyp');
  });
});

describe('neulens config (CLI)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'neulens-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    try {
      const code = await main(argv);
      return { code, out: out.join('\n'), err: err.join('\n') };
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  }

  it('validate: exits 2 with the one-line error for a bad config', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'cameras:\n  - { id: a, url: rtsp://x/1 }\n  - { id: b, url: rtsp://x/2, fsp: 5 }\n');
    const r = await run(['config', 'validate', file]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`neulens config: ${file}: cameras[1].fsp: unknown key (did you mean 'fps'?)`);
    expect(r.out).toBe('');
  });

  it('validate: exits 2 naming model.strategy when the strategy is unknown', async () => {
    const file = join(dir, 'bad-strategy.yaml');
    await writeFile(file, 'model: { strategy: arac-turbo }\ncameras:\n  - { id: a, url: rtsp://x/1 }\n');
    const r = await run(['config', 'validate', file]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/model\.strategy: unknown strategy 'arac-turbo'/);
    await writeFile(file, `model: { strategy: "skip-track:3", pack: ${JSON.stringify(PACK)} }\ncameras:\n  - { id: a, url: rtsp://x/1 }\n`);
    expect((await run(['config', 'validate', file])).code).toBe(0);
  });

  it('validate: a missing model pack is a config error naming model.pack (exit 2), as in serve', async () => {
    const file = join(dir, 'no-pack.yaml');
    await writeFile(file, 'cameras:\n  - { id: a, url: rtsp://x/1 }\n');
    const r = await run(['config', 'validate', file]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`neulens config: model.pack: model pack: ${join(dir, 'models/nanodet-g/manifest.json')}: cannot read the manifest`);
    expect(r.out).toBe('');
    const serve = await run(['serve', '--config', file]);
    expect(serve.code).toBe(2);
    expect(serve.err).toMatch(/^neulens serve: model\.pack: /);
  });

  it.each([
    ['mqtt.url not a URL', 'mqtt: { url: "broker.local:1883" }\n', /: mqtt\.url: must be an mqtt:\/\/ or mqtts:\/\/ URL, got broker\.local:\/\/$/],
    ['an unknown mqtt key', 'mqtt: { url: "mqtt://broker", qso: 1 }\n', /: mqtt\.qso: unknown key \(did you mean 'qos'\?\)$/],
    ['a polygon of two points', '', /: cameras\[0\]\.zones\.driveway\.points: must have at least 3 items$/, '    zones: { driveway: { points: [[0, 0], [100, 0]] } }\n'],
    ['a self-crossing mask', '', /: cameras\[0\]\.masks\[0\]\.points\[2\]: edge points\[2\]-points\[3\] crosses edge points\[0\]-points\[1\]/, '    masks: [{ points: [[0, 0], [100, 100], [100, 0], [0, 100]] }]\n'],
  ])('validate: exits 2 naming the key for %s', async (_name, top, message, camera = '') => {
    const file = join(dir, 'bad-mqtt-or-region.yaml');
    await writeFile(file, `${top}cameras:\n  - id: a\n    url: rtsp://x/1\n${camera}`);
    const r = await run(['config', 'validate', file]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.split('\n')).toHaveLength(1);
  });

  it('serve: a zone outside the probed frame exits 2 naming the point', async () => {
    const file = join(dir, 'zone-outside.yaml');
    const parade = resolve('samples/parade.mp4');
    await writeFile(file, `server: { port: 0 }\nmodel: { pack: ${JSON.stringify(PACK)} }\ncameras:\n  - id: a\n    url: ${JSON.stringify(parade)}\n    zones: { driveway: { points: [[0, 0], [960, 0], [961, 540], [0, 540]] } }\n`);
    const r = await run(['serve', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^neulens serve: cameras\[0\]\.zones\.driveway\.points\[2\]: \(961, 540\) lies outside the camera's 960x540 frame/);
  }, 60_000);

  it('validate: exits 2 for a missing file', async () => {
    const r = await run(['config', 'validate', join(dir, 'nope.yaml')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/nope\.yaml: cannot read config: file not found/);
  });

  it('validate: prints ok and warns about files that do not exist', async () => {
    const file = join(dir, 'good.yaml');
    await writeFile(file, `model: { pack: ${JSON.stringify(PACK)} }\ncameras:\n  - { id: a, url: rtsp://x/1 }\n  - { id: b, url: missing.mp4 }\n  - { id: c, url: gone.mp4, enabled: false }\n`);
    const r = await run(['config', 'validate', file]);
    expect(r.code).toBe(0);
    expect(r.out).toBe('ok: 3 cameras (1 disabled)');
    expect(r.err).toBe(`warning: cameras[1].url: ${join(dir, 'missing.mp4')} does not exist (yet)`);
  });

  it('show: prints the effective config with secrets redacted', async () => {
    const file = join(dir, 'secret.yaml');
    await writeFile(file, 'server: { authToken: hunter2 }\nmqtt: { url: "mqtt://broker", user: me, password: "${MQTT_PW}" }\ncameras:\n  - { id: a, url: "rtsp://admin:pw@x/1" }\n');
    const before = process.env.MQTT_PW;
    process.env.MQTT_PW = 's3cr3t-mqtt';
    try {
      const r = await run(['config', 'show', file]);
      expect(r.code).toBe(0);
      expect(r.out).toContain('clientQueue: 32');
      expect(r.out).toContain('rtsp://<redacted>@x/1');
      expect(r.out).toMatch(/mqtt:\n(?: {2}.*\n)*? {2}password: <redacted>/);
      expect(r.out).toContain('outboxSize: 1000');
      expect(r.out).not.toMatch(/hunter2|admin:pw|s3cr3t-mqtt/);
    } finally {
      if (before === undefined) delete process.env.MQTT_PW;
      else process.env.MQTT_PW = before;
    }
  });

  it('schema: prints the JSON Schema', async () => {
    const r = await run(['config', 'schema']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual(configJsonSchema());
  });

  it('exits 2 with usage for a bad subcommand', async () => {
    const r = await run(['config', 'frobnicate']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('neulens config validate');
  });
});
