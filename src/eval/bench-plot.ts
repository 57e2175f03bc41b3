/** The bench figure: accuracy vs detector latency (Pareto fronts per video) beside the latency CDFs. */
import path from 'node:path';
import { accuracyLatencyPlot, combineSvgs, latencyCdfPlot } from './plot.js';
import type { Report, RunRecord } from './report.js';

export function benchPlots(reports: readonly Report[], runs: readonly RunRecord[]): string {
  const scatter = accuracyLatencyPlot(
    reports.map((r) => ({ label: r.strategy, group: path.basename(r.video), latencyMs: r.detector_ms.mean, accuracy: r.f1_vs_reference })),
    { title: 'F1 vs reference against mean detector latency', xLabel: 'detector latency, mean (ms)', yLabel: 'F1 vs reference (IoU 0.5)' },
  );
  const cdf = latencyCdfPlot(
    runs.map((run) => ({
      label: `${run.strategy} · ${path.basename(run.video)}`,
      valuesMs: run.frames.filter((f) => f.published).map((f) => f.detectorMs),
    })),
    { title: 'Detector latency per frame (CDF)', xLabel: 'detector latency (ms)' },
  );
  return combineSvgs([scatter, cdf], { columns: 2 });
}
