// The capacity self-check for real: runBench starts `shipshape serve` (a child process) on the check's own bundle
// (news-transformer, 32 texts per request, beside news-bag for the other HTTP scenarios) and runs only
// `http-capacity/*`, with short phases. Timings vary run to run, so nothing here asserts on a rate or a latency:
// only that every phase measured and the section holds together.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { effectiveConfig, parseBenchConfig } from '../../bench/config.ts';
import type { Progress } from '../../bench/progress.ts';
import { parseReport, type Report, type Scenario } from '../../bench/report.ts';
import { runBench } from '../../bench/run.ts';

const ROOT = join(import.meta.dirname, '../..');

describe('the http-capacity scenario against the real Node service', () => {
  let report: Report;
  let scenario: Scenario | undefined;
  const details: string[] = [];

  beforeAll(async () => {
    const config = effectiveConfig(
      parseBenchConfig(
        {
          bundles: ['artifacts/news-bag'],
          stability: { tolerancePct: 10 },
          http: {
            capacity: {
              bundle: 'artifacts/news-transformer',
              warmupMs: 300,
              maxWarmupMs: 1500,
              serviceMs: 300,
              capacityMs: 500,
              durationMs: 800,
              aboveDurationMs: 600,
            },
          },
        },
        'inline',
      ),
      { quick: false, baseDir: ROOT },
    );
    const progress: Progress = {
      start: () => undefined,
      scenarioStarted: () => undefined,
      detail: (text) => details.push(text),
      scenarioFinished: () => undefined,
      stop: () => undefined,
    };
    report = await runBench({
      config,
      mode: 'quick',
      serve: true,
      scenarios: ['http-capacity/*'],
      progress,
    });
    scenario = report.scenarios[0];
  }, 120_000);

  it('runs only the capacity scenario under --scenario "http-capacity/*", named after its own bundle', () => {
    expect(report.scenarios.map((s) => [s.id, s.kind])).toEqual([
      ['http-capacity/news-transformer', 'http-capacity'],
    ]);
  });

  it('records the bundle and the texts per request it checked (32 by default)', () => {
    expect(scenario?.capacity).toMatchObject({ bundle: 'news-transformer', textsPerRequest: 32 });
  });

  it('measures it (not skipped, not errored)', () => {
    expect(
      ['ok', 'unstable', 'insufficient-samples'],
      `${scenario?.status}: ${scenario?.reason ?? ''}`,
    ).toContain(scenario?.status);
  });

  it("records the profile with the started service's worker count, read from its banner", () => {
    const profile = scenario?.capacity?.profile;
    expect(profile?.serviceMs.length).toBeGreaterThan(0);
    expect(profile?.capacityRps).toBeGreaterThan(0);
    expect(profile?.maxQueueWaitMs).toBe(100);
    const banner = /\((\d+) workers?\)/.exec(profile?.source ?? '');
    expect(profile?.servers).toBe(banner ? Number(banner[1]) : 1);
    expect(profile?.capacityConcurrency).toBe(4 * (profile?.servers ?? 0));
    expect(profile?.clientCpuPerRequestMs).toBeGreaterThan(0);
  });

  it('plans the rate with 25% headroom below the sustainable one and checks above 1.5x it and 1.25x capacity', () => {
    const c = scenario?.capacity;
    const sustainable = c?.model.sustainableRatePerSecond ?? Number.NaN;
    const capacity = Math.max(c?.profile.capacityRps ?? Number.NaN, c?.capacityAfterRps ?? Number.NaN);
    expect(sustainable).toBeGreaterThan(0);
    expect(c?.plannedRatePerSecond).toBeCloseTo(sustainable * 0.75, 6);
    expect(c?.aboveRatePerSecond).toBeCloseTo(Math.max(sustainable * 1.5, capacity * 1.25), 6);
    expect(c?.model.curve.length).toBeGreaterThan(1);
  });

  it('measured both points open-loop at their planned rates, with the model prediction and service CPU at each', () => {
    const c = scenario?.capacity;
    for (const [point, rate] of [
      [c?.planned, c?.plannedRatePerSecond],
      [c?.above, c?.aboveRatePerSecond],
    ] as const) {
      expect(point?.offeredRatePerSecond).toBe(rate);
      expect(point?.requests).toBeGreaterThan(0);
      expect(point?.predictedP95Ms).toBeGreaterThanOrEqual(0);
      expect(point?.cpuPerRequestMs).toBeGreaterThan(0);
      expect(point?.otherCores).toBeGreaterThanOrEqual(0);
      expect(point?.clientCpuPerRequestMs).toBeGreaterThan(0);
    }
  });

  it('takes its top-level latency, throughput and request counts from the planned point', () => {
    const c = scenario?.capacity;
    expect(scenario?.latency?.percentiles.p95.ms).toBe(c?.planned.p95Ms);
    expect(scenario?.http?.requests).toBe(c?.planned.requests);
    expect(scenario?.http?.offeredRatePerSecond).toBe(c?.plannedRatePerSecond);
    expect(scenario?.http?.errors).toBe((c?.planned.errors ?? 0) + (c?.planned.shed ?? 0));
  });

  it('is unstable exactly when the capacity moved beyond ±10% or other processes took over 0.5 cores at a point', () => {
    const c = scenario?.capacity;
    expect(c?.capacityAfterRps).toBeGreaterThan(0);
    // The config's stability tolerance, 10%.
    const moved = Math.abs((c?.capacityAfterRps ?? 0) / (c?.profile.capacityRps ?? 1) - 1) > 0.1;
    const busy = [c?.planned, c?.above].some((p) => (p?.otherCores ?? 0) > 0.5);
    expect(scenario?.status === 'unstable').toBe(moved || busy);
  });

  it('records the warm-up it did before measuring', () => {
    expect(scenario?.capacity?.warmup?.durationMs).toBeGreaterThanOrEqual(300);
  });

  it("reads the service's peak RSS", () => {
    expect(scenario?.capacity?.peakRssBytes).toBeGreaterThan(0);
  });

  it('gives a verdict that agrees with the two points it measured, and says why in one sentence', () => {
    const c = scenario?.capacity;
    expect(c?.verdict).toBe(c?.planned.meetsSla && !c.above.meetsSla ? 'pass' : 'fail');
    expect(c?.detail).toMatch(/\.$/);
  });

  it('writes a report the schema accepts', () => {
    expect(() => parseReport(JSON.parse(JSON.stringify(report)), 'the run')).not.toThrow();
  });

  it('reports each phase in progress lines', () => {
    const phases = details.map(
      (line) => /^(warm-up|service time|capacity again|capacity|model|planned|above)[: ]/.exec(line)?.[1],
    );
    expect(phases.filter((p) => p !== undefined)).toEqual([
      'warm-up',
      'service time',
      'capacity',
      'model',
      'planned',
      'capacity again',
      'above',
    ]);
  });
});
