/** The bench figure: accuracy vs detector latency (Pareto fronts per video) beside the latency CDFs. */
import path from 'node:path';
import { accuracyLatencyPlot, combineSvgs, latencyCdfPlot } from './plot.js';
import type { Report, RunRecord } from './report.js';

export function benchPlots(reports: readonly Report[], runs: readonly RunRecord[]): string {
  const scatter = accuracyLatencyPlot(
    reports.map((r) => ({ label: r.strategy, group: path.basename(r.video), latencyMs: r.detector_ms.mean, accuracy: r.f1_vs_reference })),
    { title: 'F1 vs reference against mean detector latency', xLabel: 'detector latency, mean (ms)', yLabel: 'F1 vs reference (IoU 0.5)', height: Math.max(420, 120 + 34 * new Set(runs.map((r) => r.strategy)).size) },
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
