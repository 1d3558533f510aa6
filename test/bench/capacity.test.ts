// The capacity plan's self-check on constructed measurements: its verdict, its report section, its configuration and
// how it learns the service's worker count. No service runs here (see capacity-scenario.slow.test.ts for the real one).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBenchConfig, parseBenchConfig } from '../../bench/config.ts';
import { parseReport } from '../../bench/report.ts';
import {
  judgeCapacity,
  meetsSla,
  plannedRates,
  type CapacityJudgement,
} from '../../bench/scenarios/capacity.ts';
import { machineCpuMs, workersFromBanner } from '../../bench/scenarios/service.ts';
import { capacityPoint, capacityScenario, makeReport } from './fixtures.ts';

const BENCH = join(import.meta.dirname, '../../bench');

/** A plan of 600 req/s from a sustainable 800 req/s, the higher point at 1200 req/s, limit 100 ms. */
function judgement(
  planned: CapacityJudgement['planned'],
  above: CapacityJudgement['above'],
): CapacityJudgement {
  return {
    p95LimitMs: 100,
    sustainableRatePerSecond: 800,
    plannedRatePerSecond: 600,
    aboveRatePerSecond: 1200,
    planned,
    above,
  };
}

describe('judgeCapacity', () => {
  it('passes when the SLA holds at the planned rate and not at the higher one', () => {
    const result = judgeCapacity(
      judgement(capacityPoint(600, 40), capacityPoint(1200, 400, { shed: 300, predictedP95Ms: 105 })),
    );
    expect(result.verdict).toBe('pass');
    expect(result.detail).toBe(
      'The SLA held at the planned 600 req/s p95 40.0 ms (model 10.0 ms, limit 100 ms), nothing failed or shed; ' +
        'it did not at 1,200 req/s (1.50x the sustainable 800 req/s) p95 400 ms (model 105 ms), 300 of 1000 shed (30.0%).',
    );
  });

  it('fails when the planned point is over the p95 limit, saying the model overestimated the replica', () => {
    const result = judgeCapacity(judgement(capacityPoint(600, 130), capacityPoint(1200, 400, { shed: 300 })));
    expect(result.verdict).toBe('fail');
    expect(result.detail).toBe(
      'the model overestimated the replica: at the planned 600 req/s p95 130 ms (model 10.0 ms, limit 100 ms), ' +
        'nothing failed or shed.',
    );
  });

  it('fails when the planned point shed requests, even with its p95 within the limit', () => {
    const result = judgeCapacity(judgement(capacityPoint(600, 40, { shed: 3 }), capacityPoint(1200, 400)));
    expect(result.verdict).toBe('fail');
    expect(result.detail).toContain('overestimated the replica');
    expect(result.detail).toContain('3 of 1000 shed (0.3%)');
  });

  it('fails when the planned point has a failed request', () => {
    const result = judgeCapacity(judgement(capacityPoint(600, 40, { errors: 1 }), capacityPoint(1200, 400)));
    expect(result.verdict).toBe('fail');
    expect(result.detail).toContain('1 failed');
  });

  it('fails when the higher point meets the SLA, naming by how much the model underestimated the replica', () => {
    const result = judgeCapacity(judgement(capacityPoint(600, 20), capacityPoint(1200, 60)));
    expect(result.verdict).toBe('fail');
    expect(result.detail).toBe(
      'the model underestimated the replica by at least 50%: at 1,200 req/s (1.50x the sustainable 800 req/s) ' +
        'p95 60.0 ms (model 10.0 ms), nothing failed or shed, within the SLA.',
    );
  });

  it('names both contradictions when the planned point misses the SLA and the higher one meets it', () => {
    const result = judgeCapacity(judgement(capacityPoint(600, 150), capacityPoint(1200, 90)));
    expect(result.verdict).toBe('fail');
    expect(result.detail).toMatch(
      /^the model overestimated the replica: .*; the model underestimated the replica/,
    );
  });

  it('counts a higher point with its p95 over the limit and nothing shed as missing the SLA', () => {
    expect(judgeCapacity(judgement(capacityPoint(600, 40), capacityPoint(1200, 101))).verdict).toBe('pass');
  });

  it('counts a point where no request succeeded as missing the SLA', () => {
    expect(meetsSla({ p95Ms: null, errors: 0, shed: 0 }, 100)).toBe(false);
  });
});

describe('plannedRates', () => {
  it('keeps the headroom below the sustainable rate and puts the higher point at the factor above it', () => {
    expect(plannedRates(800, { headroom: 0.25, aboveFactor: 1.5 })).toEqual({ planned: 600, above: 1200 });
  });

  it('puts the higher point past the measured capacity when the factor alone would land at or below it', () => {
    const rates = plannedRates(40, {
      headroom: 0.25,
      aboveFactor: 1.5,
      aboveCapacityFactor: 1.25,
      capacityRps: 64,
    });
    expect(rates).toEqual({ planned: 30, above: 80 });
  });

  it('keeps the factor above the sustainable rate when that is already past the capacity bound', () => {
    const rates = plannedRates(900, {
      headroom: 0.25,
      aboveFactor: 1.5,
      aboveCapacityFactor: 1.25,
      capacityRps: 1000,
    });
    expect(rates.above).toBe(1350);
  });
});

describe('the capacity section of a report', () => {
  it('survives a JSON round trip through the report schema', () => {
    const report = makeReport([
      capacityScenario(
        'http-capacity/news-bag',
        capacityPoint(600, 40),
        capacityPoint(1200, 400, { shed: 300 }),
      ),
    ]);
    const parsed = parseReport(JSON.parse(JSON.stringify(report)), 'constructed');
    expect(parsed.scenarios[0]?.capacity).toEqual(report.scenarios[0]?.capacity);
  });

  it('refuses a capacity section with a field the schema does not know', () => {
    const report = makeReport([
      capacityScenario('http-capacity/news-bag', capacityPoint(600, 40), capacityPoint(1200, 400)),
    ]);
    const json = JSON.parse(JSON.stringify(report)) as { scenarios: { capacity: Record<string, unknown> }[] };
    (json.scenarios[0] as { capacity: Record<string, unknown> }).capacity.replicas = 3;
    expect(() => parseReport(json, 'tampered')).toThrow(
      /scenarios\.0\.capacity: Unrecognized key: "replicas"/,
    );
  });

  it('refuses a verdict other than pass or fail', () => {
    const report = makeReport([
      capacityScenario('http-capacity/news-bag', capacityPoint(600, 40), capacityPoint(1200, 400)),
    ]);
    const json = JSON.parse(JSON.stringify(report)) as { scenarios: { capacity: { verdict: string } }[] };
    (json.scenarios[0] as { capacity: { verdict: string } }).capacity.verdict = 'maybe';
    expect(() => parseReport(json, 'tampered')).toThrow(/scenarios\.0\.capacity\.verdict/);
  });
});

describe('the http.capacity configuration', () => {
  it('plans for the numbers the plan uses: p95 100 ms, 25% headroom, 1.5x above, the edge wait limit', async () => {
    const config = await loadBenchConfig(join(BENCH, 'bench.config.json'), { quick: false });
    expect(config.http.capacity).toMatchObject({
      enabled: true,
      p95Ms: 100,
      headroom: 0.25,
      aboveFactor: 1.5,
      maxQueueWaitMs: 100,
    });
  });

  it('checks the plan on news-transformer with 32 texts per request, a profile whose work is inference', async () => {
    const config = await loadBenchConfig(join(BENCH, 'bench.config.json'), { quick: true });
    expect(config.http.capacity.bundle).toBe(join(import.meta.dirname, '../../artifacts/news-transformer'));
    expect(config.http.capacity.textsPerRequest).toBe(32);
  });

  it("leaves the model's shed tolerance to the model's default, as shipshape plan does", async () => {
    const config = await loadBenchConfig(join(BENCH, 'bench.config.json'), { quick: false });
    expect(config.http.capacity.maxShedFraction).toBeUndefined();
  });

  it('applies the quick overrides key by key, keeping the rest', async () => {
    const config = await loadBenchConfig(join(BENCH, 'bench.config.json'), { quick: true });
    expect(config.http.capacity).toMatchObject({
      maxWarmupMs: 8000,
      serviceMs: 1500,
      capacityMs: 2500,
      durationMs: 4000,
      aboveDurationMs: 3000,
      warmupMs: 4000,
      p95Ms: 100,
      headroom: 0.25,
    });
  });

  it('keeps the quick run of the scenario to 15 s of load and at most 8 s of warm-up', async () => {
    const c = (await loadBenchConfig(join(BENCH, 'bench.config.json'), { quick: true })).http.capacity;
    // Service time, capacity, the planned point, capacity again, the higher point.
    expect(c.serviceMs + 2 * c.capacityMs + c.durationMs + c.aboveDurationMs).toBeLessThanOrEqual(15_000);
    expect(c.maxWarmupMs).toBeLessThanOrEqual(8_000);
  });

  it('fills the defaults when the config has no capacity section', () => {
    const config = parseBenchConfig({ bundles: ['a'] }, 'inline');
    expect(config.http.capacity).toMatchObject({ enabled: true, p95Ms: 100, durationMs: 10_000 });
    expect(config.http.capacity.servers).toBeUndefined();
  });

  it('refuses a headroom of 1 or more, naming the field', () => {
    expect(() => parseBenchConfig({ bundles: ['a'], http: { capacity: { headroom: 1 } } }, 'inline')).toThrow(
      /http\.capacity\.headroom/,
    );
  });
});

describe('workersFromBanner', () => {
  it("reads the worker count from the service's banner", () => {
    expect(
      workersFromBanner('shipshape serving news-bag 1.0.0 on native (2 workers) at http://127.0.0.1:40123'),
    ).toBe(2);
  });

  it('counts a service that runs the model on its event loop (no workers in its banner) as one server', () => {
    expect(workersFromBanner('shipshape serving news-bag 1.0.0 on native at http://127.0.0.1:40123')).toBe(1);
  });
});

describe('machineCpuMs', () => {
  it("reads the machine's busy CPU time from /proc/stat, in ms that only grow", () => {
    const first = machineCpuMs();
    expect(first).toBeGreaterThan(0);
    expect(machineCpuMs()).toBeGreaterThanOrEqual(first ?? Number.POSITIVE_INFINITY);
  });
});
