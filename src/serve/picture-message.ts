/**
 * The binary picture message of protocol v3 (PICTURE_LAYOUT in protocol.ts):
 *
 *   [4 bytes: N, unsigned big-endian][N bytes: UTF-8 JSON PictureHeader][JPEG file]
 *
 * A length prefix rather than a separator, so a client finds the JPEG without
 * scanning it, and the header can grow fields without a new layout. The
 * browser viewer reads the same layout in src/viewer/web/connection.js.
 */
import { checkMessage, ProtocolError, type PictureHeader } from './protocol.js';

/** JPEG files start with the SOI marker. */
const JPEG_SOI = [0xff, 0xd8];

/** One binary message: the header, then the picture's bytes. */
export function encodePictureMessage(header: PictureHeader, jpeg: Uint8Array): Buffer {
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.allocUnsafe(4 + head.length + jpeg.length);
  out.writeUInt32BE(head.length, 0);
  head.copy(out, 4);
  out.set(jpeg, 4 + head.length);
  return out;
}

/**
 * Reads a binary picture message (for Node clients and the tests). Throws
 * ProtocolError naming what is wrong: length, JSON, header fields, or a body
 * that is not a JPEG. The returned `jpeg` is a view into `data`.
 */
export function decodePictureMessage(data: Uint8Array): { header: PictureHeader; jpeg: Buffer } {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < 4) throw new ProtocolError('BAD_MESSAGE', `picture: ${buf.length} bytes, shorter than its 4-byte header length`);
  const n = buf.readUInt32BE(0);
  if (4 + n > buf.length) throw new ProtocolError('BAD_MESSAGE', `picture: header length ${n} runs past the message's ${buf.length} bytes`);
  let header: unknown;
  try {
    header = JSON.parse(buf.toString('utf8', 4, 4 + n));
  } catch (err) {
    throw new ProtocolError('NOT_JSON', `picture: header is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const bad = checkMessage('picture', header);
  if (bad) throw new ProtocolError('BAD_MESSAGE', `picture: ${bad}`);
  const jpeg = buf.subarray(4 + n);
  if (jpeg.length < 2 || jpeg[0] !== JPEG_SOI[0] || jpeg[1] !== JPEG_SOI[1]) {
    throw new ProtocolError('BAD_MESSAGE', `picture: the ${jpeg.length} bytes after the header are not a JPEG file`);
  }
  return { header: header as PictureHeader, jpeg };
}
