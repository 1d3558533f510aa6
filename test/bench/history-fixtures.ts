// Baseline histories for the tests, built from real reports (bench/baseline.json) and scaled copies of them.
import { readFileSync } from 'node:fs';
import { appendRun, historyRunOf, type BaselineHistory } from '../../bench/baseline-history.ts';
import { parseReport, type Report, type Scenario } from '../../bench/report.ts';

/** Reads and validates a report fixture. */
export function reportFixture(path: string): Report {
  return parseReport(JSON.parse(readFileSync(path, 'utf8')), path);
}

export const BASELINE = reportFixture('bench/baseline.json');
export const CI_QUICK = reportFixture('test/fixtures/reports/ci-quick.json');

/**
 * A copy of `report` as if every request took `factor` times as long (latency, CPU and cold start scaled up,
 * throughput down), recorded at `createdAt` with the given load average. `only` scales one scenario alone;
 * `cpuFactor` (default `factor`) scales CPU per request apart, as contention does.
 */
export function scaledReport(
  report: Report,
  factor: number,
  createdAt: string,
  load = 1,
  options: { readonly only?: string; readonly cpuFactor?: number } = {},
): Report {
  const cpuFactor = options.cpuFactor ?? factor;
  const scale = (s: Scenario): Scenario =>
    options.only !== undefined && s.id !== options.only
      ? s
      : ({
          ...s,
          ...(s.latency && {
            latency: {
              ...s.latency,
              mean: s.latency.mean * factor,
              min: s.latency.min * factor,
              max: s.latency.max * factor,
              percentiles: Object.fromEntries(
                Object.entries(s.latency.percentiles).map(([p, v]) => [p, { ...v, ms: v.ms * factor }]),
              ) as NonNullable<Scenario['latency']>['percentiles'],
              samples: s.latency.samples.map((x) => x * factor),
            },
          }),
          ...(s.throughput && {
            throughput: {
              itemsPerSecond: s.throughput.itemsPerSecond / factor,
              requestsPerSecond: s.throughput.requestsPerSecond / factor,
            },
          }),
          ...(s.cpu && { cpu: { ...s.cpu, perRequestMs: s.cpu.perRequestMs * cpuFactor } }),
          ...(s.coldStart && {
            coldStart: {
              ...s.coldStart,
              p50Ms: s.coldStart.p50Ms * factor,
              timeToFirstPredictionMs: s.coldStart.timeToFirstPredictionMs.map((x) => x * factor),
            },
          }),
        } as Scenario);
  return {
    ...report,
    createdAt,
    machine: { ...report.machine, loadAverage: [load, load, load] },
    scenarios: report.scenarios.map(scale),
  };
}

/** The `i`-th (0-based) scaled copy of bench/baseline.json in `historyOf`: recorded on day i + 1. */
export function historyReport(factor: number, i: number): Report {
  return scaledReport(BASELINE, factor, `2026-12-0${i + 1}T06:00:00.000Z`, 1 + i / 10);
}

/** A history of `factors.length` scaled copies of bench/baseline.json, one a day. */
export function historyOf(factors: readonly number[], keep = 5): BaselineHistory {
  let history: BaselineHistory | undefined;
  factors.forEach((factor, i) => {
    const run = historyRunOf(historyReport(factor, i), { source: `run-${i + 1}.json`, commit: null });
    history = appendRun(history, run, keep);
  });
  return history!;
}
