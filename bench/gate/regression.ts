// The gate's comparison with a baseline: noise-aware regression checks of latency, throughput, cold start, CPU and
// memory.
import type { Report, Scenario } from '../report.ts';
import { policyFor, type RegressionPolicy } from '../sla.ts';
import { bootstrapQuantileRatio, mannWhitneyU, minSamplesFor } from '../stats.ts';
import { isMeasured } from './checks.ts';
import { formatNumber, formatP, formatPct, MIB } from './format.ts';
import type { GateCheck } from './types.ts';

interface Direction {
  readonly metric: string;
  readonly thresholdPct: number;
  readonly old: number;
  readonly new: number;
  /** +1 when larger is worse (latency, memory), -1 when smaller is worse (throughput). */
  readonly worse: 1 | -1;
  readonly unit: string;
  /** Run-to-run noise seen inside the runs (window-to-window spread, percent); raises the threshold. */
  readonly noiseFloorPct?: number;
  /** A wall-clock metric: a regression must show in CPU time per request too (see `cpuExplains`). */
  readonly wallClock?: boolean;
  /** No significance test applies (one figure per run): the threshold alone decides. */
  readonly thresholdOnly?: boolean;
}

/**
 * How much the accepted measurement windows of a scenario disagree: (max - min) / median of their p95 (or
 * throughput), in percent. Samples within one run cannot show noise between runs (another tenant on the
 * machine, a throttled CPU); this spread can, so a change smaller than it is not called a regression.
 */
export function windowSpreadPct(scenario: Scenario, field: 'p95Ms' | 'itemsPerSecond'): number {
  const stability = scenario.stability;
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
export function cpuExplains(baseline: Scenario, current: Scenario, thresholdPct: number): string | null {
  const change = cpuChange(baseline, current);
  if (change === null || change.value * 100 > thresholdPct) return null;
  return (
    `CPU per request ${change.text} (within ${thresholdPct}%), ` +
    `CPU utilisation ${current.cpu?.utilization.toFixed(2)} vs ${baseline.cpu?.utilization.toFixed(2)}: a busier machine, not slower code`
  );
}

/** The change of CPU per request between two runs, or null without CPU figures on both sides. */
export function cpuChange(baseline: Scenario, current: Scenario): { value: number; text: string } | null {
  const before = baseline.cpu;
  const now = current.cpu;
  if (!before || !now || !(before.perRequestMs > 0)) return null;
  const value = now.perRequestMs / before.perRequestMs - 1;
  return { value, text: formatPct(value) };
}

/** Noise-aware comparison of one scenario with its baseline. */
function regressionChecks(baseline: Scenario, current: Scenario, policy: RegressionPolicy): GateCheck[] {
  const checks: GateCheck[] = [];
  const t = policy.thresholdsPct;
  const oldSamples = baseline.latency?.samples ?? [];
  const newSamples = current.latency?.samples ?? [];
  const hasSamples = oldSamples.length >= 2 && newSamples.length >= 2;

  /**
   * Is the latency shift in direction `worse` (+1 larger, -1 smaller) significant? Mann-Whitney U on the retained
   * samples, and for p95 also a bootstrap interval of the p95 ratio that excludes 1.
   */
  const significance = (worse: 1 | -1, onP95: boolean): { significant: boolean; text: string } => {
    if (!hasSamples) return { significant: false, text: 'too few retained samples for a test' };
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
  };

  const compare = (d: Direction, test: (worse: 1 | -1) => { significant: boolean; text: string }): void => {
    if (!(d.old > 0)) return;
    const change = d.new / d.old - 1;
    const badChange = change * d.worse;
    const noisy = (d.noiseFloorPct ?? 0) > d.thresholdPct;
    const threshold = Math.max(d.thresholdPct, d.noiseFloorPct ?? 0);
    const limit =
      `${d.worse === 1 ? '+' : '-'}${threshold.toFixed(noisy ? 1 : 0)}%${noisy ? ' (window noise)' : ''}` +
      (d.thresholdOnly ? '' : ' and significant');
    const value = `${formatNumber(d.new)} ${d.unit} (${formatPct(change)} vs ${formatNumber(d.old)})`;
    if (Math.abs(change) * 100 <= threshold) {
      checks.push({
        kind: 'regression',
        scenario: current.id,
        metric: `${d.metric} vs baseline`,
        value,
        limit,
        verdict: 'pass',
        detail: noisy ? `within the windows' own spread of ${threshold.toFixed(1)}%` : 'within threshold',
      });
      return;
    }
    if (badChange > 0) {
      const sig = test(d.worse);
      const contention =
        sig.significant && d.wallClock ? cpuExplains(baseline, current, t.cpuPerRequestMs) : null;
      checks.push({
        kind: 'regression',
        scenario: current.id,
        metric: `${d.metric} vs baseline`,
        value,
        limit,
        verdict: !sig.significant ? 'pass' : contention ? 'warn' : 'fail',
        detail: !sig.significant
          ? `beyond threshold but not significant (noise): ${sig.text}`
          : contention
            ? `slower on the clock but not in CPU time: ${contention}; ${sig.text}`
            : `regression: ${sig.text}`,
      });
      return;
    }
    const sig = test(d.worse === 1 ? -1 : 1);
    checks.push({
      kind: 'regression',
      scenario: current.id,
      metric: `${d.metric} vs baseline`,
      value,
      limit,
      verdict: 'pass',
      detail: sig.significant ? `improved: ${sig.text}` : `better, not significant: ${sig.text}`,
    });
  };

  const oldP95 = baseline.latency?.percentiles.p95.ms;
  const newP95 = current.latency?.percentiles.p95.ms;
  if (oldP95 !== undefined && newP95 !== undefined) {
    compare(
      {
        metric: 'p95 latency',
        thresholdPct: t.p95LatencyMs,
        old: oldP95,
        new: newP95,
        worse: 1,
        unit: 'ms',
        noiseFloorPct: Math.max(windowSpreadPct(baseline, 'p95Ms'), windowSpreadPct(current, 'p95Ms')),
        wallClock: true,
      },
      (worse) => significance(worse, true),
    );
  }
  // Open-loop throughput is the offered rate (or, overloaded, what admission let through), not a capacity; the
  // capacity check's is its planned rate, which each run's model sets anew.
  const windowed =
    current.kind !== 'http-open' && current.kind !== 'http-overload' && current.kind !== 'http-capacity';
  if (windowed && baseline.throughput && current.throughput) {
    compare(
      {
        metric: 'throughput',
        thresholdPct: t.itemsPerSecond,
        old: baseline.throughput.itemsPerSecond,
        new: current.throughput.itemsPerSecond,
        worse: -1,
        unit: 'items/s',
        noiseFloorPct: Math.max(
          windowSpreadPct(baseline, 'itemsPerSecond'),
          windowSpreadPct(current, 'itemsPerSecond'),
        ),
        wallClock: true,
      },
      // Latency samples carry the evidence for throughput too: fewer items per second means slower requests.
      (worse) => significance(worse === -1 ? 1 : -1, false),
    );
  }
  if (baseline.coldStart && current.coldStart) {
    const oldTrials = baseline.coldStart.timeToFirstPredictionMs;
    const newTrials = current.coldStart.timeToFirstPredictionMs;
    compare(
      {
        metric: 'cold start p50',
        thresholdPct: t.coldStartMs,
        old: baseline.coldStart.p50Ms,
        new: current.coldStart.p50Ms,
        worse: 1,
        unit: 'ms',
        wallClock: true,
      },
      (worse) => {
        const mw = mannWhitneyU(newTrials, oldTrials, worse === 1 ? 'greater' : 'less');
        return {
          significant: mw.pValue < policy.alpha,
          text: `Mann-Whitney U ${formatP(mw.pValue)} over ${newTrials.length} vs ${oldTrials.length} trials (alpha ${policy.alpha})`,
        };
      },
    );
  }
  const cpu = cpuChange(baseline, current);
  if (cpu && baseline.cpu && current.cpu) {
    // Informational: one CPU figure per run cannot be tested, and on shared cores (hyper-threads) it moves too.
    // It decides whether a wall-clock regression is the code's (see `cpuExplains`); alone it only warns.
    const beyond = cpu.value * 100 > t.cpuPerRequestMs;
    checks.push({
      kind: 'regression',
      scenario: current.id,
      metric: 'CPU per request vs baseline',
      value: `${formatNumber(current.cpu.perRequestMs)} ms (${cpu.text} vs ${formatNumber(baseline.cpu.perRequestMs)})`,
      limit: `+${t.cpuPerRequestMs}% (warns only)`,
      verdict: beyond ? 'warn' : 'pass',
      detail: beyond
        ? `more CPU per request; utilisation ${current.cpu.utilization.toFixed(2)} vs ${baseline.cpu.utilization.toFixed(2)}`
        : 'within threshold',
    });
  }
  // The memory that matters where the backend runs: process RSS for native, isolate memory (what a Worker's limit
  // counts) for WASM and WebGPU. A WASM process's RSS moves with V8's heap sizing, by 20% between identical runs.
  const native = current.backend?.backend === 'native';
  const memoryPairs: [string, number | null | undefined, number | null | undefined, number][] = native
    ? [['peak RSS', baseline.memory?.peakRssBytes, current.memory?.peakRssBytes, t.peakRssBytes]]
    : [['isolate memory', baseline.memory?.isolateBytes, current.memory?.isolateBytes, t.isolateBytes]];
  for (const [metric, oldBytes, newBytes, thresholdPct] of memoryPairs) {
    if (typeof oldBytes !== 'number' || typeof newBytes !== 'number') continue;
    compare(
      {
        metric,
        thresholdPct,
        old: oldBytes / MIB,
        new: newBytes / MIB,
        worse: 1,
        unit: 'MiB',
        thresholdOnly: true,
      },
      // Memory is near-deterministic: one value per run, no samples to test; the threshold alone decides.
      () => ({ significant: true, text: 'memory has no sampling noise to test; threshold alone decides' }),
    );
  }
  return checks;
}

/** Each scenario the baseline measured, compared with this run's; a scenario this run lost fails presence. */
export function baselineChecks(report: Report, baseline: Report, policy: RegressionPolicy): GateCheck[] {
  const checks: GateCheck[] = [];
  const current = new Map(report.scenarios.map((s) => [s.id, s]));
  for (const old of baseline.scenarios) {
    if (!isMeasured(old)) continue;
    const now = current.get(old.id);
    if (!now || !isMeasured(now)) {
      checks.push({
        kind: 'presence',
        scenario: old.id,
        metric: 'present',
        value: now ? now.status : 'missing',
        limit: 'measured (in baseline)',
        verdict: 'fail',
        detail: now
          ? `the baseline measured it, this run did not: ${now.reason ?? now.status}`
          : 'the baseline measured this scenario but the new report does not contain it; run the same scenarios or refresh the baseline',
      });
      continue;
    }
    checks.push(...regressionChecks(old, now, policyFor(policy, now.id)));
  }
  return checks;
}
