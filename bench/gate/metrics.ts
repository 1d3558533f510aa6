// The metrics the gate judges: one stable id per measured figure, how to read it from a scenario, its unit and
// which way is worse. Check keys, SLA limits and baseline histories all name metrics by these ids.
import type { Scenario } from '../report.ts';
import type { SlaRule } from '../sla.ts';
import { MIB } from './format.ts';

/** A figure one scenario run yields, by the id checks, keys and baseline histories use. */
export type ScenarioMetricId =
  | 'p95Ms'
  | 'p99Ms'
  | 'itemsPerSecond'
  | 'requestsPerSecond'
  | 'peakRssMiB'
  | 'isolateMiB'
  | 'wasmHeapMiB'
  | 'coldStartP50Ms'
  | 'errorPct'
  | 'shedPct'
  | 'cpuPerRequestMs';

/**
 * Every metric id a check can carry: a scenario's figures, and the things checked that are not one run's figure
 * (a scenario's presence, the upload size, a plan's fit, a run's stability).
 */
export type MetricId =
  | ScenarioMetricId
  | 'present'
  | 'uploadGzipBytes'
  | 'memoryPlanErrorPct'
  | 'capacityPlan'
  | 'capacityP95LimitMs'
  | 'stability'
  | 'samples';

export interface ScenarioMetric {
  readonly id: ScenarioMetricId;
  /** The display label of SLA checks, e.g. `p95 latency`. */
  readonly label: string;
  readonly unit: string;
  /** `max`: larger is worse (the value must not exceed a limit); `min`: smaller is worse. */
  readonly bound: 'max' | 'min';
  /** The SLA rule field that limits it, if any. */
  readonly slaKey?: keyof SlaRule;
  read(scenario: Scenario): number | undefined;
}

function nullableMiB(value: number | null | undefined): number | undefined {
  return value === null || value === undefined ? undefined : value / MIB;
}

/** The metric table, in the order the SLA checks list them. */
export const scenarioMetrics: readonly ScenarioMetric[] = [
  {
    id: 'p95Ms',
    slaKey: 'maxP95Ms',
    label: 'p95 latency',
    unit: 'ms',
    bound: 'max',
    read: (s) => s.latency?.percentiles.p95.ms,
  },
  {
    id: 'p99Ms',
    slaKey: 'maxP99Ms',
    label: 'p99 latency',
    unit: 'ms',
    bound: 'max',
    read: (s) => s.latency?.percentiles.p99.ms,
  },
  {
    id: 'itemsPerSecond',
    slaKey: 'minItemsPerSecond',
    label: 'throughput',
    unit: 'items/s',
    bound: 'min',
    read: (s) => s.throughput?.itemsPerSecond,
  },
  {
    id: 'requestsPerSecond',
    slaKey: 'minRequestsPerSecond',
    label: 'throughput',
    unit: 'req/s',
    bound: 'min',
    read: (s) => s.throughput?.requestsPerSecond,
  },
  {
    id: 'peakRssMiB',
    slaKey: 'maxPeakRssMiB',
    label: 'peak RSS',
    unit: 'MiB',
    bound: 'max',
    read: (s) => nullableMiB(s.memory?.peakRssBytes),
  },
  {
    id: 'isolateMiB',
    slaKey: 'maxIsolateMiB',
    label: 'isolate memory',
    unit: 'MiB',
    bound: 'max',
    read: (s) => nullableMiB(s.memory?.isolateBytes),
  },
  {
    id: 'wasmHeapMiB',
    slaKey: 'maxWasmHeapMiB',
    label: 'WASM heap',
    unit: 'MiB',
    bound: 'max',
    read: (s) => nullableMiB(s.memory?.wasmHeapBytes),
  },
  {
    id: 'coldStartP50Ms',
    slaKey: 'maxColdStartMs',
    label: 'cold start p50',
    unit: 'ms',
    bound: 'max',
    read: (s) => s.coldStart?.p50Ms,
  },
  {
    id: 'errorPct',
    slaKey: 'maxErrorPct',
    label: 'errors',
    unit: '%',
    bound: 'max',
    read: (s) => (s.http && s.http.requests > 0 ? (100 * s.http.errors) / s.http.requests : undefined),
  },
  {
    id: 'shedPct',
    slaKey: 'minShedPct',
    label: 'shed (503 OVERLOADED)',
    unit: '%',
    bound: 'min',
    read: (s) =>
      s.http?.shed !== undefined && s.http.requests > 0 ? (100 * s.http.shed) / s.http.requests : undefined,
  },
  {
    id: 'cpuPerRequestMs',
    label: 'CPU per request',
    unit: 'ms',
    bound: 'max',
    read: (s) => s.cpu?.perRequestMs,
  },
];

/** Every scenario metric id, in table order. */
export const scenarioMetricIds: readonly ScenarioMetricId[] = scenarioMetrics.map((m) => m.id);

/** The table entry of `id`. */
export function scenarioMetric(id: ScenarioMetricId): ScenarioMetric {
  const metric = scenarioMetrics.find((m) => m.id === id);
  if (metric === undefined) throw new TypeError(`Unknown metric id "${id}".`);
  return metric;
}

/** Every figure the scenario has, by metric id (absent ids it does not measure). */
export function readMetrics(scenario: Scenario): Partial<Record<ScenarioMetricId, number>> {
  const out: Partial<Record<ScenarioMetricId, number>> = {};
  for (const metric of scenarioMetrics) {
    const value = metric.read(scenario);
    if (value !== undefined) out[metric.id] = value;
  }
  return out;
}
