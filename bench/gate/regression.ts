// The gate's comparison with a baseline: noise-aware regression checks of latency, throughput, cold start, CPU and
// memory, one metric at a time (`judgeChange`).
import type { Report, Scenario } from '../report.ts';
import { policyFor, type RegressionPolicy } from '../sla.ts';
import { bootstrapQuantileRatio, mannWhitneyU, minSamplesFor } from '../stats.ts';
import { isMeasured, type Baseline, type ScenarioBaseline } from './baseline.ts';
import { formatNumber, formatP, formatPct } from './format.ts';
import { fallbackNote, judgeHistoryChange } from './history.ts';
import { scenarioMetric, type ScenarioMetricId } from './metrics.ts';
import { keyed, type GateCheck } from './types.ts';

/** The metrics compared with a baseline; the others (p99, errors, shed, WASM heap) the SLA alone limits. */
export type RegressionMetricId = Extract<
  ScenarioMetricId,
  | 'p95Ms'
  | 'itemsPerSecond'
  | 'requestsPerSecond'
  | 'coldStartP50Ms'
  | 'cpuPerRequestMs'
  | 'peakRssMiB'
  | 'isolateMiB'
>;

/**
 * Which threshold of `regression.thresholdsPct` judges each metric. Every field of the SLA's thresholds is read
 * here, and only here.
 */
export const thresholdFor: Readonly<Record<RegressionMetricId, keyof RegressionPolicy['thresholdsPct']>> = {
  p95Ms: 'p95LatencyMs',
  itemsPerSecond: 'itemsPerSecond',
  requestsPerSecond: 'requestsPerSecond',
  coldStartP50Ms: 'coldStartMs',
  cpuPerRequestMs: 'cpuPerRequestMs',
  peakRssMiB: 'peakRssBytes',
  isolateMiB: 'isolateBytes',
};

const labels: Readonly<Record<RegressionMetricId, string>> = {
  p95Ms: 'p95 latency vs baseline',
  itemsPerSecond: 'throughput vs baseline',
  requestsPerSecond: 'throughput vs baseline',
  coldStartP50Ms: 'cold start p50 vs baseline',
  cpuPerRequestMs: 'CPU per request vs baseline',
  peakRssMiB: 'peak RSS vs baseline',
  isolateMiB: 'isolate memory vs baseline',
};

/**
 * How much the accepted measurement windows of a scenario disagree: (max - min) / median of their p95 (or
 * throughput), in percent. Samples within one run cannot show noise between runs (another tenant on the
 * machine, a throttled CPU); this spread can, so a change smaller than it is not called a regression.
 */
export function windowSpreadPct(
  scenario: Scenario | undefined,
  field: 'p95Ms' | 'itemsPerSecond' | 'requestsPerSecond',
): number {
  const stability = scenario?.stability;
  if (!stability) return 0;
  const values = stability.windows
    .slice(-stability.windowsRequired)
    .map((w) => w[field])
    .filter((v) => Number.isFinite(v) && v > 0)
    .sort((a, b) => a - b);
  if (values.length < 2) return 0;
  const mid = values[Math.floor(values.length / 2)] as number;
  return (((values[values.length - 1] as number) - (values[0] as number)) / mid) * 100;
}

/**
 * Why a wall-clock slowdown is the machine's and not the code's, or null when CPU time does not say so. When other
 * processes compete for the cores, wall-clock time grows by whatever the process waits for a core (2-4x between two
 * runs of the same code on this project's 2-vCPU machine), while CPU time per request moves much less (within
 * about +-50%; a busy hyper-thread sibling still slows each instruction). Slower code costs more CPU. So a
 * wall-clock regression whose CPU per request stayed within the threshold is contention: a warning, never a
 * failure. Without CPU figures on both sides (a service given by --url), null.
 */
export function cpuExplains(baseline: CpuFigures, current: CpuFigures, thresholdPct: number): string | null {
  const change = cpuChange(baseline, current);
  if (change === null || change.value * 100 > thresholdPct) return null;
  return `CPU per request ${change.text} (within ${thresholdPct}%)${utilisationText(baseline, current)}: a busier machine, not slower code`;
}

/** A run's CPU figures, as a scenario has them; `utilization` may be unknown (a history run without it). */
export interface CpuFigures {
  readonly cpu?: { readonly perRequestMs: number; readonly utilization?: number } | undefined;
}

/** `, CPU utilisation 0.52 vs 0.95`, or '' when either side lacks it (never "vs undefined"). */
function utilisationText(baseline: CpuFigures | undefined, current: CpuFigures): string {
  const before = baseline?.cpu?.utilization;
  const now = current.cpu?.utilization;
  return before === undefined || now === undefined
    ? ''
    : `, CPU utilisation ${now.toFixed(2)} vs ${before.toFixed(2)}`;
}

/** The change of CPU per request between two runs, or null without CPU figures on both sides. */
export function cpuChange(baseline: CpuFigures, current: CpuFigures): { value: number; text: string } | null {
  const before = baseline.cpu;
  const now = current.cpu;
  if (!before || !now || !(before.perRequestMs > 0)) return null;
  const value = now.perRequestMs / before.perRequestMs - 1;
  return { value, text: formatPct(value) };
}

interface Significance {
  readonly significant: boolean;
  readonly text: string;
}

/**
 * Is the latency shift of `current` against `reference` in direction `worse` (+1 larger, -1 smaller) significant?
 * Mann-Whitney U on the retained samples, and for p95 also a bootstrap interval of the p95 ratio that excludes 1.
 */
function latencySignificance(
  reference: Scenario | undefined,
  current: Scenario,
  policy: RegressionPolicy,
  worse: 1 | -1,
  onP95: boolean,
): Significance {
  const oldSamples = reference?.latency?.samples ?? [];
  const newSamples = current.latency?.samples ?? [];
  if (oldSamples.length < 2 || newSamples.length < 2)
    return { significant: false, text: 'too few retained samples for a test' };
  const mw = mannWhitneyU(newSamples, oldSamples, worse === 1 ? 'greater' : 'less');
  const mwText = `Mann-Whitney U ${formatP(mw.pValue)} (alpha ${policy.alpha})`;
  if (!onP95) return { significant: mw.pValue < policy.alpha, text: mwText };
  const needed = minSamplesFor(0.95);
  if (oldSamples.length < needed || newSamples.length < needed) {
    // A bootstrap of p95 from fewer samples than p95 needs resamples the maximum: its interval means nothing.
    return {
      significant: mw.pValue < policy.alpha,
      text: `${mwText}; no p95 bootstrap below ${needed} samples`,
    };
  }
  const boot = bootstrapQuantileRatio(oldSamples, newSamples, 0.95, {
    iterations: policy.bootstrapIterations,
    confidence: policy.confidence,
    seed: policy.seed,
  });
  const bootOk = worse === 1 ? boot.low > 1 : boot.high < 1;
  const text = `${mwText}; p95 ratio ${boot.estimate.toFixed(3)}, ${Math.round(policy.confidence * 100)}% CI [${boot.low.toFixed(3)}, ${boot.high.toFixed(3)}]`;
  return { significant: mw.pValue < policy.alpha && bootOk, text };
}

/** Mann-Whitney U over the cold-start trials of both runs. */
function coldStartSignificance(
  reference: Scenario | undefined,
  current: Scenario,
  policy: RegressionPolicy,
  worse: 1 | -1,
): Significance {
  const trials = (s: Scenario | undefined) =>
    s?.kind === 'cold-start' ? (s.coldStart?.timeToFirstPredictionMs ?? []) : [];
  const oldTrials = trials(reference);
  const newTrials = trials(current);
  if (oldTrials.length < 1 || newTrials.length < 1)
    return { significant: false, text: 'no cold-start trials to test' };
  const mw = mannWhitneyU(newTrials, oldTrials, worse === 1 ? 'greater' : 'less');
  return {
    significant: mw.pValue < policy.alpha,
    text: `Mann-Whitney U ${formatP(mw.pValue)} over ${newTrials.length} vs ${oldTrials.length} trials (alpha ${policy.alpha})`,
  };
}

/** One metric of one scenario and what it is judged against. */
export interface MetricChange {
  readonly metric: RegressionMetricId;
  /** This run's scenario. */
  readonly current: Scenario;
  /** The baseline of the same scenario. */
  readonly reference: ScenarioBaseline;
  /** The policy for this scenario (overrides applied, see `policyFor`). */
  readonly policy: RegressionPolicy;
}

/**
 * Judges one metric's change against the baseline, or returns undefined when either side lacks the metric.
 *
 * A change within the threshold passes; the threshold is `regression.thresholdsPct` for the metric (see
 * `thresholdFor`), raised to the measurement windows' own spread for p95 and throughput. A change beyond it in
 * the bad direction fails only when it is also significant: Mann-Whitney U (and, for p95, a bootstrap interval of
 * the p95 ratio) over the baseline's latest retained samples; memory has no sampling noise, so its threshold alone
 * decides. A wall-clock failure that CPU time per request does not show (contention) is a warning, and CPU per
 * request alone only ever warns. With at least `regression.history.minRuns` recorded runs the history's bound stands
 * in for the sample tests (`judgeHistoryChange`). Otherwise the baseline value and the samples come from the same
 * run: the full report of the newest run (`latest`); when there is none (the history names no full report of the
 * run that last measured the scenario), the last recorded value and, with no samples to test, the threshold alone.
 */
export function judgeChange(change: MetricChange): GateCheck | undefined {
  const { metric, current, reference, policy } = change;
  const latest = reference.latest;
  const oldValue =
    latest === undefined ? reference.runs[metric]?.at(-1) : scenarioMetric(metric).read(latest);
  const newValue = scenarioMetric(metric).read(current);
  if (oldValue === undefined || newValue === undefined || !(oldValue > 0)) return undefined;
  const thresholdPct = policy.thresholdsPct[thresholdFor[metric]];
  const { unit, bound } = scenarioMetric(metric);
  const worse: 1 | -1 = bound === 'max' ? 1 : -1;
  const recorded = usableRuns(reference.runs[metric]);
  if (recorded >= policy.history.minRuns) {
    const judged = judgeHistoryChange({
      metric,
      current,
      value: newValue,
      reference,
      policy,
      thresholdPct,
      unit,
      worse,
      label: labels[metric],
    });
    if (judged !== undefined) return judged;
  }
  const ratio = newValue / oldValue - 1;
  const base = {
    kind: 'regression' as const,
    scenario: current.id,
    metricId: metric,
    metric: labels[metric],
    value: `${formatNumber(newValue)} ${unit} (${formatPct(ratio)} vs ${formatNumber(oldValue)})`,
    unit,
    measured: newValue,
    baselineValue: oldValue,
    changePct: ratio * 100,
  };

  if (metric === 'cpuPerRequestMs') {
    // Informational: one CPU figure per run cannot be tested, and on shared cores (hyper-threads) it moves too.
    // It decides whether a wall-clock regression is the code's (see `cpuExplains`); alone it only warns.
    const beyond = ratio * 100 > thresholdPct;
    return keyed({
      ...base,
      value: `${formatNumber(newValue)} ms (${formatPct(ratio)} vs ${formatNumber(oldValue)})`,
      limit: `+${thresholdPct}% (warns only)`,
      limitValue: thresholdPct,
      verdict: beyond ? 'warn' : 'pass',
      detail: beyond
        ? `more CPU per request${utilisationText(latest, current).replace(', CPU utilisation', '; utilisation')}`
        : 'within threshold',
    });
  }

  const thresholdOnly = metric === 'peakRssMiB' || metric === 'isolateMiB';
  const wallClock = !thresholdOnly;
  const noiseFloorPct =
    metric === 'p95Ms' || metric === 'itemsPerSecond' || metric === 'requestsPerSecond'
      ? Math.max(windowSpreadPct(latest, metric), windowSpreadPct(current, metric))
      : 0;
  const test = (direction: 1 | -1): Significance => {
    // Memory is near-deterministic: one value per run, no samples to test; the threshold alone decides.
    if (thresholdOnly)
      return { significant: true, text: 'memory has no sampling noise to test; threshold alone decides' };
    // Samples of another run than the value's would test the wrong difference: without its own, no test.
    if (latest === undefined)
      return {
        significant: true,
        text: "no retained samples of the baseline's run (no full report of it): threshold alone decides",
      };
    if (metric === 'coldStartP50Ms') return coldStartSignificance(latest, current, policy, direction);
    // Latency samples carry the evidence for throughput too: fewer items per second means slower requests.
    if (metric !== 'p95Ms')
      return latencySignificance(latest, current, policy, direction === -1 ? 1 : -1, false);
    return latencySignificance(latest, current, policy, direction, true);
  };

  const badChange = ratio * worse;
  const noisy = noiseFloorPct > thresholdPct;
  const threshold = Math.max(thresholdPct, noiseFloorPct);
  const limit =
    `${worse === 1 ? '+' : '-'}${threshold.toFixed(noisy ? 1 : 0)}%${noisy ? ' (window noise)' : ''}` +
    (thresholdOnly ? '' : ' and significant');
  const judged = { ...base, limit, limitValue: threshold };
  if (Math.abs(ratio) * 100 <= threshold) {
    return keyed({
      ...judged,
      verdict: 'pass',
      detail: noisy ? `within the windows' own spread of ${threshold.toFixed(1)}%` : 'within threshold',
    });
  }
  if (badChange > 0) {
    const sig = test(worse);
    const contention =
      sig.significant && wallClock
        ? cpuExplains(baselineCpu(reference), current, policy.thresholdsPct.cpuPerRequestMs)
        : null;
    return keyed({
      ...judged,
      verdict: !sig.significant ? 'pass' : contention ? 'warn' : 'fail',
      detail: !sig.significant
        ? `beyond threshold but not significant (noise): ${sig.text}`
        : contention
          ? `slower on the clock but not in CPU time: ${contention}; ${sig.text}`
          : `regression: ${sig.text}`,
    });
  }
  const sig = test(worse === 1 ? -1 : 1);
  return keyed({
    ...judged,
    verdict: 'pass',
    detail: sig.significant ? `improved: ${sig.text}` : `better, not significant: ${sig.text}`,
  });
}

/** Recorded values a history bound can use: positive and finite (see `historyBound`). */
function usableRuns(values: readonly number[] | undefined): number {
  return (values ?? []).filter((v) => v > 0 && Number.isFinite(v)).length;
}

/** The baseline run's CPU figures: the full report's, else the last recorded CPU per request (same run as the value). */
function baselineCpu(reference: ScenarioBaseline): CpuFigures {
  if (reference.latest !== undefined) return reference.latest;
  const perRequestMs = reference.runs.cpuPerRequestMs?.at(-1);
  return perRequestMs === undefined ? {} : { cpu: { perRequestMs } };
}

/**
 * The metrics compared for a scenario, in summary order. Throughput is judged in the unit the scenario's load
 * is counted in: requests/s for closed-loop HTTP (each request a fixed batch of texts), items/s in-process and
 * in the browser. Open-loop throughput is the offered rate (or, overloaded, what admission let through), not a
 * capacity; the capacity check's is its planned rate, which each run's model sets anew: neither is compared.
 * Memory is the one that matters where the backend runs: process RSS for native, isolate memory (what a
 * Worker's limit counts) for WASM and WebGPU; a WASM process's RSS moves with V8's heap sizing, by 20% between
 * identical runs.
 */
export function regressionMetricsFor(current: Scenario): RegressionMetricId[] {
  const metrics: RegressionMetricId[] = ['p95Ms'];
  if (current.kind === 'http-closed') metrics.push('requestsPerSecond');
  else if (current.kind === 'in-process' || current.kind === 'browser' || current.kind === 'cold-start')
    metrics.push('itemsPerSecond');
  metrics.push('coldStartP50Ms', 'cpuPerRequestMs');
  metrics.push(current.backend?.backend === 'native' ? 'peakRssMiB' : 'isolateMiB');
  return metrics;
}

/** Noise-aware comparison of one scenario with its baseline. */
export function regressionChecks(
  reference: ScenarioBaseline,
  current: Scenario,
  policy: RegressionPolicy,
): GateCheck[] {
  return regressionMetricsFor(current)
    .map((metric) => judgeChange({ metric, current, reference, policy }))
    .filter((c): c is GateCheck => c !== undefined);
}

/** Each scenario the baseline measured, compared with this run's; a scenario this run lost fails presence. */
export function baselineChecks(report: Report, baseline: Baseline, policy: RegressionPolicy): GateCheck[] {
  const checks: GateCheck[] = [];
  const current = new Map(report.scenarios.map((s) => [s.id, s]));
  for (const old of baseline.scenarios.values()) {
    if (!old.measured) continue;
    const now = current.get(old.id);
    if (!now || !isMeasured(now)) {
      checks.push(
        keyed({
          kind: 'presence',
          scenario: old.id,
          metricId: 'present',
          metric: 'present',
          value: now ? now.status : 'missing',
          limit: 'measured (in baseline)',
          verdict: 'fail',
          detail: now
            ? `the baseline measured it, this run did not: ${now.reason ?? now.status}`
            : 'the baseline measured this scenario but the new report does not contain it; run the same scenarios or refresh the baseline',
        }),
      );
      continue;
    }
    const scenarioPolicy = policyFor(policy, now.id);
    const { minRuns } = scenarioPolicy.history;
    const judged = regressionChecks(old, now, scenarioPolicy);
    // A history too short for its bound was compared with its latest run alone: each check says so.
    checks.push(
      ...(baseline.source !== 'history'
        ? judged
        : judged.map((c) => {
            const runs = usableRuns(old.runs[c.metricId as ScenarioMetricId]);
            return runs >= minRuns ? c : { ...c, detail: `${c.detail}; ${fallbackNote(runs, minRuns)}` };
          })),
    );
  }
  return checks;
}
