// The gate's checks of one report on its own: SLA limits, presence, upload size, memory plans, capacity plans.
import type { CapacityPoint, Report, Scenario, UploadSize } from '../report.ts';
import { matchesScenario, type Sla, type SlaRule } from '../sla.ts';
import { aboveLabel, formatNumber, MIB } from './format.ts';
import type { GateCheck } from './types.ts';

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

/** A scenario with figures: neither skipped nor errored. */
export function isMeasured(scenario: Scenario): boolean {
  return scenario.status !== 'skipped' && scenario.status !== 'errored';
}

/** One check per SLA rule and metric it limits, for every scenario the rule matches; a presence check per gap. */
export function slaChecks(report: Report, rules: readonly SlaRule[]): GateCheck[] {
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

/** The Worker's upload size against the SLA's `maxWorkerUploadGzipBytes`, when the SLA sets one. */
export function uploadCheck(sla: Sla, uploadSize: UploadSize | null): GateCheck[] {
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

/** Each memory plan's own verdict; a missed plan only warns unless the SLA sets `enforceMemoryPlan`. */
export function memoryPlanChecks(report: Report, enforce: boolean): GateCheck[] {
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
export function capacityChecks(report: Report, rules: readonly SlaRule[]): GateCheck[] {
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
