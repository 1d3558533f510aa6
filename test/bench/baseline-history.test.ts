// The baseline history: recording runs, refusing a mixed mode, and the gate's statistic against several runs.
import { describe, expect, it } from 'vitest';
import { appendRun, historyRunOf, metricSeries, parseBaselineHistory } from '../../bench/baseline-history.ts';
import { historyBound, isHistoryRegression, judgeAgainstHistory } from '../../bench/gate/history.ts';
import { hasErrorCode } from '../../runtime/errors.ts';
import { BASELINE, CI_QUICK, historyOf } from './history-fixtures.ts';

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
    expect(hasErrorCode(thrown, 'BASELINE_MODE_MISMATCH')).toBe(true);
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
