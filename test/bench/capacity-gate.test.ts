// The gate's capacity checks with the project's own SLA (bench/sla.json): the plan's verdict, the plan's p95 limit
// against the SLA's, re-measurement of a failed plan, and the summary's "Capacity plan" block.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { confirmFailures, scenariosToRemeasure } from '../../bench/gate/index.ts';
import { evaluateGate, renderGateSummary, type GateCheck } from '../../bench/gate/index.ts';
import { readSla, type Sla } from '../../bench/sla.ts';
import { capacityPoint, capacityScenario, makeReport } from './fixtures.ts';

const ID = 'http-capacity/news-bag';

const passing = () =>
  capacityScenario(ID, capacityPoint(600, 40), capacityPoint(1200, 400, { shed: 300, predictedP95Ms: 105 }));
const underestimated = () =>
  capacityScenario(ID, capacityPoint(600, 20), capacityPoint(1200, 60), {
    verdict: 'fail',
    detail: 'the model underestimated the replica by at least 50%: constructed.',
  });

describe('the capacity checks of the gate', () => {
  let sla: Sla;
  beforeAll(async () => {
    sla = await readSla(join(import.meta.dirname, '../../bench/sla.json'));
  });

  const check = (kind: GateCheck['kind'], scenario = passing(), over: Sla = sla): GateCheck | undefined =>
    evaluateGate({ report: makeReport([scenario]), sla: over }).checks.find(
      (c) => c.kind === kind && c.scenario === ID,
    );

  it('passes the plan of a passing self-check and shows plan against measurement at both rates', () => {
    expect(check('capacity-plan')).toEqual({
      key: `${ID}|capacityPlan|capacity-plan`,
      kind: 'capacity-plan',
      scenario: ID,
      metricId: 'capacityPlan',
      metric: 'plan vs measured',
      value:
        'planned 600 req/s: p95 40.0 ms (model 10.0 ms); ' +
        '1.5x sustainable 1,200 req/s: p95 400 ms (model 105 ms), 30.0% shed or failed',
      limit: 'SLA met at planned, missed at 1.5x sustainable',
      verdict: 'pass',
      detail: 'constructed',
      unit: 'ms',
      measured: 40,
      limitValue: 100,
    });
  });

  it("fails the plan of a failing self-check, with the self-check's own detail", () => {
    expect(check('capacity-plan', underestimated())).toMatchObject({
      verdict: 'fail',
      detail: 'the model underestimated the replica by at least 50%: constructed.',
    });
  });

  it('fails the gate on a failing self-check, and passes it on a passing one', () => {
    // Only the capacity rule of the SLA, so that no other scenario's absence decides.
    const capacityOnly: Sla = {
      ...sla,
      scenarios: sla.scenarios.filter((r) => r.match === 'http-capacity/*'),
    };
    expect(evaluateGate({ report: makeReport([underestimated()]), sla: capacityOnly }).passed).toBe(false);
    expect(evaluateGate({ report: makeReport([passing()]), sla: capacityOnly }).passed).toBe(true);
  });

  it('lists the scenario of a failed plan for re-measurement', () => {
    const result = evaluateGate({ report: makeReport([underestimated()]), sla });
    expect(scenariosToRemeasure(result)).toEqual([ID]);
  });

  it('turns a failed plan that a re-measurement passes into a warning', () => {
    const first = evaluateGate({ report: makeReport([underestimated()]), sla });
    const again = evaluateGate({ report: makeReport([passing()]), sla });
    const confirmed = confirmFailures(first, [{ report: 'r1.json', scenarios: [ID], result: again }]);
    expect(confirmed.checks.find((c) => c.kind === 'capacity-plan')).toMatchObject({
      verdict: 'warn',
      detail: expect.stringMatching(
        /^not reproduced: re-measurement 1 gave planned 600 req\/s: p95 40\.0 ms/,
      ),
    });
  });

  it("passes a plan made for the SLA rule's p95", () => {
    expect(check('capacity-limit')).toMatchObject({ verdict: 'pass', value: '100 ms', limit: '<= 100 ms' });
  });

  it('fails a plan made for a looser p95 than the SLA rule for its scenario, naming the rule', () => {
    const loose = capacityScenario(ID, capacityPoint(600, 120), capacityPoint(1200, 400, { shed: 300 }), {
      p95LimitMs: 150,
    });
    expect(check('capacity-limit', loose)).toMatchObject({
      verdict: 'fail',
      value: '150 ms',
      limit: '<= 100 ms',
      detail:
        "the plan was made for p95 150 ms, looser than the SLA's 100 ms (`http-capacity/*`); " +
        'set http.capacity.p95Ms in the bench config',
    });
  });

  it('never re-measures a plan made for a looser p95 (a measurement cannot change it)', () => {
    const loose = capacityScenario(ID, capacityPoint(600, 40), capacityPoint(1200, 400, { shed: 300 }), {
      p95LimitMs: 150,
    });
    expect(scenariosToRemeasure(evaluateGate({ report: makeReport([loose]), sla }))).toEqual([]);
  });

  it('skips the limit check, saying what to add, when no SLA rule bounds the p95 of the scenario', () => {
    const bare: Sla = { ...sla, scenarios: [] };
    expect(check('capacity-limit', passing(), bare)).toMatchObject({
      verdict: 'skipped',
      detail: 'no SLA rule with maxP95Ms matches `http-capacity/news-bag`; add one (e.g. `http-capacity/*`)',
    });
  });

  it("holds the planned point to the SLA rule's p95 and errors like any HTTP scenario", () => {
    const checks = evaluateGate({ report: makeReport([passing()]), sla }).checks.filter(
      (c) => c.kind === 'sla' && c.scenario === ID,
    );
    expect(checks.map((c) => [c.metric, c.verdict])).toEqual([
      ['p95 latency', 'pass'],
      ['errors', 'pass'],
    ]);
  });

  it('fails when the report has no capacity scenario', () => {
    const result = evaluateGate({ report: makeReport([]), sla });
    expect(result.checks.find((c) => c.scenario === 'http-capacity/*')).toMatchObject({
      kind: 'presence',
      verdict: 'fail',
    });
  });

  it('adds a Capacity plan block to the summary, with the reason when the plan failed', () => {
    const result = evaluateGate({ report: makeReport([underestimated()]), sla });
    const markdown = renderGateSummary(result, { report: 'r.json', sla: 'bench/sla.json' });
    expect(markdown).toContain(
      '### Capacity plan\n\nThe queueing model plans a per-replica rate within the p95 limit;',
    );
    expect(markdown).toContain(
      '- **FAIL** `http-capacity/news-bag`: planned 600 req/s: p95 20.0 ms (model 10.0 ms); ' +
        '1.5x sustainable 1,200 req/s: p95 60.0 ms (model 10.0 ms). ' +
        'the model underestimated the replica by at least 50%: constructed.\n',
    );
  });

  it('leaves the Capacity plan block out of a summary without a capacity scenario', () => {
    const result = evaluateGate({ report: makeReport([]), sla });
    expect(renderGateSummary(result, { report: 'r.json', sla: 'bench/sla.json' })).not.toContain(
      '### Capacity plan',
    );
  });
});
