/**
 * Which zones an object is in (pure): those whose polygon holds the
 * bottom-centre of its box, the point where it stands on the ground. A
 * person whose head pokes into the driveway from the pavement is not in
 * the driveway; a car whose wheels are on it is. (Frigate uses the same
 * point.) A point on a zone's edge is in the zone.
 */
import { bottomCentre, pointInPolygon, type Polygon } from '../core/polygon.js';
import type { Box } from '../core/types.js';

export interface Zone {
  name: string;
  /** Source pixels. */
  points: Polygon;
}

/** The zones (config order) that `box` stands in. */
export function zonesOf(box: Box, zones: readonly Zone[]): string[] {
  if (zones.length === 0) return [];
  const p = bottomCentre(box);
  return zones.filter((z) => pointInPolygon(p, z.points)).map((z) => z.name);
}

/** A camera's `zones:` config (name -> points) as a list, in config order. */
export function zoneList(zones: Readonly<Record<string, { points: Polygon }>> | undefined): Zone[] {
  return Object.entries(zones ?? {}).map(([name, z]) => ({ name, points: z.points }));
}
