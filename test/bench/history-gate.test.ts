// The gate against a baseline history: its own alpha, the ceiling, CPU corroboration, the fallback's one run, unique
// check keys, presence from the newest run, bad values and what `baseline record` refuses.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  appendRun,
  BaselineError,
  historyRunOf,
  metricIds,
  type BaselineHistory,
} from '../../bench/baseline-history.ts';
import { historyBound } from '../../bench/gate/history.ts';
import { readMetrics, scenarioMetricIds } from '../../bench/gate/metrics.ts';
import { evaluateGate, type GateResult } from '../../bench/gate/index.ts';
import { baselineFromHistory } from '../../bench/gate/read-baseline.ts';
import { confirmFailures } from '../../bench/gate/remeasure.ts';
import type { Report } from '../../bench/report.ts';
import { parseSla, type Sla } from '../../bench/sla.ts';
import { BASELINE, historyOf, historyReport, scaledReport } from './history-fixtures.ts';

const ID = 'in-process/news-bag/native/b1';
const P95 = `${ID}|p95Ms|regression`;
const NOW = '2026-12-09T06:00:00.000Z';
const SLA_JSON = JSON.parse(readFileSync('bench/sla.json', 'utf8')) as { regression: object };

/** bench/sla.json with `regression.history` replaced. */
function slaWithHistory(history: object): Sla {
  return parseSla({ ...SLA_JSON, regression: { ...SLA_JSON.regression, history } }, 'test');
}

const SLA = parseSla(SLA_JSON, 'bench/sla.json');

function gate(factors: readonly number[], report: Report, sla: Sla = SLA): GateResult {
  const history = historyOf(factors);
  const newest = historyReport(factors[factors.length - 1]!, factors.length - 1);
  return evaluateGate({ report, sla, baseline: baselineFromHistory(history, newest) });
}

const p95Of = (result: GateResult) => result.checks.find((c) => c.key === P95)!;

describe('the history bound and its own alpha', () => {
  it('defaults regression.history.alpha to 0.1 and the ceiling to 3 times the threshold', () => {
    expect(SLA.regression.history).toMatchObject({ alpha: 0.1, ceilingFactor: 3 });
    expect(SLA.regression.alpha).toBe(0.01);
  });

  it('judges the bound at regression.history.alpha, not at the sample tests alpha', () => {
    // Five runs within -20..+30%: a doubled p95 (and CPU) is outside the 95% bound, inside the 99% one.
    const factors = [1, 1.3, 0.8, 1.15, 0.85];
    const report = scaledReport(BASELINE, 2, NOW, 1, { only: ID });
    expect(p95Of(gate(factors, report, slaWithHistory({ alpha: 0.05 }))).verdict).toBe('fail');
    expect(p95Of(gate(factors, report, slaWithHistory({ alpha: 0.01 }))).verdict).toBe('pass');
  });

  it('states the bound confidence and the ceiling in the notes', () => {
    const result = gate([1, 1.05, 0.95, 1.02, 0.98], scaledReport(BASELINE, 1, NOW));
    expect(result.notes.join('\n')).toContain('90% prediction bound');
    expect(result.notes.join('\n')).toContain('or beyond 3 x the threshold');
  });
});

describe('the ceiling', () => {
  // Five runs from half to 2.2 times: the 90% bound reaches about 3.7 times the centre.
  const wide = [1, 2.2, 0.5, 1.8, 0.6];

  it('fails a tripled p95 beyond 3 x the threshold even inside a wide bound', () => {
    const check = p95Of(gate(wide, scaledReport(BASELINE, 3, NOW, 1, { only: ID })));
    expect(check.changePct).toBeGreaterThan(150);
    expect(check.verdict).toBe('fail');
    expect(check.detail).toContain('beyond the ceiling of 3 x the threshold, inside the bound');
  });

  it('still warns when CPU per request stayed within its threshold (contention)', () => {
    const report = scaledReport(BASELINE, 3, NOW, 1, { only: ID, cpuFactor: 1 });
    const check = p95Of(gate(wide, report));
    expect(check.verdict).toBe('warn');
    expect(check.detail).toContain('slower on the clock but not in CPU time');
  });

  it('fails a throughput below a quarter of the centre on the same ceiling', () => {
    const check = gate(wide, scaledReport(BASELINE, 5, NOW, 1, { only: ID })).checks.find(
      (c) => c.key === `${ID}|itemsPerSecond|regression`,
    )!;
    expect(check.verdict).toBe('fail');
    expect(check.limit).toContain('(or beyond -75%)');
  });
});

describe('CPU corroboration against a history', () => {
  it('fails a wall-clock regression whose CPU per request moved beyond its threshold though inside its bound', () => {
    // CPU per request x2.2 against the centre: beyond the 75% threshold, inside the wide history's CPU bound.
    const wide = [1, 2.2, 0.5, 1.8, 0.6];
    const report = scaledReport(BASELINE, 5, NOW, 1, { only: ID, cpuFactor: 2.2 });
    const check = p95Of(gate(wide, report));
    expect(check.verdict).toBe('fail');
    expect(check.detail).toMatch(/CPU per request \+1\d\d\.\d% vs its history \(beyond 75%/);
  });
});

describe('the fallback to one run', () => {
  /** A history whose newest run errored the scenario: `factors` for the earlier runs, then the errored one. */
  function erroredNewest(factors: readonly number[]): { history: BaselineHistory; newest: Report } {
    let history: BaselineHistory | undefined;
    factors.forEach((factor, i) => {
      history = appendRun(
        history,
        historyRunOf(historyReport(factor, i), { source: `run-${i}.json`, commit: null }),
      );
    });
    const base = historyReport(1, factors.length);
    const newest: Report = {
      ...base,
      scenarios: base.scenarios.map((s) =>
        s.id === ID ? { ...s, status: 'errored', reason: 'session failed' } : s,
      ),
    };
    history = appendRun(history, historyRunOf(newest, { source: 'newest.json', commit: null }));
    return { history: history, newest };
  }

  it('decides on the threshold alone when the run that holds the value has no samples here', () => {
    const { history, newest } = erroredNewest([1]);
    const result = evaluateGate({
      report: scaledReport(BASELINE, 3, NOW, 1, { only: ID }),
      sla: SLA,
      baseline: baselineFromHistory(history, newest),
    });
    const check = p95Of(result);
    expect(check.verdict).toBe('fail');
    expect(check.detail).toContain(
      "no retained samples of the baseline's run (no full report of it): threshold alone decides",
    );
  });

  it('never prints an undefined CPU utilisation', () => {
    const { history, newest } = erroredNewest([1]);
    const result = evaluateGate({
      report: scaledReport(BASELINE, 3, NOW, 1, { only: ID }),
      sla: SLA,
      baseline: baselineFromHistory(history, newest),
    });
    const cpu = result.checks.find((c) => c.key === `${ID}|cpuPerRequestMs|regression`)!;
    expect(cpu.verdict).toBe('warn');
    expect(result.checks.map((c) => c.detail).join('\n')).not.toContain('undefined');
  });

  it('notes a latest full report that is not the newest run, and does not use its samples', () => {
    const history = historyOf([1, 1.05]);
    const baseline = baselineFromHistory(history, historyReport(1, 0));
    expect(baseline.scenarios.get(ID)?.latest).toBeUndefined();
    const result = evaluateGate({ report: scaledReport(BASELINE, 1, NOW), sla: SLA, baseline });
    expect(result.notes.join('\n')).toContain(
      'is not its newest run (2026-12-02T06:00:00.000Z): it was not used',
    );
  });
});

describe('presence against a history', () => {
  it('no longer requires a scenario the newest run does not contain', () => {
    let history: BaselineHistory | undefined;
    [1, 1.05, 0.95].forEach((factor, i) => {
      const report = historyReport(factor, i);
      const run = i < 2 ? report : { ...report, scenarios: report.scenarios.filter((s) => s.id !== ID) };
      history = appendRun(history, historyRunOf(run, { source: `run-${i}.json`, commit: null }));
    });
    const baseline = baselineFromHistory(history!);
    expect(baseline.scenarios.get(ID)?.measured).toBe(false);
    const report = { ...BASELINE, createdAt: NOW, scenarios: BASELINE.scenarios.filter((s) => s.id !== ID) };
    const result = evaluateGate({ report, sla: SLA, baseline });
    expect(result.checks.filter((c) => c.kind === 'presence' && c.scenario === ID)).toEqual([]);
  });
});

describe('values that are not positive', () => {
  it('leaves a zero out of the bound and says so', () => {
    const bound = historyBound([10, 0, 11, 9], 0.1);
    expect(bound?.n).toBe(3);
    expect(bound?.dropped).toBe(1);
  });
});

describe('recording runs', () => {
  const run = (i: number) => historyRunOf(historyReport(1, i), { source: `run-${i}.json`, commit: null });
  const thrown = (f: () => unknown): unknown => {
    try {
      f();
    } catch (error) {
      return error;
    }
    return undefined;
  };

  it('refuses a run already recorded, with BASELINE_INVALID', () => {
    const history = appendRun(undefined, run(0));
    const error = thrown(() => appendRun(history, run(0)));
    expect(error).toBeInstanceOf(BaselineError);
    expect((error as BaselineError).code).toBe('BASELINE_INVALID');
    expect((error as Error).message).toContain('is already in the history');
  });

  it('refuses a run older than the newest recorded one', () => {
    const history = appendRun(undefined, run(1));
    expect((thrown(() => appendRun(history, run(0))) as Error).message).toContain(
      "is older than the history's newest run",
    );
  });
});

describe('SLA check keys', () => {
  const twoRules = parseSla(
    {
      schemaVersion: 1,
      scenarios: [
        { match: 'in-process/**', maxP95Ms: 1e6 },
        { match: ID, maxP95Ms: 0.001 },
      ],
    },
    'two rules',
  );

  it('gives each rule matching one scenario and metric its own key', () => {
    const result = evaluateGate({ report: BASELINE, sla: twoRules });
    const keys = result.checks.map((c) => c.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(result.checks.find((c) => c.key === `${ID}|p95Ms|sla@${ID}`)?.verdict).toBe('fail');
  });

  it('keeps a failure that the re-measurement reproduces while another rule on the same metric passes', () => {
    const first = evaluateGate({ report: BASELINE, sla: twoRules });
    const again = evaluateGate({ report: BASELINE, sla: twoRules });
    const confirmed = confirmFailures(first, [{ report: 'r1.json', scenarios: [ID], result: again }]);
    expect(confirmed.checks.find((c) => c.key === `${ID}|p95Ms|sla@${ID}`)?.verdict).toBe('fail');
    expect(confirmed.passed).toBe(false);
  });

  it('refuses to confirm a result in which two checks share a key', () => {
    const first = evaluateGate({ report: BASELINE, sla: twoRules });
    const check = first.checks[0]!;
    const broken = { ...first, checks: [...first.checks, check] };
    expect(() => confirmFailures(broken, [{ report: 'r1.json', scenarios: [], result: first }])).toThrow(
      `two checks share the key ${check.key}`,
    );
  });
});

describe('what a history run records', () => {
  it('records every metric the gate reads, by the gate own readers, plus CPU utilisation', () => {
    const scenario = BASELINE.scenarios.find((s) => s.id === ID)!;
    const recorded = historyRunOf(BASELINE, { source: 'b.json', commit: null }).scenarios.find(
      (s) => s.id === ID,
    )!;
    expect(recorded.metrics).toEqual({ ...readMetrics(scenario), cpuUtilization: scenario.cpu?.utilization });
    expect(scenarioMetricIds.filter((id) => !(metricIds as readonly string[]).includes(id))).toEqual([]);
  });
});

describe('SLA check keys of rules with the same match', () => {
  it('numbers a later rule with the same match, so keys stay unique', () => {
    const sla = parseSla(
      {
        schemaVersion: 1,
        scenarios: [
          { match: ID, maxP95Ms: 1e6 },
          { match: ID, maxP95Ms: 0.001 },
          { match: 'browser/none/**', maxP95Ms: 1 },
          { match: 'browser/none/**', maxP95Ms: 2 },
        ],
      },
      'same match twice',
    );
    const keys = evaluateGate({ report: BASELINE, sla }).checks.map((c) => c.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toContain(`${ID}|p95Ms|sla@${ID}#2`);
    expect(keys).toContain('browser/none/**|present|presence@browser/none/**#2');
  });
});
