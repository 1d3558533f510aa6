// The charts render to SVG headless, with the series, the plan, the budget, the SLA and the baseline labelled.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  capacitySpec,
  httpSpec,
  latencySpec,
  memorySpec,
  renderCharts,
  renderSvg,
  slaLimit,
  soakSpec,
  throughputSpec,
} from '../../bench/charts.ts';
import { createWindowLog } from '../../bench/drift.ts';
import { evaluateGate } from '../../bench/gate/index.ts';
import { buildMemoryPlan } from '../../bench/memory-plan.ts';
import { readReport } from '../../bench/report.ts';
import { parseSla } from '../../bench/sla.ts';
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

/** The rows of a spec's inline data. */
function rows<T>(spec: unknown): T[] {
  return (spec as { data: { values: T[] } }).data.values;
}

describe('the SLA and the baseline on the latency and throughput charts', () => {
  const sla = parseSla(
    {
      schemaVersion: 1,
      scenarios: [
        { match: 'in-process/news-bag/*/b1', maxP95Ms: 20, maxP99Ms: 40, minItemsPerSecond: 200 },
        { match: 'in-process/news-bag/wasm/b1', maxP95Ms: 10 },
        { match: 'in-process/news-bag/*/b64', minItemsPerSecond: 1000 },
      ],
    },
    'test',
  );
  // The limits come from the gate's SLA checks on the report, as `shipshape bench` passes them.
  const checks = evaluateGate({ report: report(), sla }).checks;
  type LatencyRow = { source: string; series: string; batchSize: number; percentile: string; ms: number };
  type ThroughputRow = { source: string; series: string; batchSize: number; itemsPerSecond: number };

  it("takes the tightest of the gate's SLA checks when several rules match a scenario", () => {
    expect(slaLimit(checks, 'in-process/news-bag/wasm/b1', 'p95Ms')).toBe(10);
    expect(slaLimit(checks, 'in-process/news-bag/native/b1', 'p95Ms')).toBe(20);
    expect(slaLimit(checks, 'in-process/news-bag/native/b8', 'p95Ms')).toBeUndefined();
  });

  it("marks the p95 and p99 limits at each limited scenario's batch size, in its series", () => {
    const limits = rows<LatencyRow>(latencySpec(report(), { checks }))
      .filter((r) => r.source === 'SLA limit')
      .map((r) => [r.series, r.batchSize, r.percentile, r.ms]);
    expect(limits).toEqual([
      ['node-native', 1, 'p95', 20],
      ['node-native', 1, 'p99', 40],
      ['node-wasm', 1, 'p95', 10],
      ['node-wasm', 1, 'p99', 40],
    ]);
  });

  it('marks the minimum items/s on the throughput chart', () => {
    const limits = rows<ThroughputRow>(throughputSpec(report(), { checks }))
      .filter((r) => r.source === 'SLA limit')
      .map((r) => [r.series, r.batchSize, r.itemsPerSecond]);
    expect(limits).toEqual([
      ['node-native', 1, 200],
      ['node-native', 64, 1000],
      ['node-wasm', 1, 200],
      ['node-wasm', 64, 1000],
    ]);
  });

  it("draws the baseline's values as a second source beside this run's", () => {
    const baseline = report();
    const values = rows<ThroughputRow>(throughputSpec(report(), { baseline }));
    const own = values.filter((r) => r.source === 'this run');
    const theirs = values.filter((r) => r.source === 'baseline');
    expect(theirs).toHaveLength(6);
    expect(theirs.map((r) => r.itemsPerSecond)).toEqual(own.map((r) => r.itemsPerSecond));
    expect(
      rows<LatencyRow>(latencySpec(report(), { baseline })).filter((r) => r.source === 'baseline'),
    ).toHaveLength(18);
  });

  it('draws neither without a context', () => {
    const sources = new Set(rows<LatencyRow>(latencySpec(report())).map((r) => r.source));
    expect([...sources]).toEqual(['this run']);
  });

  it('says in the subtitle what the dashed lines and the bars are', async () => {
    const svg = await renderSvg(latencySpec(report(), { checks, baseline: report() }));
    expect(svg).toContain('dashed, faint: the baseline (quick run 2026-11-26T08:00Z)');
    expect(svg).toContain("bars: the SLA's p95/p99 limit per scenario, in its series' colour<");
  });
});

describe('the HTTP chart', () => {
  const ciQuick = () =>
    readReport(fileURLToPath(new URL('../fixtures/reports/ci-quick.json', import.meta.url)));
  type HttpRow = { run: string; label: string; percentile: string; rps: number; ms: number };

  it('places the open-loop run at its achieved rate, labelled with its offered rate', async () => {
    const open = rows<HttpRow>(httpSpec(await ciQuick())).filter((r) => r.run === 'open loop (Poisson)');
    expect(open.map((r) => [r.label, r.percentile])).toEqual([
      ['20/s offered', 'p50'],
      ['20/s offered', 'p95'],
      ['20/s offered', 'p99'],
    ]);
    expect(open[0]?.rps).toBeCloseTo(19.4, 1);
  });

  it('colours only the percentiles, with the legend fixed to p50, p95, p99', async () => {
    const spec = httpSpec(await ciQuick()) as {
      hconcat: { layer?: { encoding: object }[]; encoding?: object }[];
    };
    const [latency, throughput] = spec.hconcat;
    expect(latency?.layer?.[0]?.encoding).toMatchObject({
      color: { field: 'percentile', scale: { domain: ['p50', 'p95', 'p99'] } },
    });
    // The closed loop's requests/s is one series: no colour channel that could borrow a percentile's colour.
    expect(throughput?.encoding).not.toHaveProperty('color');
  });

  it('renders both runs with their legend entries', async () => {
    const svg = (await renderCharts(await ciQuick()))['http.svg'];
    expect(svg).toContain('>open loop (Poisson)<');
    expect(svg).toContain('>closed loop<');
    expect(svg).toContain('>c4<');
  });
});

describe('the memory chart', () => {
  it("heads each panel with the plan's signed error and whether the largest batch is the cap", async () => {
    const flat = buildMemoryPlan({
      bundle: 'news-bag',
      backend: 'wasm',
      metric: 'isolate',
      weightsBytes: MIB,
      points: [1, 16, 64].map((b) => ({ batchSize: b, measuredBytes: 70 * MIB })),
    });
    const svg = await renderSvg(memorySpec(makeReport([], { memoryPlans: [flat] })));
    expect(svg).toContain('>plan +0.0% vs measured at b=64 (above)<');
    expect(svg).toContain('>largest batch in 128 MiB: 4096 (the cap)<');
  });
});
