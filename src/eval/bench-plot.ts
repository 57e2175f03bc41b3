/** The bench figure: accuracy vs detector latency (Pareto fronts per video) beside the latency CDFs. */
import path from 'node:path';
import { accuracyLatencyPlot, combineSvgs, latencyCdfPlot } from './plot.js';
import type { Report, RunRecord } from './report.js';

/** A strategy's family: its name without a budget, so one strategy at several budgets is one curve. */
export function strategyFamily(strategy: string): { family: string; budgeted: boolean } {
  const [name, items = ''] = strategy.split(/:(.*)/s) as [string, string?];
  const kept = items.split(',').filter((i) => i !== '' && !i.startsWith('budget='));
  const budgeted = kept.length !== items.split(',').filter((i) => i !== '').length;
  return { family: `${name}${kept.length ? `:${kept.join(',')}` : ''}${budgeted ? ' (budgets)' : ''}`, budgeted };
}

export function benchPlots(reports: readonly Report[], runs: readonly RunRecord[]): string {
  // Cost as a fraction of full on the same video, when full ran: videos of different sizes share one axis.
  const relative = reports.every((r) => r.latency_ratio_vs_full !== undefined);
  const scatter = accuracyLatencyPlot(
    reports.map((r) => {
      const { family, budgeted } = strategyFamily(r.strategy);
      return { label: family, name: r.strategy, curve: budgeted, group: path.basename(r.video), latencyMs: relative ? (r.latency_ratio_vs_full as number) : r.detector_ms.mean, accuracy: r.f1_vs_reference };
    }),
    relative
      ? { title: 'F1 vs reference against detector cost (x full, same video)', xLabel: 'mean detector latency / full', yLabel: 'F1 vs reference (IoU 0.5)', xUnit: 'x full', xDigits: 2, height: Math.max(420, 120 + 34 * new Set(runs.map((r) => r.strategy)).size) }
      : { title: 'F1 vs reference against mean detector latency', xLabel: 'detector latency, mean (ms)', yLabel: 'F1 vs reference (IoU 0.5)', height: Math.max(420, 120 + 34 * new Set(runs.map((r) => r.strategy)).size) },
  );
  // One CDF per strategy, all videos pooled: a legend entry per strategy and video would not fit.
  const byStrategy = new Map<string, number[]>();
  for (const run of runs) {
    const v = byStrategy.get(run.strategy) ?? [];
    for (const f of run.frames) if (f.published) v.push(f.detectorMs);
    byStrategy.set(run.strategy, v);
  }
  const cdf = latencyCdfPlot(
    [...byStrategy].map(([label, valuesMs]) => ({ label, valuesMs })),
    { title: 'Detector latency per frame (CDF, all videos)', xLabel: 'detector latency (ms)', height: Math.max(420, 120 + 34 * byStrategy.size) },
  );
  return combineSvgs([scatter, cdf], { columns: 2 });
}
