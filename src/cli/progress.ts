/** A one-line progress bar on a TTY (stderr); silent when stderr is not a terminal. */
export interface Progress {
  tick(n?: number, note?: string): void;
  /** Jump to an absolute position (and total, which may grow). */
  set(n: number, total: number, note?: string): void;
  done(): void;
}

export function progressBar(label: string, initialTotal: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  let total = initialTotal;
  let n = 0;
  const start = Date.now();
  let last = 0;
  const tty = stream.isTTY === true;
  const draw = (note = '') => {
    const width = 30;
    const frac = total > 0 ? Math.min(1, n / total) : 1;
    const fill = Math.round(frac * width);
    const secs = (Date.now() - start) / 1000;
    const eta = frac > 0 ? secs / frac - secs : 0;
    stream.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${n}/${total} ${secs.toFixed(0)}s eta ${eta.toFixed(0)}s ${note}`.padEnd(100).slice(0, 100));
  };
  return {
    tick(k = 1, note) {
      n += k;
      const now = Date.now();
      if (tty && (now - last > 100 || n >= total)) {
        last = now;
        draw(note);
      }
    },
    set(k, t, note) {
      n = k;
      total = t;
      const now = Date.now();
      if (tty && (now - last > 100 || n >= total)) {
        last = now;
        draw(note);
      }
    },
    done() {
      if (tty) stream.write('\n');
    },
  };
}

/** Sleeps `seconds`, ticking the bar once a second (benchmarks' measured windows). */
export async function tickFor(seconds: number, bar: Progress, note: string): Promise<void> {
  for (let s = 0; s < seconds; s++) {
    await new Promise((r) => setTimeout(r, 1000));
    bar.tick(1, note);
  }
}
