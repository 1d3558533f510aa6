// Confirming gate failures by re-measurement: the pure merge on constructed results, then the real CLI, which
// re-runs real scenarios. A burst of contention cannot be caused on demand, so a report with its timings scaled up
// stands in for one (and a baseline scaled down for a true regression); the re-measurements themselves are real.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shipshape } from '../helpers/cli.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  confirmFailures,
  evaluateGate,
  scenariosToRemeasure,
  type Remeasurement,
} from '../../bench/gate/index.ts';
import { keyed, type GateCheck, type GateResult, type UnkeyedCheck } from '../../bench/gate/index.ts';
import { remeasureFailures } from '../../bench/gate/remeasure.ts';
import { parseSla } from '../../bench/sla.ts';
import { inProcessScenario, logNormalSamples, makeReport, scaleTimings } from './fixtures.ts';
import { parseReport, type Report } from '../../bench/report.ts';

const ROOT = join(import.meta.dirname, '../..');
const BAG = join(ROOT, 'artifacts/news-bag');

function check(overrides: Partial<UnkeyedCheck>): GateCheck {
  return keyed({
    kind: 'regression',
    scenario: 'in-process/news-bag/native/b1',
    metricId: 'p95Ms',
    metric: 'p95 latency vs baseline',
    value: '2.00 ms (+100.0% vs 1.00)',
    limit: '+50% and significant',
    verdict: 'fail',
    detail: 'regression: Mann-Whitney U p<0.0001',
    ...overrides,
  });
}

function result(checks: GateCheck[]): GateResult {
  return { passed: checks.every((c) => c.verdict !== 'fail'), checks, notes: [] };
}

describe('confirmFailures', () => {
  const A = 'in-process/news-bag/native/b1';
  const B = 'in-process/news-bag/native/b16';

  it('lists each scenario with a failing SLA or regression check once, and no other kind', () => {
    const first = result([
      check({ scenario: A }),
      check({ scenario: A, metricId: 'itemsPerSecond', metric: 'throughput vs baseline' }),
      check({ scenario: B, kind: 'sla', metric: 'p95 latency' }),
      check({
        scenario: 'worker-upload',
        kind: 'upload',
        metricId: 'uploadGzipBytes',
        metric: 'upload size',
      }),
      check({
        scenario: 'cold-start/news-bag/wasm',
        kind: 'presence',
        metricId: 'present',
        metric: 'present',
      }),
      check({ scenario: 'http-closed/c1', verdict: 'pass' }),
    ]);
    expect(scenariosToRemeasure(first)).toEqual([A, B]);
  });

  it('turns a failure that a re-measurement passes into a warning that keeps both values', () => {
    const first = result([check({ scenario: A })]);
    const again: Remeasurement = {
      report: 'out/report-remeasure-1.json',
      scenarios: [A],
      result: result([check({ scenario: A, verdict: 'pass', value: '1.10 ms (+10.0% vs 1.00)' })]),
    };
    const confirmed = confirmFailures(first, [again]);
    expect(confirmed.passed).toBe(true);
    expect(confirmed.checks[0]?.verdict).toBe('warn');
    expect(confirmed.checks[0]?.detail).toBe(
      'not reproduced: re-measurement 1 gave 1.10 ms (+10.0% vs 1.00) (pass); ' +
        'first measurement: regression: Mann-Whitney U p<0.0001',
    );
    expect(confirmed.notes).toEqual([
      'Re-measurement 1 of `in-process/news-bag/native/b1`: `out/report-remeasure-1.json` (0 of its checks failed).',
    ]);
  });

  it('keeps a failure that every re-measurement reproduces, listing their values', () => {
    const first = result([check({ scenario: A }), check({ scenario: B })]);
    const rounds: Remeasurement[] = [
      {
        report: 'r1.json',
        scenarios: [A, B],
        result: result([
          check({ scenario: A, value: '2.1 ms' }),
          check({ scenario: B, verdict: 'pass', value: '1.0 ms' }),
        ]),
      },
      { report: 'r2.json', scenarios: [A], result: result([check({ scenario: A, value: '1.9 ms' })]) },
    ];
    const confirmed = confirmFailures(first, rounds);
    expect(confirmed.passed).toBe(false);
    expect(confirmed.checks.map((c) => [c.scenario, c.verdict])).toEqual([
      [A, 'fail'],
      [B, 'warn'],
    ]);
    expect(confirmed.checks[0]?.detail).toMatch(
      /^reproduced in 2 re-measurement\(s\) \(2\.1 ms; 1\.9 ms\); regression: /,
    );
  });

  it('keeps a failure whose scenario the re-measurement could not measure', () => {
    const first = result([check({ scenario: A })]);
    const errored: Remeasurement = {
      report: 'r1.json',
      scenarios: [A],
      result: result([
        check({ scenario: A, kind: 'presence', metricId: 'present', metric: 'present', value: 'errored' }),
      ]),
    };
    const confirmed = confirmFailures(first, [errored]);
    expect(confirmed.passed).toBe(false);
    expect(confirmed.checks[0]?.detail).toMatch(/^reproduced in 1 re-measurement\(s\) \(not measured\)/);
  });

  it('never overturns a missing scenario or an oversized upload', () => {
    const first = result([
      check({ kind: 'presence', metricId: 'present', metric: 'present' }),
      check({
        scenario: 'worker-upload',
        kind: 'upload',
        metricId: 'uploadGzipBytes',
        metric: 'upload size',
      }),
    ]);
    const confirmed = confirmFailures(first, [{ report: 'r1.json', scenarios: [A], result: result([]) }]);
    expect(confirmed.checks.map((c) => c.verdict)).toEqual(['fail', 'fail']);
  });
});

describe('confirmFailures matches checks by key', () => {
  const A = 'in-process/news-bag/native/b16';
  // Both SLA throughput checks are labelled `throughput`: one in items/s, one in requests/s.
  const slaOf = parseSla(
    {
      schemaVersion: 1,
      scenarios: [{ match: A, minItemsPerSecond: 1e9, minRequestsPerSecond: 1 }],
    },
    'test',
  );
  const judge = (report: Report): GateResult => evaluateGate({ report, sla: slaOf });

  it('keeps the items/s throughput failure when the re-measurement passes only the req/s throughput check', () => {
    const first = judge(makeReport([inProcessScenario(A, logNormalSamples(200, 10, 1), { batchSize: 16 })]));
    const again = judge(makeReport([inProcessScenario(A, logNormalSamples(200, 10, 2), { batchSize: 16 })]));
    const labels = again.checks.filter((c) => c.metric === 'throughput').map((c) => [c.metricId, c.verdict]);
    expect(labels).toEqual([
      ['itemsPerSecond', 'fail'],
      ['requestsPerSecond', 'pass'],
    ]);
    const confirmed = confirmFailures(first, [{ report: 'r1.json', scenarios: [A], result: again }]);
    expect(confirmed.checks.find((c) => c.key === `${A}|itemsPerSecond|sla@${A}`)?.verdict).toBe('fail');
    expect(confirmed.passed).toBe(false);
  });
});

describe('remeasureFailures (the loop, with constructed reports for the bench)', () => {
  const A = 'in-process/news-bag/native/b1';
  const B = 'in-process/news-bag/native/b16';
  const slaOf = parseSla({ schemaVersion: 1, scenarios: [{ match: 'in-process/**', maxP95Ms: 12 }] }, 'test');
  const judge = (report: Report): GateResult => evaluateGate({ report, sla: slaOf });
  // Median 10 ms: p95 well above 12 ms with sigma 0.25; median 5 ms: well below.
  const slow = (id: string, seed: number) => inProcessScenario(id, logNormalSamples(400, 10, seed));
  const fast = (id: string, seed: number) => inProcessScenario(id, logNormalSamples(400, 5, seed));

  it('measures again only the scenarios that failed every round before', async () => {
    const asked: string[][] = [];
    const first = judge(makeReport([slow(A, 1), slow(B, 2)]));
    const rounds = await remeasureFailures(first, {
      rounds: 3,
      judge,
      measure: (scenarios, round) => {
        asked.push([...scenarios]);
        // A stays slow every time; B is fast when measured again.
        const measured = scenarios.map((id) => (id === A ? slow(id, 10 + round) : fast(id, 20 + round)));
        return Promise.resolve({ report: makeReport(measured), path: `r${round}.json` });
      },
    });
    expect(asked).toEqual([[A, B], [A], [A]]);
    expect(rounds.map((r) => r.report)).toEqual(['r1.json', 'r2.json', 'r3.json']);
  });

  it('stops as soon as nothing fails any more', async () => {
    const asked: string[][] = [];
    const first = judge(makeReport([slow(A, 1)]));
    const rounds = await remeasureFailures(first, {
      rounds: 3,
      judge,
      measure: (scenarios, round) => {
        asked.push([...scenarios]);
        return Promise.resolve({
          report: makeReport(scenarios.map((id) => fast(id, round))),
          path: 'r.json',
        });
      },
    });
    expect(asked).toEqual([[A]]);
    expect(confirmFailures(first, rounds).passed).toBe(true);
  });

  it('measures nothing with zero rounds', async () => {
    let calls = 0;
    const first = judge(makeReport([slow(A, 1)]));
    const rounds = await remeasureFailures(first, {
      rounds: 0,
      judge,
      measure: () => {
        calls++;
        return Promise.reject(new Error('not expected'));
      },
    });
    expect([rounds, calls]).toEqual([[], 0]);
  });
});

describe('shipshape gate --remeasure (the real CLI, real re-measurements)', () => {
  let dir: string;
  let report: Report;
  let bench: { code: number | null; stdout: string; stderr: string };
  const SCENARIO = 'in-process/news-bag/native/b4';

  const write = (name: string, value: unknown): string => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(value));
    return path;
  };

  const run = (args: string[]) => shipshape(args, '', { CI: '1' });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'shipshape-remeasure-'));
    write('bench.config.json', {
      bundles: [BAG],
      stability: { windows: 2, tolerancePct: 10_000, maxTrials: 2 },
      inProcess: {
        backends: ['native'],
        batchSizes: [1, 4],
        windowMs: 100,
        minSamplesPerWindow: 30,
        warmupMs: 50,
        maxWarmupMs: 200,
      },
      coldStart: { enabled: false },
      http: { enabled: false },
      browser: { enabled: false },
    });
    bench = run([
      'bench',
      '--config',
      join(dir, 'bench.config.json'),
      '--scenario',
      'in-process/*/*/b4',
      '--no-charts',
      '--out',
      join(dir, 'report.json'),
    ]);
    report = parseReport(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')), 'report.json');
    // Thresholds far above run-to-run noise, even with other test files on the cores: only an 11-fold slowdown or a
    // 20-fold drop in throughput fails. The scaled reports below are 1,000-fold, so the real re-measurements decide.
    write('sla.json', {
      schemaVersion: 1,
      regression: { thresholdsPct: { p95LatencyMs: 1000, itemsPerSecond: 95, cpuPerRequestMs: 1000 } },
      scenarios: [{ match: 'in-process/**', maxP95Ms: 60_000 }],
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs only the scenarios that --scenario names', () => {
    expect(bench.code, bench.stderr).toBe(0);
    expect(report.scenarios.map((s) => s.id)).toEqual([SCENARIO]);
    expect(bench.stdout).toMatch(/^bench: 1 scenarios \(/);
  });

  it('refuses a --scenario pattern that matches nothing, naming what the config plans', () => {
    const r = run(['bench', '--config', join(dir, 'bench.config.json'), '--scenario', 'browser/**']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'shipshape: no planned scenario matches "browser/**"; this configuration plans: ' +
        'in-process/news-bag/native/b1, in-process/news-bag/native/b4\n',
    );
  });

  it('warns instead of failing when the re-measurement does not reproduce a slowdown (a report scaled 1,000-fold as the burst)', () => {
    const burst = write('burst.json', scaleTimings(report, 1000));
    const gate = run([
      'gate',
      '--report',
      burst,
      '--baseline',
      join(dir, 'report.json'),
      '--sla',
      join(dir, 'sla.json'),
      '--remeasure',
      '2',
    ]);
    expect(gate.code, gate.stdout + gate.stderr).toBe(0);
    expect(gate.stderr).toContain(
      `gate: re-measuring 1 scenario(s) with a failing check (round 1 of 2): ${SCENARIO}\n`,
    );
    expect(existsSync(join(dir, 'burst-remeasure-1.json'))).toBe(true);
    expect(gate.stdout).toMatch(/^## shipshape gate: PASS\n/);
    expect(gate.stdout).toMatch(
      /\| warn \| `in-process\/news-bag\/native\/b4` \| p95 latency vs baseline \| [^|]+\| [^|]+\| not reproduced: re-measurement [12] gave /,
    );
  });

  it('still fails when every re-measurement reproduces the regression (a baseline scaled down 1,000-fold as the faster past)', () => {
    const faster = write('faster.json', scaleTimings(report, 1 / 1000));
    const gate = run([
      'gate',
      '--report',
      join(dir, 'report.json'),
      '--baseline',
      faster,
      '--sla',
      join(dir, 'sla.json'),
      '--remeasure',
      '2',
    ]);
    expect(gate.code, gate.stdout + gate.stderr).toBe(1);
    expect(gate.stderr).toContain('(round 2 of 2)');
    expect(existsSync(join(dir, 'report-remeasure-2.json'))).toBe(true);
    expect(gate.stdout).toMatch(/^## shipshape gate: FAIL\n/);
    expect(gate.stdout).toMatch(
      /\| \*\*FAIL\*\* \| `in-process\/news-bag\/native\/b4` \| p95 latency vs baseline \| [^|]+\| [^|]+\| reproduced in 2 re-measurement\(s\) /,
    );
  });

  it('rejects a --remeasure count that is not a small whole number', () => {
    const r = run(['gate', '--report', join(dir, 'report.json'), '--remeasure', 'lots']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("option '--remeasure <rounds>' argument 'lots' is invalid");
  });
});
