// Runs a whole bench: plans the scenarios from the config, measures them one at a time, builds the report.
import { performance } from 'node:perf_hooks';
import type { EffectiveConfig } from './config.ts';
import { describeMachine, describeVersions } from './environment.ts';
import { buildMemoryPlan, type MemoryPoint } from './memory-plan.ts';
import type { Progress } from './progress.ts';
import {
  REPORT_SCHEMA_VERSION,
  erroredScenario,
  skippedScenario,
  type MemoryPlan,
  type Report,
  type Scenario,
  type UploadSize,
} from './report.ts';
import { availableParallelism } from 'node:os';
import { runCapacityScenario } from './scenarios/capacity.ts';
import { runClosedLoopScenario, runOpenLoopScenario } from './scenarios/http.ts';
import { runOverloadScenario } from './scenarios/overload.ts';
import { bundleName, runColdStartScenario, runInProcessScenario } from './scenarios/node.ts';
import { processMemory, startService, workersFromBanner, type RunningService } from './scenarios/service.ts';
import { matchesScenario } from './sla.ts';
import { readBenchTexts } from './texts.ts';

export const SCENARIO_GROUPS = ['in-process', 'cold-start', 'http', 'browser'] as const;
export type ScenarioGroup = (typeof SCENARIO_GROUPS)[number];

export interface RunBenchOptions {
  readonly config: EffectiveConfig;
  readonly mode: 'quick' | 'full';
  /** Base URL of a running service (loopback only); without it (or `serve`) the HTTP scenarios are skipped. */
  readonly url?: string;
  /** Start `shipshape serve` on the first bundle for the HTTP scenarios (ignored when `url` is given). */
  readonly serve?: boolean;
  readonly uploadSize?: UploadSize | null;
  readonly progress: Progress;
  /** Groups to run; default all that the config enables. */
  readonly only?: readonly ScenarioGroup[];
  /** Scenario id patterns (`*` within a segment, `**` across); only matching scenarios run. Default all. */
  readonly scenarios?: readonly string[];
  /** Longest one child process may take. Default 10 minutes. */
  readonly childTimeoutMs?: number;
  /** Runs the browser scenarios; injected so that this module does not load Playwright unless asked. */
  readonly runBrowser?: BrowserRunner;
}

/** Measures the browser scenarios of one run; returns one scenario per planned id, and Chromium's version. */
export type BrowserRunner = (
  config: EffectiveConfig,
  planned: readonly BrowserPlan[],
  hooks: { started(id: string): void; detail(text: string): void; finished(scenario: Scenario): void },
) => Promise<{ chromium: string | null }>;

export interface BrowserPlan {
  readonly id: string;
  readonly bundleDir: string;
  readonly backend: 'webgpu' | 'wasm';
  readonly batchSize: number;
}

interface PlannedScenario {
  readonly id: string;
  readonly run: (detail: (text: string) => void) => Promise<Scenario>;
}

function outcome(s: Scenario): string {
  if (s.status === 'skipped' || s.status === 'errored') return `${s.status}: ${s.reason ?? ''}`;
  const parts: string[] = [s.status];
  if (s.latency) parts.push(`p95 ${s.latency.percentiles.p95.ms.toFixed(3)} ms`);
  if (s.throughput) parts.push(`${s.throughput.itemsPerSecond.toFixed(0)} items/s`);
  if (s.kind === 'cold-start' && s.coldStart) parts.push(`cold start p50 ${s.coldStart.p50Ms.toFixed(0)} ms`);
  if (s.kind === 'http-capacity' && s.capacity) {
    const c = s.capacity;
    parts.push(
      `plan ${c.verdict}: planned ${c.plannedRatePerSecond.toFixed(0)} req/s p95 ${c.planned.p95Ms?.toFixed(1) ?? 'n/a'} ms ` +
        `(model ${c.planned.predictedP95Ms.toFixed(1)}), ${c.aboveRatePerSecond.toFixed(0)} req/s ` +
        `${c.above.meetsSla ? 'within the SLA' : 'missed the SLA'}`,
    );
  }
  if (s.backend && s.params.backendRequested !== s.backend.backend) parts.push(`ran on ${s.backend.backend}`);
  return parts.join(', ');
}

/** Measures every planned scenario, in order, and returns the report (`writeReport` validates it). */
export async function runBench(options: RunBenchOptions): Promise<Report> {
  const { config, progress } = options;
  const started = performance.now();
  const wants = (group: ScenarioGroup): boolean => !options.only || options.only.includes(group);
  const childTimeoutMs = options.childTimeoutMs ?? 600_000;
  const stats = config.statistics;
  const plan: PlannedScenario[] = [];
  const immediate: Scenario[] = [];
  // One service per bundle the bench starts (the HTTP scenarios' bundle, the overload and capacity bundle), shared
  // by the scenarios that serve it. Every one runs with the capacity check's queue-wait limit, so that the model sheds
  // where the service does (the edge's default, 100 ms, unless the config says otherwise).
  const services = new Map<string, Promise<RunningService>>();
  const serviceFor = (bundleDir: string, detail: (text: string) => void): Promise<RunningService> => {
    let service = services.get(bundleDir);
    if (service === undefined) {
      detail(`starting shipshape serve on ${bundleName(bundleDir)}`);
      service = startService(bundleDir, {
        env: { SHIPSHAPE_MAX_QUEUE_WAIT_MS: String(config.http.capacity.maxQueueWaitMs) },
      });
      services.set(bundleDir, service);
    }
    return service;
  };

  if (wants('in-process') && config.inProcess.enabled) {
    for (const bundleDir of config.bundles) {
      for (const backend of config.inProcess.backends) {
        for (const batchSize of config.inProcess.batchSizes) {
          const id = `in-process/${bundleName(bundleDir)}/${backend}/b${batchSize}`;
          plan.push({
            id,
            run: (detail) =>
              runInProcessScenario(
                {
                  kind: 'in-process',
                  id,
                  bundleDir,
                  backend,
                  batchSize,
                  numThreads: config.inProcess.numThreads,
                  warmupMs: config.inProcess.warmupMs,
                  maxWarmupMs: config.inProcess.maxWarmupMs,
                  windowMs: config.inProcess.windowMs,
                  minSamplesPerWindow: config.inProcess.minSamplesPerWindow,
                  stability: config.stability,
                  minTailSamples: stats.minTailSamples,
                  retainSamples: stats.retainSamples,
                },
                { timeoutMs: childTimeoutMs, onProgress: detail },
              ),
          });
        }
      }
    }
  }

  if (wants('cold-start') && config.coldStart.enabled) {
    for (const bundleDir of config.bundles) {
      for (const backend of config.coldStart.backends) {
        const id = `cold-start/${bundleName(bundleDir)}/${backend}`;
        plan.push({
          id,
          run: (detail) =>
            runColdStartScenario({
              id,
              bundleDir,
              backend,
              trials: config.coldStart.trials,
              numThreads: config.inProcess.numThreads,
              timeoutMs: childTimeoutMs,
              onProgress: detail,
            }),
        });
      }
    }
  }

  if (wants('http') && config.http.enabled) {
    const h = config.http;
    const closedIds = h.concurrency.map((c) => ({ id: `http-closed/c${c}`, concurrency: c }));
    const openIds = h.openLoop.ratesPerSecond.map((r) => ({ id: `http-open/r${r}`, rate: r }));
    const overloadId = `http-overload/x${h.overload.factor}`;
    // The capacity check's bundle: one whose work is inference in the workers (see the config's `capacity.bundle`).
    // A service given by --url is taken to serve the first bundle, as for every HTTP scenario.
    const firstConfigured = config.bundles[0] as string;
    const capacityBundle =
      options.url === undefined
        ? (h.capacity.bundle ?? h.overload.bundle ?? firstConfigured)
        : firstConfigured;
    const capacityId = `http-capacity/${bundleName(capacityBundle)}`;
    if (options.url === undefined && !options.serve) {
      const reason = 'no service: pass --serve, or --url http://127.0.0.1:PORT of a running service';
      immediate.push(
        ...closedIds.map(({ id, concurrency }) =>
          skippedScenario(id, 'http-closed', reason, { concurrency }),
        ),
        ...openIds.map(({ id, rate }) => skippedScenario(id, 'http-open', reason, { ratePerSecond: rate })),
        ...(h.overload.enabled ? [skippedScenario(overloadId, 'http-overload', reason)] : []),
        ...(h.capacity.enabled ? [skippedScenario(capacityId, 'http-capacity', reason)] : []),
      );
    } else {
      const firstBundle = config.bundles[0] as string;
      let texts: Promise<string[]> | undefined;
      const getTexts = (): Promise<string[]> => (texts ??= readBenchTexts(firstBundle));
      const fixedUrl = options.url;
      // Only a service the bench started has a process whose CPU it can read.
      let started: RunningService | undefined;
      const getUrl = async (detail: (text: string) => void): Promise<string> => {
        if (fixedUrl !== undefined) return fixedUrl;
        started = await serviceFor(firstBundle, detail);
        return started.url;
      };
      const serviceCpuMs = (): number | undefined => started?.cpuMs();
      for (const { id, concurrency } of closedIds) {
        plan.push({
          id,
          run: async (detail) =>
            runClosedLoopScenario({
              id,
              url: await getUrl(detail),
              texts: await getTexts(),
              concurrency,
              textsPerRequest: h.textsPerRequest,
              windowMs: h.windowMs,
              minSamplesPerWindow: h.minSamplesPerWindow,
              requestTimeoutMs: h.requestTimeoutMs,
              stability: config.stability,
              minTailSamples: stats.minTailSamples,
              retainSamples: stats.retainSamples,
              onProgress: detail,
              serviceCpuMs,
            }),
        });
      }
      for (const { id, rate } of openIds) {
        plan.push({
          id,
          run: async (detail) =>
            runOpenLoopScenario({
              id,
              url: await getUrl(detail),
              texts: await getTexts(),
              ratePerSecond: rate,
              maxRequests: h.openLoop.maxRequests,
              maxDurationMs: h.openLoop.maxDurationMs,
              seed: h.openLoop.seed,
              textsPerRequest: h.textsPerRequest,
              requestTimeoutMs: h.requestTimeoutMs,
              minTailSamples: stats.minTailSamples,
              retainSamples: stats.retainSamples,
              onProgress: detail,
              serviceCpuMs,
            }),
        });
      }
      if (h.capacity.enabled) {
        const c = h.capacity;
        plan.push({
          id: capacityId,
          run: async (detail) => {
            let url: string;
            let capacityStarted: RunningService | undefined;
            if (fixedUrl === undefined) {
              capacityStarted = await serviceFor(capacityBundle, detail);
              url = capacityStarted.url;
            } else url = fixedUrl;
            const servers = capacityStarted
              ? workersFromBanner(capacityStarted.banner)
              : (c.servers ?? availableParallelism());
            const pid = capacityStarted?.pid;
            return runCapacityScenario({
              id: capacityId,
              url,
              bundle: bundleName(capacityBundle),
              texts: await readBenchTexts(capacityBundle),
              textsPerRequest: c.textsPerRequest,
              servers,
              maxQueueWaitMs: c.maxQueueWaitMs,
              profileSource: capacityStarted
                ? `the service started by the bench: ${capacityStarted.banner}`
                : `a service given by --url: servers ${c.servers === undefined ? "(this machine's cores)" : '(config)'} and maxQueueWaitMs from the bench config`,
              p95Ms: c.p95Ms,
              ...(c.maxShedFraction === undefined ? {} : { maxShedFraction: c.maxShedFraction }),
              headroom: c.headroom,
              aboveFactor: c.aboveFactor,
              aboveCapacityFactor: c.aboveCapacityFactor,
              warmupMs: c.warmupMs,
              maxWarmupMs: c.maxWarmupMs,
              serviceMs: c.serviceMs,
              capacityMs: c.capacityMs,
              capacityConcurrencyPerServer: c.capacityConcurrencyPerServer,
              capacityTolerancePct: config.stability.tolerancePct,
              maxSockets: c.maxSockets,
              maxOtherCores: c.maxOtherCores,
              durationMs: c.durationMs,
              aboveDurationMs: c.aboveDurationMs,
              seed: c.seed,
              requestTimeoutMs: h.requestTimeoutMs,
              minTailSamples: stats.minTailSamples,
              retainSamples: stats.retainSamples,
              onProgress: detail,
              serviceCpuMs: () => capacityStarted?.cpuMs(),
              servicePeakRssBytes: () => processMemory(pid)?.peakRssBytes,
            });
          },
        });
      }
      if (h.overload.enabled) {
        const o = h.overload;
        // Its own service, on a bundle whose inference outweighs the HTTP work (see the config's `overload.bundle`).
        const overloadBundle = o.bundle ?? firstBundle;
        let overloadStarted: RunningService | undefined;
        plan.push({
          id: overloadId,
          run: async (detail) => {
            let url = fixedUrl;
            if (url === undefined) {
              overloadStarted = await serviceFor(overloadBundle, detail);
              url = overloadStarted.url;
            }
            return runOverloadScenario({
              id: overloadId,
              url,
              texts: await readBenchTexts(fixedUrl === undefined ? overloadBundle : firstBundle),
              textsPerRequest: o.textsPerRequest,
              capacityConcurrency: o.capacityConcurrency,
              capacityMs: o.capacityMs,
              factor: o.factor,
              durationMs: o.durationMs,
              seed: o.seed,
              requestTimeoutMs: h.requestTimeoutMs,
              minTailSamples: stats.minTailSamples,
              retainSamples: stats.retainSamples,
              onProgress: detail,
              serviceCpuMs: () => overloadStarted?.cpuMs(),
            });
          },
        });
      }
    }
  }

  const browserPlans: BrowserPlan[] = [];
  if (wants('browser') && config.browser.enabled) {
    const b = config.browser;
    const dirs = config.bundles.filter((d) => !b.bundles || b.bundles.includes(bundleName(d)));
    for (const bundleDir of dirs) {
      for (const backend of b.backends) {
        for (const batchSize of b.batchSizes) {
          browserPlans.push({
            id: `browser/${bundleName(bundleDir)}/${backend}/b${batchSize}`,
            bundleDir,
            backend,
            batchSize,
          });
        }
      }
    }
  }

  const selected = <T extends { readonly id: string }>(items: T[]): T[] => {
    const patterns = options.scenarios;
    return patterns ? items.filter((item) => patterns.some((p) => matchesScenario(p, item.id))) : items;
  };
  const toRun = selected(plan);
  const toRunInBrowser = selected(browserPlans);
  const toReport = selected(immediate);
  if (options.scenarios && toRun.length + toRunInBrowser.length + toReport.length === 0) {
    const planned = [...plan, ...browserPlans, ...immediate].map((p) => p.id);
    throw new Error(
      `no planned scenario matches ${options.scenarios.map((p) => `"${p}"`).join(', ')}; ` +
        `this configuration plans: ${planned.join(', ') || 'none'}`,
    );
  }
  const scenarios: Scenario[] = [...toReport];
  progress.start(toRun.length + toRunInBrowser.length + toReport.length);
  for (const s of toReport) {
    progress.scenarioStarted(s.id);
    progress.scenarioFinished(s.id, outcome(s));
  }
  try {
    for (const planned of toRun) {
      progress.scenarioStarted(planned.id);
      let scenario: Scenario;
      try {
        scenario = await planned.run((text) => progress.detail(text));
      } catch (error) {
        // Scenario runners turn measurement failures into `errored` themselves; this catches setup failures
        // (e.g. the service would not start), which concern only the scenario that needed it.
        const kind = planned.id.split('/')[0] as Scenario['kind'];
        scenario = erroredScenario(planned.id, kind, {}, error);
      }
      scenarios.push(scenario);
      progress.scenarioFinished(planned.id, outcome(scenario));
    }
  } finally {
    for (const service of services.values()) await (await service.catch(() => undefined))?.stop();
  }

  let chromium: string | null = null;
  if (toRunInBrowser.length > 0) {
    if (!options.runBrowser) {
      for (const p of toRunInBrowser) {
        const s = skippedScenario(p.id, 'browser', 'no browser runner in this build', {
          batchSize: p.batchSize,
        });
        scenarios.push(s);
        progress.scenarioStarted(p.id);
        progress.scenarioFinished(p.id, outcome(s));
      }
    } else {
      const result = await options.runBrowser(config, toRunInBrowser, {
        started: (id) => progress.scenarioStarted(id),
        detail: (text) => progress.detail(text),
        finished: (s) => {
          scenarios.push(s);
          progress.scenarioFinished(s.id, outcome(s));
        },
      });
      chromium = result.chromium;
    }
  }
  progress.stop();

  const report: Report = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: 'shipshape-bench',
    createdAt: new Date().toISOString(),
    mode: options.mode,
    durationMs: performance.now() - started,
    versions: describeVersions(chromium),
    machine: describeMachine(),
    config,
    scenarios,
    memoryPlans: memoryPlans(scenarios, config),
    uploadSize: options.uploadSize ?? null,
  };
  return report;
}

/** One memory plan per bundle and backend that ran at two or more batch sizes. */
export function memoryPlans(
  scenarios: readonly Scenario[],
  config: Pick<EffectiveConfig, 'memory'>,
): MemoryPlan[] {
  const groups = new Map<
    string,
    { bundle: string; backend: MemoryPlan['backend']; weights: number; points: Map<number, MemoryPoint> }
  >();
  for (const s of scenarios) {
    if ((s.kind !== 'in-process' && s.kind !== 'browser') || !s.memory || !s.backend) continue;
    if (s.status === 'skipped' || s.status === 'errored') continue;
    const backend = s.backend.backend;
    const bytes = backend === 'native' ? s.memory.peakRssBytes : s.memory.isolateBytes;
    if (bytes === null) continue;
    const wasmHeap = backend === 'native' ? null : s.memory.wasmHeapBytes;
    const where = s.kind === 'browser' ? 'chromium' : 'node';
    const key = `${where}/${String(s.params.bundle)}/${backend}`;
    const group = groups.get(key) ?? {
      bundle: where === 'node' ? String(s.params.bundle) : `${String(s.params.bundle)} (chromium)`,
      backend,
      weights: Number(s.params.modelBytes ?? 0),
      points: new Map<number, MemoryPoint>(),
    };
    const batchSize = Number(s.params.batchSize);
    group.points.set(batchSize, {
      batchSize,
      measuredBytes: bytes,
      ...(wasmHeap === null ? {} : { scalingBytes: wasmHeap }),
    });
    groups.set(key, group);
  }
  return [...groups.values()].map((g) =>
    buildMemoryPlan({
      bundle: g.bundle,
      backend: g.backend,
      metric: g.backend === 'native' ? 'rss' : 'isolate',
      weightsBytes: g.weights,
      points: [...g.points.values()],
      budgetBytes:
        (g.backend === 'native' ? config.memory.rssBudgetMiB : config.memory.budgetMiB) * 1024 * 1024,
      tolerancePct: config.memory.tolerancePct,
      maxBatchSizeCap: config.memory.maxBatchSizeCap,
    }),
  );
}
