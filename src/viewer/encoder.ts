/**
 * JPEG pictures of frames, with sharp (libvips). The encoding runs on libuv's
 * thread pool, never on the event loop: the main thread only copies the
 * frame's pixels and hands them over. About 2 ms of CPU for a 512x288 frame
 * on this project's 2-core machine (docs/results/viewer-cpu.txt).
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
      const { data, info } = await sharp(rgb, { raw: { width, height, channels: 3 } })
        .resize({ width: o.maxWidth, withoutEnlargement: true })
        .jpeg({ quality: o.quality })
        .toBuffer({ resolveWithObject: true });
      return { jpeg: data, width: info.width, height: info.height };
    },
  };
}
