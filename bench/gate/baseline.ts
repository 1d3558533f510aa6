// What the gate compares a report with: one report's runs, or a history of several, as one shape.
import type { Report, Scenario } from '../report.ts';
import { readMetrics, type ScenarioMetricId } from './metrics.ts';

/** What the gate compares one scenario with: one report's run of it, or the history of several runs. */
export interface ScenarioBaseline {
  readonly id: string;
  /** False when every recorded run skipped or errored it. */
  readonly measured: boolean;
  readonly status?: string;
  readonly reason?: string;
  /** The latest full run (retained samples, CPU figures, windows), when there is one. */
  readonly latest?: Scenario;
  /** One value per recorded run, oldest first, by metric id; a plain report gives arrays of one. */
  readonly runs: Readonly<Partial<Record<ScenarioMetricId, readonly number[]>>>;
}

export interface Baseline {
  readonly source: 'report' | 'history';
  /** Where each recorded run ran, oldest first (one entry for a plain report). */
  readonly runs: readonly {
    readonly createdAt: string;
    readonly mode: string;
    readonly machine: Report['machine'];
  }[];
  readonly scenarios: ReadonlyMap<string, ScenarioBaseline>;
  /** What the reader of the verdict should know about the baseline, e.g. a full report that was not used. */
  readonly notes?: readonly string[];
}

/** A scenario with figures: neither skipped nor errored. */
export function isMeasured(scenario: Pick<Scenario, 'status'>): boolean {
  return scenario.status !== 'skipped' && scenario.status !== 'errored';
}

/** One scenario of one report as a baseline of one run. */
export function scenarioBaselineFromRun(scenario: Scenario): ScenarioBaseline {
  return scenarioBaselineFromRuns([scenario]);
}

/**
 * Several runs of one scenario, oldest first, as its baseline: one value per metric from each run that measured
 * it, and the newest measured run as `latest` (what a history with its latest full report gives the gate).
 */
export function scenarioBaselineFromRuns(scenarios: readonly [Scenario, ...Scenario[]]): ScenarioBaseline {
  const last = scenarios[scenarios.length - 1] ?? scenarios[0];
  const measuredRuns = scenarios.filter(isMeasured);
  const runs: Partial<Record<ScenarioMetricId, number[]>> = {};
  for (const run of measuredRuns) {
    for (const [id, value] of Object.entries(readMetrics(run)))
      (runs[id as ScenarioMetricId] ??= []).push(value);
  }
  const latest = measuredRuns[measuredRuns.length - 1];
  return {
    id: last.id,
    measured: latest !== undefined,
    status: last.status,
    ...(last.reason === undefined ? {} : { reason: last.reason }),
    ...(latest === undefined ? {} : { latest }),
    runs,
  };
}

/** A single bench report as a baseline: one run, every scenario's figures as arrays of one. */
export function baselineFromReport(report: Report): Baseline {
  return {
    source: 'report',
    runs: [{ createdAt: report.createdAt, mode: report.mode, machine: report.machine }],
    scenarios: new Map(report.scenarios.map((s) => [s.id, scenarioBaselineFromRun(s)])),
  };
}
