// What the gate compares a run with, read from either form: a baseline history (bench/baseline-history.json) or a
// plain bench report (a history of one run).
import { dirname, resolve } from 'node:path';
import {
  isBaselineHistoryJson,
  isMeasuredStatus,
  metricIds,
  metricSeries,
  parseBaselineHistory,
  readJson,
  scenarioIds,
  type BaselineHistory,
} from '../baseline-history.ts';
import { parseReport, readReport, type Report } from '../report.ts';
import { baselineFromReport, type Baseline, type ScenarioBaseline } from './baseline.ts';
import type { ScenarioMetricId } from './metrics.ts';

/** `latest` when it is the history's newest run (same `createdAt`): a report recorded since is not the baseline's. */
function newestRunReport(history: BaselineHistory, latest: Report | undefined): Report | undefined {
  const newest = history.runs[history.runs.length - 1];
  return latest !== undefined && latest.createdAt === newest?.createdAt ? latest : undefined;
}

/**
 * The history as the gate's baseline: per scenario one value per run that measured it, oldest first, and
 * `latest`'s scenario (its retained samples, windows and CPU figures) for the comparisons that need a full run.
 * @param latest the newest run's full report; ignored unless it is that run (same `createdAt`).
 */
export function baselineFromHistory(history: BaselineHistory, latest?: Report): Baseline {
  const newest = history.runs[history.runs.length - 1];
  const full = newestRunReport(history, latest);
  const notes =
    latest !== undefined && full === undefined
      ? [
          `The history's latest full report (created ${latest.createdAt}) is not its newest run ` +
            `(${newest?.createdAt}): it was not used; a comparison with one run has no samples to test, so its ` +
            'threshold alone decides. `shipshape baseline record` of the next run copies its report to `latest`.',
        ]
      : [];
  const scenarios = new Map<string, ScenarioBaseline>();
  for (const id of scenarioIds(history)) {
    const recorded = history.runs.flatMap((run) => run.scenarios.filter((s) => s.id === id));
    const last = recorded[recorded.length - 1];
    // Presence is the newest run's: a scenario it dropped or skipped is no longer required; one it errored still
    // is, if an earlier run measured it (an error is what presence exists to catch).
    const inNewest = newest?.scenarios.find((s) => s.id === id);
    const measured =
      inNewest !== undefined &&
      inNewest.status !== 'skipped' &&
      recorded.some((s) => isMeasuredStatus(s.status));
    const runs: Partial<Record<ScenarioMetricId, readonly number[]>> = {};
    for (const metric of metricIds) {
      if (metric === 'cpuUtilization') continue;
      const values = metricSeries(history, id, metric);
      if (values.length > 0) runs[metric] = values;
    }
    const latestScenario = full?.scenarios.find((s) => s.id === id && isMeasuredStatus(s.status));
    scenarios.set(id, {
      id,
      measured,
      ...(last === undefined ? {} : { status: last.status }),
      ...(last?.reason === undefined ? {} : { reason: last.reason }),
      ...(latestScenario === undefined ? {} : { latest: latestScenario }),
      runs,
    });
  }
  return {
    source: 'history',
    runs: history.runs.map((run) => ({ createdAt: run.createdAt, mode: run.mode, machine: run.machine })),
    scenarios,
    ...(notes.length === 0 ? {} : { notes }),
  };
}

/** What a baseline file holds: the gate's baseline, and the full report of its newest run when there is one. */
export interface BaselineFile {
  readonly baseline: Baseline;
  /**
   * The newest run's full report (retained samples, windows, every scenario), for what needs a whole report, such
   * as the charts' baseline marks: the report itself, or a history's `latest` while it is still the newest run.
   * Undefined for a history without one.
   */
  readonly report?: Report;
}

/**
 * Reads what the gate compares with: a baseline history (told by its `tool`, with the full report it names as
 * `latest` when that is still its newest run) or a plain bench report (a history of one run).
 * @throws BaselineError `BASELINE_INVALID` for an unreadable or invalid history; ReportError for a report.
 */
export async function readBaseline(path: string): Promise<Baseline> {
  return (await readBaselineFile(path)).baseline;
}

/**
 * `readBaseline`, keeping the newest run's full report too (see `BaselineFile`).
 * @throws BaselineError `BASELINE_INVALID` for an unreadable or invalid history; ReportError for a report.
 */
export async function readBaselineFile(path: string): Promise<BaselineFile> {
  const json = await readJson(path);
  if (!isBaselineHistoryJson(json)) {
    const report = parseReport(json, path);
    return { baseline: baselineFromReport(report), report };
  }
  const history = parseBaselineHistory(json, path);
  const latest =
    history.latest === undefined ? undefined : await readReport(resolve(dirname(path), history.latest));
  const current = newestRunReport(history, latest);
  return {
    baseline: baselineFromHistory(history, latest),
    ...(current === undefined ? {} : { report: current }),
  };
}
