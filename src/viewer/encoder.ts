/**
 * JPEG pictures of frames, with sharp (libvips). The encoding runs on libuv's
 * thread pool, never on the event loop: the main thread only copies the
 * frame's pixels and hands them over.
 *
 * Cheap on purpose, for 2-core edge machines (the parade clip's frames at
 * 512x288, quality 75, this project's machine): sharp's default JPEG took
 * 2.4-2.6 ms of CPU a picture; without a resize step when the frame is
 * already narrow enough (a no-op resize still cost about 1 ms) and without
 * Huffman table optimisation (a second pass, for 7 % fewer bytes: 12.9
 * against 12.1 kB) it takes about 1 ms. docs/results/viewer-cpu.txt has the
 * service-level figures.
 */
import sharp from 'sharp';

export interface EncodedPicture {
  jpeg: Buffer;
  /** The picture's own size (the frame's, scaled down to maxWidth). */
  width: number;
  height: number;
}

/** Turns packed RGB24 pixels into a picture; the viewer's feed owns one. */
export interface PictureEncoder {
  encode(rgb: Buffer, width: number, height: number): Promise<EncodedPicture>;
}

export interface JpegOptions {
  /** Wider frames are scaled down to this width (never up). */
  maxWidth: number;
  /** JPEG quality, 1-100. */
  quality: number;
}

/**
 * The sharp encoder. libvips' operation cache is switched off for the whole
 * process (sharp's setting is global; the viewer is its only user): every
 * picture is a new buffer, so a cache would only hold memory.
 */
export function jpegEncoder(o: JpegOptions): PictureEncoder {
  sharp.cache(false);
  return {
    async encode(rgb, width, height) {
      let image = sharp(rgb, { raw: { width, height, channels: 3 } });
      if (width > o.maxWidth) image = image.resize({ width: o.maxWidth });
      const { data, info } = await image.jpeg({ quality: o.quality, optimiseCoding: false }).toBuffer({ resolveWithObject: true });
      return { jpeg: data, width: info.width, height: info.height };
    },
  };
}
