// The gate's statistics over a baseline history: a run's figure against the prediction bound of several recorded runs.
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import type { Scenario } from '../report.ts';
import type { RegressionPolicy } from '../sla.ts';
import type { ScenarioBaseline } from './baseline.ts';
import { formatNumber, formatPct } from './format.ts';
import type { ScenarioMetricId } from './metrics.ts';
import { keyed, type GateCheck } from './types.ts';

/** With fewer recorded runs than this the gate compares with the latest run alone (`regression.history.minRuns`). */
export const DEFAULT_MIN_RUNS = 3;

/**
 * Where the next run of unchanged code should fall, from `n` recorded runs, on the log scale (run-to-run noise on
 * shared cores is multiplicative: a burst of contention doubles a latency, it does not add 5 ms to it).
 */
export interface HistoryBound {
  /** Runs the bound is made of: the positive, finite values. */
  readonly n: number;
  /** Values left out because they were not positive and finite (a log has no place for them). */
  readonly dropped: number;
  /** The geometric mean of the runs: exp(mean of logs). Changes are stated against it. */
  readonly centre: number;
  readonly meanLog: number;
  /** Sample standard deviation of the logs (n - 1 in the denominator). */
  readonly sdLog: number;
  /** Student's t quantile at 1 - alpha with n - 1 degrees of freedom. */
  readonly t: number;
  /** exp(mean ∓ t · s · sqrt(1 + 1/n)): the prediction interval for one new run. */
  readonly low: number;
  readonly high: number;
}

/**
 * The prediction bound of one new value from the recorded ones: mean of logs ± t(1 − alpha, n − 1) · s · sqrt(1 + 1/n).
 * A new run of the same code falls beyond it on the bad side with probability about alpha, if run-to-run noise is
 * log-normal; the sqrt(1 + 1/n) widens it for the uncertainty of the mean itself.
 * A value that is not positive (a figure recorded as 0) is left out and counted in `dropped`, so one bad run does
 * not cost the whole series its bound.
 * @param values the recorded runs' figures; those not > 0 are dropped.
 * @param alpha one-sided error rate, e.g. `regression.history.alpha`.
 * @returns null with fewer than 2 positive values (no spread can be estimated).
 */
export function historyBound(values: readonly number[], alpha: number): HistoryBound | null {
  const logs = values.filter((v) => v > 0 && Number.isFinite(v)).map(Math.log);
  const n = logs.length;
  if (n < 2) return null;
  const meanLog = logs.reduce((a, b) => a + b, 0) / n;
  const sdLog = Math.sqrt(logs.reduce((a, b) => a + (b - meanLog) ** 2, 0) / (n - 1));
  const t = tQuantile(1 - alpha, n - 1);
  const half = t * sdLog * Math.sqrt(1 + 1 / n);
  return {
    n,
    dropped: values.length - n,
    centre: Math.exp(meanLog),
    meanLog,
    sdLog,
    t,
    low: Math.exp(meanLog - half),
    high: Math.exp(meanLog + half),
  };
}

/** The outcome of one figure against its history: how far from the centre, and whether that is beyond noise. */
export interface HistoryJudgement {
  /** current / centre − 1. */
  readonly change: number;
  /** Beyond the threshold in the bad direction. */
  readonly beyondThreshold: boolean;
  /** Outside the prediction bound on the bad side (always true with thresholdOnly: memory has no run noise to model). */
  readonly outsideBound: boolean;
  /** Beyond the threshold in the good direction. */
  readonly improved: boolean;
  /**
   * Slower than the ceiling (`ceilingSlowdown`), which fails whatever the bound says. False without a
   * `ceilingFactor`.
   */
  readonly beyondCeiling: boolean;
  readonly bound: HistoryBound;
  /** e.g. `history of 5 runs: centre 12.1 ms, 99% prediction bound [8.30, 17.6]`. */
  readonly text: string;
}

export interface HistoryQuestion {
  /** The recorded runs' figures, oldest first. */
  readonly values: readonly number[];
  readonly current: number;
  /** +1 when larger is worse (latency, memory, CPU), -1 when smaller is worse (throughput). */
  readonly worse: 1 | -1;
  readonly thresholdPct: number;
  readonly alpha: number;
  /** Judge by the threshold against the centre alone (memory: near-deterministic, no sampling noise). */
  readonly thresholdOnly?: boolean;
  /** `regression.history.ceilingFactor`; without it no ceiling applies. */
  readonly ceilingFactor?: number;
  /** How to print a value, e.g. with 3 significant digits. */
  readonly format?: (value: number) => string;
}

/**
 * Judges one figure against the history's runs. A regression needs both: beyond `thresholdPct` against the centre
 * (a change worth stopping a release for) and outside the prediction bound (not what the history's own run-to-run
 * spread produces). Whether CPU time explains a wall-clock regression is the caller's second question, asked of the
 * CPU history with this same function.
 * @returns null with fewer than 2 positive values; the caller then falls back to the latest run.
 */
export function judgeAgainstHistory(q: HistoryQuestion): HistoryJudgement | null {
  const bound = historyBound(q.values, q.alpha);
  if (bound === null || !(q.current >= 0)) return null;
  const format = q.format ?? ((v: number) => v.toPrecision(3));
  const change = q.current / bound.centre - 1;
  const bad = change * q.worse * 100;
  const beyondThreshold = bad > q.thresholdPct;
  const outsideBound =
    q.thresholdOnly === true || (q.worse === 1 ? q.current > bound.high : q.current < bound.low);
  const slowdown = q.worse === 1 ? q.current / bound.centre : bound.centre / q.current;
  const beyondCeiling =
    q.ceilingFactor !== undefined && slowdown > ceilingSlowdown(q.thresholdPct, q.ceilingFactor, q.worse);
  const runs =
    `history of ${bound.n} runs` +
    (bound.dropped === 0 ? '' : ` (${bound.dropped} value${bound.dropped === 1 ? '' : 's'} <= 0 dropped)`);
  const text = q.thresholdOnly
    ? `${runs}: centre ${format(bound.centre)}, threshold alone decides`
    : `${runs}: centre ${format(bound.centre)}, ` +
      `${formatConfidence(q.alpha)} prediction bound [${format(bound.low)}, ${format(bound.high)}] ` +
      `(t ${bound.t.toFixed(2)}, log sd ${bound.sdLog.toFixed(3)})`;
  return {
    change,
    beyondThreshold,
    outsideBound,
    improved: -bad > q.thresholdPct,
    beyondCeiling: beyondThreshold && beyondCeiling,
    bound,
    text,
  };
}

function formatConfidence(alpha: number): string {
  return `${Number(((1 - alpha) * 100).toFixed(2))}%`;
}

/**
 * True when the judgement is a regression: beyond the threshold and either outside the prediction bound or beyond
 * the ceiling (a slowdown no history's spread excuses).
 */
export function isHistoryRegression(j: HistoryJudgement): boolean {
  return j.beyondThreshold && (j.outsideBound || j.beyondCeiling);
}

/**
 * The sentence for a comparison that fell back to the latest run because the history is short.
 * @example fallbackNote(2, 3) // 'history of 2 runs < minRuns 3: compared with the latest run alone'
 */
export function fallbackNote(runs: number, minRuns: number): string {
  return `history of ${runs} run${runs === 1 ? '' : 's'} < minRuns ${minRuns}: compared with the latest run alone`;
}

/** One metric of one scenario to judge against the history, as `judgeChange` has read it. */
export interface HistoryChange {
  readonly metric: ScenarioMetricId;
  /** This run's scenario and its value of the metric. */
  readonly current: Scenario;
  readonly value: number;
  readonly reference: ScenarioBaseline;
  /** The policy for this scenario (overrides applied). */
  readonly policy: RegressionPolicy;
  /** The metric's threshold (percent), unit, bad direction and check label, as for a single baseline run. */
  readonly thresholdPct: number;
  readonly unit: string;
  readonly worse: 1 | -1;
  readonly label: string;
}

/**
 * Judges one metric against the baseline history's runs (at least `regression.history.minRuns` of them). A
 * regression fails only when it is beyond the metric's threshold against the history's centre and either outside
 * the prediction bound at `regression.history.alpha` (`historyBound`) or beyond the ceiling
 * (`regression.history.ceilingFactor` × the threshold); and, for a wall-clock metric, only when CPU per request
 * corroborates it: as against a single run, a wall-clock regression whose CPU per request stayed within its
 * threshold of the CPU history's centre is a busier machine, a warning. Memory is judged by its threshold against
 * the centre alone. CPU per request on its own only warns, as against a single run.
 * @returns undefined when the history has no usable spread (fewer than 2 positive values).
 */
export function judgeHistoryChange(change: HistoryChange): GateCheck | undefined {
  const { metric, current, reference, policy, thresholdPct, unit, worse } = change;
  const values = reference.runs[metric] ?? [];
  const newValue = change.value;
  const thresholdOnly = metric === 'peakRssMiB' || metric === 'isolateMiB';
  const judged = judgeAgainstHistory({
    values,
    current: newValue,
    worse,
    thresholdPct,
    alpha: policy.history.alpha,
    thresholdOnly,
    ceilingFactor: policy.history.ceilingFactor,
    format: formatNumber,
  });
  if (judged === null) return undefined;
  const { bound } = judged;
  const edge = worse === 1 ? bound.high : bound.low;
  const base = {
    kind: 'regression' as const,
    scenario: current.id,
    metricId: metric,
    metric: change.label,
    value: `${formatNumber(newValue)} ${unit} (${formatPct(judged.change)} vs ${formatNumber(bound.centre)}, ${bound.n} runs)`,
    limit:
      `${worse === 1 ? '+' : '-'}${thresholdPct}%` +
      (thresholdOnly
        ? ''
        : ` and ${worse === 1 ? '>' : '<'} ${formatNumber(edge)} ${unit}` +
          ` (or beyond ${worse === 1 ? '+' : '-'}${Math.round(ceilingPct(thresholdPct, policy.history.ceilingFactor, worse))}%)`) +
      (metric === 'cpuPerRequestMs' ? ' (warns only)' : ''),
    unit,
    measured: newValue,
    limitValue: thresholdPct,
    baselineValue: bound.centre,
    changePct: judged.change * 100,
  };
  if (!isHistoryRegression(judged)) {
    return keyed({
      ...base,
      verdict: 'pass',
      detail: judged.improved
        ? `better: ${judged.text}`
        : judged.beyondThreshold
          ? `beyond threshold but inside the history's spread (noise): ${judged.text}`
          : `within threshold: ${judged.text}`,
    });
  }
  if (metric === 'cpuPerRequestMs') {
    return keyed({
      ...base,
      verdict: 'warn',
      detail: `more CPU per request than the history: ${judged.text}`,
    });
  }
  if (thresholdOnly) return keyed({ ...base, verdict: 'fail', detail: `regression: ${judged.text}` });
  const why = judged.outsideBound
    ? judged.text
    : `beyond the ceiling of ${policy.history.ceilingFactor} x the threshold, inside the bound: ${judged.text}`;
  const cpu = cpuAgainstHistory(current, reference, policy);
  return keyed({
    ...base,
    verdict: cpu.explains ? 'warn' : 'fail',
    detail: cpu.explains
      ? `slower on the clock but not in CPU time: ${cpu.text}: a busier machine, not slower code; ${why}`
      : `regression: ${why}${cpu.text === '' ? '' : `; ${cpu.text}`}`,
  });
}

/**
 * The ceiling as a slowdown factor (current / centre, or centre / current when smaller is worse): the threshold's
 * own slowdown, 1 + threshold (p95 +50%: 1.5) or 1 / (1 − threshold) (throughput −50%: 2), with its excess over 1
 * multiplied by `ceilingFactor`. Infinite for a drop threshold of 100% or more (no ceiling).
 * @example ceilingSlowdown(50, 3, 1) // 2.5: p95 beyond +150%
 * @example ceilingSlowdown(50, 3, -1) // 4: throughput below a quarter of the centre
 */
export function ceilingSlowdown(thresholdPct: number, ceilingFactor: number, worse: 1 | -1): number {
  const threshold = thresholdPct / 100;
  if (worse === -1 && threshold >= 1) return Number.POSITIVE_INFINITY;
  const atThreshold = worse === 1 ? 1 + threshold : 1 / (1 - threshold);
  return 1 + ceilingFactor * (atThreshold - 1);
}

/**
 * The ceiling as a change in percent from the centre, in the bad direction (see `ceilingSlowdown`).
 * @example ceilingPct(50, 3, 1) // 150
 * @example ceilingPct(50, 3, -1) // 75
 */
export function ceilingPct(thresholdPct: number, ceilingFactor: number, worse: 1 | -1): number {
  const factor = ceilingSlowdown(thresholdPct, ceilingFactor, worse);
  return worse === 1 ? (factor - 1) * 100 : (1 - 1 / factor) * 100;
}

/**
 * Whether CPU per request clears the code: its change against the CPU history's centre is within its threshold,
 * as against a single run. Merely inside the CPU history's bound is not enough: a bound wide from noisy runs would
 * excuse a real slowdown in CPU time.
 */
function cpuAgainstHistory(
  current: Scenario,
  reference: ScenarioBaseline,
  policy: RegressionPolicy,
): { explains: boolean; text: string } {
  const now = current.cpu?.perRequestMs;
  const cpu =
    now === undefined
      ? null
      : judgeAgainstHistory({
          values: reference.runs.cpuPerRequestMs ?? [],
          current: now,
          worse: 1,
          thresholdPct: policy.thresholdsPct.cpuPerRequestMs,
          alpha: policy.history.alpha,
          format: formatNumber,
        });
  // Without CPU figures on both sides (a service given by --url) nothing clears the code, as against one run.
  if (cpu === null || now === undefined) return { explains: false, text: '' };
  const threshold = policy.thresholdsPct.cpuPerRequestMs;
  const explains = !cpu.beyondThreshold;
  const text =
    `CPU per request ${formatPct(cpu.change)} vs its history (${explains ? 'within' : 'beyond'} ${threshold}%; ` +
    `${cpu.text})`;
  return { explains, text };
}
