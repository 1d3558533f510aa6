// The capacity model: the M/G/c simulation's behaviour, its agreement with Erlang C, and reading a profile from a report.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  erlangC,
  profileFromReport,
  serviceScale,
  simulateQueue,
  sustainableRate,
  type ServiceProfile,
} from '../../bench/capacity/model.ts';
import { parseReport, type Scenario } from '../../bench/report.ts';
import { createRng, exponentialDraw, summarizeLatency } from '../../bench/stats.ts';
import { capacityPoint, capacityScenario, logNormalSamples, makeReport } from './fixtures.ts';

/** `n` exponential service times of mean `meanMs`, seeded. */
function exponentialSamples(n: number, meanMs: number, seed: number): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => exponentialDraw(1 / meanMs, rng));
}

// Two servers, 4 ms median service; capacity 400 requests/s, so the scaled mean service is 5 ms.
const profile: ServiceProfile = {
  serviceMs: logNormalSamples(500, 4, 11, 0.4),
  servers: 2,
  capacityRps: 400,
};

describe('simulateQueue', () => {
  it('gives the same point for the same seed', () => {
    expect(simulateQueue(profile, 300, { seed: 5 })).toEqual(simulateQueue(profile, 300, { seed: 5 }));
  });

  it('gives another point for another seed', () => {
    expect(simulateQueue(profile, 300, { seed: 5 }).p95Ms).not.toBe(
      simulateQueue(profile, 300, { seed: 6 }).p95Ms,
    );
  });

  it('scales the service times so that servers over the mean service time is the measured capacity', () => {
    const scale = serviceScale(profile);
    const meanMs = profile.serviceMs.reduce((a, b) => a + b, 0) / profile.serviceMs.length;
    expect((profile.servers * 1000) / (meanMs * scale)).toBeCloseTo(400, 9);
  });

  it('grows p95 with the load', () => {
    const p95s = [0.2, 0.5, 0.8, 0.95].map((u) => simulateQueue(profile, u * 400).p95Ms);
    for (let i = 1; i < p95s.length; i++) expect(p95s[i]).toBeGreaterThan(p95s[i - 1] as number);
  });

  it('sheds nothing well below capacity', () => {
    expect(simulateQueue(profile, 200).shedFraction).toBe(0);
  });

  it('sheds about the excess past capacity, and keeps admitted response times within the wait bound plus service', () => {
    const point = simulateQueue(profile, 800);
    // Twice the capacity: about half the requests are refused (the admitted ones keep the servers busy).
    expect(point.shedFraction).toBeGreaterThan(0.45);
    expect(point.shedFraction).toBeLessThan(0.55);
    const longestService = Math.max(...profile.serviceMs) * serviceScale(profile);
    expect(point.p99Ms).toBeLessThanOrEqual(100 + longestService);
  });

  it('sheds by the profile’s own maxQueueWaitMs', () => {
    const tight = simulateQueue({ ...profile, maxQueueWaitMs: 10 }, 380);
    const loose = simulateQueue({ ...profile, maxQueueWaitMs: 100 }, 380);
    expect(tight.shedFraction).toBeGreaterThan(loose.shedFraction);
    expect(tight.p99Ms).toBeLessThan(loose.p99Ms);
  });

  it('refuses a profile without service samples', () => {
    expect(() => simulateQueue({ ...profile, serviceMs: [] }, 100)).toThrow(/serviceMs is empty/);
  });

  it('refuses a rate of zero', () => {
    expect(() => simulateQueue(profile, 0)).toThrow(/use a finite rate > 0/);
  });
});

describe('simulateQueue against Erlang C (M/M/c)', () => {
  // Exponential service samples, no shedding: the simulation is an M/M/c queue and must agree with the formula.
  // Tolerances (mean wait within 6% of the formula's plus 1% of the mean service time, p95 within 4%) hold for
  // 200,000 simulated requests below 85% load; the worst seen over seeds 1-3 was 1.9% and 1.6%.
  const meanServiceMs = 10;
  const samples = exponentialSamples(5000, meanServiceMs, 7);
  for (const servers of [1, 2, 4]) {
    for (const load of [0.3, 0.6, 0.8]) {
      it(`agrees on mean wait and p95 with ${servers} server(s) at ${load * 100}% load`, () => {
        const mmc: ServiceProfile = {
          serviceMs: samples,
          servers,
          capacityRps: (servers * 1000) / meanServiceMs,
          maxQueueWaitMs: Number.POSITIVE_INFINITY,
        };
        const rate = load * mmc.capacityRps;
        const simulated = simulateQueue(mmc, rate, { requests: 200_000, seed: 3 });
        const formula = erlangC(servers, rate, meanServiceMs);
        expect(Math.abs(simulated.meanWaitMs - formula.meanWaitMs)).toBeLessThanOrEqual(
          0.06 * formula.meanWaitMs + 0.01 * meanServiceMs,
        );
        expect(Math.abs(simulated.p95Ms - formula.p95Ms) / formula.p95Ms).toBeLessThanOrEqual(0.04);
        expect(simulated.shedFraction).toBe(0);
      });
    }
  }

  it('gives the M/M/1 textbook values: mean wait rho/(mu - lambda), p95 ln(20)/(mu - lambda)', () => {
    // lambda = 80/s, mu = 100/s: Wq = 0.8 / 20 s = 40 ms; response time is Exp(20/s), its p95 ln(20)/20 s.
    const formula = erlangC(1, 80, 10);
    expect(formula.waitProbability).toBeCloseTo(0.8, 12);
    expect(formula.meanWaitMs).toBeCloseTo(40, 9);
    expect(formula.p95Ms).toBeCloseTo((Math.log(20) / 20) * 1000, 4);
  });

  it('refuses a load at or past capacity', () => {
    expect(() => erlangC(2, 200, 10)).toThrow(/no steady state/);
  });
});

describe('sustainableRate', () => {
  it('finds a rate below capacity whose p95 is within the limit', () => {
    const result = sustainableRate(profile, { p95Ms: 20 });
    expect(result.reachable).toBe(true);
    expect(result.ratePerSecond).toBeGreaterThan(0);
    expect(result.ratePerSecond).toBeLessThan(400);
    expect(result.at.p95Ms).toBeLessThanOrEqual(20);
    expect(result.at.shedFraction).toBeLessThanOrEqual(0.001);
  });

  it('finds a rate past which the p95 limit is missed', () => {
    const result = sustainableRate(profile, { p95Ms: 20 });
    expect(simulateQueue(profile, result.ratePerSecond * 1.05).p95Ms).toBeGreaterThan(20);
  });

  it('sustains less under a tighter limit', () => {
    const tight = sustainableRate(profile, { p95Ms: 12 });
    const loose = sustainableRate(profile, { p95Ms: 30 });
    expect(tight.ratePerSecond).toBeLessThan(loose.ratePerSecond);
  });

  it('is unreachable when the limit is below the service time itself', () => {
    const result = sustainableRate(profile, { p95Ms: 2 });
    expect(result.reachable).toBe(false);
    expect(result.ratePerSecond).toBe(0);
  });

  it('gives a curve from near zero to past capacity with p95 growing to the knee', () => {
    const { curve } = sustainableRate(profile, { p95Ms: 20 });
    expect(curve[0]?.utilisation).toBeLessThan(0.05);
    expect(curve.at(-1)?.utilisation).toBeGreaterThan(1);
    const belowCapacity = curve.filter((p) => p.utilisation < 1);
    for (let i = 1; i < belowCapacity.length; i++)
      expect(belowCapacity[i]?.p95Ms).toBeGreaterThanOrEqual(belowCapacity[i - 1]?.p95Ms as number);
  });
});

/** A closed-loop HTTP scenario of `samples`, at `requestsPerSecond`. */
function closedScenario(
  concurrency: number,
  samples: readonly number[],
  requestsPerSecond: number,
  params: Scenario['params'] = {},
): Scenario {
  return {
    id: `http-closed/c${concurrency}`,
    kind: 'http-closed',
    status: 'ok',
    params: { url: 'http://127.0.0.1:8787', concurrency, textsPerRequest: 1, ...params },
    latency: summarizeLatency(samples),
    throughput: { itemsPerSecond: requestsPerSecond, requestsPerSecond },
    durationMs: 1000,
  };
}

describe('profileFromReport', () => {
  const c1 = logNormalSamples(200, 3, 21);
  const report = makeReport(
    [closedScenario(1, c1, 300), closedScenario(4, logNormalSamples(200, 6, 22), 650)],
    { config: { bundles: ['artifacts/news-transformer', 'artifacts/news-bag'] } },
  );

  it('takes the concurrency-1 samples as the service times', () => {
    expect(profileFromReport(report)?.serviceMs).toEqual(summarizeLatency(c1).samples);
  });

  it('takes the highest closed-loop requests/s as the capacity', () => {
    expect(profileFromReport(report)?.capacityRps).toBe(650);
  });

  it('takes the report machine’s cores as the servers when no worker count is recorded', () => {
    expect(profileFromReport(report)?.servers).toBe(2);
  });

  it('takes the recorded worker count as the servers', () => {
    const withWorkers = makeReport([closedScenario(1, c1, 300, { workers: 3 }), closedScenario(4, c1, 650)]);
    expect(profileFromReport(withWorkers)?.servers).toBe(3);
  });

  it('names the first configured bundle and the texts per request', () => {
    const read = profileFromReport(report);
    expect(read?.bundle).toBe('news-transformer');
    expect(read?.textsPerRequest).toBe(1);
    expect(read?.source).toMatch(/http-closed\/c1 .*http-closed\/c4 \(650\.0 requests\/s/);
  });

  it('reads the profile from the http-capacity scenario when the report has one', () => {
    const check = capacityScenario(
      'http-capacity/news-bag',
      capacityPoint(600, 20),
      capacityPoint(1200, 150),
    );
    const read = profileFromReport(makeReport([...report.scenarios, check]));
    expect(read).toMatchObject({ servers: 2, capacityRps: 820, maxQueueWaitMs: 100, bundle: 'news-bag' });
    expect(read?.serviceMs).toEqual(check.capacity?.profile.serviceMs);
    expect(read?.source).toMatch(/^http-capacity\/news-bag \(its measured profile/);
  });

  it('is undefined for a report without HTTP measurements', () => {
    expect(profileFromReport(makeReport([]))).toBeUndefined();
  });

  it('with a bundle, reads only the scenarios that served it: the http-closed ones for the other bundle', () => {
    const check = capacityScenario(
      'http-capacity/news-bag',
      capacityPoint(600, 20),
      capacityPoint(1200, 150),
    );
    const both = makeReport([...report.scenarios, check], {
      config: { bundles: ['artifacts/news-transformer', 'artifacts/news-bag'] },
    });
    expect(profileFromReport(both, { bundle: 'news-bag' })?.source).toMatch(/^http-capacity\/news-bag /);
    expect(profileFromReport(both, { bundle: 'news-transformer' })?.source).toMatch(/^http-closed\/c1 /);
  });

  it('with a bundle the report did not serve, is undefined', () => {
    expect(profileFromReport(report, { bundle: 'news-other' })).toBeUndefined();
  });

  it('reads a real quick report (CI, 2 cores): 500 samples, 2 servers, the c4 throughput', () => {
    const real = parseReport(
      JSON.parse(readFileSync(new URL('../fixtures/reports/ci-quick.json', import.meta.url), 'utf8')),
      'ci-quick.json',
    );
    const read = profileFromReport(real);
    expect(read?.serviceMs).toHaveLength(500);
    expect(read?.servers).toBe(2);
    expect(read?.capacityRps).toBeCloseTo(1865.585, 3);
    expect(read?.bundle).toBe('news-bag');
  });
});
