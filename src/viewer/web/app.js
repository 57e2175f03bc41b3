// @ts-check
/**
 * The live viewer's page: one card per camera, fed by the WebSocket (states,
 * frames with their boxes and plans, and pictures) and by /api/stats once a
 * second (the figures and their charts). Pictures are asked for only while
 * they are seen: the cameras on screen (one, in the large view), none while
 * the tab is hidden; the server encodes nothing nobody watches.
 */
import { Auth } from './auth.js';
import { CameraCard } from './camera-card.js';
import { Connection, parseJson } from './connection.js';

/** @typedef {import('./wire.js').ViewerPageConfig} ViewerPageConfig */
/** @typedef {import('./wire.js').ServerMessage} ServerMessage */
/** @typedef {import('./wire.js').StatsBody} StatsBody */

const STATS_EVERY_MS = 1000;
const VIEW_KEY = 'neulens.view';

/** The page's toggles, shared by every card. */
const view = { plan: false, newest: false, paused: false };
/** @type {Map<string, CameraCard>} */
const cards = new Map();

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

const grid = byId('grid');
const template = /** @type {HTMLTemplateElement} */ (byId('camera-template'));

/** @returns {Promise<ViewerPageConfig>} */
async function pageConfig() {
  for (;;) {
    try {
      const res = await fetch('/viewer/config.json', { cache: 'no-store' });
      if (res.ok) return /** @type {ViewerPageConfig} */ (parseJson(await res.text()));
    } catch {
      // The server is (re)starting: try again.
    }
    connState('closed', 'server unreachable; retrying…');
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/**
 * @param {'connecting' | 'open' | 'closed'} state
 * @param {string} text
 */
function connState(state, text) {
  const conn = byId('conn');
  conn.dataset.state = state;
  byId('conn-text').textContent = text;
}

/** @param {string} id */
function card(id) {
  let c = cards.get(id);
  if (!c) {
    c = new CameraCard(id, template, () => view, select);
    cards.set(id, c);
    grid.append(c.el);
    grid.classList.toggle('single', cards.size === 1);
    byId('empty').hidden = true;
    document.title = `NeuLens · ${cards.size} camera${cards.size === 1 ? '' : 's'}`;
    showFocus();
  }
  return c;
}

/**
 * A camera the server no longer runs (gone from hello, or a status 'removed'): its card goes.
 * @param {string} id
 */
function dropCard(id) {
  const c = cards.get(id);
  if (!c) return;
  c.dispose();
  cards.delete(id);
  grid.classList.toggle('single', cards.size === 1);
  byId('empty').hidden = cards.size > 0;
  document.title = `NeuLens · ${cards.size} camera${cards.size === 1 ? '' : 's'}`;
  showFocus();
}

function renderAll() {
  for (const c of cards.values()) c.render();
}

/** The camera shown large, from the URL (#camera=id), so that back and reload keep it. */
function focusedId() {
  const m = /^#camera=(.+)$/.exec(location.hash);
  return m?.[1] ? decodeURIComponent(m[1]) : null;
}

/** @param {string | null} id */
function select(id) {
  location.hash = id ? `camera=${encodeURIComponent(id)}` : '';
}

/** @type {Connection | undefined} */
let connection;

/** Lays out the large view (or the grid) from the URL. */
function showFocus() {
  const id = focusedId();
  const shown = id !== null && cards.has(id);
  grid.classList.toggle('focused', shown);
  for (const c of cards.values()) c.el.classList.toggle('large', shown && c.id === id);
}

function applyFocus() {
  showFocus();
  askPictures();
}

/** Pictures of what is on screen only: the large camera, or all of them; none while the tab is hidden. */
function askPictures() {
  const conn = connection;
  if (!conn?.open) return;
  const id = focusedId();
  if (document.hidden) return conn.send({ type: 'subscribe', cameras: '*', pictures: false });
  if (id !== null && cards.has(id)) {
    conn.send({ type: 'subscribe', cameras: '*', pictures: false });
    conn.send({ type: 'subscribe', cameras: [id], pictures: true });
  } else {
    conn.send({ type: 'subscribe', cameras: '*', pictures: true });
  }
}

/** @param {ServerMessage} msg */
function onMessage(msg) {
  switch (msg.type) {
    case 'hello': {
      const listed = new Set(msg.cameras.map((c) => c.id));
      for (const id of [...cards.keys()]) if (!listed.has(id)) dropCard(id);
      for (const c of msg.cameras) card(c.id).setState(c.state);
      byId('empty').hidden = cards.size > 0;
      // The large camera may only now be known.
      askPictures();
      return;
    }
    case 'status':
      if (msg.state === 'removed') return dropCard(msg.camera);
      return card(msg.camera).setState(msg.state, msg.error);
    case 'frame':
      return card(msg.camera).onFrame(msg);
    case 'error':
      console.warn(`neulens: server says ${msg.code}: ${msg.message}`);
      return;
    case 'pong':
      return;
  }
}

/**
 * Polls /api/stats once a second for the figures; a 401 means the token went stale: ask again.
 * @param {Auth} auth
 */
async function pollStats(auth) {
  for (;;) {
    try {
      const res = await fetch('/api/stats', { headers: auth.headers(), cache: 'no-store' });
      if (res.status === 401) {
        await auth.refused();
        connection?.restart();
        continue;
      }
      if (res.ok) {
        const body = /** @type {StatsBody} */ (parseJson(await res.text()));
        for (const s of body.cameras) card(s.camera).onStats(s, body.viewer?.cameras.find((p) => p.camera === s.camera));
      }
    } catch {
      // Unreachable for a moment: the WebSocket's state says so.
    }
    await new Promise((r) => setTimeout(r, STATS_EVERY_MS));
  }
}

function bindControls() {
  const plan = /** @type {HTMLInputElement} */ (byId('plan-toggle'));
  const newest = /** @type {HTMLInputElement} */ (byId('newest-toggle'));
  const pause = byId('pause');
  /** @type {{ plan?: unknown, newest?: unknown } | null} */
  let saved = null;
  try {
    saved = /** @type {{ plan?: unknown, newest?: unknown } | null} */ (parseJson(localStorage.getItem(VIEW_KEY) ?? 'null'));
  } catch {
    // A garbled setting: the defaults.
  }
  plan.checked = view.plan = saved?.plan === true;
  newest.checked = view.newest = saved?.newest === true;
  const save = () => localStorage.setItem(VIEW_KEY, JSON.stringify({ plan: view.plan, newest: view.newest }));
  const showPlan = () => {
    document.body.classList.toggle('plan-on', view.plan);
    byId('legend').hidden = !view.plan;
  };
  showPlan();
  plan.addEventListener('change', () => {
    view.plan = plan.checked;
    showPlan();
    save();
    renderAll();
  });
  newest.addEventListener('change', () => {
    view.newest = newest.checked;
    save();
    renderAll();
  });
  pause.addEventListener('click', () => {
    view.paused = !view.paused;
    pause.setAttribute('aria-pressed', String(view.paused));
    pause.textContent = view.paused ? 'Resume' : 'Pause';
    renderAll();
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.target instanceof HTMLInputElement || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === 'Escape') select(null);
    else if (ev.key === 'p' || ev.key === 'P') plan.click();
    else if (ev.key === ' ') {
      ev.preventDefault();
      pause.click();
    }
  });
  window.addEventListener('hashchange', applyFocus);
  document.addEventListener('visibilitychange', askPictures);
}

async function main() {
  bindControls();
  const config = await pageConfig();
  const auth = new Auth(config.authRequired);
  await auth.ensure();
  const forget = byId('forget-token');
  forget.hidden = !auth.required;
  forget.addEventListener('click', () => {
    connection?.stop();
    void auth.forget().then(() => connection?.restart());
  });
  byId('empty').hidden = cards.size > 0;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  connection = new Connection(() => `${scheme}://${location.host}${config.wsPath}?cameras=*${auth.query() ? `&${auth.query()}` : ''}`, {
    onOpen: () => {
      connState('open', 'live');
      askPictures();
    },
    onClose: (why) => connState('closed', `${why}; reconnecting…`),
    onMessage,
    onPicture: (header, jpeg) => card(header.camera).onPicture(header, jpeg),
  });
  connection.start();
  void pollStats(auth);
}

main().catch((err) => {
  connState('closed', `the page failed: ${err instanceof Error ? err.message : String(err)}`);
  throw err;
});
