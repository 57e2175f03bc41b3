/**
 * Fan-out of pipeline messages to WebSocket clients. The pipeline calls
 * publish* synchronously and never waits: each client has a bounded queue
 * (drop-oldest) and we only hand bytes to a socket while its bufferedAmount is
 * under a cap, so a client that stops reading costs at most
 * maxQueue messages + maxBufferedBytes.
 *
 * Two rules end a client that stops reading. The kernel's socket buffers
 * (several MB on loopback) absorb minutes of a camera's JSON before
 * bufferedAmount moves at all, so the byte rule alone (blocked for
 * stuckTimeoutMs) fired only on floods, and a quiet reader sat there until
 * the old 30 s heartbeat, 30-55 s in all. So the hub also pings every client
 * every pongTimeoutMs / 3: a client whose ws library has not answered one
 * within pongTimeoutMs is not reading, and is terminated.
 *
 * Pictures (protocol v3) go only to clients that asked for a camera's
 * pictures, as binary messages. They are the heaviest messages and only the
 * newest matters, so each client holds at most maxQueuedPictures of them
 * (the oldest is dropped first) and a picture is dropped rather than written
 * while the socket has pictureMaxBufferedBytes unsent: a slow viewer sees
 * fewer pictures, never older ones, and never holds up its frames.
 */
import { WebSocket, type RawData } from 'ws';
import type { CameraState } from '../core/types.js';
import { SERVER_DEFAULTS } from '../config/schema.js';
import { errorMessage } from '../core/errors.js';
import { encodePictureMessage } from './picture-message.js';
import {
  PROTOCOL_VERSION,
  ProtocolError,
  parseClientMessage,
  type CameraSelection,
  type ClientMessage,
  type ErrorMessage,
  type FrameMessage,
  type HelloMessage,
  type PictureHeader,
  type PongMessage,
  type StatusMessage,
} from './protocol.js';
import { Selection } from './selection.js';

export interface HubOptions {
  /** Messages queued per client before the oldest frame is dropped. Default: config server.clientQueue's. */
  maxQueue?: number;
  /** No more is written to a socket whose bufferedAmount is at or over this. Default: config server.clientMaxBufferedBytes's. */
  maxBufferedBytes?: number;
  /** A client blocked (buffer over the cap or queue full) this long is terminated. Default: config server.clientStuckTimeoutMs's. */
  stuckTimeoutMs?: number;
  /** Client messages over this many bytes get an error reply. Default 4 KiB. */
  maxClientMessageBytes?: number;
  /** A client that answers no protocol ping for this long is terminated; pings go out every third of it. 0 disables. Default: stuckTimeoutMs. */
  pongTimeoutMs?: number;
  /** Called with the number of messages dropped for a slow client (for metrics). */
  onDropped?: (count: number) => void;
  /** Whether clients may ask for pictures (someone encodes them: config viewer.enabled). Default false. */
  pictures?: boolean;
  /** Pictures queued per client; a newer one replaces the oldest. Default 2. */
  maxQueuedPictures?: number;
  /** A picture is dropped instead of written while the socket has this many bytes unsent. Default 1 MiB. */
  pictureMaxBufferedBytes?: number;
}

/** A picture to send: the frame it shows (its boxes and plan) and the JPEG. */
export interface OutgoingPicture {
  frame: FrameMessage;
  width: number;
  height: number;
  jpeg: Uint8Array;
}

/** A picture as the binary message clients get (header with its frame, then the JPEG): a hub's clients and a fleet's subject alike. */
export function encodeOutgoingPicture(p: OutgoingPicture): Buffer {
  const header: PictureHeader = { type: 'picture', camera: p.frame.camera, seq: p.frame.seq, format: 'jpeg', width: p.width, height: p.height, frame: p.frame };
  return encodePictureMessage(header, p.jpeg);
}

export type ClientState = 'open' | 'closing' | 'closed';

export interface HubClientStats {
  id: number;
  remote: string;
  state: ClientState;
  subscribed: CameraSelection;
  /** Cameras excluded from a '*' subscription by a later unsubscribe. */
  excluded: string[];
  /** The cameras whose pictures it gets. */
  pictures: CameraSelection;
  queued: number;
  queuedBytes: number;
  dropped: number;
  sent: number;
  picturesSent: number;
  /** Pictures dropped for it (replaced by newer ones, or its socket was backed up); also counted in dropped. */
  picturesDropped: number;
  bufferedAmount: number;
  /** How long the client has been continuously blocked; 0 when it is keeping up. */
  blockedMs: number;
}

export interface HubStats {
  /** The limits each client is held to (config server.client*). */
  limits: { maxQueue: number; maxBufferedBytes: number; stuckTimeoutMs: number; pongTimeoutMs: number; maxQueuedPictures: number; pictureMaxBufferedBytes: number };
  clients: HubClientStats[];
  totals: {
    clients: number;
    connected: number;
    queued: number;
    /** Includes messages dropped for clients that have since gone. */
    dropped: number;
    sent: number;
    /** Blocked on bytes (buffer over the cap or queue full) for stuckTimeoutMs. */
    terminatedStuck: number;
    /** Answered no ping for pongTimeoutMs (not reading, or gone without a FIN). */
    terminatedDead: number;
    framesPublished: number;
    /** Pictures that had at least one client to go to. */
    picturesPublished: number;
    picturesSent: number;
    /** Includes pictures dropped for clients that have since gone. */
    picturesDropped: number;
  };
}

interface Outgoing {
  data: Buffer;
  /** Frames and pictures are dropped before control messages (status, error, pong) when a queue is full; pictures go as binary messages. */
  kind: 'control' | 'frame' | 'picture';
}

const MAX_SUBSCRIPTIONS = 1024;

class Client {
  state: ClientState = 'open';
  queue: Outgoing[] = [];
  queuedBytes = 0;
  dropped = 0;
  sent = 0;
  queuedPictures = 0;
  picturesSent = 0;
  picturesDropped = 0;
  blockedSince: number | null = null;
  /** Date.now() of the last pong (or of the connection). */
  lastPong = Date.now();
  readonly frames = new Selection(MAX_SUBSCRIPTIONS);
  /** Always within `frames`: unsubscribing a camera stops its pictures too. */
  readonly pictures = new Selection(MAX_SUBSCRIPTIONS);
  readonly closed: Promise<void>;
  onSent: () => void = () => undefined;

  constructor(
    readonly id: number,
    readonly ws: WebSocket,
    readonly remote: string,
  ) {
    this.closed = new Promise((resolve) => ws.once('close', () => resolve()));
  }

  wants(camera: string): boolean {
    return this.frames.has(camera);
  }

  wantsPicture(camera: string): boolean {
    return this.frames.has(camera) && this.pictures.has(camera);
  }
}

export class WsHub {
  private readonly maxQueue: number;
  private readonly maxBufferedBytes: number;
  private readonly stuckTimeoutMs: number;
  private readonly maxClientMessageBytes: number;
  private readonly pongTimeoutMs: number;
  private readonly onDropped: ((count: number) => void) | undefined;
  private readonly picturesEnabled: boolean;
  private readonly maxQueuedPictures: number;
  private readonly pictureMaxBufferedBytes: number;
  private readonly clients = new Set<Client>();
  private readonly cameraStates = new Map<string, CameraState>();
  private readonly timer: NodeJS.Timeout;
  private nextId = 1;
  private lastPing = Date.now();
  private closing = false;
  private totals = { connected: 0, droppedGone: 0, sentGone: 0, terminatedStuck: 0, terminatedDead: 0, framesPublished: 0, picturesPublished: 0, picturesSentGone: 0, picturesDroppedGone: 0 };

  constructor(opts: HubOptions = {}) {
    this.maxQueue = Math.max(1, opts.maxQueue ?? SERVER_DEFAULTS.clientQueue);
    this.maxBufferedBytes = Math.max(1, opts.maxBufferedBytes ?? SERVER_DEFAULTS.clientMaxBufferedBytes);
    this.stuckTimeoutMs = opts.stuckTimeoutMs ?? SERVER_DEFAULTS.clientStuckTimeoutMs;
    this.maxClientMessageBytes = opts.maxClientMessageBytes ?? 4096;
    this.pongTimeoutMs = opts.pongTimeoutMs ?? this.stuckTimeoutMs;
    this.onDropped = opts.onDropped;
    this.picturesEnabled = opts.pictures ?? false;
    this.maxQueuedPictures = Math.max(1, opts.maxQueuedPictures ?? 2);
    this.pictureMaxBufferedBytes = Math.max(1, opts.pictureMaxBufferedBytes ?? 1_048_576);
    const pingTick = this.pongTimeoutMs > 0 ? this.pongTimeoutMs / 6 : Infinity;
    const tick = Math.max(20, Math.floor(Math.min(1000, this.stuckTimeoutMs / 4, pingTick)));
    // unref: the hub must never be what keeps a finished process alive.
    this.timer = setInterval(() => this.tick(), tick).unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Records a camera's state for hello messages without notifying clients. */
  setCamera(id: string, state: CameraState): void {
    this.cameraStates.set(id, state);
  }

  /**
   * A camera the service no longer runs (removed at runtime): every client
   * is told (a status 'removed'), and hello no longer lists it. A client's
   * subscription naming it stays: if a camera of that id comes back, its
   * frames flow to that client again.
   */
  removeCamera(id: string): number {
    if (!this.cameraStates.delete(id) || this.closing) return 0;
    return this.toEveryClient(encode({ type: 'status', camera: id, state: 'removed', atMs: Date.now() } satisfies StatusMessage));
  }

  /** A control message to every open client, subscribed or not; how many it went to. */
  private toEveryClient(data: Buffer): number {
    let n = 0;
    for (const client of this.clients) {
      if (client.state !== 'open') continue;
      this.enqueue(client, data, 'control');
      n++;
    }
    return n;
  }

  cameras(): { id: string; state: CameraState }[] {
    return [...this.cameraStates].map(([id, state]) => ({ id, state }));
  }

  /** Takes ownership of an open socket: sends hello, then serves it until it closes. `pictures` applies to `cameras` (the upgrade query). */
  addClient(ws: WebSocket, opts: { cameras?: CameraSelection | null; pictures?: boolean | null; remote?: string } = {}): number {
    const client = new Client(this.nextId++, ws, opts.remote ?? 'unknown');
    if (this.closing) {
      ws.close(1001, 'server shutting down');
      return client.id;
    }
    this.totals.connected++;
    this.clients.add(client);
    // A completed write means the peer consumed bytes: that is progress, so the
    // stuck clock restarts. A slow reader that keeps draining is never terminated.
    client.onSent = () => {
      client.blockedSince = null;
      if (client.queue.length > 0) this.flush(client);
    };
    // A socket error is followed by 'close'; the listener only keeps it from being thrown.
    ws.on('error', () => undefined);
    ws.on('pong', () => {
      client.lastPong = Date.now();
    });
    ws.on('message', (data, isBinary) => this.onMessage(client, data, isBinary));
    ws.once('close', () => {
      client.state = 'closed';
      client.queue = [];
      client.queuedBytes = 0;
      client.queuedPictures = 0;
      this.clients.delete(client);
      this.totals.droppedGone += client.dropped;
      this.totals.sentGone += client.sent;
      this.totals.picturesSentGone += client.picturesSent;
      this.totals.picturesDroppedGone += client.picturesDropped;
    });
    const hello: HelloMessage = { type: 'hello', version: PROTOCOL_VERSION, cameras: this.cameras(), serverTimeMs: Date.now() };
    this.enqueue(client, encode(hello), 'control');
    if (opts.cameras) {
      this.subscribe(client, opts.cameras);
      if (opts.pictures != null) this.setPictures(client, opts.cameras, opts.pictures);
    }
    return client.id;
  }

  /**
   * Sends a frame to every client subscribed to its camera; returns how many
   * that was. `encoded`, when given, is `msg` as JSON already (a gateway
   * passes on the bytes an instance published).
   */
  publishFrame(msg: FrameMessage, encoded?: Buffer): number {
    if (this.closing) return 0;
    this.totals.framesPublished++;
    if (!this.cameraStates.has(msg.camera)) this.cameraStates.set(msg.camera, 'online');
    let data: Buffer | undefined = encoded;
    let n = 0;
    for (const client of this.clients) {
      if (client.state !== 'open' || !client.wants(msg.camera)) continue;
      data ??= encode(msg);
      this.enqueue(client, data, 'frame');
      n++;
    }
    return n;
  }

  /** Whether any client watches the camera's pictures: with none, nobody should encode them. */
  picturesWanted(camera: string): boolean {
    for (const client of this.clients) if (client.state === 'open' && client.wantsPicture(camera)) return true;
    return false;
  }

  /** How many clients watch the camera's pictures. */
  pictureWatchers(camera: string): number {
    let n = 0;
    for (const client of this.clients) if (client.state === 'open' && client.wantsPicture(camera)) n++;
    return n;
  }

  /** Sends a picture (a binary message, header then JPEG) to every client watching its camera's pictures; returns how many. */
  publishPicture(p: OutgoingPicture): number {
    return this.sendPicture(p.frame.camera, () => encodeOutgoingPicture(p));
  }

  /**
   * Sends a picture message encoded already (a gateway passes on what an
   * instance published: the same bytes a local client would get) to every
   * client watching the camera's pictures; returns how many.
   */
  publishEncodedPicture(camera: string, data: Buffer): number {
    return this.sendPicture(camera, () => data);
  }

  /** The picture to every client watching the camera's; encoded once, and only if one does. */
  private sendPicture(camera: string, encode: () => Buffer): number {
    if (this.closing) return 0;
    let data: Buffer | undefined;
    let n = 0;
    for (const client of this.clients) {
      if (client.state !== 'open' || !client.wantsPicture(camera)) continue;
      data ??= encode();
      this.enqueue(client, data, 'picture');
      n++;
    }
    if (n > 0) this.totals.picturesPublished++;
    return n;
  }

  /** The cameras whose pictures some client watches now. */
  watchedPictures(): string[] {
    const out = new Set<string>();
    for (const camera of this.cameraStates.keys()) if (this.picturesWanted(camera)) out.add(camera);
    return [...out];
  }

  /** Records the camera's state and tells every client, subscribed or not. */
  publishStatus(msg: StatusMessage): number {
    if (this.closing) return 0;
    if (msg.state === 'removed') return this.removeCamera(msg.camera);
    this.cameraStates.set(msg.camera, msg.state);
    return this.toEveryClient(encode(msg));
  }

  stats(): HubStats {
    const now = Date.now();
    const clients = [...this.clients].map((c): HubClientStats => ({
      id: c.id,
      remote: c.remote,
      state: c.state,
      ...c.frames.snapshot(),
      pictures: c.pictures.snapshot().subscribed,
      queued: c.queue.length,
      queuedBytes: c.queuedBytes,
      dropped: c.dropped,
      sent: c.sent,
      picturesSent: c.picturesSent,
      picturesDropped: c.picturesDropped,
      bufferedAmount: c.ws.bufferedAmount,
      blockedMs: c.blockedSince === null ? 0 : now - c.blockedSince,
    }));
    const sum = (f: (c: HubClientStats) => number): number => clients.reduce((a, c) => a + f(c), 0);
    return {
      limits: {
        maxQueue: this.maxQueue,
        maxBufferedBytes: this.maxBufferedBytes,
        stuckTimeoutMs: this.stuckTimeoutMs,
        pongTimeoutMs: this.pongTimeoutMs,
        maxQueuedPictures: this.maxQueuedPictures,
        pictureMaxBufferedBytes: this.pictureMaxBufferedBytes,
      },
      clients,
      totals: {
        clients: clients.length,
        connected: this.totals.connected,
        queued: sum((c) => c.queued),
        dropped: this.totals.droppedGone + sum((c) => c.dropped),
        sent: this.totals.sentGone + sum((c) => c.sent),
        terminatedStuck: this.totals.terminatedStuck,
        terminatedDead: this.totals.terminatedDead,
        framesPublished: this.totals.framesPublished,
        picturesPublished: this.totals.picturesPublished,
        picturesSent: this.totals.picturesSentGone + sum((c) => c.picturesSent),
        picturesDropped: this.totals.picturesDroppedGone + sum((c) => c.picturesDropped),
      },
    };
  }

  /**
   * Closes every client with `code`; clients that have not completed the
   * closing handshake within timeoutMs are terminated. Idempotent in effect:
   * later publishes are ignored and later clients are turned away.
   */
  async closeAll(code = 1001, reason = 'server shutting down', timeoutMs = 2000): Promise<void> {
    this.closing = true;
    clearInterval(this.timer);
    const clients = [...this.clients];
    for (const c of clients) {
      if (c.state === 'open') {
        c.state = 'closing';
        c.queue = [];
        c.queuedBytes = 0;
        c.queuedPictures = 0;
        c.ws.close(code, reason);
      }
    }
    const all = Promise.all(clients.map((c) => c.closed));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      for (const c of clients) if (c.state !== 'closed') c.ws.terminate();
      await all;
    }
  }

  private enqueue(client: Client, data: Buffer, kind: Outgoing['kind']): void {
    let dropped = 0;
    // Only the newest pictures matter: a new one replaces the oldest queued beyond the cap.
    if (kind === 'picture' && client.queuedPictures >= this.maxQueuedPictures) {
      this.remove(client, client.queue.findIndex((m) => m.kind === 'picture'));
      dropped++;
    }
    client.queue.push({ data, kind });
    client.queuedBytes += data.length;
    if (kind === 'picture') client.queuedPictures++;
    this.flush(client);
    while (client.queue.length > this.maxQueue) {
      const idx = client.queue.findIndex((m) => m.kind !== 'control');
      this.remove(client, idx === -1 ? 0 : idx);
      dropped++;
    }
    if (dropped > 0) {
      client.dropped += dropped;
      client.blockedSince ??= Date.now();
      this.onDropped?.(dropped);
    }
  }

  /** Takes one queued message out unsent (the caller counts it as dropped). */
  private remove(client: Client, idx: number): void {
    const [gone] = client.queue.splice(idx, 1);
    if (!gone) return;
    client.queuedBytes -= gone.data.length;
    if (gone.kind === 'picture') {
      client.queuedPictures--;
      client.picturesDropped++;
    }
  }

  private flush(client: Client): void {
    const ws = client.ws;
    while (client.queue.length > 0) {
      if (client.state !== 'open' || ws.readyState !== WebSocket.OPEN) return;
      if (ws.bufferedAmount >= this.maxBufferedBytes) {
        // Resumed by onSent when earlier writes drain, or by tick().
        client.blockedSince ??= Date.now();
        return;
      }
      const item = client.queue[0]!;
      if (item.kind === 'picture' && ws.bufferedAmount >= this.pictureMaxBufferedBytes) {
        // The socket is behind: this picture would arrive late, and a newer one is coming.
        this.remove(client, 0);
        client.dropped++;
        this.onDropped?.(1);
        continue;
      }
      client.queue.shift();
      client.queuedBytes -= item.data.length;
      client.sent++;
      if (item.kind === 'picture') {
        client.queuedPictures--;
        client.picturesSent++;
      }
      ws.send(item.data, { binary: item.kind === 'picture' }, client.onSent);
    }
    client.blockedSince = null;
  }

  private tick(): void {
    const now = Date.now();
    const ping = this.pongTimeoutMs > 0 && now - this.lastPing >= this.pongTimeoutMs / 3;
    if (ping) this.lastPing = now;
    for (const client of this.clients) {
      if (client.state !== 'open') continue;
      if (client.queue.length > 0) this.flush(client);
      const blocked = client.ws.bufferedAmount >= this.maxBufferedBytes || client.queue.length >= this.maxQueue;
      if (!blocked) client.blockedSince = null;
      else client.blockedSince ??= now;
      // blockedSince is reset by every completed write, so this measures time without progress.
      if (client.blockedSince !== null && now - client.blockedSince >= this.stuckTimeoutMs) {
        this.totals.terminatedStuck++;
        this.kill(client);
      } else if (this.pongTimeoutMs > 0 && now - client.lastPong >= this.pongTimeoutMs) {
        this.totals.terminatedDead++;
        this.kill(client);
      } else if (ping) {
        client.ws.ping();
      }
    }
  }

  private kill(client: Client): void {
    client.state = 'closing';
    client.queue = [];
    client.queuedBytes = 0;
    client.queuedPictures = 0;
    client.ws.terminate();
  }

  private onMessage(client: Client, data: RawData, isBinary: boolean): void {
    if (client.state !== 'open') return;
    try {
      if (isBinary) throw new ProtocolError('BINARY_NOT_SUPPORTED', 'binary messages are not accepted; send JSON text');
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      this.handle(client, parseClientMessage(buf, this.maxClientMessageBytes));
    } catch (err) {
      // Anything thrown here would surface inside ws's socket handler and take the process down.
      const reply: ErrorMessage =
        err instanceof ProtocolError
          ? { type: 'error', code: err.reason, message: err.message }
          : { type: 'error', code: 'BAD_MESSAGE', message: `message could not be handled: ${errorMessage(err)}` };
      this.enqueue(client, encode(reply), 'control');
    }
  }

  private handle(client: Client, msg: ClientMessage): void {
    switch (msg.type) {
      case 'subscribe':
        this.subscribe(client, msg.cameras);
        if (msg.pictures !== undefined) this.setPictures(client, msg.cameras, msg.pictures);
        return;
      case 'unsubscribe':
        client.frames.remove(msg.cameras);
        client.pictures.remove(msg.cameras);
        return;
      case 'ping': {
        const pong: PongMessage = { type: 'pong', serverTimeMs: Date.now() };
        if (msg.id !== undefined) pong.id = msg.id;
        this.enqueue(client, encode(pong), 'control');
        return;
      }
    }
  }

  /** Pictures on or off for cameras the client is subscribed to (the frames subscription is already applied). */
  private setPictures(client: Client, cameras: CameraSelection, on: boolean): void {
    if (!on) return client.pictures.remove(cameras);
    if (!this.picturesEnabled) {
      const reply: ErrorMessage = {
        type: 'error',
        code: 'PICTURES_DISABLED',
        message: 'this server sends no pictures (config viewer.enabled: false); the frames of the cameras are subscribed',
      };
      return this.enqueue(client, encode(reply), 'control');
    }
    client.pictures.add(cameras);
  }

  private subscribe(client: Client, cameras: CameraSelection): void {
    if (cameras !== '*') {
      // Kept all the same (a camera added later then reaches the client), but said: a typo is the usual cause.
      const unknown = cameras.filter((id) => !this.cameraStates.has(id));
      if (unknown.length > 0) {
        const known = [...this.cameraStates.keys()];
        const reply: ErrorMessage = {
          type: 'error',
          code: 'UNKNOWN_CAMERA',
          message: `no camera ${unknown.map((id) => `'${id}'`).join(', ')} (cameras: ${known.length ? known.join(', ') : 'none yet'}); subscribed anyway: frames arrive if it is added`,
          cameras: unknown,
        };
        this.enqueue(client, encode(reply), 'control');
      }
    }
    client.frames.add(cameras);
  }
}

function encode(msg: object): Buffer {
  return Buffer.from(JSON.stringify(msg));
}
