// The re-measure policy's error rates, from the seeded simulation that drives the gate's own p95 decision and its
// own policy with synthetic runs (bench/gate/policy-simulation.ts): what the README's table claims, within bounds.
import { beforeAll, describe, expect, it } from 'vitest';
import { simulatePolicy, type PolicyRates } from '../../bench/gate/policy-simulation.ts';

describe('the re-measure policy under the measured noise model (seeded simulation)', () => {
  let rates: PolicyRates[];
  const at = (k: number): PolicyRates => rates[k] as PolicyRates;
  const falsePass = (k: number, effect: number): number =>
    at(k).falsePass.find((f) => f.effect === effect)?.rate ?? Number.NaN;

  beforeAll(() => {
    // Fewer draws than the script's 2000 and 100: the bounds below leave room for the sampling error.
    rates = simulatePolicy({ rounds: [0, 1, 2], trials: 500, gates: 30, seed: 1 });
  });

  it('fails fewer unchanged checks with each re-measure round', () => {
    expect(at(0).falseFailPerCheck).toBeGreaterThan(at(1).falseFailPerCheck);
    expect(at(1).falseFailPerCheck).toBeGreaterThan(at(2).falseFailPerCheck);
  });

  it('fails no more unchanged gates with each re-measure round', () => {
    expect(at(0).falseFailPerGate).toBeGreaterThanOrEqual(at(1).falseFailPerGate);
    expect(at(1).falseFailPerGate).toBeGreaterThanOrEqual(at(2).falseFailPerGate);
  });

  it('lets more true regressions pass with each re-measure round, at every size', () => {
    for (const effect of [0.5, 1, 2]) {
      expect(falsePass(1, effect), `+${effect * 100}%`).toBeGreaterThan(falsePass(0, effect));
      expect(falsePass(2, effect), `+${effect * 100}%`).toBeGreaterThan(falsePass(1, effect));
    }
  });

  it('lets fewer regressions pass the larger they are', () => {
    for (const k of [0, 1, 2]) {
      expect(falsePass(k, 1)).toBeLessThan(falsePass(k, 0.5));
      expect(falsePass(k, 2)).toBeLessThan(falsePass(k, 1));
    }
  });

  it('keeps the rates within the ranges the README states', () => {
    expect(at(0).falseFailPerCheck).toBeGreaterThan(0.05);
    expect(at(0).falseFailPerCheck).toBeLessThan(0.2);
    expect(at(2).falseFailPerCheck).toBeLessThan(0.05);
    expect(falsePass(0, 2)).toBeLessThan(0.3);
    expect(falsePass(2, 2)).toBeGreaterThan(0.2);
    expect(falsePass(2, 0.5)).toBeGreaterThan(0.7);
  });
});
