/**
 * At most `fps` pictures a second per camera, by the frames' capture times
 * (the frames' own clock, so the cap holds whatever the event loop's delays).
 *
 * The next picture is due one interval after the last one was due, so a
 * 10 fps camera capped at 5 gives every second frame even when its frames
 * come a millisecond early; a frame that comes late pushes the schedule on
 * by at most `slack`, so pictures never come in bursts: any m + 1 consecutive
 * pictures span at least m intervals less the slack.
 */
export class RateCap {
  private due = -Infinity;
  private readonly slackMs: number;

  constructor(readonly intervalMs: number) {
    this.slackMs = intervalMs / 4;
  }

  /** True when a frame captured at `tMs` may be taken (and then the next is scheduled). */
  take(tMs: number): boolean {
    if (tMs < this.due) return false;
    this.due = Math.max(this.due + this.intervalMs, tMs + this.intervalMs - this.slackMs);
    return true;
  }
}
