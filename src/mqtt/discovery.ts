/**
 * Home Assistant MQTT discovery (pure): per camera and label, an occupancy
 * binary_sensor (on while the count is above 0) and a count sensor, both
 * reading the retained count topic and the service's availability. One
 * Home Assistant device per camera. Configs are retained, so Home Assistant
 * finds them whenever it starts.
 *
 * Topic: <discoveryPrefix>/<component>/<node>/<object>/config, where node is
 * the prefix and camera, object the label and the entity kind, each reduced
 * to the characters Home Assistant allows there ([A-Za-z0-9_-]).
 */
import { labelLevel } from '../config/regions.js';
import { countTopic, availableTopic } from './topics.js';

export interface DiscoveryMessage {
  topic: string;
  config: DiscoveryConfig;
}

export interface DiscoveryConfig {
  name: string;
  unique_id: string;
  state_topic: string;
  availability_topic: string;
  payload_available: 'online';
  payload_not_available: 'offline';
  device: { identifiers: string[]; name: string; manufacturer: string; model: string };
  /** binary_sensor: ON while the count is above 0. */
  value_template?: string;
  device_class?: 'occupancy';
  /** sensor: a number that is a measurement now (not a total). */
  state_class?: 'measurement';
  icon?: string;
}

const safe = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '_');

/** The two discovery configs of one camera and label (or 'all'). */
export function discoveryFor(o: { discoveryPrefix: string; topicPrefix: string; camera: string; label: string }): DiscoveryMessage[] {
  const node = safe(`${o.topicPrefix}_${o.camera}`);
  const label = labelLevel(o.label);
  const common = {
    state_topic: countTopic(o.topicPrefix, o.camera, { zone: null, label: o.label, active: false }),
    availability_topic: availableTopic(o.topicPrefix),
    payload_available: 'online' as const,
    payload_not_available: 'offline' as const,
    device: { identifiers: [node], name: o.camera, manufacturer: 'NeuLens-TS', model: 'camera' },
  };
  const what = o.label === 'all' ? 'objects' : o.label;
  return [
    {
      topic: `${o.discoveryPrefix}/binary_sensor/${node}/${safe(label)}_occupancy/config`,
      config: {
        name: `${what} occupancy`,
        unique_id: `${node}_${safe(label)}_occupancy`,
        ...common,
        value_template: "{{ 'ON' if (value | int(0)) > 0 else 'OFF' }}",
        device_class: 'occupancy',
      },
    },
    {
      topic: `${o.discoveryPrefix}/sensor/${node}/${safe(label)}_count/config`,
      config: { name: `${what} count`, unique_id: `${node}_${safe(label)}_count`, ...common, state_class: 'measurement', icon: 'mdi:counter' },
    },
  ];
}
