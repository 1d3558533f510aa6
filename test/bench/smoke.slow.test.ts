// Every scenario at minimal iterations on the real runtime, the real Node service and real Chromium; then the CLI.
// Timings vary run to run, so nothing here asserts on a number of milliseconds.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shipshape } from '../helpers/cli.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { effectiveConfig, parseBenchConfig } from '../../bench/config.ts';
import { parseReport, type Scenario } from '../../bench/report.ts';
import type { BrowserPlan } from '../../bench/run.ts';
import { runBrowserScenarios } from '../../bench/scenarios/browser.ts';
import {
  createPredictClient,
  predictEndpoint,
  runClosedLoopScenario,
  runOpenLoopScenario,
} from '../../bench/scenarios/http.ts';
import { runColdStartScenario, runInProcessScenario } from '../../bench/scenarios/node.ts';
import { processMemory, startService, type RunningService } from '../../bench/scenarios/service.ts';
import { readBenchTexts } from '../../bench/texts.ts';
import { CHROMIUM_PATH } from '../../bench/browser/chromium.ts';

const ROOT = join(import.meta.dirname, '../..');
const BAG = join(ROOT, 'artifacts/news-bag');
const MODEL_BYTES = (
  JSON.parse(readFileSync(join(BAG, 'manifest.json'), 'utf8')) as { files: Record<string, { size: number }> }
).files['model.onnx']?.size;
const CHROMIUM = CHROMIUM_PATH;
const HAS_CHROMIUM = existsSync(CHROMIUM);
const IN_CI = Boolean(process.env.CI);
/** Two short windows that always "agree": the smoke runs check plumbing, not stability. */
const SMOKE_STABILITY = { windows: 2, tolerancePct: 10_000, maxTrials: 2 };
const MEASURED = ['ok', 'unstable', 'insufficient-samples'];

if (!HAS_CHROMIUM && !IN_CI) {
  console.warn(
    `smoke.slow.test.ts: browser scenarios skipped: no Chromium at ${CHROMIUM} (in CI they fail instead).`,
  );
}

function expectMeasured(s: Scenario): void {
  expect(
    s.reason === undefined || MEASURED.includes(s.status),
    `${s.id}: ${s.status}: ${s.reason ?? ''}`,
  ).toBe(true);
  expect(MEASURED).toContain(s.status);
}

describe('in-process scenario (a fresh child per measurement)', () => {
  for (const backend of ['native', 'wasm'] as const) {
    it(`measures news-bag on ${backend} and records the backend that ran and its memory`, async () => {
      const s = await runInProcessScenario(
        {
          kind: 'in-process',
          id: `in-process/news-bag/${backend}/b4`,
          bundleDir: BAG,
          backend,
          batchSize: 4,
          numThreads: 1,
          warmupMs: 0,
          maxWarmupMs: 0,
          windowMs: 10,
          minSamplesPerWindow: 5,
          stability: SMOKE_STABILITY,
          minTailSamples: 1,
          retainSamples: 50,
        },
        { timeoutMs: 60_000 },
      );
      expectMeasured(s);
      expect(s.backend?.backend).toBe(backend);
      expect(s.params).toMatchObject({ bundle: 'news-bag', batchSize: 4, modelBytes: MODEL_BYTES });
      expect(s.latency?.count).toBeGreaterThanOrEqual(10);
      expect(s.latency?.samples.length).toBeLessThanOrEqual(50);
      expect(s.stability?.trials).toBe(2);
      expect(s.cpu?.perRequestMs).toBeGreaterThan(0);
      expect(s.memory?.peakRssBytes).toBeGreaterThan(0);
      if (backend === 'wasm') {
        expect(s.memory?.wasmHeapBytes).toBeGreaterThan(0);
        expect(s.memory?.isolateBytes).toBeGreaterThan(s.memory?.wasmHeapBytes ?? 0);
      } else {
        expect(s.memory?.wasmHeapBytes).toBeNull();
      }
    });
  }

  it('reports a bundle that does not exist as errored, with the runtime’s message', async () => {
    const s = await runInProcessScenario(
      {
        kind: 'in-process',
        id: 'in-process/missing/native/b1',
        bundleDir: join(ROOT, 'artifacts/no-such-bundle'),
        backend: 'native',
        batchSize: 1,
        numThreads: 1,
        warmupMs: 0,
        maxWarmupMs: 0,
        windowMs: 10,
        minSamplesPerWindow: 2,
        stability: SMOKE_STABILITY,
        minTailSamples: 1,
        retainSamples: 10,
      },
      { timeoutMs: 60_000 },
    );
    expect(s.status).toBe('errored');
    expect(s.reason).toMatch(/^ShipshapeError: /);
  });
});

describe('cold-start scenario', () => {
  it('times a fresh process to its first prediction, phase by phase', async () => {
    const s = await runColdStartScenario({
      id: 'cold-start/news-bag/wasm',
      bundleDir: BAG,
      backend: 'wasm',
      trials: 1,
      numThreads: 1,
      timeoutMs: 60_000,
    });
    expect(s.status).toBe('ok');
    expect(s.backend?.backend).toBe('wasm');
    expect(s.coldStart?.trials).toBe(1);
    expect(s.coldStart?.timeToFirstPredictionMs).toHaveLength(1);
    const phases = s.coldStart?.phasesMs;
    expect(s.coldStart?.p50Ms).toBeCloseTo(
      (phases?.loadBundle ?? 0) + (phases?.createPredictor ?? 0) + (phases?.firstPrediction ?? 0),
      6,
    );
    expect(s.memory?.wasmHeapBytes).toBeGreaterThan(0);
    expect(s.cpu?.perRequestMs).toBeGreaterThan(0);
  });
});

describe('HTTP scenarios against the real Node service (`shipshape serve`, a child process)', () => {
  let service: RunningService | undefined;
  let texts: string[];

  beforeAll(async () => {
    service = await startService(BAG, { backend: 'native' });
    texts = await readBenchTexts(BAG);
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('runs a closed loop at concurrency 2 without errors', async () => {
    const s = await runClosedLoopScenario({
      id: 'http-closed/c2',
      url: service?.url ?? '',
      texts,
      concurrency: 2,
      textsPerRequest: 2,
      windowMs: 20,
      minSamplesPerWindow: 6,
      requestTimeoutMs: 10_000,
      stability: SMOKE_STABILITY,
      minTailSamples: 1,
      retainSamples: 100,
      serviceCpuMs: () => service?.cpuMs(),
    });
    expectMeasured(s);
    expect(s.http?.errors).toBe(0);
    expect(s.cpu?.source).toContain('/proc/PID/stat');
    expect(s.latency?.count).toBeGreaterThanOrEqual(12);
    expect(s.throughput?.itemsPerSecond).toBeCloseTo(2 * (s.throughput?.requestsPerSecond ?? 0), 6);
  });

  it('sends exactly the bounded number of Poisson arrivals in an open loop', async () => {
    const s = await runOpenLoopScenario({
      id: 'http-open/r200',
      url: service?.url ?? '',
      texts,
      ratePerSecond: 200,
      maxRequests: 25,
      maxDurationMs: 30_000,
      seed: 1,
      textsPerRequest: 1,
      requestTimeoutMs: 10_000,
      minTailSamples: 1,
      retainSamples: 100,
    });
    expectMeasured(s);
    expect(s.http).toMatchObject({ requests: 25, errors: 0, unsent: 0, offeredRatePerSecond: 200 });
    expect(s.latency?.count).toBe(25);
  });

  it('reads the status and error code of a refused request', async () => {
    const client = createPredictClient(predictEndpoint(service?.url ?? ''), {
      maxSockets: 1,
      timeoutMs: 10_000,
    });
    try {
      const outcome = await client.post(JSON.stringify({ texts: ['ok', 42] }));
      expect(outcome).toMatchObject({
        ok: false,
        status: 422,
        code: 'INPUT_INVALID',
        error: 'HTTP 422 INPUT_INVALID',
      });
    } finally {
      client.close();
    }
  });

  it("reads the service's RSS and peak RSS from /proc by its process id", () => {
    const memory = processMemory(service?.pid);
    expect(memory?.rssBytes).toBeGreaterThan(0);
    expect(memory?.peakRssBytes).toBeGreaterThanOrEqual(memory?.rssBytes ?? Number.POSITIVE_INFINITY);
  });

  it('passes extra arguments on to shipshape serve, after its own', async () => {
    const wasm = await startService(BAG, { backend: 'native', args: ['--backend', 'wasm'] });
    try {
      expect(wasm.banner).toMatch(
        /^shipshape serving news-bag \S+ on wasm( \(\d+ workers?\))? at http:\/\/127\.0\.0\.1:\d+$/,
      );
    } finally {
      await wasm.stop();
    }
  });

  it('marks every request failing (nothing listening) as errored', async () => {
    const s = await runClosedLoopScenario({
      id: 'http-closed/c1',
      url: 'http://127.0.0.1:9',
      texts: ['x'],
      concurrency: 1,
      textsPerRequest: 1,
      windowMs: 10,
      minSamplesPerWindow: 1,
      requestTimeoutMs: 2000,
      stability: SMOKE_STABILITY,
      minTailSamples: 1,
      retainSamples: 10,
    });
    expect(s.status).toBe('errored');
    expect(s.reason).toMatch(/ECONNREFUSED/);
  });
});

describe.skipIf(!HAS_CHROMIUM && !IN_CI)('browser scenarios (real Chromium)', () => {
  it('measures news-bag on WASM and on WebGPU (software adapter), with the UA memory measure', async () => {
    if (!HAS_CHROMIUM)
      throw new Error(`Chromium is required in CI and missing at ${CHROMIUM}: apt-get install chromium`);
    const config = effectiveConfig(
      parseBenchConfig(
        {
          bundles: [BAG],
          browser: { executablePath: CHROMIUM, windowMs: 10, minSamplesPerWindow: 3 },
          inProcess: { warmupMs: 0, maxWarmupMs: 0 },
          stability: SMOKE_STABILITY,
        },
        'smoke',
      ),
      { quick: false, baseDir: ROOT },
    );
    const planned: BrowserPlan[] = (['wasm', 'webgpu'] as const).map((backend) => ({
      id: `browser/news-bag/${backend}/b2`,
      bundleDir: BAG,
      backend,
      batchSize: 2,
    }));
    const done: Scenario[] = [];
    const { chromium } = await runBrowserScenarios(config, planned, {
      started: () => undefined,
      detail: () => undefined,
      finished: (s) => done.push(s),
    });
    expect(chromium).toMatch(/^Chromium \d+/);
    expect(done.map((s) => [s.id, s.backend?.backend])).toEqual([
      ['browser/news-bag/webgpu/b2', 'webgpu'],
      ['browser/news-bag/wasm/b2', 'wasm'],
    ]);
    for (const s of done) {
      expectMeasured(s);
      expect(s.params.crossOriginIsolated).toBe(true);
      expect(s.memory?.isolateBytes).toBeGreaterThan(0);
      expect(s.cpu?.source).toContain('SystemInfo.getProcessInfo');
    }
    expect(done[0]?.params.adapter).toMatch(/\(software adapter\)$/);
    expect(done[0]?.reason).toContain('a correctness run, not a speed figure');
    expect(done[1]?.memory?.wasmHeapBytes).toBeGreaterThan(0);
  });
});

describe('shipshape bench and shipshape gate (the real CLI)', () => {
  let dir: string;
  let report: string;
  let bench: { code: number | null; stdout: string; stderr: string };

  const run = (args: string[]) => shipshape(args, '', { CI: '1' });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'shipshape-bench-cli-'));
    report = join(dir, 'report.json');
    writeFileSync(
      join(dir, 'bench.config.json'),
      JSON.stringify({
        bundles: [BAG],
        stability: SMOKE_STABILITY,
        inProcess: {
          backends: ['native'],
          batchSizes: [1, 2, 4],
          windowMs: 10,
          minSamplesPerWindow: 5,
          warmupMs: 0,
          maxWarmupMs: 0,
        },
        coldStart: { backends: ['native'], trials: 1 },
        http: {
          concurrency: [1],
          windowMs: 10,
          minSamplesPerWindow: 5,
          openLoop: { ratesPerSecond: [100], maxRequests: 10 },
          overload: { textsPerRequest: 4, capacityConcurrency: 2, capacityMs: 300, durationMs: 600 },
          // Its verdict is a measurement the gate checks, which would make the gate tests below depend on this
          // machine's load; capacity-scenario.slow.test.ts runs it for real.
          capacity: { enabled: false },
        },
        browser: { enabled: false },
        quick: { inProcess: { batchSizes: [1, 4, 8] } },
      }),
    );
    bench = run(['bench', '--quick', '--serve', '--config', join(dir, 'bench.config.json'), '--out', report]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a valid quick report with every scenario, a memory plan, Markdown, HTML and charts', () => {
    expect(bench.code, bench.stderr).toBe(0);
    const parsed = parseReport(JSON.parse(readFileSync(report, 'utf8')), report);
    expect(parsed.mode).toBe('quick');
    expect(parsed.scenarios.map((s) => s.id)).toEqual([
      'in-process/news-bag/native/b1',
      'in-process/news-bag/native/b4',
      'in-process/news-bag/native/b8',
      'cold-start/news-bag/native',
      'http-closed/c1',
      'http-open/r100',
      'http-overload/x2',
    ]);
    expect(parsed.memoryPlans.map((p) => [p.bundle, p.backend, p.calibrationBatchSizes])).toEqual([
      ['news-bag', 'native', [1, 4]],
    ]);
    expect(parsed.versions.onnxruntimeNode).toMatch(/^\d+\.\d+\.\d+$/);
    for (const file of [
      'report.md',
      'report.html',
      'report-latency.svg',
      'report-throughput.svg',
      'report-memory.svg',
      'report-http.svg',
    ]) {
      expect(existsSync(join(dir, file)), file).toBe(true);
    }
    expect(readFileSync(join(dir, 'report-latency.svg'), 'utf8')).toMatch(/^<svg[^>]*>/);
  });

  it('heads report.md with the verdict against bench/sla.json, the default SLA, and says it on stdout', () => {
    // This run measures news-bag native only, so bench/sla.json's rules for other scenarios find nothing: FAIL.
    expect(readFileSync(join(dir, 'report.md'), 'utf8').split('\n')[2]).toMatch(
      /^\*\*FAIL\*\* against the SLA `.*bench\/sla\.json`: \d+ checks, /,
    );
    expect(bench.stdout).toMatch(/; SLA FAIL before re-measurement\n/);
    expect(bench.stdout).toMatch(/ {2}wrote .*report\.html\n/);
  });

  it('prints plain progress lines on stderr when not on a terminal', () => {
    expect(bench.stderr).toContain('bench: 7 scenarios\n');
    expect(bench.stderr).toMatch(/bench: \[1\/7\] in-process\/news-bag\/native\/b1: /);
  });

  it('exits 0 on an SLA the run meets and writes the summary', () => {
    const sla = join(dir, 'easy.json');
    writeFileSync(
      sla,
      JSON.stringify({ schemaVersion: 1, scenarios: [{ match: '**', maxP95Ms: 60_000, maxErrorPct: 0 }] }),
    );
    const gate = run([
      'gate',
      '--report',
      report,
      '--baseline',
      report,
      '--sla',
      sla,
      '--summary',
      join(dir, 'gate.md'),
    ]);
    expect(gate.code, gate.stdout).toBe(0);
    expect(readFileSync(join(dir, 'gate.md'), 'utf8')).toMatch(/^## shipshape gate: PASS\n/);
  });

  it('exits 1 on an SLA that demands the impossible', () => {
    const sla = join(dir, 'impossible.json');
    writeFileSync(
      sla,
      JSON.stringify({ schemaVersion: 1, scenarios: [{ match: 'in-process/**', maxP95Ms: 1e-9 }] }),
    );
    const gate = run(['gate', '--report', report, '--sla', sla]);
    expect(gate.code).toBe(1);
    expect(gate.stdout).toMatch(/^## shipshape gate: FAIL\n/);
    expect(gate.stdout).toMatch(/\*\*\d+ checks: \d+ passed, 3 failed, \d+ warnings, 0 skipped\.\*\*/);
    expect(gate.stdout).toContain('| **FAIL** | `in-process/news-bag/native/b8` | p95 latency |');
  });

  it('exits 1 with a message naming the file when the report is missing', () => {
    const gate = run(['gate', '--report', join(dir, 'nope.json')]);
    expect(gate.code).toBe(1);
    expect(gate.stderr).toContain('nope.json: cannot read the report');
  });
});
