// @ts-check
/**
 * One camera on the page: its state, its last picture with the boxes of the
 * same frame (or, when asked, the newest frame's boxes, saying how far they
 * are ahead of the picture), the tile plan on demand, and a minute of its
 * figures. It owns its canvas, its decoded pictures and its resize observer.
 */
import { drawSpark, Series } from './charts.js';
import { drawScene, planTiles } from './draw.js';

/** @typedef {import('./wire.js').FrameMessage} FrameMessage */
/** @typedef {import('./wire.js').PictureHeader} PictureHeader */
/** @typedef {import('./wire.js').ServedCameraStats} ServedCameraStats */
/** @typedef {import('./wire.js').ViewerStats['cameras'][number]} PictureStats */
/** @typedef {import('./wire.js').CameraState} CameraState */
/** @typedef {{ plan: boolean, newest: boolean, paused: boolean }} View */
/** @typedef {{ bitmap: ImageBitmap, header: PictureHeader }} Picture */

const STATE_TEXT = { connecting: 'connecting', online: 'online', offline: 'offline', stopped: 'stopped' };

export class CameraCard {
  /** @type {CameraState} */
  state = 'connecting';
  error = '';
  /** @type {Picture | null} */
  #picture = null;
  /** @type {FrameMessage | null} */
  #frame = null;
  /** What the canvas shows: frozen while paused. @type {{ picture: Picture | null, frame: FrameMessage | null }} */
  #shown = { picture: null, frame: null };
  /** Newest seq handed to the decoder: an older picture that decodes later is dropped. */
  #decoding = -1;
  /** Arrival times of the last pictures, for the rate this page receives. @type {number[]} */
  #arrivals = [];
  #series = { fpsIn: new Series(), fpsDone: new Series(), slo: new Series(), e2e: new Series(), work: new Series() };
  #resize;

  /**
   * @param {string} id
   * @param {HTMLTemplateElement} template
   * @param {() => View} view the page's toggles
   * @param {(id: string | null) => void} select shows this camera large (or, with null, all again)
   */
  constructor(id, template, view, select) {
    this.id = id;
    this.view = view;
    const root = /** @type {DocumentFragment} */ (template.content.cloneNode(true));
    this.el = /** @type {HTMLElement} */ (root.firstElementChild);
    this.el.dataset.camera = id;
    this.canvas = /** @type {HTMLCanvasElement} */ (this.#q('canvas.picture'));
    const ctx = this.canvas.getContext('2d');
    if (!ctx) throw new Error('this browser gives no 2D canvas');
    this.ctx = ctx;
    this.#q('.cam-name').textContent = id;
    this.#q('.cam-name').addEventListener('click', () => select(this.large ? null : id));
    this.#q('.stage').addEventListener('click', () => select(this.large ? null : id));
    this.#q('.close-large').addEventListener('click', () => select(null));
    this.#resize = new ResizeObserver(() => this.#fit());
    this.#resize.observe(this.canvas);
    this.#showState();
  }

  get large() {
    return this.el.classList.contains('large');
  }

  /**
   * @param {CameraState} state
   * @param {string} [error]
   */
  setState(state, error) {
    this.state = state;
    if (error !== undefined) this.error = error;
    else if (state === 'online') this.error = '';
    this.#showState();
  }

  /** @param {FrameMessage} msg */
  onFrame(msg) {
    this.#frame = msg;
    if (this.state !== 'online') this.setState('online');
    // In sync mode a frame without its picture changes nothing on screen.
    if (this.view().newest) this.render();
  }

  /**
   * @param {PictureHeader} header
   * @param {Uint8Array} jpeg
   */
  onPicture(header, jpeg) {
    const now = performance.now();
    this.#arrivals.push(now);
    while (this.#arrivals.length > 0 && /** @type {number} */ (this.#arrivals[0]) < now - 3000) this.#arrivals.shift();
    this.#decoding = header.seq;
    createImageBitmap(new Blob([/** @type {Uint8Array<ArrayBuffer>} */ (jpeg)], { type: 'image/jpeg' })).then(
      (bitmap) => {
        // A later picture was handed over meanwhile (decodes may finish out of order).
        if (header.seq !== this.#decoding) return bitmap.close();
        const old = this.#picture;
        this.#picture = { bitmap, header };
        if (old && old !== this.#shown.picture) old.bitmap.close();
        this.render();
      },
      (err) => console.warn(`neulens: picture ${header.camera} #${header.seq} not decoded:`, err),
    );
  }

  /**
   * One /api/stats sample.
   * @param {ServedCameraStats} s
   * @param {PictureStats | undefined} pictures
   */
  onStats(s, pictures) {
    if (s.state !== this.state || (s.state === 'offline' && !this.error)) this.setState(s.state, s.state === 'offline' ? (s.lastError ?? this.error) : undefined);
    const ser = this.#series;
    ser.fpsIn.push(s.fpsIn);
    ser.fpsDone.push(s.fpsProcessed);
    ser.slo.push(s.sloAttainment);
    ser.e2e.push(s.processed > 0 ? s.e2eMs.p50 : null);
    ser.work.push(s.processed > 0 ? s.workFraction : null);
    const interval = 1000 / s.sloFps;
    this.#metric('fps', `${s.fpsIn.toFixed(1)} <small>/ ${s.fpsProcessed.toFixed(1)}</small>`, `${s.fpsIn.toFixed(1)} fps in from the source, ${s.fpsProcessed.toFixed(1)} processed; the SLO rate is ${s.sloFps.toFixed(1)} fps`);
    const slo = s.sloAttainment;
    this.#metric('slo', slo === null ? '–' : `${Math.round(slo * 100)}%`, `published within ${interval.toFixed(0)} ms of capture, last 10 s`, slo === null ? '' : slo >= 0.9 ? 'good' : slo >= 0.7 ? 'fair' : 'poor');
    const p50 = s.e2eMs.p50;
    this.#metric('e2e', s.processed ? `${Math.round(p50)} <small>ms</small>` : '–', `capture to publish: median ${Math.round(p50)} ms, p95 ${Math.round(s.e2eMs.p95)} ms (the SLO allows ${interval.toFixed(0)} ms)`, !s.processed ? '' : p50 <= interval ? 'good' : p50 <= 2 * interval ? 'fair' : 'poor');
    this.#metric('work', s.processed ? `${Math.round(s.workFraction * 100)}%` : '–', 'model work per frame against the unsplit model on the whole frame');
    drawSpark(this.#spark('fps'), [{ series: ser.fpsIn, colour: '#8da0bf' }, { series: ser.fpsDone, colour: '#22d3ee', fill: true }], Math.max(s.sloFps * 1.2, ser.fpsIn.max(), ser.fpsDone.max()));
    drawSpark(this.#spark('slo'), [{ series: ser.slo, colour: '#4ade80', fill: true }], 1);
    drawSpark(this.#spark('e2e'), [{ series: ser.e2e, colour: '#c084fc', fill: true }], Math.max(2 * interval, ser.e2e.max() * 1.1), interval);
    drawSpark(this.#spark('work'), [{ series: ser.work, colour: '#f472b6', fill: true }], Math.max(1, ser.work.max()), 1);
    const parts = [s.input.strategy, `${s.input.width}×${s.input.height}`];
    if (pictures && pictures.encoded > 0) {
      const rate = this.#arrivals.length > 1 ? ((this.#arrivals.length - 1) * 1000) / (performance.now() - /** @type {number} */ (this.#arrivals[0])) : 0;
      parts.push(`pictures ${rate.toFixed(1)} fps · ${(pictures.bytes / 1024).toFixed(0)} kB · ${pictures.encodeMs.p50.toFixed(1)} ms`);
    }
    this.#q('.cam-sub').textContent = parts.join(' · ');
  }

  /** Draws what the view asks for; while paused, what was last shown (the toggles still apply). */
  render() {
    const view = this.view();
    if (!view.paused) {
      const prev = this.#shown.picture;
      const picture = this.#picture;
      /** @type {FrameMessage | null} */
      let frame = picture ? picture.header.frame : this.#frame;
      if (view.newest && this.#frame && (!frame || this.#frame.seq > frame.seq)) frame = this.#frame;
      this.#shown = { picture, frame };
      if (prev && prev !== picture && prev !== this.#picture) prev.bitmap.close();
    }
    const { picture, frame } = this.#shown;
    if (picture) this.#aspect(picture.header.frame.width, picture.header.frame.height);
    const dpr = window.devicePixelRatio || 1;
    const css = this.canvas.clientWidth || 480;
    drawScene(this.ctx, { picture: picture?.bitmap ?? null, frame, plan: view.plan, scale: dpr * Math.min(1.5, Math.max(0.9, css / 520)) });
    this.canvas.dataset.seq = picture ? String(picture.header.seq) : '';
    this.canvas.dataset.boxesSeq = frame ? String(frame.seq) : '';
    this.canvas.dataset.plan = view.plan ? 'on' : 'off';
    this.canvas.setAttribute('aria-label', describe(this.id, frame));
    this.#badge(view, picture, frame);
    this.#planInfo(view, frame);
    this.#showState();
  }

  dispose() {
    this.#resize.disconnect();
    this.#picture?.bitmap.close();
    if (this.#shown.picture && this.#shown.picture !== this.#picture) this.#shown.picture.bitmap.close();
    this.el.remove();
  }

  /**
   * @param {View} view
   * @param {Picture | null} picture
   * @param {FrameMessage | null} frame
   */
  #badge(view, picture, frame) {
    const badge = this.#q('.badge');
    badge.className = 'badge';
    if (!picture || !frame) return void (badge.textContent = '');
    const ahead = frame.seq - picture.header.seq;
    if (view.paused) {
      badge.classList.add('paused');
      badge.textContent = `paused · frame #${picture.header.seq}${ahead > 0 ? `, boxes +${ahead}` : ''}`;
    } else if (ahead > 0) {
      badge.classList.add('ahead');
      badge.textContent = `boxes ${ahead} frame${ahead === 1 ? '' : 's'} newer than the picture`;
    } else {
      badge.textContent = `frame #${picture.header.seq} · boxes in sync`;
    }
  }

  /**
   * @param {View} view
   * @param {FrameMessage | null} frame
   */
  #planInfo(view, frame) {
    const info = this.#q('.plan-info');
    const plan = frame?.plan;
    if (!view.plan || !frame) return void (info.textContent = '');
    if (!plan) return void (info.textContent = 'No plan: the whole frame runs every frame (strategy full).');
    if (plan.kind === 'tiles') {
      const tiles = planTiles(plan, frame.boxes);
      const computed = tiles.filter((t) => t.state === 'computed').length;
      const held = tiles.filter((t) => t.state === 'held').length;
      const ms = (/** @type {number | undefined} */ v) => (v === undefined ? '?' : v.toFixed(1));
      const budget = plan.predictedMs !== undefined ? ` · predicted <b>${ms(plan.predictedMs)} ms</b> of a ${ms(plan.budgetMs)} ms budget` : '';
      const dropped = plan.dropped ? ' · <span class="dropped">no plan fit the budget: tracker predictions shown</span>' : '';
      info.innerHTML = `${escape(plan.strategy)}: <b>${computed}</b> of ${tiles.length} tiles computed, ${held} held${budget}${dropped}`;
    } else if (plan.kind === 'regions') {
      info.textContent = `${plan.strategy}: ${plan.regions === 'frame' ? 'the whole frame' : `${plan.regions.length} region${plan.regions.length === 1 ? '' : 's'}`}${plan.why ? ` (${plan.why})` : ''}`;
    } else if (plan.kind === 'downscale') {
      info.textContent = `${plan.strategy}: ran at ${plan.input.width}×${plan.input.height}`;
    } else {
      info.textContent = `${plan.strategy}: ${plan.detected ? 'the detector ran' : "tracker predictions (the detector skipped this frame)"}`;
    }
  }

  #showState() {
    this.el.dataset.state = this.state;
    this.#q('.state').textContent = STATE_TEXT[this.state];
    const msg = this.#q('.stage-msg');
    const title = this.#q('.stage-title');
    const detail = this.#q('.stage-detail');
    let t = '';
    let d = '';
    if (this.state === 'offline') {
      t = 'offline';
      d = this.error || 'the source is down; reconnecting';
    } else if (this.state === 'stopped') {
      t = 'stopped';
      d = this.error || 'the source ended';
    } else if (!this.#shown.picture) {
      t = this.state === 'connecting' ? 'connecting…' : 'waiting for the first picture…';
      d = this.error;
    }
    title.textContent = t;
    detail.textContent = d;
    msg.classList.toggle('shown', t !== '');
  }

  /** Canvas backing store: the CSS size times the device pixel ratio, for crisp boxes and text. */
  #fit() {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(this.canvas.clientWidth * dpr));
    const h = Math.max(1, Math.round(this.canvas.clientHeight * dpr));
    if (this.canvas.width === w && this.canvas.height === h) return;
    this.canvas.width = w;
    this.canvas.height = h;
    this.render();
  }

  /**
   * @param {number} w
   * @param {number} h
   */
  #aspect(w, h) {
    const ratio = `${w} / ${h}`;
    if (this.canvas.style.aspectRatio === ratio) return;
    this.canvas.style.aspectRatio = ratio;
    this.#q('.frame').style.setProperty('--ar', String(w / h));
  }

  /**
   * @param {string} name
   * @param {string} html
   * @param {string} title
   * @param {string} [level]
   */
  #metric(name, html, title, level = '') {
    const m = this.#q(`.metric[data-metric="${name}"]`);
    const dd = /** @type {HTMLElement} */ (m.querySelector('dd'));
    dd.innerHTML = html;
    m.title = title;
    if (level) m.dataset.level = level;
    else delete m.dataset.level;
  }

  /** @param {string} name */
  #spark(name) {
    return /** @type {HTMLCanvasElement} */ (this.#q(`.metric[data-metric="${name}"] canvas.spark`));
  }

  /**
   * @param {string} selector
   * @returns {HTMLElement}
   */
  #q(selector) {
    const el = this.el.querySelector(selector);
    if (!(el instanceof HTMLElement)) throw new Error(`camera card: no ${selector}`);
    return el;
  }
}

/**
 * What the canvas shows, in words (its accessible name).
 * @param {string} id
 * @param {FrameMessage | null} frame
 */
function describe(id, frame) {
  if (!frame) return `${id}: no picture yet`;
  const objects = frame.boxes.map((b) => `${b.label} ${Math.round(b.score * 100)}%${b.trackId !== undefined ? ` #${b.trackId}` : ''}${b.stale ? ' (held)' : ''}`);
  return `${id}, frame ${frame.seq}: ${objects.length ? objects.join(', ') : 'nothing detected'}`;
}

/** @param {string} s */
function escape(s) {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
