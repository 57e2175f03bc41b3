/** Configuration: schema, types, loading. See pipelines/*.yaml for commented examples. */
export { loadConfig, parseConfig, readConfigText, type Env, type ParseOptions } from './load.js';
export {
  ConfigSchema,
  CamerasSchema,
  configJsonSchema,
  cameraKindOf,
  cameraStrategy,
  type CameraConfig,
  type CameraKind,
  type Config,
  type ConfigInput,
  type FileCameraConfig,
  type HistoryConfig,
  type HttpCameraConfig,
  type LogLevel,
  type FleetConfig,
  type ModelConfig,
  type MqttConfig,
  type ReconnectConfig,
  type RtspCameraConfig,
  type ServerConfig,
  type TrackerConfig,
  type ViewerConfig,
} from './schema.js';
export { FLEET_DEFAULTS, FleetSchema, fleetInstanceId, natsUrlProblem, resolveFleet, type ResolvedFleetConfig } from './fleet.js';
export { COCO_LABELS, type CocoLabel } from '../core/coco.js';
