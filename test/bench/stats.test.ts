// The harness's statistics against values computed by hand and with NumPy / SciPy.
import { describe, expect, it } from 'vitest';
import {
  bootstrapQuantileRatio,
  createRng,
  isWithinTolerance,
  mannWhitneyU,
  measureUntilStable,
  minSamplesFor,
  summarizeLatency,
  thinSorted,
  warmUntilPlateau,
  type MeasurementWindow,
} from '../../bench/stats.ts';
import { percentileSorted } from '../../runtime/statistics.ts';
import { logNormalSamples } from './fixtures.ts';

describe('percentileSorted (linear interpolation, Hyndman-Fan type 7)', () => {
  it('gives 2.5 and 3.85 for p50 and p95 of [1, 2, 3, 4], as numpy.percentile does', () => {
    expect(percentileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(percentileSorted([1, 2, 3, 4], 0.95)).toBeCloseTo(3.85, 12);
  });

  it('matches numpy.percentile for seven unsorted values after sorting', () => {
    // numpy.percentile([3.1, 1.2, 7.7, 4.4, 9.0, 2.5, 6.3], [50, 90, 95, 99]) = [4.4, 8.22, 8.61, 8.922]
    const s = summarizeLatency([3.1, 1.2, 7.7, 4.4, 9.0, 2.5, 6.3]);
    expect(s.percentiles.p50.ms).toBeCloseTo(4.4, 12);
    expect(s.percentiles.p90.ms).toBeCloseTo(8.22, 12);
    expect(s.percentiles.p95.ms).toBeCloseTo(8.61, 12);
    expect(s.percentiles.p99.ms).toBeCloseTo(8.922, 12);
  });

  it('returns the only sample for any p of a single-sample set', () => {
    expect(percentileSorted([7], 0.99)).toBe(7);
  });

  it('throws a RangeError on no samples', () => {
    expect(() => percentileSorted([], 0.5)).toThrow(RangeError);
  });
});

describe('the sample-count rule', () => {
  it('needs 2, 10, 20 and 100 samples for p50, p90, p95 and p99 with one tail sample', () => {
    expect([0.5, 0.9, 0.95, 0.99].map((p) => minSamplesFor(p))).toEqual([2, 10, 20, 100]);
  });

  it('scales with the tail samples asked for', () => {
    expect(minSamplesFor(0.99, 10)).toBe(1000);
  });

  it('marks p99 insufficient at 99 samples and sufficient at 100', () => {
    const ramp = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    expect(summarizeLatency(ramp(99)).percentiles.p99.status).toBe('insufficient-samples');
    expect(summarizeLatency(ramp(99)).percentiles.p95.status).toBe('ok');
    expect(summarizeLatency(ramp(100)).percentiles.p99.status).toBe('ok');
  });
});

describe('mannWhitneyU (normal approximation, tie and continuity corrections)', () => {
  // x > y pairs: 19 beats 3, 22 beats 4, 16 beats 2, 29 and 24 beat all 4: U = 17. mu = 10,
  // sigma^2 = 5*4/12 * 10 = 16.667, z = (17 - 10 - 0.5) / 4.0825 = 1.592.
  // SciPy 1.17 mannwhitneyu(method='asymptotic'): greater 0.0556734, less 0.9669037, two-sided 0.1113469.
  const x = [19, 22, 16, 29, 24];
  const y = [20, 11, 17, 12];

  it('computes U = 17 and the one-sided p-value of a tie-free textbook example', () => {
    const r = mannWhitneyU(x, y, 'greater');
    expect(r.u).toBe(17);
    expect(r.z).toBeCloseTo(6.5 / Math.sqrt(50 / 3), 10);
    expect(r.pValue).toBeCloseTo(0.055673443266570206, 6);
  });

  it('gives the other tail and the two-sided p-value', () => {
    expect(mannWhitneyU(x, y, 'less').pValue).toBeCloseTo(0.9669037101389033, 6);
    expect(mannWhitneyU(x, y, 'two-sided').pValue).toBeCloseTo(0.11134688653314041, 6);
  });

  it('uses mid-ranks and the tie correction when values repeat', () => {
    // U = 0 + 0.5 + 0.5 + 1.5 + 4 = 6.5; ties (2 x3, 3 x2, 4 x2) give sum(t^3 - t) = 36,
    // sigma^2 = 30/12 * (12 - 36/110). SciPy: less 0.0693129, two-sided 0.1386259.
    const r = mannWhitneyU([1, 2, 2, 3, 5], [2, 3, 4, 4, 6, 7], 'less');
    expect(r.u).toBe(6.5);
    expect(r.pValue).toBeCloseTo(0.06931293993946382, 6);
    expect(mannWhitneyU([1, 2, 2, 3, 5], [2, 3, 4, 4, 6, 7]).pValue).toBeCloseTo(0.13862587987892763, 6);
  });

  it('answers p = 1 when every value is tied', () => {
    expect(mannWhitneyU([3, 3, 3], [3, 3]).pValue).toBe(1);
  });
});

describe('bootstrapQuantileRatio', () => {
  it('gives the same interval for the same seed', () => {
    const a = logNormalSamples(300, 10, 1);
    const b = logNormalSamples(300, 10, 2);
    expect(bootstrapQuantileRatio(a, b, 0.95, { seed: 7 })).toEqual(
      bootstrapQuantileRatio(a, b, 0.95, { seed: 7 }),
    );
  });

  it('puts the whole interval above 1 for a 40% slower candidate', () => {
    const a = logNormalSamples(500, 10, 1);
    const b = logNormalSamples(500, 14, 2);
    const r = bootstrapQuantileRatio(a, b, 0.95, { seed: 1, iterations: 1000 });
    expect(r.low).toBeGreaterThan(1);
    expect(r.estimate).toBeGreaterThan(r.low);
    expect(r.estimate).toBeLessThan(r.high);
  });

  it('contains 1 for two samples of one distribution', () => {
    const r = bootstrapQuantileRatio(logNormalSamples(500, 10, 3), logNormalSamples(500, 10, 4), 0.95, {
      seed: 1,
    });
    expect(r.low).toBeLessThan(1);
    expect(r.high).toBeGreaterThan(1);
  });
});

describe('measureUntilStable (perf_analyzer-style windows)', () => {
  const window = (p95: number, count = 20): MeasurementWindow => ({
    samples: Array.from({ length: count }, () => p95),
    items: count,
    durationMs: count * p95,
  });

  it('stops at the third window when three agree within the tolerance', async () => {
    const p95s = [20, 10, 10.5, 10.2, 10];
    const r = await measureUntilStable((trial) => Promise.resolve(window(p95s[trial - 1] ?? 10)), {
      windows: 3,
      tolerancePct: 10,
      maxTrials: 10,
    });
    expect(r.stable).toBe(true);
    expect(r.trials).toBe(4);
    expect(r.accepted.samples).toHaveLength(60);
    expect(r.accepted.cpuMs).toBeUndefined();
  });

  it('gives up as unstable after maxTrials windows that never agree', async () => {
    const r = await measureUntilStable((trial) => Promise.resolve(window(trial % 2 === 0 ? 10 : 20)), {
      windows: 3,
      tolerancePct: 10,
      maxTrials: 5,
    });
    expect(r.stable).toBe(false);
    expect(r.trials).toBe(5);
  });

  it('judges tolerance against the mean of the windows', () => {
    expect(isWithinTolerance([9.5, 10, 10.5], 5)).toBe(true);
    expect(isWithinTolerance([9, 10, 11.5], 5)).toBe(false);
  });
});

describe('warmUntilPlateau', () => {
  it('stops after three windows in a row that do not beat the best rate by 10%', async () => {
    // Requests per ms rise 1, 2, 4, 8 (tier-up), then stay near 8: four rising windows and three flat ones.
    const rates = [1, 2, 4, 8, 8.5, 7.9, 8.7, 20];
    let i = 0;
    const r = await warmUntilPlateau(
      () => {
        const rate = rates[i++] ?? 8;
        return Promise.resolve({
          samples: Array.from({ length: rate * 10 }, () => 1),
          items: rate * 10,
          durationMs: 10,
        });
      },
      { minMs: 0, maxMs: 60_000 },
    );
    expect(r).toMatchObject({ windows: 7, plateaued: true });
  });
});

describe('helpers', () => {
  it('createRng repeats its sequence for a seed', () => {
    const a = createRng(42);
    const b = createRng(42);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
  });

  it('thinSorted keeps the extremes and the requested count', () => {
    const sorted = Array.from({ length: 10_001 }, (_, i) => i);
    const thin = thinSorted(sorted, 101);
    expect(thin).toHaveLength(101);
    expect(thin[0]).toBe(0);
    expect(thin[100]).toBe(10_000);
    expect(thin[50]).toBe(5000);
  });
});
