// The one percentile definition (runtime/statistics.ts) against NumPy's values and its own input checks.
import { quantile, quantileSorted } from 'simple-statistics';
import { describe, expect, it } from 'vitest';
import { percentileSorted, sortAscending } from '../../runtime/statistics.ts';

describe('percentileSorted', () => {
  it('gives numpy.percentile([10, 20, 30, 40, 50], 10) = 14 by interpolating between the two closest ranks', () => {
    expect(percentileSorted([10, 20, 30, 40, 50], 0.1)).toBeCloseTo(14, 12);
  });

  it('gives the first and the last sample for p = 0 and p = 1', () => {
    expect(percentileSorted([2, 5, 9], 0)).toBe(2);
    expect(percentileSorted([2, 5, 9], 1)).toBe(9);
  });

  it('agrees with simple-statistics quantileSorted and quantile (type 7) on 200 seeded samples', () => {
    let state = 7;
    const samples = Array.from({ length: 200 }, () => {
      state = (state * 48271) % 2147483647;
      return state / 2147483647;
    });
    const sorted = sortAscending(samples);
    for (const p of [0.01, 0.5, 0.9, 0.95, 0.99]) {
      expect(percentileSorted(sorted, p)).toBe(quantileSorted(sorted, p));
      expect(percentileSorted(sorted, p)).toBe(quantile(samples, p));
    }
  });

  it('throws a RangeError naming p when p is NaN, which simple-statistics would let through', () => {
    expect(() => percentileSorted([1, 2], Number.NaN)).toThrow('percentileSorted: p=NaN is outside [0, 1].');
  });

  it('throws a RangeError when p is above 1', () => {
    expect(() => percentileSorted([1, 2], 1.5)).toThrow(RangeError);
  });
});

describe('sortAscending', () => {
  it('sorts numerically, so 10 comes after 9, and leaves its input alone', () => {
    const samples = [10, 9, 1.5];
    expect(sortAscending(samples)).toEqual([1.5, 9, 10]);
    expect(samples).toEqual([10, 9, 1.5]);
  });
});
