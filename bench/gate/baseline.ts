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
  const measured = isMeasured(scenario);
  const runs: Partial<Record<ScenarioMetricId, readonly number[]>> = {};
  if (measured) {
    for (const [id, value] of Object.entries(readMetrics(scenario))) runs[id as ScenarioMetricId] = [value];
  }
  return {
    id: scenario.id,
    measured,
    status: scenario.status,
    ...(scenario.reason === undefined ? {} : { reason: scenario.reason }),
    ...(measured ? { latest: scenario } : {}),
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
