// Constructed reports for the gate's tests: seeded samples, no timing involved.
import type { CapacityPoint, Report, Scenario } from '../../bench/report.ts';
import { REPORT_SCHEMA_VERSION } from '../../bench/report.ts';
import { createRng, summarizeLatency } from '../../bench/stats.ts';

/** `n` log-normal latencies (ms) around `medianMs`, from a seeded generator (Box-Muller). */
export function logNormalSamples(n: number, medianMs: number, seed: number, sigma = 0.25): number[] {
  const rng = createRng(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const u1 = 1 - rng();
    const u2 = rng();
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    out.push(medianMs * Math.exp(sigma * z));
  }
  return out;
}

/** An in-process scenario measured from `samples` (ms per batch of `batchSize`). */
export function inProcessScenario(
  id: string,
  samples: readonly number[],
  options: { batchSize?: number; rssMiB?: number; status?: Scenario['status']; windowP95s?: number[] } = {},
): Scenario {
  const batchSize = options.batchSize ?? 1;
  const latency = summarizeLatency(samples);
  const seconds = samples.reduce((a, b) => a + b, 0) / 1000;
  const [, bundle = 'news-bag', backend = 'native'] = id.split('/');
  return {
    id,
    kind: 'in-process',
    status: options.status ?? 'ok',
    params: { bundle, backendRequested: backend, batchSize },
    backend: { backend: backend as 'native' | 'wasm', skipped: [] },
    latency,
    throughput: {
      itemsPerSecond: (samples.length * batchSize) / seconds,
      requestsPerSecond: samples.length / seconds,
    },
    ...(options.windowP95s
      ? {
          stability: {
            stable: true,
            trials: options.windowP95s.length,
            windowsRequired: options.windowP95s.length,
            tolerancePct: 100,
            maxTrials: 10,
            windows: options.windowP95s.map((p95Ms) => ({
              samples: 100,
              durationMs: 1000,
              p95Ms,
              requestsPerSecond: 100,
              itemsPerSecond: 100 * batchSize,
            })),
          },
        }
      : {}),
    memory: {
      peakRssBytes: (options.rssMiB ?? 100) * 1024 * 1024,
      jsHeapBytes: 10 * 1024 * 1024,
      arrayBuffersBytes: 1024 * 1024,
      wasmHeapBytes: null,
      isolateBytes: 11 * 1024 * 1024,
      source: 'constructed',
    },
    durationMs: seconds * 1000,
  };
}

/** A complete report around `scenarios`. */
export function makeReport(scenarios: Scenario[], overrides: Partial<Report> = {}): Report {
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: 'shipshape-bench',
    createdAt: '2026-11-26T08:00:00.000Z',
    mode: 'quick',
    durationMs: 1000,
    versions: {
      node: 'v20.20.2',
      shipshape: '0.1.0',
      onnxruntimeNode: '1.30.0',
      onnxruntimeWeb: '1.30.0',
      chromium: null,
    },
    machine: {
      cpuModel: 'Test CPU',
      cores: 2,
      memoryBytes: 24 * 1024 ** 3,
      platform: 'linux',
      arch: 'x64',
      loadAverage: [0, 0, 0],
    },
    config: {},
    scenarios,
    memoryPlans: [],
    uploadSize: null,
    ...overrides,
  };
}

/** An overload scenario: admitted latencies `samples`, and how many of `requests` were shed or failed otherwise. */
export function overloadScenario(
  id: string,
  samples: readonly number[],
  counts: { requests: number; shed: number; errors?: number },
): Scenario {
  const seconds = 10;
  return {
    id,
    kind: 'http-overload',
    status: 'ok',
    params: { url: 'http://127.0.0.1:8787', textsPerRequest: 32, factor: 2 },
    latency: summarizeLatency(samples),
    throughput: {
      itemsPerSecond: (samples.length * 32) / seconds,
      requestsPerSecond: samples.length / seconds,
    },
    http: {
      requests: counts.requests,
      errors: counts.errors ?? 0,
      errorSamples: (counts.errors ?? 0) > 0 ? ['HTTP 500 INTERNAL'] : [],
      shed: counts.shed,
      capacityRatePerSecond: 50,
      offeredRatePerSecond: 100,
      achievedRatePerSecond: samples.length / seconds,
      unsent: 0,
    },
    durationMs: seconds * 1000,
  };
}

/** One measured capacity point: `p95Ms` measured at `rate`, with `shed` and `errors` of `requests`. */
export function capacityPoint(
  rate: number,
  p95Ms: number | null,
  counts: { requests?: number; shed?: number; errors?: number; predictedP95Ms?: number } = {},
): CapacityPoint {
  const requests = counts.requests ?? 1000;
  const shed = counts.shed ?? 0;
  const errors = counts.errors ?? 0;
  return {
    offeredRatePerSecond: rate,
    achievedRatePerSecond: (rate * (requests - shed - errors)) / requests,
    requests,
    errors,
    shed,
    unsent: 0,
    p50Ms: p95Ms === null ? null : p95Ms / 3,
    p95Ms,
    p99Ms: p95Ms === null ? null : p95Ms * 1.5,
    p95Status: 'ok',
    clientLagP95Ms: 1,
    otherCores: 0.1,
    cpuPerRequestMs: 1.2,
    clientCpuPerRequestMs: 0.3,
    predictedP95Ms: counts.predictedP95Ms ?? 10,
    predictedShedFraction: 0,
    meetsSla: p95Ms !== null && p95Ms <= 100 && shed === 0 && errors === 0,
  };
}

/**
 * A capacity self-check scenario on a model that says one replica sustains 800 req/s within p95 100 ms: planned
 * 600 req/s, the higher point 1200 req/s; `planned` and `above` are what was measured there.
 */
export function capacityScenario(
  id: string,
  planned: CapacityPoint,
  above: CapacityPoint,
  options: { verdict?: 'pass' | 'fail'; detail?: string; p95LimitMs?: number } = {},
): Scenario {
  const samples = logNormalSamples(planned.requests, (planned.p95Ms ?? 100) / 2, 7);
  return {
    id,
    kind: 'http-capacity',
    status: 'ok',
    params: { url: 'http://127.0.0.1:8787', bundle: 'news-bag', textsPerRequest: 1, servers: 2 },
    latency: summarizeLatency(samples),
    throughput: {
      itemsPerSecond: planned.achievedRatePerSecond,
      requestsPerSecond: planned.achievedRatePerSecond,
    },
    http: {
      requests: planned.requests,
      errors: planned.errors + planned.shed,
      errorSamples: [],
      offeredRatePerSecond: planned.offeredRatePerSecond,
      achievedRatePerSecond: planned.achievedRatePerSecond,
      unsent: 0,
    },
    capacity: {
      bundle: 'news-bag',
      textsPerRequest: 1,
      profile: {
        serviceMs: logNormalSamples(200, 1.5, 3),
        servers: 2,
        capacityRps: 820,
        maxQueueWaitMs: 100,
        capacityConcurrency: 8,
        clientCpuPerRequestMs: 0.2,
        source: 'constructed',
      },
      p95LimitMs: options.p95LimitMs ?? 100,
      maxShedFraction: 0,
      headroom: 0.25,
      aboveFactor: 1.5,
      model: {
        sustainableRatePerSecond: 800,
        serviceScale: 0.8,
        curve: [
          { ratePerSecond: 400, p95Ms: 5, shedFraction: 0 },
          { ratePerSecond: 800, p95Ms: 90, shedFraction: 0 },
          { ratePerSecond: 1200, p95Ms: 105, shedFraction: 0.3 },
        ],
      },
      plannedRatePerSecond: planned.offeredRatePerSecond,
      aboveRatePerSecond: above.offeredRatePerSecond,
      planned,
      above,
      capacityAfterRps: 810,
      warmup: { durationMs: 2000, plateaued: true },
      peakRssBytes: 300 * 1024 * 1024,
      verdict: options.verdict ?? 'pass',
      detail: options.detail ?? 'constructed',
    },
    durationMs: 20_000,
  };
}

/** Every timing of a report multiplied by `factor` (throughput divided): a slower, or faster, run of the same code. */
export function scaleTimings(report: Report, factor: number): Report {
  const copy = structuredClone(report) as Report & {
    scenarios: Array<Record<string, unknown> & Report['scenarios'][number]>;
  };
  for (const s of copy.scenarios) {
    const latency = s.latency as
      | {
          mean: number;
          min: number;
          max: number;
          samples: number[];
          percentiles: Record<string, { ms: number }>;
        }
      | undefined;
    if (latency) {
      latency.mean *= factor;
      latency.min *= factor;
      latency.max *= factor;
      latency.samples = latency.samples.map((v) => v * factor);
      for (const p of Object.values(latency.percentiles)) p.ms *= factor;
    }
    const throughput = s.throughput as { itemsPerSecond: number; requestsPerSecond: number } | undefined;
    if (throughput) {
      throughput.itemsPerSecond /= factor;
      throughput.requestsPerSecond /= factor;
    }
    const stability = s.stability as
      { windows: Array<{ p95Ms: number; itemsPerSecond: number }> } | undefined;
    for (const w of stability?.windows ?? []) {
      w.p95Ms *= factor;
      w.itemsPerSecond /= factor;
    }
    const cpu = s.cpu as { perRequestMs: number } | undefined;
    if (cpu) cpu.perRequestMs *= factor;
  }
  return copy;
}
