// The gate's checks of one report on its own: SLA limits, presence, upload size, memory plans, capacity plans.
import type { CapacityPoint, Report, Scenario, UploadSize } from '../report.ts';
import { matchesScenario, type Sla, type SlaRule } from '../sla.ts';
import { isMeasured } from './baseline.ts';
import { aboveLabel, formatNumber, MIB } from './format.ts';
import { scenarioMetrics, type ScenarioMetric } from './metrics.ts';
import { keyed, type GateCheck } from './types.ts';

/** Why a measurement's value deserves caution, or '' when it does not. */
function measurementCaveat(scenario: Scenario, metric: ScenarioMetric): string {
  const caveats: string[] = [];
  if (scenario.status === 'unstable') caveats.push(`unstable: ${scenario.reason ?? 'windows disagreed'}`);
  const percentile =
    metric.id === 'p95Ms'
      ? scenario.latency?.percentiles.p95
      : metric.id === 'p99Ms'
        ? scenario.latency?.percentiles.p99
        : undefined;
  if (percentile?.status === 'insufficient-samples') {
    caveats.push(`insufficient samples: ${scenario.latency?.count ?? 0} < ${percentile.minSamples}`);
  }
  return caveats.join('; ');
}

/** One check per SLA rule and metric it limits, for every scenario the rule matches; a presence check per gap. */
export function slaChecks(report: Report, rules: readonly SlaRule[]): GateCheck[] {
  const checks: GateCheck[] = [];
  const seen = new Map<string, number>();
  for (const rule of rules) {
    // The rule in each check's key: its match, and `#2`, `#3`... for a later rule with the same match.
    const count = (seen.get(rule.match) ?? 0) + 1;
    seen.set(rule.match, count);
    const ruleKey = count === 1 ? rule.match : `${rule.match}#${count}`;
    const matched = report.scenarios.filter((s) => matchesScenario(rule.match, s.id));
    if (matched.length === 0) {
      checks.push(
        keyed(
          {
            kind: 'presence',
            scenario: rule.match,
            metricId: 'present',
            metric: 'present',
            value: 'missing',
            limit: 'measured',
            verdict: rule.optional ? 'skipped' : 'fail',
            detail: `no scenario in the report matches \`${rule.match}\`; run the bench with the scenario enabled${
              rule.optional ? ' (rule is optional)' : ' or mark the rule `"optional": true`'
            }`,
          },
          ruleKey,
        ),
      );
      continue;
    }
    for (const scenario of matched) {
      if (!isMeasured(scenario)) {
        checks.push(
          keyed(
            {
              kind: 'presence',
              scenario: scenario.id,
              metricId: 'present',
              metric: 'present',
              value: scenario.status,
              limit: 'measured',
              // An optional rule tolerates a scenario the run chose to skip, never one that broke.
              verdict: rule.optional && scenario.status === 'skipped' ? 'skipped' : 'fail',
              detail: `scenario ${scenario.status}: ${scenario.reason ?? 'no reason given'}`,
            },
            ruleKey,
          ),
        );
        continue;
      }
      for (const metric of scenarioMetrics) {
        const limit = metric.slaKey === undefined ? undefined : rule[metric.slaKey];
        if (typeof limit !== 'number') continue;
        const value = metric.read(scenario);
        const base = {
          kind: 'sla' as const,
          scenario: scenario.id,
          metricId: metric.id,
          metric: metric.label,
          limit: `${metric.bound === 'max' ? '<=' : '>='} ${formatNumber(limit)} ${metric.unit}`,
          unit: metric.unit,
          limitValue: limit,
        };
        if (value === undefined) {
          checks.push(
            keyed(
              {
                ...base,
                value: 'n/a',
                verdict: 'skipped',
                detail: `this ${scenario.kind} scenario does not measure ${metric.label}`,
              },
              ruleKey,
            ),
          );
          continue;
        }
        const ok = metric.bound === 'max' ? value <= limit : value >= limit;
        checks.push(
          keyed(
            {
              ...base,
              value: `${formatNumber(value)} ${metric.unit}`,
              verdict: ok ? 'pass' : 'fail',
              detail: measurementCaveat(scenario, metric),
              measured: value,
            },
            ruleKey,
          ),
        );
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
      keyed({
        kind: 'upload',
        scenario: 'worker-upload',
        metricId: 'uploadGzipBytes',
        metric: 'upload size',
        value: 'n/a',
        limit,
        verdict: 'skipped',
        detail: 'no upload size given; pass `--upload-size-file` (from the edge build) to bench or gate',
        unit: 'bytes',
        limitValue: sla.maxWorkerUploadGzipBytes,
      }),
    ];
  }
  return [
    keyed({
      kind: 'upload',
      scenario: 'worker-upload',
      metricId: 'uploadGzipBytes',
      metric: 'upload size',
      value: `${formatNumber(uploadSize.gzipBytes / MIB)} MiB gzip`,
      limit,
      verdict: uploadSize.gzipBytes <= sla.maxWorkerUploadGzipBytes ? 'pass' : 'fail',
      detail: `from ${uploadSize.source}`,
      unit: 'bytes',
      measured: uploadSize.gzipBytes,
      limitValue: sla.maxWorkerUploadGzipBytes,
    }),
  ];
}

/** Each memory plan's own verdict; a missed plan only warns unless the SLA sets `enforceMemoryPlan`. */
export function memoryPlanChecks(report: Report, enforce: boolean): GateCheck[] {
  return report.memoryPlans.map((plan) => {
    const worst = plan.points
      .filter((p) => p.role === 'check')
      .reduce((max, p) => Math.max(max, Math.abs(p.errorPct)), 0);
    return keyed({
      kind: 'memory-plan',
      scenario: `memory-plan/${plan.bundle}/${plan.backend}`,
      metricId: 'memoryPlanErrorPct',
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
      unit: '%',
      ...(plan.verdict === 'insufficient-data' ? {} : { measured: worst }),
      limitValue: plan.tolerancePct,
    });
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
    if (scenario.kind !== 'http-capacity' || !isMeasured(scenario)) continue;
    const c = scenario.capacity;
    if (!c) continue;
    checks.push(
      keyed({
        kind: 'capacity-plan',
        scenario: scenario.id,
        metricId: 'capacityPlan',
        metric: 'plan vs measured',
        value: `planned ${capacityPointText(c.planned)}; ` + `${aboveLabel(c)} ${capacityPointText(c.above)}`,
        limit: `SLA met at planned, missed at ${aboveLabel(c)}`,
        verdict: c.verdict,
        detail: c.detail,
        // The planned point's p95 against the plan's own limit: the figure the plan stands or falls by.
        unit: 'ms',
        ...(c.planned.p95Ms === null ? {} : { measured: c.planned.p95Ms }),
        limitValue: c.p95LimitMs,
      }),
    );
    const limits = rules
      .filter((rule) => rule.maxP95Ms !== undefined && matchesScenario(rule.match, scenario.id))
      .map((rule) => ({ match: rule.match, maxP95Ms: rule.maxP95Ms as number }));
    const strictest = limits.reduce<(typeof limits)[number] | undefined>(
      (best, rule) => (best === undefined || rule.maxP95Ms < best.maxP95Ms ? rule : best),
      undefined,
    );
    checks.push(
      keyed({
        kind: 'capacity-limit',
        scenario: scenario.id,
        metricId: 'capacityP95LimitMs',
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
        unit: 'ms',
        measured: c.p95LimitMs,
        ...(strictest === undefined ? {} : { limitValue: strictest.maxP95Ms }),
      }),
    );
  }
  return checks;
}

/**
 * One warning per scenario whose measurement the bench itself doubted: `unstable` (its windows disagreed beyond
 * the tolerance) or `insufficient-samples` (too few for its percentiles). Its figures are still judged; this says
 * how far to trust them, and never fails the gate.
 */
export function stabilityChecks(report: Report): GateCheck[] {
  return report.scenarios
    .filter((s) => s.status === 'unstable' || s.status === 'insufficient-samples')
    .map((s) =>
      keyed({
        kind: 'stability',
        scenario: s.id,
        metricId: s.status === 'unstable' ? 'stability' : 'samples',
        metric: s.status === 'unstable' ? 'stable windows' : 'enough samples',
        value: s.status,
        limit: s.status === 'unstable' ? 'windows agree' : 'enough samples for p95 and p99',
        verdict: 'warn',
        detail: s.reason ?? (s.status === 'unstable' ? 'windows disagreed' : 'too few samples'),
      }),
    );
}
