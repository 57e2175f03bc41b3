/**
 * What the serve room says about the viewer: its files, its page config and
 * its pictures' figures. Types only; src/viewer/ fills them, and the page
 * reads them (src/viewer/web/wire.d.ts).
 */

/** One camera's pictures (src/viewer/pictures.ts counts them). */
export interface PictureStats {
  camera: string;
  /** Encoder calls since start: every one a JPEG (or a failure). */
  encoded: number;
  /** Frames a viewer watched but that got no picture: over the fps cap, or the camera's last picture was still encoding. */
  skipped: { rate: number; busy: number };
  failed: number;
  /** Over the recent pictures, ms. */
  encodeMs: { p50: number; p95: number };
  /** Mean JPEG size over the recent pictures, bytes. */
  bytes: number;
  /** The last picture's size; 0 before the first. */
  width: number;
  height: number;
}

/** A camera's picture figures before its first picture (nobody has watched it yet). */
export function emptyPictureStats(camera: string): PictureStats {
  return { camera, encoded: 0, skipped: { rate: 0, busy: 0 }, failed: 0, encodeMs: { p50: 0, p95: 0 }, bytes: 0, width: 0, height: 0 };
}

/** The viewer's pictures: the config they follow and, per camera, who watches and what encoding cost. */
export interface ViewerStats {
  fps: number;
  maxWidth: number;
  quality: number;
  cameras: Array<PictureStats & { watchers: number }>;
}

/** What the page reads before it connects (GET /viewer/config.json, open: it holds no secret). */
export interface ViewerPageConfig {
  wsPath: string;
  /** The WebSocket and /api/stats need the token: the page asks for it. */
  authRequired: boolean;
  protocol: number;
  pictures: { fps: number; maxWidth: number };
  /** The service keeps an event history (GET /api/events): the page shows its events panel. */
  events: boolean;
}

/** One file of the viewer's page, served from memory (src/viewer/assets.ts reads them). */
export interface Asset {
  body: Buffer;
  type: string;
  /** A strong validator: the page's files change only with the installed version. */
  etag: string;
}
