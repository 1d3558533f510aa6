// The release gate on constructed reports: SLA, presence and noise-aware regression checks.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  baselineFromReport,
  evaluateGate,
  renderGateSummary,
  type GateCheck,
} from '../../bench/gate/index.ts';
import { buildMemoryPlan } from '../../bench/memory-plan.ts';
import { readReport } from '../../bench/report.ts';
import { parseSla, matchesScenario, policyFor, readSla, slaRuleSchema, type Sla } from '../../bench/sla.ts';
import { scenarioMetrics } from '../../bench/gate/metrics.ts';
import { thresholdFor } from '../../bench/gate/regression.ts';
import { inProcessScenario, logNormalSamples, makeReport, scaleTimings } from './fixtures.ts';

const BENCH = join(import.meta.dirname, '../../bench');

const ID = 'in-process/news-bag/native/b8';

function sla(
  overrides: Record<string, unknown> = {},
  rules: unknown[] = [{ match: 'in-process/**', maxP95Ms: 50 }],
): Sla {
  return parseSla({ schemaVersion: 1, scenarios: rules, ...overrides }, 'test');
}

function failed(checks: readonly GateCheck[]): GateCheck[] {
  return checks.filter((c) => c.verdict === 'fail');
}

describe('evaluateGate', () => {
  const baseline = baselineFromReport(
    makeReport([inProcessScenario(ID, logNormalSamples(600, 10, 1), { batchSize: 8 })]),
  );

  it('passes a report within the SLA and like its baseline', () => {
    const report = makeReport([inProcessScenario(ID, logNormalSamples(600, 10, 2), { batchSize: 8 })]);
    const result = evaluateGate({ report, baseline, sla: sla() });
    expect(failed(result.checks)).toEqual([]);
    expect(result.passed).toBe(true);
    expect(result.checks.find((c) => c.kind === 'sla')).toMatchObject({
      scenario: ID,
      metric: 'p95 latency',
      verdict: 'pass',
    });
  });

  it('fails an SLA breach and names the value and the limit', () => {
    const report = makeReport([inProcessScenario(ID, logNormalSamples(600, 10, 2), { batchSize: 8 })]);
    const result = evaluateGate({
      report,
      sla: sla({}, [{ match: ID, maxP95Ms: 5, minItemsPerSecond: 1e6 }]),
    });
    expect(result.passed).toBe(false);
    expect(failed(result.checks).map((c) => [c.metric, c.limit])).toEqual([
      ['p95 latency', '<= 5.00 ms'],
      ['throughput', '>= 1,000,000 items/s'],
    ]);
  });

  it('fails a true regression: 40% slower, beyond the threshold and significant', () => {
    const report = makeReport([inProcessScenario(ID, logNormalSamples(600, 14, 2), { batchSize: 8 })]);
    const result = evaluateGate({ report, baseline, sla: sla() });
    expect(result.passed).toBe(false);
    const latency = result.checks.find((c) => c.metric === 'p95 latency vs baseline');
    expect(latency?.verdict).toBe('fail');
    expect(latency?.detail).toMatch(/^regression: Mann-Whitney U p<0\.0001/);
    expect(result.checks.find((c) => c.metric === 'throughput vs baseline')?.verdict).toBe('fail');
  });

  it('does not fail on noise: same distribution, another seed, even with a zero threshold', () => {
    const zeroThresholds = { regression: { thresholdsPct: { p95LatencyMs: 0, itemsPerSecond: 0 } } };
    for (const seed of [2, 3, 4, 5, 6]) {
      const report = makeReport([inProcessScenario(ID, logNormalSamples(600, 10, seed), { batchSize: 8 })]);
      const result = evaluateGate({ report, baseline, sla: sla(zeroThresholds) });
      expect(failed(result.checks), `seed ${seed}`).toEqual([]);
    }
  });

  it('does not fail on a large change that is not significant (few noisy samples)', () => {
    const noisyBaseline = makeReport([inProcessScenario(ID, logNormalSamples(8, 10, 11, 0.6))]);
    const report = makeReport([inProcessScenario(ID, logNormalSamples(8, 10, 12, 0.6))]);
    const result = evaluateGate({ report, baseline: baselineFromReport(noisyBaseline), sla: sla({}, []) });
    const latency = result.checks.find((c) => c.metric === 'p95 latency vs baseline');
    expect(latency?.value).toContain('+21.5%');
    expect(latency?.verdict).toBe('pass');
    expect(latency?.detail).toMatch(
      /^beyond threshold but not significant \(noise\): Mann-Whitney U p=0\.095/,
    );
    expect(result.passed).toBe(true);
  });

  it("raises the threshold to the windows' own spread, so run-to-run noise does not fail", () => {
    // Window p95s of 12, 15 and 17 ms spread (17 - 12) / 15 = 33.3%: a 30% change is within that noise.
    const noisy = (median: number, seed: number) =>
      inProcessScenario(ID, logNormalSamples(600, median, seed), { batchSize: 8, windowP95s: [12, 15, 17] });
    const result = evaluateGate({
      report: makeReport([noisy(13, 2)]),
      baseline: baselineFromReport(makeReport([noisy(10, 1)])),
      sla: sla(),
    });
    const latency = result.checks.find((c) => c.metric === 'p95 latency vs baseline');
    expect(latency?.limit).toBe('+33.3% (window noise) and significant');
    expect(latency?.verdict).toBe('pass');
    expect(latency?.detail).toBe("within the windows' own spread of 33.3%");
  });

  it('warns instead of failing when the clock slowed but CPU time per request did not (a busier machine)', () => {
    const withCpu = (median: number, seed: number, perRequestMs: number, utilization: number) => ({
      ...inProcessScenario(ID, logNormalSamples(600, median, seed), { batchSize: 8 }),
      cpu: { perRequestMs, utilization, source: 'constructed' },
    });
    const result = evaluateGate({
      report: makeReport([withCpu(14, 2, 10.3, 0.5)]),
      baseline: baselineFromReport(makeReport([withCpu(10, 1, 10, 0.95)])),
      sla: sla(),
    });
    const latency = result.checks.find((c) => c.metric === 'p95 latency vs baseline');
    expect(latency?.verdict).toBe('warn');
    expect(latency?.detail).toMatch(
      /^slower on the clock but not in CPU time: CPU per request \+3\.0% \(within 25%\), CPU utilisation 0\.50 vs 0\.95: a busier machine, not slower code; Mann-Whitney U/,
    );
    expect(result.checks.find((c) => c.metric === 'CPU per request vs baseline')?.verdict).toBe('pass');
    expect(result.passed).toBe(true);
  });

  it('fails when the clock and CPU time per request both slowed (slower code)', () => {
    const withCpu = (median: number, seed: number, perRequestMs: number) => ({
      ...inProcessScenario(ID, logNormalSamples(600, median, seed), { batchSize: 8 }),
      cpu: { perRequestMs, utilization: 0.95, source: 'constructed' },
    });
    const result = evaluateGate({
      report: makeReport([withCpu(14, 2, 14)]),
      baseline: baselineFromReport(makeReport([withCpu(10, 1, 10)])),
      sla: sla(),
    });
    expect(failed(result.checks).map((c) => c.metric)).toEqual([
      'p95 latency vs baseline',
      'throughput vs baseline',
    ]);
    expect(result.checks.find((c) => c.metric === 'CPU per request vs baseline')).toMatchObject({
      value: '14.0 ms (+40.0% vs 10.0)',
      limit: '+25% (warns only)',
      verdict: 'warn',
    });
  });

  it('treats lower latency and higher throughput as improvements, never failures', () => {
    const report = makeReport([inProcessScenario(ID, logNormalSamples(600, 6, 2), { batchSize: 8 })]);
    const result = evaluateGate({ report, baseline, sla: sla() });
    expect(result.passed).toBe(true);
    expect(result.checks.find((c) => c.metric === 'p95 latency vs baseline')?.detail).toMatch(/^improved/);
    expect(result.checks.find((c) => c.metric === 'throughput vs baseline')?.detail).toMatch(/^improved/);
  });

  it('applies a per-scenario threshold override only to the scenarios it matches', () => {
    const other = 'in-process/news-transformer/native/b8';
    const base = makeReport([
      inProcessScenario(ID, logNormalSamples(600, 10, 1), { batchSize: 8 }),
      inProcessScenario(other, logNormalSamples(600, 10, 1), { batchSize: 8 }),
    ]);
    // Both 40% slower: the override lets news-bag's scenario through and still fails the other one.
    const report = makeReport([
      inProcessScenario(ID, logNormalSamples(600, 14, 2), { batchSize: 8 }),
      inProcessScenario(other, logNormalSamples(600, 14, 2), { batchSize: 8 }),
    ]);
    const widened = sla(
      {
        regression: {
          overrides: [
            { match: 'in-process/news-bag/**', thresholdsPct: { p95LatencyMs: 100, itemsPerSecond: 100 } },
          ],
        },
      },
      [{ match: 'in-process/**', maxP95Ms: 50 }],
    );
    const result = evaluateGate({ report, baseline: baselineFromReport(base), sla: widened });
    expect(failed(result.checks).map((c) => [c.scenario, c.metric])).toEqual([
      [other, 'p95 latency vs baseline'],
      [other, 'throughput vs baseline'],
    ]);
  });

  it('keeps the policy thresholds for metrics an override does not name', () => {
    const widened = sla({
      regression: {
        thresholdsPct: { p95LatencyMs: 50, cpuPerRequestMs: 75 },
        overrides: [{ match: 'http-*/**', thresholdsPct: { p95LatencyMs: 150 } }],
      },
    });
    expect(policyFor(widened.regression, 'http-closed/c1').thresholdsPct).toMatchObject({
      p95LatencyMs: 150,
      cpuPerRequestMs: 75,
    });
    expect(policyFor(widened.regression, ID).thresholdsPct.p95LatencyMs).toBe(50);
  });

  it('fails when a baseline scenario is missing from the new report, saying so', () => {
    const report = makeReport([
      inProcessScenario('in-process/news-bag/native/b1', logNormalSamples(600, 10, 2)),
    ]);
    const result = evaluateGate({ report, baseline, sla: sla({}, []) });
    expect(failed(result.checks)).toEqual([
      expect.objectContaining({ kind: 'presence', scenario: ID, value: 'missing', verdict: 'fail' }),
    ]);
    expect(failed(result.checks)[0]?.detail).toContain('new report does not contain it');
  });

  it('fails an SLA rule that matches no scenario unless the rule is optional', () => {
    const report = makeReport([inProcessScenario(ID, logNormalSamples(100, 10, 2))]);
    const rules = [
      { match: 'http-closed/*', maxP95Ms: 100 },
      { match: 'browser/**', maxP95Ms: 100, optional: true },
    ];
    const result = evaluateGate({ report, sla: sla({}, rules) });
    expect(result.checks.map((c) => [c.scenario, c.verdict])).toEqual([
      ['http-closed/*', 'fail'],
      ['browser/**', 'skipped'],
    ]);
  });

  it('fails a memory growth beyond its threshold without a significance test', () => {
    const report = makeReport([
      inProcessScenario(ID, logNormalSamples(600, 10, 2), { batchSize: 8, rssMiB: 150 }),
    ]);
    const result = evaluateGate({ report, baseline, sla: sla() });
    expect(failed(result.checks).map((c) => c.metric)).toEqual(['peak RSS vs baseline']);
  });

  it('skips the upload-size check with a reason when no size was given, and checks it when one was', () => {
    const report = makeReport([inProcessScenario(ID, logNormalSamples(100, 10, 2))]);
    const limits = sla({ maxWorkerUploadGzipBytes: 3 * 1024 * 1024 }, []);
    const skipped = evaluateGate({ report, sla: limits }).checks[0];
    expect(skipped).toMatchObject({ kind: 'upload', verdict: 'skipped' });
    expect(skipped?.detail).toContain('--upload-size-file');
    const big = { gzipBytes: 4 * 1024 * 1024, bytes: null, source: 'test' };
    expect(evaluateGate({ report, sla: limits, uploadSize: big }).checks[0]).toMatchObject({
      verdict: 'fail',
    });
  });
});

describe('memory plan checks', () => {
  const missed = buildMemoryPlan({
    bundle: 'news-bag',
    backend: 'wasm',
    metric: 'isolate',
    weightsBytes: 1024 * 1024,
    points: [
      { batchSize: 1, measuredBytes: 40 * 1024 * 1024 },
      { batchSize: 16, measuredBytes: 40 * 1024 * 1024 },
      { batchSize: 64, measuredBytes: 80 * 1024 * 1024 },
    ],
  });
  const report = makeReport([], { memoryPlans: [missed] });

  it('warns, without failing the gate, when a plan misses its held-out batch', () => {
    const result = evaluateGate({ report, sla: sla({}, []) });
    expect(result.checks).toEqual([
      expect.objectContaining({
        kind: 'memory-plan',
        scenario: 'memory-plan/news-bag/wasm',
        value: '50.0% off',
        verdict: 'warn',
      }),
    ]);
    expect(result.passed).toBe(true);
  });

  it('fails it when the SLA enforces memory plans', () => {
    const result = evaluateGate({ report, sla: sla({ enforceMemoryPlan: true }, []) });
    expect(result.checks[0]?.verdict).toBe('fail');
    expect(result.passed).toBe(false);
  });
});

describe('renderGateSummary', () => {
  it('writes one table row per check with value, limit and verdict', () => {
    const report = makeReport([inProcessScenario(ID, logNormalSamples(100, 10, 2))]);
    const result = evaluateGate({ report, sla: sla({}, [{ match: ID, maxP95Ms: 5 }]) });
    const md = renderGateSummary(result, { report: 'out/report.json', sla: 'bench/sla.json' });
    expect(md.split('\n')[0]).toBe('## shipshape gate: FAIL');
    expect(md).toContain('**1 checks: 0 passed, 1 failed, 0 warnings, 0 skipped.**');
    expect(md).toMatch(
      /\| \*\*FAIL\*\* \| `in-process\/news-bag\/native\/b8` \| p95 latency \| [\d.]+ ms \| <= 5\.00 ms \|/,
    );
  });
});

describe('matchesScenario', () => {
  it('lets * stay within a segment and ** cross segments', () => {
    expect(matchesScenario('in-process/*/native/b1', 'in-process/news-bag/native/b1')).toBe(true);
    expect(matchesScenario('in-process/*', 'in-process/news-bag/native/b1')).toBe(false);
    expect(matchesScenario('in-process/**', 'in-process/news-bag/native/b1')).toBe(true);
    expect(matchesScenario('cold-start/news-bag/wasm', 'cold-start/news-bag/wasm')).toBe(true);
  });
});

describe('the checked-in baseline under the checked-in SLA', () => {
  it('passes the checked-in baseline against itself: every regression check passes, unchanged', async () => {
    const report = await readReport(join(BENCH, 'baseline.json'));
    const result = evaluateGate({
      report,
      baseline: baselineFromReport(report),
      sla: await readSla(join(BENCH, 'sla.json')),
    });
    const regressions = result.checks.filter((c) => c.kind === 'regression');
    // 22 measured scenarios, each with p95, CPU and memory at least: an empty comparison would pass too.
    expect(regressions.length).toBeGreaterThanOrEqual(66);
    expect(regressions.filter((c) => c.verdict !== 'pass' || c.changePct !== 0)).toEqual([]);
    expect(result.checks.filter((c) => c.verdict === 'fail')).toEqual([]);
    expect(result.passed).toBe(true);
  });

  it('fails a copy of the checked-in baseline slowed five-fold, on the right keys', async () => {
    const baseline = await readReport(join(BENCH, 'baseline.json'));
    const result = evaluateGate({
      report: scaleTimings(baseline, 5),
      baseline: baselineFromReport(baseline),
      sla: await readSla(join(BENCH, 'sla.json')),
    });
    const failedKeys = result.checks.filter((c) => c.verdict === 'fail').map((c) => c.key);
    expect(result.passed).toBe(false);
    expect(failedKeys).toEqual(
      expect.arrayContaining([
        'in-process/news-bag/native/b1|p95Ms|regression',
        'in-process/news-bag/native/b1|itemsPerSecond|regression',
        // Closed-loop HTTP is judged in requests/s (against its own 70% threshold), never in items/s.
        'http-closed/c1|p95Ms|regression',
        'http-closed/c1|requestsPerSecond|regression',
      ]),
    );
    expect(result.checks.map((c) => c.key)).not.toContain('http-closed/c1|itemsPerSecond|regression');
  });
});

describe('every threshold of the SLA file is read', () => {
  const defaults = parseSla({ schemaVersion: 1, scenarios: [] }, 'test');

  it('judges every regression threshold of the schema with some metric', () => {
    expect(new Set(Object.values(thresholdFor))).toEqual(
      new Set(Object.keys(defaults.regression.thresholdsPct)),
    );
  });

  it('limits some metric with every limit field of an SLA rule', () => {
    const limits = Object.keys(slaRuleSchema.shape).filter((k) => k !== 'match' && k !== 'optional');
    expect(new Set(scenarioMetrics.map((m) => m.slaKey).filter(Boolean))).toEqual(new Set(limits));
  });

  it("judges closed-loop HTTP throughput in req/s under the http-*/** override's 70%", async () => {
    const baseline = await readReport(join(BENCH, 'baseline.json'));
    // 2.5 times slower: throughput -60%, within 70% for loopback HTTP and beyond 50% in-process.
    const result = evaluateGate({
      report: scaleTimings(baseline, 2.5),
      baseline: baselineFromReport(baseline),
      sla: await readSla(join(BENCH, 'sla.json')),
    });
    const byKey = new Map(result.checks.map((c) => [c.key, c]));
    expect(byKey.get('http-closed/c1|requestsPerSecond|regression')).toMatchObject({
      unit: 'req/s',
      limitValue: 70,
      verdict: 'pass',
    });
    expect(byKey.get('in-process/news-bag/native/b1|itemsPerSecond|regression')).toMatchObject({
      unit: 'items/s',
      limitValue: 50,
      verdict: 'fail',
    });
  });
});

describe('unstable measurements and another machine', () => {
  const unstable = inProcessScenario(ID, logNormalSamples(100, 10, 2), { status: 'unstable' });

  it('turns an unstable scenario into a warning of its own kind, counted in the warnings', () => {
    const report = makeReport([{ ...unstable, reason: 'windows disagree by 40%' }]);
    const result = evaluateGate({ report, sla: sla() });
    expect(result.checks.filter((c) => c.verdict === 'warn')).toEqual([
      expect.objectContaining({
        key: `${ID}|stability|stability`,
        kind: 'stability',
        value: 'unstable',
        detail: 'windows disagree by 40%',
      }),
    ]);
    const md = renderGateSummary(result, { report: 'r.json', sla: 's.json' });
    expect(md).toContain('**2 checks: 1 passed, 0 failed, 1 warnings, 0 skipped.**');
  });

  it('lists the stability warnings first among the warnings', () => {
    const withCpu = (median: number, seed: number, perRequestMs: number) => ({
      ...inProcessScenario(ID, logNormalSamples(600, median, seed), { batchSize: 8 }),
      cpu: { perRequestMs, utilization: 0.95, source: 'constructed' },
    });
    // CPU per request +40%: a regression warning, beside the stability warning.
    const result = evaluateGate({
      report: makeReport([{ ...withCpu(10, 2, 14), status: 'unstable' }]),
      baseline: baselineFromReport(makeReport([withCpu(10, 1, 10)])),
      sla: sla({}, []),
    });
    const md = renderGateSummary(result, { report: 'r.json', sla: 's.json' });
    const warnings = md.slice(md.indexOf('### Warnings'), md.indexOf('### All checks'));
    expect(warnings.split('\n').filter((l) => l.startsWith('| warn'))).toEqual([
      expect.stringContaining('| stable windows |'),
      expect.stringContaining('| CPU per request vs baseline |'),
    ]);
  });

  it('states a baseline from another machine right under the title', () => {
    const report = makeReport([inProcessScenario(ID, logNormalSamples(100, 10, 2))]);
    const other = makeReport([inProcessScenario(ID, logNormalSamples(100, 10, 1))], {
      machine: { ...report.machine, cpuModel: 'Other CPU', cores: 4 },
    });
    const result = evaluateGate({ report, baseline: baselineFromReport(other), sla: sla() });
    const lines = renderGateSummary(result, { report: 'r.json', sla: 's.json' }).split('\n');
    expect(lines.slice(0, 3)).toEqual([
      '## shipshape gate: PASS',
      '',
      '> **Note:** The baseline ran on "Other CPU" x4, this run on "Test CPU" x2: regressions may reflect the machine.',
    ]);
  });
});
