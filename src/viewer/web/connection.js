// @ts-check
/**
 * The page's WebSocket: JSON text messages, and binary picture messages
 * (protocol v3: a 4-byte big-endian header length N, N bytes of JSON header,
 * then the JPEG; src/serve/picture-message.ts writes them). It reconnects
 * with capped backoff, as long as the page wants it open.
 */

/** @typedef {import('./wire.js').ServerMessage} ServerMessage */
/** @typedef {import('./wire.js').PictureHeader} PictureHeader */

/**
 * @typedef {object} ConnectionHandlers
 * @property {() => void} onOpen
 * @property {(why: string) => void} onClose
 * @property {(msg: ServerMessage) => void} onMessage
 * @property {(header: PictureHeader, jpeg: Uint8Array) => void} onPicture
 */

const RETRY_MS = { first: 500, max: 5000 };

/**
 * JSON.parse, typed as what it is: unknown until the caller says more.
 * @param {string} text
 * @returns {unknown}
 */
export function parseJson(text) {
  /** @type {unknown} */
  const value = JSON.parse(text);
  return value;
}

/**
 * Splits a binary picture message into its header and JPEG bytes (a view, not a copy).
 * @param {ArrayBuffer} data
 * @returns {{ header: PictureHeader, jpeg: Uint8Array }}
 */
export function decodePicture(data) {
  if (data.byteLength < 4) throw new Error(`picture: ${data.byteLength} bytes, shorter than its header length`);
  const n = new DataView(data).getUint32(0, false);
  if (4 + n > data.byteLength) throw new Error(`picture: header length ${n} runs past the message's ${data.byteLength} bytes`);
  const header = /** @type {PictureHeader} */ (parseJson(new TextDecoder().decode(new Uint8Array(data, 4, n))));
  if (header.type !== 'picture') throw new Error(`picture: header type ${String(header.type)}`);
  return { header, jpeg: new Uint8Array(data, 4 + n) };
}

export class Connection {
  /** @type {WebSocket | null} */
  #ws = null;
  #wanted = false;
  #retryMs = RETRY_MS.first;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #timer;

  /**
   * @param {() => string} url the WebSocket URL, asked again on every (re)connect (the token may have changed)
   * @param {ConnectionHandlers} on
   */
  constructor(url, on) {
    this.url = url;
    this.on = on;
  }

  get open() {
    return this.#ws?.readyState === WebSocket.OPEN;
  }

  start() {
    this.#wanted = true;
    if (!this.#ws) this.#connect();
  }

  /** Closes now and connects again at once (a new token). */
  restart() {
    this.stop();
    this.#retryMs = RETRY_MS.first;
    this.start();
  }

  stop() {
    this.#wanted = false;
    clearTimeout(this.#timer);
    const ws = this.#ws;
    this.#ws = null;
    ws?.close(1000, 'page closed the connection');
  }

  /** @param {object} msg */
  send(msg) {
    if (this.open) this.#ws?.send(JSON.stringify(msg));
  }

  #connect() {
    const ws = new WebSocket(this.url());
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    ws.onopen = () => {
      this.#retryMs = RETRY_MS.first;
      this.on.onOpen();
    };
    ws.onmessage = (ev) => {
      try {
        if (ev.data instanceof ArrayBuffer) {
          const { header, jpeg } = decodePicture(ev.data);
          this.on.onPicture(header, jpeg);
        } else {
          this.on.onMessage(/** @type {ServerMessage} */ (parseJson(String(ev.data))));
        }
      } catch (err) {
        // One bad message must not stop the page; it is said where a developer looks.
        console.warn('neulens: message skipped:', err);
      }
    };
    ws.onclose = (ev) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      this.on.onClose(ev.code === 1001 ? 'the server is shutting down' : 'connection lost');
      if (!this.#wanted) return;
      // Jittered so that many open pages do not all knock at once after a restart.
      const delay = this.#retryMs * (0.8 + 0.4 * Math.random());
      this.#retryMs = Math.min(RETRY_MS.max, this.#retryMs * 2);
      this.#timer = setTimeout(() => {
        if (this.#wanted && !this.#ws) this.#connect();
      }, delay);
    };
  }
}
