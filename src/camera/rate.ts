/** Event rates and recent values over a sliding time window (for /api/stats). */
export class RateMeter {
  private readonly times: number[] = [];

  constructor(private readonly windowMs = 2000, private readonly now: () => number = Date.now) {}

  mark(): void {
    this.times.push(this.now());
    this.trim();
  }

  /** Events per second over the window. */
  rate(): number {
    this.trim();
    return (this.times.length * 1000) / this.windowMs;
  }

  private trim(): void {
    const cutoff = this.now() - this.windowMs;
    while (this.times.length > 0 && (this.times[0] as number) < cutoff) this.times.shift();
  }
}

/** The last `size` samples of a value. */
export class RecentValues {
  private readonly values: number[] = [];

  constructor(private readonly size = 100) {}

  push(v: number): void {
    this.values.push(v);
    if (this.values.length > this.size) this.values.shift();
  }

  all(): readonly number[] {
    return this.values;
  }

  mean(): number {
    return this.values.length ? this.values.reduce((a, b) => a + b, 0) / this.values.length : 0;
  }
}
