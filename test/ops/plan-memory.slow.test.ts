// The plan's memory needs beside the seed's naive formula (no comparison where the formula has nothing to count),
// and the one memory answer the full plan and `plan --memory` share.
import { describe, expect, it } from 'vitest';
import { memoryNeeds } from '../../ops/plan/memory.ts';
import { buildPlan, planMemory } from '../../ops/plan/plan.ts';
import { ciQuickReport, fixtureReport, planInputs } from '../helpers/plan-fixture.ts';

const report = ciQuickReport();

function needs(parameters: { parameters: number; layers: number }) {
  return memoryNeeds({
    report,
    bundle: 'news-bag',
    batchSize: 32,
    workers: 1,
    parameters,
    isolateBudgetBytes: 128 * 1024 * 1024,
  });
}

describe('memory needs beside the naive formula', () => {
  it('compares with the formula when the graph has weighted layers', () => {
    const replica = needs({ parameters: 1_000_000, layers: 2 }).replica;
    expect(replica?.naiveBytes).toBe(8_000_000);
    expect(replica?.naiveRatio).toBeCloseTo((replica?.minimumBytes ?? 0) / 8_000_000, 9);
  });

  it('makes no comparison when the graph shows no weighted layer (the formula would say 0 bytes)', () => {
    const replica = needs({ parameters: 1_000_000, layers: 0 }).replica;
    expect(replica).toMatchObject({ naiveBytes: null, naiveRatio: null, naiveWrong: null });
  });
});

describe('planMemory', () => {
  const selfChecked = fixtureReport('quick-http-capacity.json');

  it("gives the full plan's memory answer on a self-checked report", async () => {
    const inputs = await planInputs({ report: selfChecked, reportPath: 'quick-http-capacity.json' });
    const memory = planMemory(selfChecked, {
      ...inputs,
      isolateBudgetBytes: inputs.workersPricing.plans.paid.isolateMemoryBytes,
    });
    expect(memory).toEqual(buildPlan(inputs).memory);
  });

  it("counts the service's measured peak RSS from the self-check in the replica's minimum", () => {
    const peak = selfChecked.scenarios.find((s) => s.capacity !== undefined)?.capacity?.peakRssBytes;
    const memory = planMemory(selfChecked, {
      reportPath: 'quick-http-capacity.json',
      batchSize: 32,
      parameters: null,
      isolateBudgetBytes: 128 * 1024 * 1024,
    });
    expect(peak).toBeGreaterThan(0);
    expect(memory.replica?.minimumBytes).toBeGreaterThanOrEqual(peak ?? Infinity);
    expect(memory.replica?.source).toContain("the service's measured peak RSS");
  });
});
