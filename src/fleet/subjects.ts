/**
 * The fleet's subjects and KV names (pure). Under the prefix (fleet.subjectPrefix):
 *
 *   <prefix>.<camera>.frames     the WebSocket frame message, as a local client gets it (JSON)
 *   <prefix>.<camera>.status     the WebSocket status message (JSON)
 *   <prefix>.<camera>.stats      the camera's /api/stats entry, its pictures' stats and its instance, every statsIntervalMs (JSON)
 *   <prefix>.<camera>.events     the MQTT event payload, with `instance` (JSON; with mqtt: only)
 *   <prefix>.<camera>.pictures   the binary WebSocket picture message, only while a gateway asks
 *   <prefix>.fleet.pictures      a gateway's wanted pictures: {gateway, cameras, ttlMs}, every second and on change
 *   <prefix>.fleet.changed       an instance released cameras or left: the others look at once
 *   <prefix>.fleet.handoff.<id>  request/reply: an instance under its share asks <id> for one camera
 *
 * Every message an instance publishes carries its id in the INSTANCE_HEADER
 * header, so that the payloads stay byte for byte what a local client gets.
 * Camera ids and instance ids are subject tokens already
 * ([A-Za-z0-9_-]), so no escaping is needed.
 */
export const INSTANCE_HEADER = 'Neulens-Instance';

export type CameraTopic = 'frames' | 'status' | 'stats' | 'events' | 'pictures';

export function cameraSubject(prefix: string, camera: string, topic: CameraTopic): string {
  return `${prefix}.${camera}.${topic}`;
}

/** Every camera's messages of one kind (a wildcard subscription). */
export function allCameras(prefix: string, topic: CameraTopic): string {
  return `${prefix}.*.${topic}`;
}

/** The camera a subject of `cameraSubject` names, or undefined. */
export function cameraOf(prefix: string, subject: string): string | undefined {
  if (!subject.startsWith(`${prefix}.`)) return undefined;
  const parts = subject.slice(prefix.length + 1).split('.');
  return parts.length === 2 ? parts[0] : undefined;
}

export const picturesDemandSubject = (prefix: string): string => `${prefix}.fleet.pictures`;
export const changedSubject = (prefix: string): string => `${prefix}.fleet.changed`;
export const handoffSubject = (prefix: string, instance: string): string => `${prefix}.fleet.handoff.${instance}`;

/** The three KV buckets of a fleet (fleet.bucket is their prefix). */
export function bucketNames(bucket: string): { leases: string; members: string; fleet: string } {
  return { leases: `${bucket}-leases`, members: `${bucket}-members`, fleet: `${bucket}-fleet` };
}

/** Keys of the <bucket>-fleet bucket: the camera list, and each camera's open events. */
export const CAMERAS_KEY = 'cameras';
export const openEventsKey = (camera: string): string => `events.${camera}`;
