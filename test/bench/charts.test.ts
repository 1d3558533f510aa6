// The charts render to SVG headless, with the series, the plan and the budget labelled.
import { describe, expect, it } from 'vitest';
import {
  capacitySpec,
  latencySpec,
  memorySpec,
  renderCharts,
  renderSvg,
  soakSpec,
} from '../../bench/charts.ts';
import { createWindowLog } from '../../bench/drift.ts';
import { buildMemoryPlan } from '../../bench/memory-plan.ts';
import {
  capacityPoint,
  capacityScenario,
  inProcessScenario,
  logNormalSamples,
  makeReport,
} from './fixtures.ts';

const MIB = 1024 * 1024;

function report() {
  const scenarios = (['native', 'wasm'] as const).flatMap((backend) =>
    [1, 8, 64].map((b, i) =>
      inProcessScenario(
        `in-process/news-bag/${backend}/b${b}`,
        logNormalSamples(200, b * (backend === 'wasm' ? 2 : 1), i),
        {
          batchSize: b,
        },
      ),
    ),
  );
  const plan = buildMemoryPlan({
    bundle: 'news-bag',
    backend: 'wasm',
    metric: 'isolate',
    weightsBytes: MIB,
    points: [1, 8, 64].map((b) => ({ batchSize: b, measuredBytes: 60 * MIB + b * 0.2 * MIB })),
  });
  return makeReport(scenarios, { memoryPlans: [plan] });
}

describe('renderCharts', () => {
  it('renders latency, throughput and memory charts as SVG documents', async () => {
    const charts = await renderCharts(report());
    expect(Object.keys(charts)).toEqual(['latency.svg', 'throughput.svg', 'memory.svg']);
    for (const svg of Object.values(charts))
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  });

  it('labels the backends, the percentiles and the plan and budget series', async () => {
    const charts = await renderCharts(report());
    expect(charts['latency.svg']).toContain('>node-native<');
    expect(charts['latency.svg']).toContain('>node-wasm<');
    expect(charts['latency.svg']).toContain('>p95<');
    expect(charts['memory.svg']).toContain('>plan<');
    expect(charts['memory.svg']).toContain('>budget<');
    expect(charts['memory.svg']).toContain('>news-bag / wasm (isolate)<');
  });

  it('plots one latency point per percentile, batch size and backend', () => {
    const values = (latencySpec(report()).data as { values: unknown[] }).values;
    expect(values).toHaveLength(3 * 3 * 2);
  });

  it('draws the budget across the measured batch sizes', () => {
    const values = (
      memorySpec(report()).data as { values: { series: string; batchSize: number; mib: number }[] }
    ).values;
    expect(values.filter((v) => v.series === 'budget').map((v) => [v.batchSize, v.mib])).toEqual([
      [1, 128],
      [64, 128],
    ]);
  });
});

describe('soakSpec', () => {
  /** Six windows of a soak, RSS read when `withRss`. */
  function soakWindows(withRss: boolean) {
    const log = createWindowLog(60_000, 10_000);
    for (let i = 0; i < 6; i++) {
      for (let n = 0; n < 100; n++)
        log.record(i * 10_000 + n, { ok: true, ms: 2 + (n % 10) + i, status: 200 });
      log.close(i, withRss ? { rssBytes: (200 + i) * MIB } : {});
    }
    return Array.from({ length: 6 }, (_, i) => log.summary(i));
  }
  const options = { title: 'Soak', subtitle: 'news-bag', warmupWindows: 1 };

  it('renders p50, p99 and the server RSS over time as one SVG', async () => {
    const svg = await renderSvg(soakSpec(soakWindows(true), options));
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).toContain('>p99<');
    expect(svg).toContain('>server RSS (MiB)<');
  });

  it('leaves the RSS panel out when RSS was not measured', async () => {
    const svg = await renderSvg(soakSpec(soakWindows(false), options));
    expect(svg).toContain('>latency per window (ms)<');
    expect(svg).not.toContain('server RSS');
  });
});

describe('the capacity chart', () => {
  const capacityReport = () =>
    makeReport([
      capacityScenario(
        'http-capacity/news-bag',
        capacityPoint(600, 40),
        capacityPoint(1200, 400, { shed: 300, predictedP95Ms: 105 }),
      ),
    ]);

  it("plots the model's curve and the two measured p95s at their offered rates", () => {
    const values = (
      capacitySpec(capacityReport())?.data as { values: { series: string; rate: number; ms: number }[] }
    ).values;
    expect(values.map((v) => [v.series, v.rate, v.ms])).toEqual([
      ['model p95', 400, 5],
      ['model p95', 800, 90],
      ['model p95', 1200, 105],
      ['measured p95 at planned', 600, 40],
      ['measured p95 above', 1200, 400],
    ]);
  });

  it('renders as capacity.svg with its series and the p95 limit', async () => {
    const svg = (await renderCharts(capacityReport()))['capacity.svg'];
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).toContain('>measured p95 at planned<');
    expect(svg).toContain('>model p95<');
  });

  it('is left out of a report without a capacity scenario', () => {
    expect(capacitySpec(report())).toBeNull();
  });
});
