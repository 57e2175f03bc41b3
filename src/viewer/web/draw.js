// @ts-check
/**
 * One camera's canvas: the picture, then (when asked) the frame's tile plan,
 * then the frame's boxes. Pure drawing: what to draw is decided by the card
 * (camera-card.js). Boxes and plans are in source pixels (the frame's width
 * and height); the canvas maps the whole source onto itself.
 */

/** @typedef {import('./wire.js').FrameMessage} FrameMessage */
/** @typedef {import('./wire.js').WireBox} WireBox */
/** @typedef {import('./wire.js').WirePlan} WirePlan */
/** @typedef {Extract<WirePlan, { kind: 'tiles' }>} TilesPlan */

/** Box colours: person (COCO class 0) has its own; the other classes share a palette. All saturated, and apart from the plan's cyan and amber. */
export const PERSON_COLOUR = '#ff4d6d';
export const CLASS_COLOURS = ['#4ade80', '#818cf8', '#c084fc', '#a3e635', '#60a5fa', '#e879f9', '#34d399', '#f9a8d4', '#93c5fd', '#bef264', '#d8b4fe'];

/** @param {number} classId */
export function classColour(classId) {
  if (classId === 0) return PERSON_COLOUR;
  return /** @type {string} */ (CLASS_COLOURS[(classId - 1) % CLASS_COLOURS.length]);
}

export const PLAN_STYLE = {
  computed: { fill: 'rgba(34, 211, 238, 0.14)', line: '#22d3ee', text: '#67e8f9' },
  skipped: { fill: 'rgba(2, 6, 23, 0.5)', line: 'rgba(71, 85, 105, 0.9)', text: '#cbd5e1' },
  held: { fill: 'rgba(245, 158, 11, 0.2)', line: '#f59e0b', text: '#fcd34d' },
};

/**
 * @typedef {'computed' | 'skipped' | 'held'} TileState
 * @typedef {{ x: number, y: number, w: number, h: number, state: TileState, reason: string, level: number }} PlanTile
 */

/**
 * The plan's tiles in source pixels. A skipped tile is held when a box of
 * this frame was kept from it (stale: what it showed when last computed).
 * @param {TilesPlan} plan
 * @param {readonly WireBox[]} boxes
 * @returns {PlanTile[]}
 */
export function planTiles(plan, boxes) {
  const { cols, rows } = plan.grid;
  const xs = plan.edges.x;
  const ys = plan.edges.y;
  /** @type {PlanTile[]} */
  const tiles = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const x = xs[c] ?? 0;
      const y = ys[r] ?? 0;
      const w = (xs[c + 1] ?? x) - x;
      const h = (ys[r + 1] ?? y) - y;
      const level = plan.levels[i] ?? 1;
      const skipped = level >= 1;
      const held = skipped && boxes.some((b) => b.stale && within(b.x + b.w / 2, b.y + b.h / 2, x, y, w, h));
      tiles.push({ x, y, w, h, level, state: held ? 'held' : skipped ? 'skipped' : 'computed', reason: plan.reasons?.[i] ?? '' });
    }
  }
  return tiles;
}

/**
 * @param {number} px
 * @param {number} py
 * @param {number} x
 * @param {number} y
 * @param {number} w
 * @param {number} h
 */
function within(px, py, x, y, w, h) {
  return px >= x && px < x + w && py >= y && py < y + h;
}

/**
 * @typedef {object} Scene
 * @property {CanvasImageSource | null} picture the last picture, or none yet
 * @property {FrameMessage | null} frame whose boxes (and plan) to draw over it
 * @property {boolean} plan draw the tile plan
 * @property {number} scale device pixels per CSS pixel of the drawing (sizes lines and text)
 */

/**
 * Draws the whole canvas.
 * @param {CanvasRenderingContext2D} ctx
 * @param {Scene} scene
 */
export function drawScene(ctx, scene) {
  const { width, height } = ctx.canvas;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = '#05080f';
  ctx.fillRect(0, 0, width, height);
  if (scene.picture) ctx.drawImage(scene.picture, 0, 0, width, height);
  const frame = scene.frame;
  if (!frame || frame.width <= 0 || frame.height <= 0) return;
  const sx = width / frame.width;
  const sy = height / frame.height;
  const k = scene.scale;
  if (scene.plan && frame.plan) drawPlan(ctx, frame.plan, frame.boxes, sx, sy, k);
  for (const box of frame.boxes) drawBox(ctx, box, sx, sy, k);
}

/**
 * @param {CanvasRenderingContext2D} ctx
 * @param {WirePlan} plan
 * @param {readonly WireBox[]} boxes
 * @param {number} sx
 * @param {number} sy
 * @param {number} k
 */
function drawPlan(ctx, plan, boxes, sx, sy, k) {
  if (plan.kind === 'regions') {
    if (plan.regions === 'frame') return;
    ctx.save();
    ctx.setLineDash([6 * k, 4 * k]);
    ctx.lineWidth = 1.5 * k;
    ctx.strokeStyle = PLAN_STYLE.computed.line;
    ctx.fillStyle = PLAN_STYLE.computed.fill;
    for (const r of plan.regions) {
      ctx.fillRect(r.x * sx, r.y * sy, r.w * sx, r.h * sy);
      ctx.strokeRect(r.x * sx, r.y * sy, r.w * sx, r.h * sy);
    }
    ctx.restore();
    return;
  }
  if (plan.kind !== 'tiles') return;
  const tiles = planTiles(plan, boxes);
  ctx.save();
  for (const t of tiles) {
    const st = PLAN_STYLE[t.state];
    const x = Math.round(t.x * sx);
    const y = Math.round(t.y * sy);
    const w = Math.round((t.x + t.w) * sx) - x;
    const h = Math.round((t.y + t.h) * sy) - y;
    ctx.fillStyle = st.fill;
    ctx.fillRect(x, y, w, h);
    ctx.setLineDash(t.state === 'held' ? [6 * k, 4 * k] : []);
    ctx.lineWidth = t.state === 'skipped' ? 1 * k : 2 * k;
    ctx.strokeStyle = st.line;
    const inset = ctx.lineWidth / 2;
    ctx.strokeRect(x + inset, y + inset, w - 2 * inset, h - 2 * inset);
    if (t.reason) drawTag(ctx, t.reason, x + 4 * k, y + 4 * k, k, 'rgba(5, 8, 15, 0.75)', st.text, 'ui-monospace, "DejaVu Sans Mono", monospace');
  }
  ctx.restore();
}

/**
 * @param {CanvasRenderingContext2D} ctx
 * @param {WireBox} box
 * @param {number} sx
 * @param {number} sy
 * @param {number} k
 */
function drawBox(ctx, box, sx, sy, k) {
  const colour = classColour(box.classId);
  const x = Math.round(box.x * sx);
  const y = Math.round(box.y * sy);
  const w = Math.round((box.x + box.w) * sx) - x;
  const h = Math.round((box.y + box.h) * sy) - y;
  ctx.save();
  // Three device pixels at least: the outline keeps its exact colour under anti-aliasing.
  ctx.lineWidth = Math.max(3, Math.round(2.5 * k));
  ctx.strokeStyle = colour;
  if (box.stale) ctx.setLineDash([7 * k, 5 * k]);
  ctx.strokeRect(x, y, w, h);
  ctx.restore();
  const text = `${box.label} ${Math.round(box.score * 100)}%${box.trackId !== undefined ? ` #${box.trackId}` : ''}${box.stale ? ' held' : ''}`;
  const tagH = 17 * k;
  // Above the box when there is room, else inside its top edge.
  const ty = y - tagH >= 0 ? y - tagH : y;
  drawTag(ctx, text, x - ctx.lineWidth / 2, ty, k, colour, '#0b1220', 'system-ui, "DejaVu Sans", sans-serif');
}

/**
 * A small filled label.
 * @param {CanvasRenderingContext2D} ctx
 * @param {string} text
 * @param {number} x
 * @param {number} y
 * @param {number} k
 * @param {string} bg
 * @param {string} fg
 * @param {string} family
 */
function drawTag(ctx, text, x, y, k, bg, fg, family) {
  ctx.save();
  ctx.setLineDash([]);
  ctx.font = `600 ${Math.round(12 * k)}px ${family}`;
  ctx.textBaseline = 'middle';
  const padX = 5 * k;
  const h = 17 * k;
  const w = ctx.measureText(text).width + 2 * padX;
  const left = Math.max(0, Math.min(x, ctx.canvas.width - w));
  ctx.fillStyle = bg;
  ctx.beginPath();
  ctx.roundRect(left, y, w, h, 3 * k);
  ctx.fill();
  ctx.fillStyle = fg;
  ctx.fillText(text, left + padX, y + h / 2 + 0.5 * k);
  ctx.restore();
}
