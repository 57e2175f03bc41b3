import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  PROTOCOL_VERSION,
  ProtocolError,
  buildFrameMessage,
  checkMessage,
  parseCameraQuery,
  parseClientMessage,
  parsePicturesQuery,
  protocolSchema,
  protocolSchemaJson,
  type ServerMessage,
} from '../../src/serve/protocol.js';
import { decodePictureMessage, encodePictureMessage } from '../../src/serve/picture-message.js';
import { checkSchema } from '../../src/core/json-schema.js';
import { NeulensError } from '../../src/core/errors.js';

function protocolError(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error('expected a ProtocolError');
}

describe('schema-check', () => {
  it('checks the keywords it claims and names the failing path', () => {
    const schema = {
      type: 'object',
      required: ['a'],
      additionalProperties: false,
      properties: { a: { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1 }, b: { enum: ['x', 'y'] } },
    };
    expect(checkSchema(schema, { a: [1, 2] })).toBeNull();
    expect(checkSchema(schema, { a: [1, -2] })).toMatch(/\$\.a\[1\]: below minimum 0/);
    expect(checkSchema(schema, { a: [1.5] })).toMatch(/\$\.a\[0\]: expected integer/);
    expect(checkSchema(schema, { a: [] })).toMatch(/fewer than 1/);
    expect(checkSchema(schema, {})).toMatch(/missing required property 'a'/);
    expect(checkSchema(schema, { a: [1], c: 1 })).toMatch(/unexpected property 'c'/);
    expect(checkSchema(schema, { a: [1], b: 'z' })).toMatch(/expected one of "x", "y"/);
    expect(checkSchema({ type: 'number' }, Number.NaN)).toMatch(/expected number/);
  });

  it('refuses keywords outside its subset rather than ignoring them', () => {
    expect(() => checkSchema({ type: 'string', pattern: '^a' }, 'a')).toThrow(/unsupported keyword 'pattern'/);
  });

  it('only uses keywords it supports across the whole published schema', () => {
    // Walks every sub-schema by validating a message of each kind.
    const samples: unknown[] = [
      { type: 'hello', version: 1, cameras: [{ id: 'a', state: 'online' }], serverTimeMs: 1 },
      { type: 'subscribe', cameras: '*' },
      { type: 'ping', id: 'x' },
    ];
    for (const s of samples) expect(checkSchema(protocolSchema, s)).toBeNull();
  });
});

describe('protocol schema', () => {
  const frame = buildFrameMessage({
    camera: 'door',
    frame: { cameraId: 'door', seq: 7, ptsMs: 233.3, captureWallMs: 1_700_000_000_000, width: 512, height: 288, srcWidth: 1920, srcHeight: 1080, data: new Uint8Array(0) },
    detections: [
      { x: 10, y: 20, w: 30, h: 40, classId: 0, label: 'person', score: 0.87, trackId: 12 },
      { x: 100, y: 200, w: 50, h: 60, classId: 2, label: 'car', score: 0.5 },
    ],
    result: { detections: [], detectorMs: 12.5, workFraction: 0.5, plan: { kind: 'tiles', grid: { cols: 2, rows: 2 }, levels: [0, 1, 1, 0], reasons: 'tiir' } },
    strategy: 'arac:2x2',
    publishedAtMs: 1_700_000_000_045,
  });

  it('buildFrameMessage puts the tile plan in source pixels, with the strategy that made it', () => {
    // 288 = 9 cells of 32: rows of 5 and 4 cells (160 and 128 input px), x1080/288.
    expect(frame.plan).toEqual({ kind: 'tiles', strategy: 'arac:2x2', grid: { cols: 2, rows: 2 }, edges: { x: [0, 960, 1920], y: [0, 600, 1080] }, levels: [0, 1, 1, 0], reasons: 'tiir' });
    const regions = buildFrameMessage({ camera: 'd', frame: { cameraId: 'd', seq: 0, ptsMs: 0, captureWallMs: 0, width: 512, height: 288, srcWidth: 1024, srcHeight: 576, data: new Uint8Array(0) }, detections: [], result: { detections: [], detectorMs: 1, workFraction: 0.2, plan: { kind: 'regions', regions: [{ x: 10, y: 20, w: 160, h: 160 }] } }, strategy: 'motion-regions', publishedAtMs: 0 });
    expect(regions.plan).toEqual({ kind: 'regions', strategy: 'motion-regions', regions: [{ x: 20, y: 40, w: 320, h: 320 }] });
    expect(checkMessage('frame', regions)).toBeNull();
  });

  it('buildFrameMessage fills latency and keeps untracked boxes free of trackId', () => {
    expect(frame.latencyMs).toBe(45);
    expect(frame.width).toBe(1920);
    expect(frame.boxes[0]!.trackId).toBe(12);
    expect('trackId' in frame.boxes[1]!).toBe(false);
  });

  it('accepts every kind of server message the types allow', () => {
    const samples: ServerMessage[] = [
      { type: 'hello', version: PROTOCOL_VERSION, cameras: [{ id: 'door', state: 'connecting' }], serverTimeMs: Date.now() },
      frame,
      { ...frame, boxes: [] },
      { type: 'status', camera: 'door', state: 'offline', error: 'RTSP 404', atMs: Date.now() },
      { type: 'error', code: 'NOT_JSON', message: 'nope' },
      { type: 'pong', id: 3, serverTimeMs: Date.now() },
    ];
    for (const m of samples) {
      expect(checkMessage('serverMessage', m), JSON.stringify(m)).toBeNull();
      expect(checkMessage(m.type, m)).toBeNull();
    }
  });

  it('rejects messages that drift from the types', () => {
    expect(checkMessage('frame', { ...frame, latencyMs: undefined })).toMatch(/expected number|missing required/);
    expect(checkMessage('frame', { ...frame, extra: 1 })).toMatch(/unexpected property 'extra'/);
    expect(checkMessage('frame', { ...frame, boxes: [{ ...frame.boxes[0], score: 1.5 }] })).toMatch(/boxes\[0\]\.score: above maximum 1/);
    expect(checkMessage('status', { type: 'status', camera: 'a', state: 'sleeping', atMs: 1 })).toMatch(/state: expected one of/);
    expect(checkMessage('serverMessage', { type: 'subscribe', cameras: '*' })).not.toBeNull();
  });

  it('a picture header carries the frame message of its own seq', () => {
    const header = { type: 'picture', camera: 'door', seq: 7, format: 'jpeg', width: 512, height: 288, frame } as const;
    expect(checkMessage('picture', header)).toBeNull();
    expect(checkMessage('picture', { ...header, format: 'png' })).toMatch(/format/);
    expect(checkMessage('picture', { ...header, frame: { ...frame, boxes: 'none' } })).toMatch(/frame\.boxes/);
    // A header is not a text message: the text schema does not take it.
    expect(checkMessage('serverMessage', header)).not.toBeNull();
  });

  it('docs/protocol.schema.json is the exported schema', async () => {
    const file = fileURLToPath(new URL('../../docs/protocol.schema.json', import.meta.url));
    const onDisk = await readFile(file, 'utf8');
    // Regenerate: npm run build && node -e "import('./dist/serve/protocol.js').then(m => m.writeProtocolSchema('docs/protocol.schema.json'))"
    expect(onDisk).toBe(protocolSchemaJson());
    expect(JSON.parse(onDisk)).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema' });
  });
});

describe('parseClientMessage', () => {
  it('accepts the three client messages', () => {
    expect(parseClientMessage('{"type":"subscribe","cameras":["a","b"]}', 4096)).toEqual({ type: 'subscribe', cameras: ['a', 'b'] });
    expect(parseClientMessage(Buffer.from('{"type":"unsubscribe","cameras":"*"}'), 4096)).toEqual({ type: 'unsubscribe', cameras: '*' });
    expect(parseClientMessage('{"type":"ping"}', 4096)).toEqual({ type: 'ping' });
    expect(parseClientMessage('{"type":"subscribe","cameras":"*","pictures":true}', 4096)).toEqual({ type: 'subscribe', cameras: '*', pictures: true });
    expect(parseClientMessage('{"type":"ping","id":"abc"}', 4096)).toEqual({ type: 'ping', id: 'abc' });
  });

  it('names what is wrong with a typed error', () => {
    const big = protocolError(() => parseClientMessage(`{"type":"ping","id":"${'x'.repeat(5000)}"}`, 4096));
    expect(big).toBeInstanceOf(NeulensError);
    expect(big.code).toBe('PROTOCOL_INVALID');
    expect(big.reason).toBe('MESSAGE_TOO_LARGE');
    expect(big.message).toMatch(/limit is 4096/);
    expect(protocolError(() => parseClientMessage('{nope', 4096)).reason).toBe('NOT_JSON');
    expect(protocolError(() => parseClientMessage('[1,2]', 4096)).reason).toBe('BAD_MESSAGE');
    expect(protocolError(() => parseClientMessage('{"type":"dance"}', 4096)).message).toMatch(/unknown message type "dance"/);
    expect(protocolError(() => parseClientMessage('{"cameras":"*"}', 4096)).reason).toBe('UNKNOWN_TYPE');
    const shape = protocolError(() => parseClientMessage('{"type":"subscribe","cameras":[""]}', 4096));
    expect(shape.reason).toBe('BAD_MESSAGE');
    expect(shape.message).toMatch(/^subscribe: /);
    expect(protocolError(() => parseClientMessage('{"type":"subscribe","cameras":[]}', 4096)).reason).toBe('BAD_MESSAGE');
    expect(protocolError(() => parseClientMessage('{"type":"subscribe","cameras":"all"}', 4096)).reason).toBe('BAD_MESSAGE');
    expect(protocolError(() => parseClientMessage('{"type":"ping","id":{}}', 4096)).reason).toBe('BAD_MESSAGE');
    expect(protocolError(() => parseClientMessage('{"type":"subscribe","cameras":"*","pictures":"yes"}', 4096)).message).toMatch(/^subscribe: .*pictures: expected boolean/);
    expect(protocolError(() => parseClientMessage('{"type":"unsubscribe","cameras":"*","pictures":true}', 4096)).message).toMatch(/unexpected property 'pictures'/);
  });

  it('parses the ?cameras= upgrade query', () => {
    expect(parseCameraQuery(null)).toBeNull();
    expect(parseCameraQuery('*')).toBe('*');
    expect(parseCameraQuery('a, b,,c')).toEqual(['a', 'b', 'c']);
    expect(protocolError(() => parseCameraQuery('')).reason).toBe('BAD_MESSAGE');
    expect(protocolError(() => parseCameraQuery('x'.repeat(200))).message).toMatch(/longer than 128/);
  });
});

describe('binary picture messages', () => {
  const frame = buildFrameMessage({
    camera: 'door',
    frame: { cameraId: 'door', seq: 41, ptsMs: 4100, captureWallMs: 1_700_000_000_000, width: 512, height: 288, srcWidth: 960, srcHeight: 540, data: new Uint8Array(0) },
    detections: [{ x: 1, y: 2, w: 3, h: 4, classId: 0, label: 'person', score: 0.9, trackId: 5 }],
    result: { detections: [], detectorMs: 9, workFraction: 0.4 },
    strategy: 'full',
    publishedAtMs: 1_700_000_000_030,
  });
  const header = { type: 'picture', camera: 'door', seq: 41, format: 'jpeg', width: 512, height: 288, frame } as const;
  // Not a whole JPEG, only its first bytes: the codec checks the marker, the browser decodes the rest.
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);

  it('round-trips: a big-endian header length, the JSON header, then the JPEG bytes', () => {
    const msg = encodePictureMessage(header, jpeg);
    const n = msg.readUInt32BE(0);
    expect(JSON.parse(msg.toString('utf8', 4, 4 + n))).toEqual(header);
    expect(msg.subarray(4 + n)).toEqual(jpeg);
    const back = decodePictureMessage(msg);
    expect(back.header).toEqual(header);
    expect(back.jpeg).toEqual(jpeg);
    // A view into a larger buffer decodes the same (ws hands out slices of its receive buffer).
    const padded = Buffer.concat([Buffer.from('xx'), msg]);
    expect(decodePictureMessage(padded.subarray(2)).header.seq).toBe(41);
  });

  it('names what is wrong with a broken message', () => {
    const msg = encodePictureMessage(header, jpeg);
    expect(protocolError(() => decodePictureMessage(msg.subarray(0, 3))).message).toMatch(/shorter than its 4-byte header length/);
    expect(protocolError(() => decodePictureMessage(msg.subarray(0, 20))).message).toMatch(/runs past the message/);
    const notJpeg = encodePictureMessage(header, Buffer.from('GIF89a'));
    expect(protocolError(() => decodePictureMessage(notJpeg)).message).toMatch(/not a JPEG file/);
    const badHeader = encodePictureMessage({ ...header, seq: -1 }, jpeg);
    expect(protocolError(() => decodePictureMessage(badHeader)).message).toMatch(/picture: .*seq/);
    const garbled = Buffer.from(msg);
    garbled.write('{{', 4);
    expect(protocolError(() => decodePictureMessage(garbled)).reason).toBe('NOT_JSON');
  });

  it('parsePicturesQuery reads ?pictures= strictly', () => {
    expect(parsePicturesQuery(null)).toBeNull();
    expect(parsePicturesQuery('1')).toBe(true);
    expect(parsePicturesQuery('true')).toBe(true);
    expect(parsePicturesQuery('0')).toBe(false);
    expect(parsePicturesQuery('false')).toBe(false);
    expect(protocolError(() => parsePicturesQuery('yes')).message).toMatch(/expected 1, true, 0 or false, got 'yes'/);
  });
});
