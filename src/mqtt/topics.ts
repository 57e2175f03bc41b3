/**
 * The topic tree (pure), Frigate's layout under the configured prefix:
 *
 *   <prefix>/available                     online | offline (the last will), retained
 *   <prefix>/available/<instance>          in a fleet: that instance's online | offline (its last will), retained
 *   <prefix>/events                        one JSON message per tracked-object event
 *   <prefix>/stats                         the /api/stats body, every statsIntervalMs
 *   <prefix>/<camera>/status               the camera's state (JSON), retained
 *   <prefix>/<camera>/<label>              objects of that label now, stationary included, retained
 *   <prefix>/<camera>/<label>/active       those that are not stationary, retained
 *   <prefix>/<camera>/<zone>/<label>       the same within a zone (and .../active), retained
 *   <prefix>/<camera>/<label>/snapshot     the latest event snapshot of that label (JPEG bytes, a crop around the box), retained (history:)
 *
 * `<label>` is a COCO label with '_' for spaces (traffic_light), or `all`.
 * Zone names can be neither (config/regions.ts), so the levels never clash.
 */
import { labelLevel } from '../config/regions.js';
import type { CountKey } from '../events/counts.js';

export const availableTopic = (prefix: string): string => `${prefix}/available`;
/** In a fleet, one instance's availability (its last will): under <prefix>/available, a level no camera's topics use. */
export const instanceAvailableTopic = (prefix: string, instance: string): string => `${prefix}/available/${instance}`;
export const eventsTopic = (prefix: string): string => `${prefix}/events`;
export const statsTopic = (prefix: string): string => `${prefix}/stats`;
export const statusTopic = (prefix: string, camera: string): string => `${prefix}/${camera}/status`;

export const snapshotTopic = (prefix: string, camera: string, label: string): string => `${prefix}/${camera}/${labelLevel(label)}/snapshot`;

export function countTopic(prefix: string, camera: string, k: CountKey): string {
  return [prefix, camera, ...(k.zone === null ? [] : [k.zone]), labelLevel(k.label), ...(k.active ? ['active'] : [])].join('/');
}

/** The count a topic under `<prefix>/<camera>/` names, given the camera's zones; undefined for any other topic. */
export function parseCountTopic(prefix: string, camera: string, zones: readonly string[], topic: string): CountKey | undefined {
  const head = `${prefix}/${camera}/`;
  if (!topic.startsWith(head)) return undefined;
  const levels = topic.slice(head.length).split('/');
  const active = levels.at(-1) === 'active' && levels.length >= 2;
  if (active) levels.pop();
  const zone = levels.length === 2 ? (levels[0] as string) : null;
  if (levels.length > 2 || (zone !== null && !zones.includes(zone))) return undefined;
  const label = levels.at(-1) as string;
  if (label === 'status' && zone === null && !active) return undefined;
  // Topic levels carry '_' for a label's spaces; counts are kept by the label itself.
  return { zone, label: label.replaceAll('_', ' '), active };
}
