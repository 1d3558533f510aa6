// The release gate: checks a bench report against the SLA and, noise-aware, against a baseline report.
import type { CapacityPoint, Report, Scenario, UploadSize } from './report.ts';
import { matchesScenario, policyFor, type RegressionPolicy, type Sla, type SlaRule } from './sla.ts';
import { bootstrapQuantileRatio, mannWhitneyU, minSamplesFor } from './stats.ts';

/** `warn` marks a finding that does not block a release (e.g. a memory plan that missed); only `fail` does. */
export type Verdict = 'pass' | 'fail' | 'warn' | 'skipped';
export type CheckKind =
  'sla' | 'presence' | 'regression' | 'upload' | 'memory-plan' | 'capacity-plan' | 'capacity-limit';

/** One line of the gate's summary. */
export interface GateCheck {
  readonly kind: CheckKind;
  readonly scenario: string;
  readonly metric: string;
  readonly value: string;
  readonly limit: string;
  readonly verdict: Verdict;
  readonly detail: string;
}

export interface GateResult {
  readonly passed: boolean;
  readonly checks: readonly GateCheck[];
  /** Things a reader should know that are not checks (e.g. the baseline ran on another machine). */
  readonly notes: readonly string[];
}

export interface GateInput {
  readonly report: Report;
  readonly sla: Sla;
  /** Without a baseline, only the SLA is checked. */
  readonly baseline?: Report;
  /** Overrides the report's own `uploadSize` (e.g. from `--upload-size-file`). */
  readonly uploadSize?: UploadSize;
}

const MIB = 1024 * 1024;

/** Formats a number with about three significant digits, without exponent notation for ordinary sizes. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  if (abs === 0) return '0';
  return value.toPrecision(3);
}

function formatPct(change: number): string {
  return `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%`;
}

function formatP(p: number): string {
  return p < 1e-4 ? 'p<0.0001' : `p=${p.toPrecision(2)}`;
}

interface Metric {
  readonly key: keyof SlaRule;
  readonly label: string;
  readonly unit: string;
  /** `max`: the value must not exceed the limit; `min`: must not fall below it. */
  readonly bound: 'max' | 'min';
  read(scenario: Scenario): number | undefined;
}

const metrics: readonly Metric[] = [
  {
    key: 'maxP95Ms',
    label: 'p95 latency',
    unit: 'ms',
    bound: 'max',
    read: (s) => s.latency?.percentiles.p95.ms,
  },
  {
    key: 'maxP99Ms',
    label: 'p99 latency',
    unit: 'ms',
    bound: 'max',
    read: (s) => s.latency?.percentiles.p99.ms,
  },
  {
    key: 'minItemsPerSecond',
    label: 'throughput',
    unit: 'items/s',
    bound: 'min',
    read: (s) => s.throughput?.itemsPerSecond,
  },
  {
    key: 'minRequestsPerSecond',
    label: 'throughput',
    unit: 'req/s',
    bound: 'min',
    read: (s) => s.throughput?.requestsPerSecond,
  },
  {
    key: 'maxPeakRssMiB',
    label: 'peak RSS',
    unit: 'MiB',
    bound: 'max',
    read: (s) => nullableMiB(s.memory?.peakRssBytes),
  },
  {
    key: 'maxIsolateMiB',
    label: 'isolate memory',
    unit: 'MiB',
    bound: 'max',
    read: (s) => nullableMiB(s.memory?.isolateBytes),
  },
  {
    key: 'maxWasmHeapMiB',
    label: 'WASM heap',
    unit: 'MiB',
    bound: 'max',
    read: (s) => nullableMiB(s.memory?.wasmHeapBytes),
  },
  {
    key: 'maxColdStartMs',
    label: 'cold start p50',
    unit: 'ms',
    bound: 'max',
    read: (s) => s.coldStart?.p50Ms,
  },
  {
    key: 'maxErrorPct',
    label: 'errors',
    unit: '%',
    bound: 'max',
    read: (s) => (s.http && s.http.requests > 0 ? (100 * s.http.errors) / s.http.requests : undefined),
  },
  {
    key: 'minShedPct',
    label: 'shed (503 OVERLOADED)',
    unit: '%',
    bound: 'min',
    read: (s) =>
      s.http?.shed !== undefined && s.http.requests > 0 ? (100 * s.http.shed) / s.http.requests : undefined,
  },
];

function nullableMiB(value: number | null | undefined): number | undefined {
  return value === null || value === undefined ? undefined : value / MIB;
}

/** Why a measurement's value deserves caution, or '' when it does not. */
function measurementCaveat(scenario: Scenario, metric: Metric): string {
  const caveats: string[] = [];
  if (scenario.status === 'unstable') caveats.push(`unstable: ${scenario.reason ?? 'windows disagreed'}`);
  const percentile =
    metric.key === 'maxP95Ms'
      ? scenario.latency?.percentiles.p95
      : metric.key === 'maxP99Ms'
        ? scenario.latency?.percentiles.p99
        : undefined;
  if (percentile?.status === 'insufficient-samples') {
    caveats.push(`insufficient samples: ${scenario.latency?.count ?? 0} < ${percentile.minSamples}`);
  }
  return caveats.join('; ');
}

function isMeasured(scenario: Scenario): boolean {
  return scenario.status !== 'skipped' && scenario.status !== 'errored';
}

function slaChecks(report: Report, rules: readonly SlaRule[]): GateCheck[] {
  const checks: GateCheck[] = [];
  for (const rule of rules) {
    const matched = report.scenarios.filter((s) => matchesScenario(rule.match, s.id));
    if (matched.length === 0) {
      checks.push({
        kind: 'presence',
        scenario: rule.match,
        metric: 'present',
        value: 'missing',
        limit: 'measured',
        verdict: rule.optional ? 'skipped' : 'fail',
        detail: `no scenario in the report matches \`${rule.match}\`; run the bench with the scenario enabled${
          rule.optional ? ' (rule is optional)' : ' or mark the rule `"optional": true`'
        }`,
      });
      continue;
    }
    for (const scenario of matched) {
      if (!isMeasured(scenario)) {
        checks.push({
          kind: 'presence',
          scenario: scenario.id,
          metric: 'present',
          value: scenario.status,
          limit: 'measured',
          // An optional rule tolerates a scenario the run chose to skip, never one that broke.
          verdict: rule.optional && scenario.status === 'skipped' ? 'skipped' : 'fail',
          detail: `scenario ${scenario.status}: ${scenario.reason ?? 'no reason given'}`,
        });
        continue;
      }
      for (const metric of metrics) {
        const limit = rule[metric.key];
        if (typeof limit !== 'number') continue;
        const value = metric.read(scenario);
        const limitText = `${metric.bound === 'max' ? '<=' : '>='} ${formatNumber(limit)} ${metric.unit}`;
        if (value === undefined) {
          checks.push({
            kind: 'sla',
            scenario: scenario.id,
            metric: metric.label,
            value: 'n/a',
            limit: limitText,
            verdict: 'skipped',
            detail: `this ${scenario.kind} scenario does not measure ${metric.label}`,
          });
          continue;
        }
        const ok = metric.bound === 'max' ? value <= limit : value >= limit;
        checks.push({
          kind: 'sla',
          scenario: scenario.id,
          metric: metric.label,
          value: `${formatNumber(value)} ${metric.unit}`,
          limit: limitText,
          verdict: ok ? 'pass' : 'fail',
          detail: measurementCaveat(scenario, metric),
        });
      }
    }
  }
  return checks;
}

function uploadCheck(sla: Sla, uploadSize: UploadSize | null): GateCheck[] {
  if (sla.maxWorkerUploadGzipBytes === undefined) return [];
  const limit = `<= ${formatNumber(sla.maxWorkerUploadGzipBytes / MIB)} MiB gzip`;
  if (uploadSize === null) {
    return [
      {
        kind: 'upload',
        scenario: 'worker-upload',
        metric: 'upload size',
        value: 'n/a',
        limit,
        verdict: 'skipped',
        detail: 'no upload size given; pass `--upload-size-file` (from the edge build) to bench or gate',
      },
    ];
  }
  return [
    {
      kind: 'upload',
      scenario: 'worker-upload',
      metric: 'upload size',
      value: `${formatNumber(uploadSize.gzipBytes / MIB)} MiB gzip`,
      limit,
      verdict: uploadSize.gzipBytes <= sla.maxWorkerUploadGzipBytes ? 'pass' : 'fail',
      detail: `from ${uploadSize.source}`,
    },
  ];
}

function memoryPlanChecks(report: Report, enforce: boolean): GateCheck[] {
  return report.memoryPlans.map((plan) => {
    const worst = plan.points
      .filter((p) => p.role === 'check')
      .reduce((max, p) => Math.max(max, Math.abs(p.errorPct)), 0);
    return {
      kind: 'memory-plan' as const,
      scenario: `memory-plan/${plan.bundle}/${plan.backend}`,
      metric: 'plan vs measured',
      value: plan.verdict === 'insufficient-data' ? 'n/a' : `${worst.toFixed(1)}% off`,
      limit: `<= ${plan.tolerancePct}%`,
      verdict:
        plan.verdict === 'insufficient-data'
          ? ('skipped' as const)
          : plan.verdict === 'fail' && !enforce
            ? ('warn' as const)
            : plan.verdict,
      detail: plan.detail,
    };
  });
}

/** A rate and the SLA's outcome at one capacity point, e.g. `612 req/s: p95 49.4 ms (model 11.2 ms)`. */
function capacityPointText(point: CapacityPoint): string {
  const failed = point.errors + point.shed;
  return (
    `${formatNumber(point.offeredRatePerSecond)} req/s: ` +
    `p95 ${point.p95Ms === null ? 'n/a' : `${formatNumber(point.p95Ms)} ms`} (model ${formatNumber(point.predictedP95Ms)} ms)` +
    (failed > 0 && point.requests > 0
      ? `, ${formatNumber((100 * failed) / point.requests)}% shed or failed`
      : '')
  );
}

/**
 * The capacity plan's self-checks, two per `http-capacity` scenario: `capacity-plan`, the scenario's own verdict
 * (the SLA held at the planned per-replica rate and not at the clearly higher one), which a re-measurement may
 * overturn; and `capacity-limit`, that the plan was made for a p95 no looser than the SLA's rules for that
 * scenario (a plan for a looser SLA proves nothing about this one), which no re-measurement changes.
 */
/** The higher point's name: its rate as a multiple of the sustainable rate. */
export function aboveLabel(c: NonNullable<Scenario['capacity']>): string {
  const factor = c.aboveRatePerSecond / c.model.sustainableRatePerSecond;
  return `${Number.isFinite(factor) ? Number(factor.toFixed(2)) : c.aboveFactor}x sustainable`;
}

function capacityChecks(report: Report, rules: readonly SlaRule[]): GateCheck[] {
  const checks: GateCheck[] = [];
  for (const scenario of report.scenarios) {
    const c = scenario.capacity;
    if (!c || !isMeasured(scenario)) continue;
    checks.push({
      kind: 'capacity-plan',
      scenario: scenario.id,
      metric: 'plan vs measured',
      value: `planned ${capacityPointText(c.planned)}; ` + `${aboveLabel(c)} ${capacityPointText(c.above)}`,
      limit: `SLA met at planned, missed at ${aboveLabel(c)}`,
      verdict: c.verdict,
      detail: c.detail,
    });
    const limits = rules
      .filter((rule) => rule.maxP95Ms !== undefined && matchesScenario(rule.match, scenario.id))
      .map((rule) => ({ match: rule.match, maxP95Ms: rule.maxP95Ms as number }));
    const strictest = limits.reduce<(typeof limits)[number] | undefined>(
      (best, rule) => (best === undefined || rule.maxP95Ms < best.maxP95Ms ? rule : best),
      undefined,
    );
    checks.push({
      kind: 'capacity-limit',
      scenario: scenario.id,
      metric: 'plan p95 limit vs SLA',
      value: `${formatNumber(c.p95LimitMs)} ms`,
      limit: strictest === undefined ? 'n/a' : `<= ${formatNumber(strictest.maxP95Ms)} ms`,
      verdict: strictest === undefined ? 'skipped' : c.p95LimitMs <= strictest.maxP95Ms ? 'pass' : 'fail',
      detail:
        strictest === undefined
          ? `no SLA rule with maxP95Ms matches \`${scenario.id}\`; add one (e.g. \`http-capacity/*\`)`
          : c.p95LimitMs <= strictest.maxP95Ms
            ? `the plan is made for the SLA's \`${strictest.match}\` p95 or stricter`
            : `the plan was made for p95 ${formatNumber(c.p95LimitMs)} ms, looser than the SLA's ` +
              `${formatNumber(strictest.maxP95Ms)} ms (\`${strictest.match}\`); set http.capacity.p95Ms in the bench config`,
    });
  }
  return checks;
}

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

function baselineChecks(report: Report, baseline: Report, policy: RegressionPolicy): GateCheck[] {
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

/** Runs every check. The gate passes when no check fails; skipped checks never fail it. */
export function evaluateGate(input: GateInput): GateResult {
  const { report, sla, baseline } = input;
  const notes: string[] = [];
  const checks: GateCheck[] = [
    ...slaChecks(report, sla.scenarios),
    ...uploadCheck(sla, input.uploadSize ?? report.uploadSize),
    ...memoryPlanChecks(report, sla.enforceMemoryPlan),
    ...capacityChecks(report, sla.scenarios),
  ];
  if (baseline) {
    if (
      baseline.machine.cpuModel !== report.machine.cpuModel ||
      baseline.machine.cores !== report.machine.cores
    ) {
      notes.push(
        `The baseline ran on "${baseline.machine.cpuModel}" x${baseline.machine.cores}, this run on ` +
          `"${report.machine.cpuModel}" x${report.machine.cores}: regressions may reflect the machine.`,
      );
    }
    if (baseline.mode !== report.mode)
      notes.push(`The baseline is a ${baseline.mode} run, this is a ${report.mode} run.`);
    checks.push(...baselineChecks(report, baseline, sla.regression));
  } else {
    notes.push('No baseline given: only the SLA was checked.');
  }
  for (const s of report.scenarios) {
    if (s.status === 'unstable' || s.status === 'insufficient-samples')
      notes.push(`${s.id}: ${s.status} (${s.reason ?? ''})`);
  }
  return { passed: checks.every((c) => c.verdict !== 'fail'), checks, notes };
}

const verdictText: Record<Verdict, string> = {
  pass: 'pass',
  fail: '**FAIL**',
  warn: 'warn',
  skipped: 'skipped',
};

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Renders the result as Markdown for a CI job summary (`$GITHUB_STEP_SUMMARY`): one table row per check. */
export function renderGateSummary(
  result: GateResult,
  sources: { report: string; baseline?: string; sla: string; reportInfo?: Report },
): string {
  const failed = result.checks.filter((c) => c.verdict === 'fail');
  const skipped = result.checks.filter((c) => c.verdict === 'skipped');
  const warned = result.checks.filter((c) => c.verdict === 'warn');
  const lines: string[] = [];
  lines.push(`## shipshape gate: ${result.passed ? 'PASS' : 'FAIL'}`, '');
  lines.push(
    `Report \`${sources.report}\`${sources.baseline ? ` against baseline \`${sources.baseline}\`` : ''} with SLA \`${sources.sla}\`.`,
  );
  const info = sources.reportInfo;
  if (info) {
    lines.push(
      `Run: ${info.mode}, ${info.createdAt}, node ${info.versions.node}, onnxruntime-node ${info.versions.onnxruntimeNode ?? 'n/a'}, ` +
        `onnxruntime-web ${info.versions.onnxruntimeWeb ?? 'n/a'}, ${info.machine.cpuModel} x${info.machine.cores}.`,
    );
  }
  lines.push(
    '',
    `**${result.checks.length} checks: ${result.checks.length - failed.length - warned.length - skipped.length} passed, ` +
      `${failed.length} failed, ${warned.length} warnings, ${skipped.length} skipped.**`,
    '',
  );
  const table = (checks: readonly GateCheck[]): void => {
    lines.push('| verdict | scenario | check | value | limit | detail |', '|---|---|---|---|---|---|');
    for (const c of checks) {
      lines.push(
        `| ${verdictText[c.verdict]} | \`${cell(c.scenario)}\` | ${cell(c.metric)} | ${cell(c.value)} | ${cell(c.limit)} | ${cell(c.detail)} |`,
      );
    }
    lines.push('');
  };
  if (failed.length > 0) {
    lines.push('### Failed checks', '');
    table(failed);
  }
  const capacity = result.checks.filter((c) => c.kind === 'capacity-plan');
  if (capacity.length > 0) {
    lines.push(
      '### Capacity plan',
      '',
      'The queueing model plans a per-replica rate within the p95 limit; the bench loads one replica open-loop at ' +
        'that rate (the SLA must hold) and at a clearly higher one (it must not).',
      '',
      // A pass is the value's story; any other verdict says why (or, re-measured, what the re-measurement gave).
      ...capacity.map(
        (c) =>
          `- ${verdictText[c.verdict]} \`${c.scenario}\`: ${c.value}.` +
          (c.verdict === 'pass' ? '' : ` ${c.detail}`),
      ),
      '',
    );
  }
  lines.push('### All checks', '');
  table(result.checks);
  if (result.notes.length > 0) {
    lines.push('### Notes', '', ...result.notes.map((n) => `- ${n}`), '');
  }
  return lines.join('\n');
}
