// The baseline history: recording runs, refusing a mixed mode, and the gate's statistic against several runs.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  appendRun,
  BaselineError,
  historyRunOf,
  metricSeries,
  parseBaselineHistory,
} from '../../bench/baseline-history.ts';
import { historyBound, isHistoryRegression, judgeAgainstHistory } from '../../bench/gate/history.ts';
import { evaluateGate, type GateResult } from '../../bench/gate/index.ts';
import { scenarioBaselineFromRuns } from '../../bench/gate/baseline.ts';
import { baselineFromHistory, readBaseline, readBaselineFile } from '../../bench/gate/read-baseline.ts';
import type { Report } from '../../bench/report.ts';
import { parseSla } from '../../bench/sla.ts';
import { runChecklist } from '../../ops/checklist/checklist.ts';
import {
  BASELINE,
  CI_QUICK,
  historyOf,
  historyReport,
  reportFixture,
  scaledReport,
} from './history-fixtures.ts';

const ID = 'in-process/news-bag/native/b1';

describe('recording runs', () => {
  it('keeps the newest runs up to keep, oldest first, each with its machine', () => {
    const history = historyOf([1, 1.1, 0.9, 1.05, 0.95, 1.2, 1.02], 5);
    expect(history.runs.map((r) => r.source)).toEqual([
      'run-3.json',
      'run-4.json',
      'run-5.json',
      'run-6.json',
      'run-7.json',
    ]);
    expect(history.runs.map((r) => r.machine.loadAverage[0])).toEqual([1.2, 1.3, 1.4, 1.5, 1.6]);
    expect(history.runs[0]?.machine.cpuModel).toBe(BASELINE.machine.cpuModel);
  });

  it('keeps one number per metric id and run, scaled as the run was', () => {
    const history = historyOf([1, 2]);
    const p95 = BASELINE.scenarios.find((s) => s.id === ID)?.latency?.percentiles.p95.ms ?? NaN;
    const series = metricSeries(history, ID, 'p95Ms');
    expect(series).toHaveLength(2);
    expect(series[0]).toBeCloseTo(p95, 12);
    expect(series[1]).toBeCloseTo(2 * p95, 12);
  });

  it('writes a history its own schema reads back, without latency samples', () => {
    const history = historyOf([1, 1.1]);
    const json = JSON.parse(JSON.stringify(history)) as unknown;
    expect(parseBaselineHistory(json, 'round trip')).toEqual(history);
    expect(JSON.stringify(history)).not.toContain('samples');
  });

  it('refuses a full run into a history of quick runs, with BASELINE_MODE_MISMATCH', () => {
    const history = historyOf([1]);
    const full = historyRunOf({ ...CI_QUICK, mode: 'full' }, { source: 'full.json', commit: null });
    let thrown: unknown;
    try {
      appendRun(history, full);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BaselineError);
    expect((thrown as BaselineError).code).toBe('BASELINE_MODE_MISMATCH');
    expect((thrown as Error).message).toContain('full.json is a full run and the history holds quick runs');
  });

  it('refuses a file of another tool with BASELINE_INVALID', () => {
    expect(() =>
      parseBaselineHistory({ schemaVersion: 1, tool: 'shipshape-bench', runs: [] }, 'x.json'),
    ).toThrow(/x\.json: not a valid baseline history/);
  });
});

describe('the prediction bound over the history', () => {
  // Five runs of the same code whose p95 spread by -10..+10%: log sd 0.079.
  const values = [10, 11, 9, 10.5, 9.5];

  it('is Student t(0.99, 4) times the log sd times sqrt(1 + 1/5) around the geometric mean', () => {
    const bound = historyBound(values, 0.01)!;
    const logs = values.map(Math.log);
    const mean = logs.reduce((a, b) => a + b, 0) / 5;
    const sd = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / 4);
    expect(bound.t).toBeCloseTo(3.7469, 4);
    expect(bound.centre).toBeCloseTo(Math.exp(mean), 12);
    expect(Math.log(bound.high)).toBeCloseTo(mean + 3.7469 * sd * Math.sqrt(1.2), 4);
  });

  it('passes a value inside the history spread even when beyond the threshold', () => {
    const judged = judgeAgainstHistory({ values, current: 12, worse: 1, thresholdPct: 15, alpha: 0.01 })!;
    expect(judged.beyondThreshold).toBe(true);
    expect(judged.outsideBound).toBe(false);
    expect(isHistoryRegression(judged)).toBe(false);
  });

  it('calls a value beyond the threshold and outside the bound a regression', () => {
    const judged = judgeAgainstHistory({ values, current: 20, worse: 1, thresholdPct: 50, alpha: 0.01 })!;
    expect(judged.change).toBeCloseTo(20 / judged.bound.centre - 1, 12);
    expect(isHistoryRegression(judged)).toBe(true);
  });

  it('does not call a value outside the bound but within the threshold a regression', () => {
    const tight = [10, 10.1, 9.9, 10.05, 9.95];
    const judged = judgeAgainstHistory({
      values: tight,
      current: 11,
      worse: 1,
      thresholdPct: 15,
      alpha: 0.01,
    })!;
    expect(judged.outsideBound).toBe(true);
    expect(isHistoryRegression(judged)).toBe(false);
  });

  it('judges throughput on its low side', () => {
    const judged = judgeAgainstHistory({ values, current: 4, worse: -1, thresholdPct: 50, alpha: 0.01 })!;
    expect(isHistoryRegression(judged)).toBe(true);
    expect(
      judgeAgainstHistory({ values, current: 20, worse: -1, thresholdPct: 50, alpha: 0.01 })!.improved,
    ).toBe(true);
  });

  it('gives no bound for a single run', () => {
    expect(historyBound([10], 0.01)).toBeNull();
  });
});

describe('the gate against a history', () => {
  const sla = parseSla(JSON.parse(readFileSync('bench/sla.json', 'utf8')), 'bench/sla.json');
  const P95 = `${ID}|p95Ms|regression`;
  const failedKeys = (result: GateResult) =>
    result.checks.filter((c) => c.verdict === 'fail').map((c) => c.key);
  const gate = (factors: readonly number[], report: Report): GateResult => {
    const history = historyOf(factors);
    const newest = historyReport(factors[factors.length - 1]!, factors.length - 1);
    return evaluateGate({ report, sla, baseline: baselineFromHistory(history, newest) });
  };
  const now = '2026-12-09T06:00:00.000Z';

  it('passes a p95 beyond the threshold but inside the spread of five runs', () => {
    // Five runs of -30..+60%: a run at +80% is beyond the 50% threshold, not beyond what the history did.
    const result = gate([1, 1.6, 0.7, 1.3, 0.8], scaledReport(BASELINE, 1.8, now, 1, { only: ID }));
    const check = result.checks.find((c) => c.key === P95)!;
    expect(check.verdict).toBe('pass');
    expect(check.changePct).toBeGreaterThan(50);
    expect(check.detail).toContain(
      "beyond threshold but inside the history's spread (noise): history of 5 runs",
    );
    expect(failedKeys(result)).toEqual([]);
  });

  it('fails a clear regression of one scenario on its p95 and throughput keys', () => {
    const result = gate([1, 1.05, 0.95, 1.02, 0.98], scaledReport(BASELINE, 3, now, 1, { only: ID }));
    expect(failedKeys(result)).toEqual([P95, `${ID}|itemsPerSecond|regression`]);
    const check = result.checks.find((c) => c.key === P95)!;
    expect(check.baselineValue).toBeCloseTo(metricSeries(historyOf([1]), ID, 'p95Ms')[0]!, 2);
    expect(check.detail).toMatch(
      /^regression: history of 5 runs: centre .*; CPU per request \+200\.\d% vs its history/,
    );
    expect(result.passed).toBe(false);
  });

  it('warns instead of failing when CPU per request stayed inside the history', () => {
    const report = scaledReport(BASELINE, 3, now, 1, { only: ID, cpuFactor: 1 });
    const result = gate([1, 1.05, 0.95, 1.02, 0.98], report);
    const check = result.checks.find((c) => c.key === P95)!;
    expect(check.verdict).toBe('warn');
    expect(check.detail).toContain('slower on the clock but not in CPU time: CPU per request');
    expect(failedKeys(result)).toEqual([]);
  });

  it('falls back to the latest run with fewer runs than minRuns, and says so in the check', () => {
    const result = gate([1, 1.05], scaledReport(BASELINE, 3, now, 1, { only: ID }));
    const check = result.checks.find((c) => c.key === P95)!;
    expect(check.verdict).toBe('fail');
    expect(check.detail).toContain('Mann-Whitney U');
    expect(check.detail).toContain('history of 2 runs < minRuns 3: compared with the latest run alone');
    expect(result.notes).toContain(
      'The baseline history has 2 runs, fewer than regression.history.minRuns (3): regressions are judged against its latest run alone.',
    );
  });

  it('uses the bound once the history reaches minRuns set in the SLA', () => {
    const two = parseSla(
      { ...JSON.parse(readFileSync('bench/sla.json', 'utf8')), regression: { history: { minRuns: 2 } } },
      'minRuns 2',
    );
    const history = historyOf([1, 1.05]);
    const result = evaluateGate({
      report: scaledReport(BASELINE, 3, now, 1, { only: ID }),
      sla: two,
      baseline: baselineFromHistory(history, historyReport(1.05, 1)),
    });
    expect(result.checks.find((c) => c.key === P95)?.detail).toContain('history of 2 runs: centre');
  });
});

describe('readBaseline', () => {
  it('reads a plain report as a baseline of one run', async () => {
    const baseline = await readBaseline('bench/baseline.json');
    expect(baseline.source).toBe('report');
    expect(baseline.runs).toHaveLength(1);
  });

  it('reads the committed history with the full report it names as the latest run', async () => {
    const committed = JSON.parse(readFileSync('bench/baseline-history.json', 'utf8')) as {
      runs: { createdAt: string }[];
    };
    const baseline = await readBaseline('bench/baseline-history.json');
    expect(baseline.source).toBe('history');
    expect(baseline.runs.map((r) => r.createdAt)).toEqual(committed.runs.map((r) => r.createdAt));
    expect(baseline.runs.at(-1)?.createdAt).toBe(BASELINE.createdAt);
    expect(baseline.scenarios.get(ID)?.latest?.latency?.samples.length).toBeGreaterThan(0);
    expect(baseline.scenarios.get(ID)?.runs.p95Ms?.at(-1)).toBe(
      BASELINE.scenarios.find((s) => s.id === ID)?.latency?.percentiles.p95.ms,
    );
  });

  it('gives the same checks for a one-run history as for the report it was recorded from', async () => {
    const report = reportFixture('test/fixtures/reports/ci-quick.json');
    const sla = parseSla(JSON.parse(readFileSync('bench/sla.json', 'utf8')), 'bench/sla.json');
    const dir = mkdtempSync(join(tmpdir(), 'shipshape-one-run-'));
    writeFileSync(join(dir, 'baseline.json'), readFileSync('bench/baseline.json'));
    const history = appendRun(
      undefined,
      historyRunOf(BASELINE, { source: 'baseline.json', commit: null }),
      5,
      'baseline.json',
    );
    writeFileSync(join(dir, 'baseline-history.json'), JSON.stringify(history));
    const fromReport = evaluateGate({ report, sla, baseline: await readBaseline('bench/baseline.json') });
    const fromHistory = evaluateGate({
      report,
      sla,
      baseline: await readBaseline(join(dir, 'baseline-history.json')),
    });
    const strip = (r: GateResult) =>
      r.checks.map((c) => ({
        ...c,
        detail: c.detail.replace(/; history of 1 run < minRuns 3: compared with the latest run alone$/, ''),
      }));
    expect(strip(fromHistory)).toEqual(strip(fromReport));
  });
});

describe('readBaselineFile', () => {
  it('keeps a plain report as the full report of its one run', async () => {
    const file = await readBaselineFile('bench/baseline.json');
    expect(file.baseline.source).toBe('report');
    expect(file.report?.createdAt).toBe(BASELINE.createdAt);
  });

  it("keeps the committed history's latest report while it is the newest run", async () => {
    const file = await readBaselineFile('bench/baseline-history.json');
    expect(file.baseline.source).toBe('history');
    expect(file.report?.createdAt).toBe(BASELINE.createdAt);
  });

  it('has no full report for a history that names no latest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipshape-baseline-'));
    const path = join(dir, 'history.json');
    writeFileSync(path, JSON.stringify(historyOf([1, 1.1, 0.9])));
    const file = await readBaselineFile(path);
    expect(file.baseline.runs).toHaveLength(3);
    expect(file.report).toBeUndefined();
  });

  it('has no full report when the latest it names is older than the newest run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipshape-baseline-'));
    writeFileSync(join(dir, 'old.json'), JSON.stringify(historyReport(1, 0)));
    const path = join(dir, 'history.json');
    writeFileSync(path, JSON.stringify({ ...historyOf([1, 1.1, 0.9]), latest: 'old.json' }));
    expect((await readBaselineFile(path)).report).toBeUndefined();
  });
});

describe('scenarioBaselineFromRuns', () => {
  it('gives a scenario the same runs as the history recorded from the same reports', () => {
    const factors = [1, 1.3, 0.8];
    const reports = factors.map((f, i) => historyReport(f, i));
    const runs = reports.map((r) => r.scenarios.find((s) => s.id === ID)!);
    const fromRuns = scenarioBaselineFromRuns([runs[0]!, ...runs.slice(1)]);
    const fromHistory = baselineFromHistory(historyOf(factors), reports[2]).scenarios.get(ID)!;
    expect(fromRuns.runs.p95Ms).toEqual(fromHistory.runs.p95Ms);
    expect(fromRuns.runs.cpuPerRequestMs).toEqual(fromHistory.runs.cpuPerRequestMs);
    expect(fromRuns.latest).toBe(runs[2]);
  });
});

describe("the checklist's latency item", () => {
  it('judges a report against the baseline history as the gate does', async () => {
    const result = await runChecklist({
      bundleDir: 'artifacts/news-bag',
      report: 'bench/baseline.json',
      sla: 'bench/sla.json',
      baseline: 'bench/baseline-history.json',
      // Only the latency item runs: no service is asked, the backend is given.
      url: 'http://127.0.0.1:9',
      rules: 'unused',
      backend: 'native',
      items: ['latency'],
    });
    const latency = result.items.find((i) => i.id === 'latency');
    expect(latency?.verdict).toBe('pass');
    expect(latency?.evidence).toContain(
      'shipshape gate --report bench/baseline.json --sla bench/sla.json --baseline bench/baseline-history.json: ',
    );
  });
});
