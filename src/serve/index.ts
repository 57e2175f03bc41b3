/** The outputs room: WebSocket fan-out, HTTP routes, metrics and the wire protocol. */
export { createServer, type ServeHandle, type ServeOptions } from './server.js';
export { WsHub, type HubOptions, type HubStats, type HubClientStats, type ClientState } from './hub.js';
export { Metrics, type MetricsOptions } from './metrics.js';
export type { FleetStatsSection, ServedCameraStats, Readiness, StatsBody } from './routes.js';
export type { CamerasApi, EventsApi, HistoryStats } from './api-types.js';
export type { Asset, PictureStats, ViewerPageConfig, ViewerStats } from './viewer-types.js';
export * from './protocol.js';
export { encodePictureMessage, decodePictureMessage } from './picture-message.js';
