// The gate's error rates, from the seeded simulation that drives its own p95 decision (against one baseline run and
// against a history) and its own re-measure policy with synthetic runs (bench/gate/policy-simulation.ts): what the
// README's table claims, within bounds.
import { beforeAll, describe, expect, it } from 'vitest';
import { SIMULATED_BASELINES, simulatePolicy, type PolicyRates } from '../../bench/gate/policy-simulation.ts';

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

describe('the history policy against the one-run policy under the measured noise model (seeded simulation)', () => {
  const rounds = [0, 1, 2] as const;
  let byRuns: Map<number, PolicyRates[]>;
  const at = (runs: number, k: number): PolicyRates => byRuns.get(runs)?.[k] as PolicyRates;
  const falsePass = (runs: number, k: number, effect: number): number =>
    at(runs, k).falsePass.find((f) => f.effect === effect)?.rate ?? Number.NaN;

  beforeAll(() => {
    byRuns = new Map(
      SIMULATED_BASELINES.map((baselineRuns) => [
        baselineRuns,
        simulatePolicy({ rounds: [...rounds], baselineRuns, trials: 500, gates: 30, seed: 1 }),
      ]),
    );
  });

  it('fails fewer unchanged gates against a history of 3 or 5 runs than against one run, at every round', () => {
    for (const runs of [3, 5]) {
      for (const k of rounds) {
        expect(at(runs, k).falseFailPerGate, `history of ${runs}, --remeasure ${k}`).toBeLessThan(
          at(1, k).falseFailPerGate,
        );
      }
    }
  });

  it('fails fewer unchanged checks against a history than against one run without re-measurement', () => {
    for (const runs of [3, 5]) expect(at(runs, 0).falseFailPerCheck).toBeLessThan(at(1, 0).falseFailPerCheck);
  });

  it('reports a false-pass rate for +50%, +100% and +200% at every baseline and round', () => {
    for (const runs of SIMULATED_BASELINES) {
      for (const k of rounds) {
        expect(at(runs, k).falsePass.map((f) => f.effect)).toEqual([0.5, 1, 2]);
        for (const f of at(runs, k).falsePass) {
          expect(f.rate).toBeGreaterThanOrEqual(0);
          expect(f.rate).toBeLessThanOrEqual(1);
        }
      }
    }
  });

  it('catches more tripled p95s with a history of 5 runs than with one of 3', () => {
    expect(falsePass(5, 0, 2)).toBeLessThan(falsePass(3, 0, 2));
  });

  it('lets more true regressions pass against a history than against one run (the price of fewer false fails)', () => {
    for (const runs of [3, 5]) {
      for (const effect of [0.5, 1, 2])
        expect(falsePass(runs, 0, effect)).toBeGreaterThan(falsePass(1, 0, effect));
    }
  });

  it('keeps the rates within the ranges the README states', () => {
    // The README's figures for regression.history.alpha 0.1 and the ceiling: a CI gate (--remeasure 2) rarely fails
    // unchanged code, and still lets many doublings of p95 pass on this noise.
    expect(at(5, 0).falseFailPerCheck).toBeLessThan(0.08);
    expect(at(5, 2).falseFailPerGate).toBeLessThan(0.05);
    expect(falsePass(5, 0, 1)).toBeGreaterThan(0.4);
    expect(falsePass(5, 0, 1)).toBeLessThan(0.7);
    expect(falsePass(5, 2, 2)).toBeLessThan(0.6);
  });
});
