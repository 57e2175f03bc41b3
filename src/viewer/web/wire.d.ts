/**
 * The types the page reads off the wire, taken from the server's own
 * protocol and routes so that the page cannot drift from them. Types only:
 * the browser never loads this file (nor the server serves it).
 */
export type { ErrorMessage, FrameMessage, HelloMessage, PictureHeader, ServerMessage, StatusMessage, WireBox, WirePlan } from '../../serve/protocol.js';
export type { ServedCameraStats, StatsBody } from '../../serve/routes.js';
export type { ApiEvent, EventsPage } from '../../serve/api-types.js';
export type { ViewerPageConfig, ViewerStats } from '../../serve/viewer-types.js';
export type { CameraState } from '../../core/types.js';
