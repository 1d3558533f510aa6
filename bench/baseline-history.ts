// The baseline history (bench/baseline-history.json): one summary per recorded bench run, so the gate can judge a
// run against the spread of several instead of against one noisy sample.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { CodedError, messageOf, type CodedErrorOptions } from '../runtime/errors.ts';
import { readMetrics, type ScenarioMetricId } from './gate/metrics.ts';
import { formatIssues, reportSchema, type Report, type Scenario } from './report.ts';

/** Bump on any change that an older reader would misread; `parseBaselineHistory` refuses other versions. */
export const BASELINE_HISTORY_SCHEMA_VERSION = 1;
export const BASELINE_HISTORY_TOOL = 'shipshape-baseline-history';

/** A history file that cannot be read or used, or a run that does not belong in it. */
export class BaselineError extends CodedError<'BASELINE_INVALID' | 'BASELINE_MODE_MISMATCH'> {
  override readonly name = 'BaselineError';

  constructor(
    code: 'BASELINE_INVALID' | 'BASELINE_MODE_MISMATCH',
    message: string,
    options?: CodedErrorOptions,
  ) {
    super(code, message, options);
  }
}
/** How many runs `shipshape baseline record` keeps unless told otherwise. */
export const DEFAULT_KEEP = 5;

/**
 * Every figure the history keeps per scenario, one number per run. The ids are the gate's metric ids (the keys of
 * its checks), so a check's history is `runs[metricId]`.
 */
export const metricIds = [
  'p95Ms',
  'p99Ms',
  'itemsPerSecond',
  'requestsPerSecond',
  'coldStartP50Ms',
  'cpuPerRequestMs',
  'cpuUtilization',
  'peakRssMiB',
  'isolateMiB',
  'wasmHeapMiB',
  'errorPct',
  'shedPct',
] as const satisfies readonly (ScenarioMetricId | 'cpuUtilization')[];
export type HistoryMetricId = (typeof metricIds)[number];

const metricsSchema = z.partialRecord(z.enum(metricIds), z.number().nonnegative());

const historyScenarioSchema = z
  .object({
    id: z.string().min(1),
    kind: z.string(),
    status: z.string(),
    reason: z.string().optional(),
    metrics: metricsSchema,
  })
  .strict();

const reportShape = reportSchema.shape;

export const historyRunSchema = z
  .object({
    createdAt: z.iso.datetime(),
    mode: reportShape.mode,
    /** The run's machine, as its report had it (load average at the run's start). */
    machine: reportShape.machine,
    versions: reportShape.versions,
    /** `git rev-parse HEAD` where the run was recorded, or null outside a git checkout. */
    commit: z.string().nullable(),
    /** The report file the run was recorded from. */
    source: z.string(),
    scenarios: z.array(historyScenarioSchema),
  })
  .strict();

export const baselineHistorySchema = z
  .object({
    schemaVersion: z.literal(BASELINE_HISTORY_SCHEMA_VERSION),
    tool: z.literal(BASELINE_HISTORY_TOOL),
    /**
     * The newest run's full report (retained samples, windows, CPU figures), relative to this file's folder, as
     * `shipshape baseline record --latest` copied it; absent with `--no-latest`. The gate falls back to it when the
     * history is shorter than `regression.history.minRuns`.
     */
    latest: z.string().min(1).optional(),
    /** Oldest first. */
    runs: z.array(historyRunSchema).min(1),
  })
  .strict();

export type BaselineHistory = z.infer<typeof baselineHistorySchema>;
export type HistoryRun = z.infer<typeof historyRunSchema>;
export type HistoryScenario = z.infer<typeof historyScenarioSchema>;

/**
 * The figures of one scenario by metric id, read by the gate's own readers (`readMetrics`), so every metric the gate
 * judges is recorded, plus CPU utilisation (what the trend and the contention text show); a metric the scenario
 * does not measure is absent.
 */
export function historyMetrics(scenario: Scenario): Partial<Record<HistoryMetricId, number>> {
  const read: Partial<Record<HistoryMetricId, number>> = {
    ...readMetrics(scenario),
    ...(scenario.cpu === undefined ? {} : { cpuUtilization: scenario.cpu.utilization }),
  };
  const out: Partial<Record<HistoryMetricId, number>> = {};
  for (const id of metricIds) {
    const value = read[id];
    if (value !== undefined && Number.isFinite(value)) out[id] = value;
  }
  return out;
}

/** A report reduced to what the history keeps: its run's facts and per scenario its status and figures. */
export function historyRunOf(report: Report, origin: { source: string; commit: string | null }): HistoryRun {
  return {
    createdAt: report.createdAt,
    mode: report.mode,
    machine: report.machine,
    versions: report.versions,
    commit: origin.commit,
    source: origin.source,
    scenarios: report.scenarios.map((s) => ({
      id: s.id,
      kind: s.kind,
      status: s.status,
      ...(s.reason === undefined ? {} : { reason: s.reason }),
      metrics: historyMetrics(s),
    })),
  };
}

/**
 * The history with `run` appended, keeping the newest `keep` runs (default 5). Without a history, a new one.
 * `latest` is where the run's full report is kept (relative to the history's folder); without it the history
 * names no full report, since the one it named is no longer the newest run's.
 * @throws BaselineError `BASELINE_MODE_MISMATCH` when the run's mode (quick/full) differs from the history's:
 *   quick and full runs measure differently and must not be pooled.
 * @throws BaselineError `BASELINE_INVALID` when the history already holds a run created at the same time (the same
 *   report recorded twice would count as two agreeing runs and narrow the bound) or a newer one.
 */
export function appendRun(
  history: BaselineHistory | undefined,
  run: HistoryRun,
  keep: number = DEFAULT_KEEP,
  latest?: string,
): BaselineHistory {
  if (!(Number.isInteger(keep) && keep >= 1)) {
    throw new BaselineError('BASELINE_INVALID', `keep ${keep} is not a whole number of at least 1.`);
  }
  const runs = history?.runs ?? [];
  const mode = runs[runs.length - 1]?.mode;
  if (mode !== undefined && mode !== run.mode) {
    throw new BaselineError(
      'BASELINE_MODE_MISMATCH',
      `${run.source} is a ${run.mode} run and the history holds ${mode} runs; record a ${mode} run ` +
        `(\`shipshape bench${mode === 'quick' ? ' --quick' : ''}\`) or start another history file with --history.`,
    );
  }
  if (runs.some((r) => r.createdAt === run.createdAt)) {
    throw new BaselineError(
      'BASELINE_INVALID',
      `${run.source} (created ${run.createdAt}) is already in the history; record a new bench run.`,
    );
  }
  const newest = runs[runs.length - 1];
  if (newest !== undefined && Date.parse(run.createdAt) < Date.parse(newest.createdAt)) {
    throw new BaselineError(
      'BASELINE_INVALID',
      `${run.source} (created ${run.createdAt}) is older than the history's newest run (${newest.createdAt}, ` +
        `${newest.source}); the history is recorded oldest first, so record runs in the order they ran.`,
    );
  }
  return {
    schemaVersion: BASELINE_HISTORY_SCHEMA_VERSION,
    tool: BASELINE_HISTORY_TOOL,
    ...(latest === undefined ? {} : { latest }),
    runs: [...runs, run].slice(-keep),
  };
}

/** True when parsed JSON claims to be a baseline history (by its `tool`), rather than a bench report. */
export function isBaselineHistoryJson(value: unknown): boolean {
  return (value as { tool?: unknown } | null)?.tool === BASELINE_HISTORY_TOOL;
}

/**
 * Validates parsed JSON as a baseline history.
 * @throws BaselineError `BASELINE_INVALID` naming the source and the first invalid fields.
 */
export function parseBaselineHistory(value: unknown, source: string): BaselineHistory {
  const version = (value as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== BASELINE_HISTORY_SCHEMA_VERSION) {
    throw new BaselineError(
      'BASELINE_INVALID',
      `${source}: baseline history schemaVersion ${JSON.stringify(version)} is not ` +
        `${BASELINE_HISTORY_SCHEMA_VERSION}; record the runs again with \`shipshape baseline record\`.`,
    );
  }
  const result = baselineHistorySchema.safeParse(value);
  if (!result.success) {
    throw new BaselineError(
      'BASELINE_INVALID',
      `${source}: not a valid baseline history:\n${formatIssues(result.error)}`,
    );
  }
  return result.data;
}

/** Reads a JSON file. @throws BaselineError `BASELINE_INVALID` when it cannot be read or is not JSON. */
export async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new BaselineError('BASELINE_INVALID', `${path}: cannot read it (${messageOf(error)}).`, {
      cause: error,
    });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BaselineError('BASELINE_INVALID', `${path}: not JSON (${messageOf(error)}).`, {
      cause: error,
    });
  }
}

/** Reads and validates a history file. @throws BaselineError `BASELINE_INVALID` */
export async function readBaselineHistory(path: string): Promise<BaselineHistory> {
  return parseBaselineHistory(await readJson(path), path);
}

/** Validates and writes a history as JSON, creating the folder. @throws BaselineError `BASELINE_INVALID` */
export async function writeBaselineHistory(path: string, history: BaselineHistory): Promise<void> {
  const checked = parseBaselineHistory(history, 'the history being written');
  await mkdir(dirname(path), { recursive: true });
  // Short number arrays (load averages) on one line, as prettier writes them, so the committed file stays formatted.
  const text = JSON.stringify(checked, null, 2).replace(
    /\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g,
    (_, items: string) => `[${items.split(/,\s*/).join(', ')}]`,
  );
  await writeFile(path, `${text}\n`);
}

/** The values of one metric of one scenario across the runs that measured it, oldest first. */
export function metricSeries(
  history: BaselineHistory,
  scenarioId: string,
  metric: HistoryMetricId,
): number[] {
  const values: number[] = [];
  for (const run of history.runs) {
    const scenario = run.scenarios.find((s) => s.id === scenarioId);
    if (!scenario || !isMeasuredStatus(scenario.status)) continue;
    const value = scenario.metrics[metric];
    if (value !== undefined) values.push(value);
  }
  return values;
}

/** Skipped and errored scenarios measured nothing; every other status carries figures. */
export function isMeasuredStatus(status: string): boolean {
  return status !== 'skipped' && status !== 'errored';
}

/** Every scenario id in the history, in the order the newest run lists them, then older ones' leftovers. */
export function scenarioIds(history: BaselineHistory): string[] {
  const ids = new Set<string>();
  for (const run of [...history.runs].reverse()) for (const s of run.scenarios) ids.add(s.id);
  return [...ids];
}
