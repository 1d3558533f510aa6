// The baseline history as text and as a chart: each metric over the recorded runs, relative to its median.
import type { TopLevelSpec } from 'vega-lite';
import {
  isMeasuredStatus,
  metricIds,
  metricSeries,
  scenarioIds,
  type BaselineHistory,
  type HistoryMetricId,
} from './baseline-history.ts';
import { percentileSorted, sortAscending } from '../runtime/statistics.ts';
import { table } from './table.ts';

/** The metrics the trend chart and `show` speak about: the ones the gate compares (utilisation and shares aside). */
const TREND_METRICS: readonly HistoryMetricId[] = [
  'p95Ms',
  'p99Ms',
  'itemsPerSecond',
  'requestsPerSecond',
  'coldStartP50Ms',
  'cpuPerRequestMs',
  'peakRssMiB',
  'isolateMiB',
];

/** Median, extremes and spread of one metric across the runs that measured it. */
export interface MetricSpread {
  readonly scenario: string;
  readonly metric: HistoryMetricId;
  readonly runs: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** (max − min) / median, percent; 0 for one run. */
  readonly spreadPct: number;
}

/** Every scenario's every metric with its spread across the history's runs, in `scenarioIds` order. */
export function metricSpreads(history: BaselineHistory): MetricSpread[] {
  const out: MetricSpread[] = [];
  for (const scenario of scenarioIds(history)) {
    for (const metric of metricIds) {
      const values = metricSeries(history, scenario, metric);
      if (values.length === 0) continue;
      const mid = percentileSorted(sortAscending(values), 0.5);
      const min = Math.min(...values);
      const max = Math.max(...values);
      out.push({
        scenario,
        metric,
        runs: values.length,
        median: mid,
        min,
        max,
        spreadPct: mid > 0 ? ((max - min) / mid) * 100 : 0,
      });
    }
  }
  return out;
}

function figure(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toString();
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

/** What `shipshape baseline show` prints: the runs (date, machine, load), then per metric its median and spread. */
export function describeHistory(history: BaselineHistory, path: string): string {
  const { runs } = history;
  const mode = runs[runs.length - 1]?.mode ?? 'n/a';
  const runRows = runs.map((run, i) => [
    String(i + 1),
    run.createdAt,
    run.commit === null ? 'n/a' : run.commit.slice(0, 7),
    `${run.machine.cpuModel} x${run.machine.cores}, ${(run.machine.memoryBytes / 1024 ** 3).toFixed(1)} GiB`,
    run.machine.loadAverage.map((l) => l.toFixed(2)).join(' '),
    String(run.scenarios.filter((s) => isMeasuredStatus(s.status)).length),
  ]);
  const spreadRows = metricSpreads(history).map((s) => [
    s.scenario,
    s.metric,
    String(s.runs),
    figure(s.median),
    figure(s.min),
    figure(s.max),
    `${s.spreadPct.toFixed(1)}%`,
  ]);
  return [
    `${path}: ${runs.length} ${mode} run${runs.length === 1 ? '' : 's'}, oldest first`,
    table(['run', 'recorded', 'commit', 'machine', 'load 1/5/15 min', 'measured'], runRows),
    '',
    'per metric across the runs that measured it (spread = (max - min) / median)',
    table(['scenario', 'metric', 'runs', 'median', 'min', 'max', 'spread'], spreadRows),
    '',
  ].join('\n');
}

/**
 * Small multiples, one per scenario: each metric's value in each recorded run divided by its median over the runs,
 * so a latency in ms and a throughput in items/s share one axis and a run that stands out shows as a point far
 * from 1.
 */
export function trendSpec(history: BaselineHistory): TopLevelSpec {
  const values = metricSpreads(history)
    .filter((s) => TREND_METRICS.includes(s.metric) && s.median > 0)
    .flatMap((s) =>
      history.runs.flatMap((run, i) => {
        const scenario = run.scenarios.find((x) => x.id === s.scenario);
        const value = scenario && isMeasuredStatus(scenario.status) ? scenario.metrics[s.metric] : undefined;
        return value === undefined
          ? []
          : [
              {
                scenario: s.scenario,
                metric: s.metric,
                run: i + 1,
                createdAt: run.createdAt,
                value,
                relative: value / s.median,
              },
            ];
      }),
    );
  const first = history.runs[0];
  const last = history.runs[history.runs.length - 1];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Baseline history: each metric relative to its median over the recorded runs',
      subtitle: `${history.runs.length} ${last?.mode ?? ''} runs, ${first?.createdAt ?? ''} to ${last?.createdAt ?? ''}; 1 = the median`,
    },
    data: { values },
    facet: {
      field: 'scenario',
      type: 'nominal',
      title: null,
      header: { labelLimit: 320, labelFontSize: 10 },
    },
    columns: 4,
    spec: {
      width: 250,
      height: 120,
      layer: [
        { mark: { type: 'rule', color: '#999', strokeDash: [4, 3] }, encoding: { y: { datum: 1 } } },
        {
          mark: { type: 'line', point: { filled: true, size: 35 } },
          encoding: {
            x: { field: 'run', type: 'ordinal', title: 'run (oldest first)' },
            y: {
              field: 'relative',
              type: 'quantitative',
              title: 'value / median (log)',
              scale: { type: 'log' },
            },
            color: { field: 'metric', type: 'nominal', title: 'metric', sort: [...TREND_METRICS] },
            tooltip: [
              { field: 'metric' },
              { field: 'createdAt' },
              { field: 'value', format: '.4~g' },
              { field: 'relative', format: '.3f' },
            ],
          },
        },
      ],
    },
    config: {
      font: 'DejaVu Sans, Liberation Sans, Arial, sans-serif',
      axis: { labelFontSize: 10, titleFontSize: 11, gridColor: '#e5e5e5' },
      header: { labelFontSize: 11 },
      legend: { labelFontSize: 11, titleFontSize: 12 },
      title: { fontSize: 15 },
    },
  };
}
