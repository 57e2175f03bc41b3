/** ARAC with every tile at one level: `arac-c0` (= `arac-uniform-0`), `arac-uniform-0.5:3x3`. */
import type { Frame } from '../core/types.js';
import type { Strategy, StrategyContext, StrategyResult } from './types.js';

export class AracUniformStrategy implements Strategy {
  readonly name: string;
  readonly models = 'arac' as const;

  constructor(private readonly cols = 4, private readonly rows = 4, private readonly level = 0) {
    this.name = (level === 0 ? 'arac-c0' : `arac-uniform-${level}`) + (cols === 4 && rows === 4 ? '' : `:${cols}x${rows}`);
  }

  async process(frame: Frame, ctx: StrategyContext): Promise<StrategyResult> {
    const plan = { grid: { cols: this.cols, rows: this.rows }, levels: Array<number>(this.cols * this.rows).fill(this.level) };
    const r = await ctx.detect({ data: frame.data, width: frame.width, height: frame.height, srcWidth: frame.srcWidth, srcHeight: frame.srcHeight }, 'arac', plan);
    return {
      detections: r.detections,
      detectorMs: r.inferenceMs,
      workFraction: r.arac?.workFraction ?? 1,
      plan: { kind: 'tiles', grid: plan.grid, levels: plan.levels },
    };
  }

  reset(): void {}
}
