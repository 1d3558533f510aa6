// The monitor's statistics against hand-computed values: JS distance, PSI, the Wilson bound, histogram quantiles.
import { describe, expect, it } from 'vitest';
import {
  histogramQuantile,
  jsDistance,
  psi,
  wilsonLowerBound,
  wilsonUpperBound,
} from '../../runtime/monitor/index.ts';

/** Golden values below were computed by hand (and checked with Python's math and statistics.NormalDist). */
const TOLERANCE = 12;
/** (p + z²/2n + z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n) with z = 2.3263478740408408. */
const UPPER_5_OF_100 = 0.12762319621249799;

describe('jsDistance', () => {
  it('is 0 for equal distributions given as counts or shares', () => {
    expect(jsDistance([10, 30, 60], [0.1, 0.3, 0.6])).toBeCloseTo(0, TOLERANCE);
  });

  it('is 1 for disjoint distributions', () => {
    expect(jsDistance([1, 0], [0, 1])).toBeCloseTo(1, TOLERANCE);
  });

  it('matches the hand-computed distance of a point mass and a fair coin', () => {
    // M = (0.75, 0.25); JSD = (log2(4/3) + (0.5 log2(2/3) + 0.5)) / 2 = 0.311278; distance = sqrt(JSD).
    expect(jsDistance([1, 0], [0.5, 0.5])).toBeCloseTo(0.5579230452841438, TOLERANCE);
  });

  it('matches the hand-computed distance of a skewed four-label mix against a uniform one', () => {
    expect(jsDistance([10, 20, 30, 40], [25, 25, 25, 25])).toBeCloseTo(0.20050332253142816, TOLERANCE);
  });

  it('is symmetric', () => {
    expect(jsDistance([3, 1, 7], [2, 9, 1])).toBeCloseTo(
      jsDistance([2, 9, 1], [3, 1, 7]) as number,
      TOLERANCE,
    );
  });

  it('is null when one side has no mass', () => {
    expect(jsDistance([0, 0], [1, 1])).toBeNull();
  });

  it('refuses bins of different lengths', () => {
    expect(() => jsDistance([1, 2], [1, 2, 3])).toThrow(RangeError);
  });
});

describe('psi', () => {
  it('matches the hand-computed index of two two-bin distributions', () => {
    // (0.5 - 0.25) ln 2 + (0.5 - 0.75) ln(2/3)
    expect(psi([1, 1], [1, 3])).toBeCloseTo(0.27465307216702745, TOLERANCE);
  });

  it('stays finite on an empty bin by flooring shares at 1e-4', () => {
    // (1 - 0.5) ln 2 + (1e-4 - 0.5) ln(1e-4 / 0.5)
    expect(psi([1, 0], [1, 1])).toBeCloseTo(4.60431846666895, TOLERANCE);
  });

  it('matches the hand-computed index of a skewed four-label mix against a uniform one', () => {
    expect(psi([10, 20, 30, 40], [25, 25, 25, 25])).toBeCloseTo(0.22821740957339182, TOLERANCE);
  });
});

describe('wilsonLowerBound', () => {
  it('matches the one-sided 99% Wilson bound of 5 in 100', () => {
    expect(wilsonLowerBound(5, 100)).toBeCloseTo(0.018583211652931638, TOLERANCE);
  });

  it('matches the one-sided 99% Wilson bound of 300 in 10,000', () => {
    expect(wilsonLowerBound(300, 10_000)).toBeCloseTo(0.026278706021750343, TOLERANCE);
  });

  it('is 0 for no successes and for no trials', () => {
    expect([wilsonLowerBound(0, 50), wilsonLowerBound(0, 0)]).toEqual([0, 0]);
  });

  it('narrows towards the observed rate as trials grow', () => {
    const bounds = [100, 1000, 100_000].map((n) => wilsonLowerBound(n * 0.05, n));
    expect(bounds[0]).toBeLessThan(bounds[1] as number);
    expect(bounds[1]).toBeLessThan(bounds[2] as number);
    expect(bounds[2]).toBeLessThan(0.05);
    expect(bounds[2]).toBeGreaterThan(0.048);
  });

  it('has an upper end matching the one-sided 99% Wilson bound of 5 in 100', () => {
    expect(wilsonUpperBound(5, 100)).toBeCloseTo(UPPER_5_OF_100, TOLERANCE);
  });

  it('refuses more successes than trials', () => {
    expect(() => wilsonLowerBound(5, 4)).toThrow(RangeError);
  });
});

describe('histogramQuantile', () => {
  const bounds = [10, 20, 40];

  it('interpolates inside the bucket the rank falls in, as Prometheus does', () => {
    // 100 observations: 50 in (0,10], 40 in (10,20], 10 in (20,40]. Rank 95 is the 5th of 10 in (20,40]: 20 + 20 * 0.5.
    expect(histogramQuantile(bounds, [50, 40, 10, 0], 0.95)).toBeCloseTo(30, TOLERANCE);
  });

  it('starts the first bucket at 0', () => {
    expect(histogramQuantile(bounds, [100, 0, 0, 0], 0.5)).toBeCloseTo(5, TOLERANCE);
  });

  it('answers the highest bound when the rank falls above every bound', () => {
    expect(histogramQuantile(bounds, [1, 0, 0, 99], 0.95)).toBe(40);
  });

  it('is null for an empty histogram', () => {
    expect(histogramQuantile(bounds, [0, 0, 0, 0], 0.95)).toBeNull();
  });
});
