// @ts-check
/**
 * Small live charts: the last minute of one figure, one sample a second
 * (the page polls /api/stats once a second). A missing sample (null) leaves
 * a gap rather than a made-up line.
 */

export const HISTORY = 60;

/** A fixed-length history of samples, oldest first. */
export class Series {
  /** @type {(number | null)[]} */
  values = [];

  /** @param {number | null} v */
  push(v) {
    this.values.push(v !== null && Number.isFinite(v) ? v : null);
    if (this.values.length > HISTORY) this.values.shift();
  }

  /** @returns {number} the largest sample, or 0 */
  max() {
    let m = 0;
    for (const v of this.values) if (v !== null && v > m) m = v;
    return m;
  }
}

/**
 * @typedef {object} Line
 * @property {Series} series
 * @property {string} colour
 * @property {boolean} [fill] shade the area under it
 */

/**
 * Draws lines over a shared vertical range [0, top]; `mark` draws a dashed
 * reference level (the SLO's interval, 100 %).
 * @param {HTMLCanvasElement} canvas
 * @param {Line[]} lines
 * @param {number} top
 * @param {number} [mark]
 */
export function drawSpark(canvas, lines, top, mark) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
  const h = Math.max(1, Math.round(canvas.clientHeight * dpr));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.clearRect(0, 0, w, h);
  const pad = 2 * dpr;
  const y = (/** @type {number} */ v) => h - pad - (Math.min(v, top) / (top || 1)) * (h - 2 * pad);
  const x = (/** @type {number} */ i) => (i / (HISTORY - 1)) * w;
  ctx.fillStyle = 'rgba(34, 48, 79, 0.35)';
  ctx.fillRect(0, h - 1 * dpr, w, 1 * dpr);
  if (mark !== undefined && mark <= top) {
    ctx.strokeStyle = 'rgba(141, 160, 191, 0.45)';
    ctx.lineWidth = 1 * dpr;
    ctx.setLineDash([3 * dpr, 3 * dpr]);
    ctx.beginPath();
    ctx.moveTo(0, y(mark));
    ctx.lineTo(w, y(mark));
    ctx.stroke();
    ctx.setLineDash([]);
  }
  for (const line of lines) {
    const vals = line.series.values;
    // Right-aligned: the newest sample sits at the right edge.
    const offset = HISTORY - vals.length;
    /** @type {[number, number][][]} */
    const runs = [];
    let run = /** @type {[number, number][]} */ ([]);
    vals.forEach((v, i) => {
      if (v === null) {
        if (run.length) runs.push(run);
        run = [];
      } else {
        run.push([x(i + offset), y(v)]);
      }
    });
    if (run.length) runs.push(run);
    for (const pts of runs) {
      const first = pts[0];
      const last = pts[pts.length - 1];
      if (!first || !last) continue;
      if (line.fill) {
        ctx.beginPath();
        ctx.moveTo(first[0], h);
        for (const [px, py] of pts) ctx.lineTo(px, py);
        ctx.lineTo(last[0], h);
        ctx.closePath();
        ctx.fillStyle = `${line.colour}22`;
        ctx.fill();
      }
      ctx.beginPath();
      pts.forEach(([px, py], i) => (i ? ctx.lineTo(px, py) : ctx.moveTo(px, py)));
      ctx.strokeStyle = line.colour;
      ctx.lineWidth = 1.5 * dpr;
      ctx.lineJoin = 'round';
      ctx.stroke();
      if (pts.length === 1) {
        ctx.fillStyle = line.colour;
        ctx.fillRect(first[0] - dpr, first[1] - dpr, 2 * dpr, 2 * dpr);
      }
    }
  }
}
