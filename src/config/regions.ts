/**
 * Zones and masks of a camera: polygons in source pixels, validated as
 * polygons (at least 3 points, no repeated point, edges that never cross,
 * some area) when the config is read, and against the frame once its size is
 * known (`regionOutsideFrame`, when the service has probed the source).
 *
 * Zone names become MQTT topic levels (`<prefix>/<camera>/<zone>/<label>`),
 * so they are plain words that cannot be mistaken for a label or the
 * `active` / `all` / `status` levels beside them.
 */
import { z } from 'zod';
import { COCO_LABELS } from '../core/coco.js';
import { ConfigError } from '../core/errors.js';
import { selfIntersection, type Point, type Polygon } from '../core/polygon.js';

/** A topic level names a label with '_' for its spaces ('traffic light' -> traffic_light). */
export const labelLevel = (label: string): string => label.replaceAll(' ', '_');

/** Levels of `<prefix>/<camera>/...` that mean something else than a zone. */
const RESERVED_LEVELS = new Set(['all', 'active', 'status', ...COCO_LABELS.map(labelLevel)]);

const coordinate = z.number().min(0).max(100_000);

const PointSchema = z.tuple([coordinate, coordinate]).describe('[x, y] in source pixels, top-left origin.');

function onOneLine(poly: Polygon): boolean {
  const [a, b] = poly as [Point, Point];
  return poly.every((p) => (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]) === 0);
}

export const PolygonSchema = z
  .array(PointSchema)
  .min(3)
  .max(100)
  .superRefine((points, ctx) => {
    const poly = points as Polygon;
    if (poly.length < 3) return; // min(3) says so
    for (let i = 0; i < poly.length; i++) {
      const a = poly[i] as Point;
      const j = (i + 1) % poly.length;
      const b = poly[j] as Point;
      if (a[0] === b[0] && a[1] === b[1]) {
        ctx.addIssue({ code: 'custom', path: [j], message: `repeats points[${i}] (${a[0]}, ${a[1]})` });
        return;
      }
    }
    if (onOneLine(poly)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'encloses no area (the points lie on one line)' });
      return;
    }
    const crossing = selfIntersection(poly);
    if (crossing) {
      const [e, f] = crossing;
      const edge = (k: number): string => `points[${k}]-points[${(k + 1) % poly.length}]`;
      ctx.addIssue({ code: 'custom', path: [f], message: `edge ${edge(f)} crosses edge ${edge(e)} (list the points in order around the region)` });
      return;
    }
  })
  .describe('A polygon: [[x, y], ...] in source pixels, at least 3 points in order around the region (the last joins the first); its edges must not cross.');

export const ZoneSchema = z
  .strictObject({ points: PolygonSchema })
  .describe("A named region: events say which zones an object is in (its box's bottom-centre, where it stands), and counts are published per zone.");

const zoneName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: "a zone name must be 1-64 letters, digits, '_' or '-'" })
  .refine((name) => !RESERVED_LEVELS.has(name), { error: "a zone name must not be a label or 'all', 'active', 'status' (they share its MQTT topic level)" });

export const ZonesSchema = z
  .record(zoneName, ZoneSchema)
  .describe('Zones of this camera by name, e.g. driveway: {points: [[0, 300], [400, 300], [400, 540], [0, 540]]}. Default: none.');

export const MaskSchema = z
  .strictObject({ points: PolygonSchema })
  .describe("A region to ignore: a detection whose box centre lies in it is never published (nor tracked), and arac never computes a tile that lies wholly inside it.");

export const MasksSchema = z.array(MaskSchema).max(64).describe('Masks of this camera. Default: none.');

/** What regionOutsideFrame needs of a camera's config. */
export interface CameraRegions {
  zones?: Readonly<Record<string, { points: Polygon }>> | undefined;
  masks?: readonly { points: Polygon }[] | undefined;
}

/**
 * The first zone or mask point outside a `width` x `height` frame, as the
 * ConfigError that names it (cameras[i].zones.driveway.points[2]); undefined
 * when all lie inside (the frame's edges included).
 */
export function regionOutsideFrame(cam: CameraRegions, cameraIndex: number, width: number, height: number): ConfigError | undefined {
  // Zone names are plain words (zoneName), so the dotted path needs no quoting.
  const regions: Array<[string, Polygon]> = [
    ...Object.entries(cam.zones ?? {}).map(([name, z]): [string, Polygon] => [`zones.${name}`, z.points]),
    ...(cam.masks ?? []).map((m, i): [string, Polygon] => [`masks[${i}]`, m.points]),
  ];
  for (const [where, points] of regions) {
    const i = points.findIndex(([x, y]) => x > width || y > height);
    if (i < 0) continue;
    const [x, y] = points[i] as Point;
    return new ConfigError(`cameras[${cameraIndex}].${where}.points[${i}]`, `(${x}, ${y}) lies outside the camera's ${width}x${height} frame (points are source pixels)`);
  }
  return undefined;
}
