// @ts-check
/**
 * The events panel (shown when the service keeps an event history): the
 * latest events, newest first, each with the crop around its object; filters
 * by camera, label and zone; older pages on demand; a click opens the
 * event's snapshot (the whole frame with its box). It polls GET /api/events
 * while the tab is visible. Pictures are fetched with the token in a header
 * (never in a URL) and shown from blob: URLs, which it revokes when they go.
 */
import { parseJson } from './connection.js';

/** @typedef {import('./wire.js').ApiEvent} ApiEvent */
/** @typedef {import('./wire.js').EventsPage} EventsPage */
/** @typedef {{ headers(): HeadersInit, refused(): Promise<string> }} TokenSource */

const POLL_MS = 2000;
const PAGE = 24;

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`viewer page: no #${id}`);
  return /** @type {T} */ (el);
}

/** @param {number} ms */
function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** @param {ApiEvent} e */
function duration(e) {
  if (e.endMs === null) return 'ongoing';
  const s = (e.endMs - e.startMs) / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export class EventsPanel {
  /** Rows shown, by event id. @type {Map<string, { el: HTMLLIElement, event: ApiEvent, thumb: string }>} */
  #rows = new Map();
  /** The blob: URL of each event's crop, keyed by id and the snapshot's frame time (a better one replaces it). @type {Map<string, string>} */
  #thumbs = new Map();
  /** Older pages asked for: their cursor, null when none is left. @type {string | null} */
  #next = null;
  #older = 0;
  #labels = new Set();
  #zones = new Set();
  #polling = false;

  /**
   * @param {TokenSource} auth
   * @param {() => string[]} cameras the cameras the page knows (for the camera filter)
   */
  constructor(auth, cameras) {
    this.auth = auth;
    this.cameras = cameras;
    this.root = byId('events');
    this.list = /** @type {HTMLOListElement} */ (byId('events-list'));
    this.more = /** @type {HTMLButtonElement} */ (byId('events-more'));
    this.count = byId('events-count');
    this.filters = {
      camera: /** @type {HTMLSelectElement} */ (byId('events-camera')),
      label: /** @type {HTMLSelectElement} */ (byId('events-label')),
      zone: /** @type {HTMLSelectElement} */ (byId('events-zone')),
    };
    this.dialog = /** @type {HTMLDialogElement} */ (byId('event-dialog'));
    this.picture = /** @type {HTMLImageElement} */ (byId('event-picture'));
    for (const select of Object.values(this.filters)) select.addEventListener('change', () => this.#restart());
    this.more.addEventListener('click', () => void this.#loadOlder());
    this.dialog.addEventListener('close', () => {
      if (this.picture.src.startsWith('blob:')) URL.revokeObjectURL(this.picture.src);
      this.picture.removeAttribute('src');
    });
  }

  /** Shows the panel and polls for as long as the page lives. */
  start() {
    this.root.hidden = false;
    if (this.#polling) return;
    this.#polling = true;
    void this.#poll();
  }

  async #poll() {
    for (;;) {
      if (!document.hidden) await this.#refresh().catch((/** @type {unknown} */ err) => console.warn('neulens: events:', err));
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** The filters as query parameters. */
  #query() {
    const q = new URLSearchParams();
    for (const [key, select] of Object.entries(this.filters)) if (select.value) q.set(key, select.value);
    return q;
  }

  /**
   * @param {URLSearchParams} q
   * @returns {Promise<EventsPage | null>} null when the server cannot answer now
   */
  async #fetchPage(q) {
    const res = await fetch(`/api/events?${q}`, { headers: this.auth.headers(), cache: 'no-store' });
    if (res.status === 401) {
      await this.auth.refused();
      return null;
    }
    if (!res.ok) {
      const body = /** @type {{ error?: string }} */ (parseJson(await res.text()));
      this.count.textContent = body.error ?? `events unavailable (${res.status})`;
      return null;
    }
    return /** @type {EventsPage} */ (parseJson(await res.text()));
  }

  /** The newest page again: new events on top, changed ones (ended, a better snapshot) updated in place. */
  async #refresh() {
    const q = this.#query();
    // One query covers every row shown, older pages included, so their rows update too.
    q.set('limit', String(Math.min(500, PAGE + this.#older)));
    const page = await this.#fetchPage(q);
    if (!page) return;
    this.#next = page.nextCursor;
    this.#show(page.events, true);
    this.#updateFilters();
  }

  async #loadOlder() {
    if (!this.#next) return;
    const q = this.#query();
    q.set('limit', String(PAGE));
    q.set('cursor', this.#next);
    const page = await this.#fetchPage(q);
    if (!page) return;
    this.#older += page.events.length;
    this.#next = page.nextCursor;
    this.#show(page.events, false);
  }

  #restart() {
    for (const id of [...this.#rows.keys()]) this.#drop(id);
    this.#older = 0;
    this.#next = null;
    void this.#refresh();
  }

  /**
   * @param {ApiEvent[]} events newest first
   * @param {boolean} all every row that should be shown (the rows it lacks were deleted, or fell off the end)
   */
  #show(events, all) {
    if (all) {
      const keep = new Set(events.map((e) => e.id));
      for (const id of [...this.#rows.keys()]) if (!keep.has(id)) this.#drop(id);
    }
    for (const e of events) {
      this.#labels.add(e.label);
      for (const z of e.zones) this.#zones.add(z);
      const row = this.#rows.get(e.id);
      if (row) this.#fill(row.el, e);
      else {
        const el = document.createElement('li');
        el.className = 'event';
        el.dataset.id = e.id;
        this.#fill(el, e);
        this.#rows.set(e.id, { el, event: e, thumb: '' });
      }
      const r = /** @type {{ el: HTMLLIElement, event: ApiEvent, thumb: string }} */ (this.#rows.get(e.id));
      r.event = e;
    }
    // Newest first, whatever order rows were made in.
    const order = [...this.#rows.values()].sort((a, b) => b.event.startMs - a.event.startMs || (a.event.id < b.event.id ? 1 : -1));
    for (const r of order) this.list.append(r.el);
    this.more.hidden = this.#next === null;
    this.count.textContent = this.#rows.size === 0 ? 'no events yet' : `${this.#rows.size} shown`;
  }

  /**
   * @param {HTMLLIElement} el
   * @param {ApiEvent} e
   */
  #fill(el, e) {
    el.dataset.label = e.label;
    el.dataset.camera = e.camera;
    el.dataset.ongoing = String(e.endMs === null);
    let button = /** @type {HTMLButtonElement | null} */ (el.querySelector('button'));
    if (!button) {
      button = document.createElement('button');
      button.type = 'button';
      button.className = 'event-open';
      const img = document.createElement('img');
      img.className = 'thumb';
      img.alt = '';
      const text = document.createElement('span');
      text.className = 'event-text';
      text.innerHTML = '<strong class="event-label"></strong><span class="event-meta"></span>';
      button.append(img, text);
      el.append(button);
      button.addEventListener('click', () => void this.#open(el.dataset.id ?? ''));
    }
    const label = /** @type {HTMLElement} */ (el.querySelector('.event-label'));
    const meta = /** @type {HTMLElement} */ (el.querySelector('.event-meta'));
    label.textContent = e.label;
    meta.textContent = `${e.camera} · ${clock(e.startMs)} · ${duration(e)} · ${e.topScore.toFixed(2)}${e.zones.length ? ` · ${e.zones.join(', ')}` : ''}`;
    button.title = `${e.label} on ${e.camera}: open its snapshot`;
    const img = /** @type {HTMLImageElement} */ (el.querySelector('img.thumb'));
    img.alt = `${e.label} on ${e.camera}`;
    void this.#thumb(e, img);
  }

  /**
   * The event's crop in its thumbnail, fetched once per snapshot.
   * @param {ApiEvent} e
   * @param {HTMLImageElement} img
   */
  async #thumb(e, img) {
    if (!e.snapshot) return;
    const key = `${e.id}@${e.snapshot.frameMs}`;
    if (this.#thumbs.has(key)) return;
    this.#thumbs.set(key, '');
    const url = await this.#blob(e.snapshot.cropUrl);
    const row = this.#rows.get(e.id);
    if (!url || !row) {
      if (url) URL.revokeObjectURL(url);
      this.#thumbs.delete(key);
      return;
    }
    if (row.thumb) URL.revokeObjectURL(row.thumb);
    for (const k of [...this.#thumbs.keys()]) if (k.startsWith(`${e.id}@`) && k !== key) this.#thumbs.delete(k);
    row.thumb = url;
    this.#thumbs.set(key, url);
    img.src = url;
  }

  /**
   * @param {string} path
   * @returns {Promise<string | null>} a blob: URL of the image, or null
   */
  async #blob(path) {
    try {
      const res = await fetch(path, { headers: this.auth.headers(), cache: 'no-store' });
      if (!res.ok) return null;
      return URL.createObjectURL(await res.blob());
    } catch {
      return null;
    }
  }

  /** @param {string} id */
  async #open(id) {
    const row = this.#rows.get(id);
    if (!row) return;
    const e = row.event;
    byId('event-title').textContent = `${e.label} on ${e.camera}`;
    byId('event-detail').textContent = `${new Date(e.startMs).toLocaleString()} · ${duration(e)} · best score ${e.topScore.toFixed(2)} · track #${e.trackId}${e.zones.length ? ` · zones: ${e.zones.join(', ')}` : ''}${e.stationaryMs > 0 ? ` · stationary ${(e.stationaryMs / 1000).toFixed(0)} s` : ''}`;
    this.picture.alt = `snapshot of ${e.label} on ${e.camera}`;
    const empty = byId('event-empty');
    empty.hidden = e.snapshot !== null;
    this.picture.hidden = e.snapshot === null;
    if (!this.dialog.open) this.dialog.showModal();
    if (!e.snapshot) return;
    const url = await this.#blob(e.snapshot.url);
    if (!url) {
      empty.hidden = false;
      this.picture.hidden = true;
      return;
    }
    if (this.picture.src.startsWith('blob:')) URL.revokeObjectURL(this.picture.src);
    this.picture.src = url;
  }

  /** @param {string} id */
  #drop(id) {
    const row = this.#rows.get(id);
    if (!row) return;
    row.el.remove();
    if (row.thumb) URL.revokeObjectURL(row.thumb);
    for (const k of [...this.#thumbs.keys()]) if (k.startsWith(`${id}@`)) this.#thumbs.delete(k);
    this.#rows.delete(id);
  }

  /** The filters' choices: the cameras the page knows, the labels and zones seen so far. */
  #updateFilters() {
    /**
     * @param {HTMLSelectElement} select
     * @param {Iterable<string>} values
     */
    const fill = (select, values) => {
      const have = new Set([...select.options].map((o) => o.value));
      for (const v of [...values].sort()) {
        if (have.has(v)) continue;
        const o = document.createElement('option');
        o.value = v;
        o.textContent = v;
        select.append(o);
      }
    };
    fill(this.filters.camera, this.cameras());
    fill(this.filters.label, this.#labels);
    fill(this.filters.zone, this.#zones);
  }
}
