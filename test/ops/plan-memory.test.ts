// The plan's memory needs beside the seed's naive formula: no comparison where the formula has nothing to count.
import { describe, expect, it } from 'vitest';
import { memoryNeeds } from '../../ops/plan/memory.ts';
import { ciQuickReport } from '../helpers/plan-fixture.ts';

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
