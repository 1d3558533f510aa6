// The gate's overload checks, with the project's own SLA (bench/sla.json): admitted p99 bounded, excess shed, and no
// failure other than 503 OVERLOADED.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateGate, type GateCheck } from '../../bench/gate/index.ts';
import { readSla, type Sla } from '../../bench/sla.ts';
import { logNormalSamples, makeReport, overloadScenario } from './fixtures.ts';

const ID = 'http-overload/x2';

function overloadChecks(sla: Sla, ...args: Parameters<typeof overloadScenario>): GateCheck[] {
  const result = evaluateGate({ report: makeReport([overloadScenario(...args)]), sla });
  return result.checks.filter((c) => c.scenario === ID);
}

const verdicts = (checks: readonly GateCheck[]) =>
  Object.fromEntries(checks.map((c) => [c.metric, c.verdict]));

describe('the overload checks of bench/sla.json', () => {
  let sla: Sla;
  beforeAll(async () => {
    sla = await readSla(join(import.meta.dirname, '../../bench/sla.json'));
  });

  it('passes a run whose admitted p99 is within 200 ms, that shed 40% and failed nothing else', () => {
    const checks = overloadChecks(sla, ID, logNormalSamples(600, 60, 1), { requests: 1000, shed: 400 });
    expect(verdicts(checks)).toEqual({
      'p99 latency': 'pass',
      errors: 'pass',
      'shed (503 OVERLOADED)': 'pass',
    });
    expect(checks.find((c) => c.metric === 'shed (503 OVERLOADED)')).toMatchObject({
      value: '40.0 %',
      limit: '>= 5.00 %',
    });
  });

  it('fails a run whose admitted p99 passed 200 ms (the queue was not bounded)', () => {
    const checks = overloadChecks(sla, ID, logNormalSamples(600, 400, 1), { requests: 1000, shed: 400 });
    expect(checks.find((c) => c.metric === 'p99 latency')).toMatchObject({
      verdict: 'fail',
      limit: '<= 200 ms',
    });
  });

  it('fails a run that shed nothing at twice its capacity', () => {
    const checks = overloadChecks(sla, ID, logNormalSamples(600, 60, 1), { requests: 600, shed: 0 });
    expect(checks.find((c) => c.metric === 'shed (503 OVERLOADED)')?.verdict).toBe('fail');
  });

  it('fails a run with any failure other than 503 OVERLOADED', () => {
    const checks = overloadChecks(sla, ID, logNormalSamples(600, 60, 1), {
      requests: 1000,
      shed: 399,
      errors: 1,
    });
    expect(checks.find((c) => c.metric === 'errors')).toMatchObject({ verdict: 'fail', value: '0.100 %' });
  });

  it('fails when the report has no overload scenario', () => {
    const result = evaluateGate({ report: makeReport([]), sla });
    expect(result.checks.find((c) => c.scenario === 'http-overload/*')).toMatchObject({
      kind: 'presence',
      verdict: 'fail',
    });
  });
});
