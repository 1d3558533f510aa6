// Browser scenarios in real Chromium (playwright-core, the system's /usr/bin/chromium): WebGPU where an adapter
// exists, else WASM; memory through performance.measureUserAgentSpecificMemory on a cross-origin-isolated page.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EffectiveConfig } from '../config.ts';
import { erroredScenario, skippedScenario, type Scenario } from '../report.ts';
import type { BrowserPlan, BrowserRunner } from '../run.ts';
import { cpuUse, measureUntilStable, summarizeStableRun, warmUntilPlateau } from '../stats.ts';
import type { BenchPage, BenchPageMemory, BenchPageStart, BenchPageWindow } from '../browser/page.ts';
import { bundleName } from './node.ts';
import { CHROMIUM_ARGS, CONTENT_TYPES } from '../browser/chromium.ts';

const BENCH_ARGS = [
  ...CHROMIUM_ARGS,
  // Without it measureUserAgentSpecificMemory waits for a GC and takes 8-18 s (PLATFORM-NOTES).
  '--enable-blink-features=ForceEagerMeasureMemory',
];

const PAGE_ENTRY = fileURLToPath(new URL('../browser/page.ts', import.meta.url));

/**
 * Steady state for the WASM backend, as for the in-process scenarios (see STEADY_STATE_FLAGS): WASM optimised from
 * the first call. Not for WebGPU: with onnxruntime's asyncify build it stretched calls on SwiftShader past 2 minutes.
 */
const STEADY_STATE_ARGS = ['--js-flags=--no-liftoff'];

const INDEX_HTML =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>shipshape bench</title>' +
  '<script type="module" src="/app/page.js"></script></head><body></body></html>';

/**
 * Serves the page and the bundles on 127.0.0.1 with COOP/COEP, which make the page cross-origin isolated:
 * measureUserAgentSpecificMemory exists only there.
 */
function serve(appDir: string, bundleDirs: Readonly<Record<string, string>>): Promise<Server> {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    const headers = {
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
      'cache-control': 'no-store',
    };
    if (path === '/') {
      response.writeHead(200, { ...headers, 'content-type': CONTENT_TYPES['.html'] }).end(INDEX_HTML);
      return;
    }
    let file: string | undefined;
    const safe = (dir: string, rest: string) => join(dir, normalize(rest).replace(/^(\.\.[/\\])+/, ''));
    if (path.startsWith('/app/')) file = safe(appDir, path.slice('/app/'.length));
    const match = /^\/bundles\/([^/]+)\/(.+)$/.exec(path);
    if (match) {
      const dir = bundleDirs[match[1] as string];
      if (dir !== undefined) file = safe(dir, match[2] as string);
    }
    if (file === undefined || !existsSync(file)) {
      response.writeHead(404, headers).end();
      return;
    }
    response.writeHead(200, {
      ...headers,
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    });
    response.end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function errorMessage(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'unknown error';
}

/**
 * Runs every planned browser scenario: one Chromium per backend (`--enable-unsafe-webgpu` for WebGPU, so that the
 * software adapter exists), one fresh tab per scenario (a fresh JS realm and WASM memory).
 */
export const runBrowserScenarios: BrowserRunner = async (config, planned, outerHooks) => {
  const b = config.browser;
  const reported = new Set<string>();
  const hooks = {
    ...outerHooks,
    finished(scenario: Scenario) {
      reported.add(scenario.id);
      outerHooks.finished(scenario);
    },
  };
  const skipAll = (reason: string): { chromium: null } => {
    for (const p of planned) {
      if (reported.has(p.id)) continue;
      hooks.started(p.id);
      hooks.finished(skippedScenario(p.id, 'browser', reason, paramsOf(p)));
    }
    return { chromium: null };
  };
  if (!existsSync(b.executablePath)) {
    return skipAll(
      `no Chromium at ${b.executablePath} (apt-get install chromium, or set browser.executablePath)`,
    );
  }
  const [{ chromium }, { buildBrowserRuntime }] = await Promise.all([
    import('playwright-core'),
    import('../../runtime/platform/browser-build.ts'),
  ]);
  const buildDir = mkdtempSync(join(tmpdir(), 'shipshape-bench-page-'));
  let chromiumVersion: string | null = null;
  const bundleDirs = Object.fromEntries(config.bundles.map((d) => [bundleName(d), resolve(d)]));
  let server: Server | undefined;
  try {
    await buildBrowserRuntime({ outdir: buildDir, entryPoints: { page: PAGE_ENTRY } });
    server = await serve(buildDir, bundleDirs);
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const backend of ['webgpu', 'wasm'] as const) {
      const mine = planned.filter((p) => p.backend === backend);
      if (mine.length === 0) continue;
      // launch() (a fresh temporary profile) rather than a persistent context: only a launched browser offers the
      // browser-target CDP session whose SystemInfo.getProcessInfo gives the renderers' CPU time.
      const browser = await chromium.launch({
        executablePath: b.executablePath,
        headless: true,
        args: [...BENCH_ARGS, ...(backend === 'webgpu' ? ['--enable-unsafe-webgpu'] : STEADY_STATE_ARGS)],
      });
      chromiumVersion = `Chromium ${browser.version()}`;
      const cdp = await browser.newBrowserCDPSession();
      const rendererCpuMs = async (): Promise<number | undefined> => {
        try {
          const info = (await cdp.send('SystemInfo.getProcessInfo')) as {
            processInfo: { type: string; cpuTime: number }[];
          };
          return info.processInfo
            .filter((p) => p.type === 'renderer')
            .reduce((sum, p) => sum + p.cpuTime * 1000, 0);
        } catch {
          return undefined;
        }
      };
      const context = await browser.newContext();
      try {
        for (const plan of mine) {
          hooks.started(plan.id);
          const page = await context.newPage();
          try {
            await page.goto(`${origin}/`);
            await page.waitForFunction(() => window.shipshapeBench !== undefined);
            const scenario = await withTimeout(
              measureInPage(
                {
                  start: (url, be) =>
                    page.evaluate(([u, x]) => window.shipshapeBench.start(u, x), [url, be] as const),
                  measureWindow: (size, ms, min) =>
                    page.evaluate(([s, m, n]) => window.shipshapeBench.measureWindow(s, m, n), [
                      size,
                      ms,
                      min,
                    ] as const),
                  memory: () => page.evaluate(() => window.shipshapeBench.memory()),
                  cpuMs: rendererCpuMs,
                },
                plan,
                config,
                (text) => hooks.detail(text),
              ),
              b.timeoutMs,
              `browser scenario ${plan.id}`,
            );
            hooks.finished(scenario);
          } catch (error) {
            // The first line only: Playwright's messages go on with a call log.
            hooks.finished(erroredScenario(plan.id, 'browser', paramsOf(plan), errorMessage(error)));
          } finally {
            await page.close().catch(() => undefined);
          }
        }
      } finally {
        await browser.close();
      }
    }
  } catch (error) {
    // A failure outside a page (the build, the server, a launch): every scenario not yet reported is skipped.
    return skipAll(`browser run failed: ${errorMessage(error)}`);
  } finally {
    await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
    rmSync(buildDir, { recursive: true, force: true });
  }
  return { chromium: chromiumVersion };
};

function paramsOf(plan: BrowserPlan): Scenario['params'] {
  return { bundle: bundleName(plan.bundleDir), backendRequested: plan.backend, batchSize: plan.batchSize };
}

/** Calls timed on a software WebGPU adapter: enough to show the path runs, not a percentile's worth. */
const SOFTWARE_ADAPTER_SAMPLES = 5;

/** The page's API as seen from Node (each call crosses into the page), plus the renderers' CPU ms so far. */
type RemotePage = {
  [K in keyof BenchPage]: (...args: Parameters<BenchPage[K]>) => ReturnType<BenchPage[K]>;
} & {
  cpuMs?: () => Promise<number | undefined>;
};

/** Starts the predictor in the page, then measures windows until stable, then memory. */
export async function measureInPage(
  page: RemotePage,
  plan: BrowserPlan,
  config: EffectiveConfig,
  detail: (text: string) => void,
): Promise<Scenario> {
  const started = performance.now();
  const b = config.browser;
  let start: BenchPageStart;
  try {
    start = await page.start(`/bundles/${bundleName(plan.bundleDir)}/`, plan.backend);
  } catch (error) {
    const message = errorMessage(error);
    // No adapter (or no WebGPU at all) is the WASM-fallback case: skip the WebGPU scenario, saying why.
    if (plan.backend === 'webgpu' && /BACKEND_UNAVAILABLE|adapter|webgpu unavailable/i.test(message)) {
      return skippedScenario(plan.id, 'browser', message, paramsOf(plan));
    }
    throw error;
  }
  // WebGPU on a software adapter (SwiftShader) runs 30-3000x slower than on a GPU: it proves the path works and
  // is no speed figure, so it gets one short window instead of a stability search.
  const software = plan.backend === 'webgpu' && (start.adapter?.includes('(software adapter)') ?? false);
  const warmup = await warmUntilPlateau(
    async () => {
      const w = await page.measureWindow(plan.batchSize, Math.min(100, b.windowMs), 1);
      return { samples: w.samples, items: w.samples.length * plan.batchSize, durationMs: w.durationMs };
    },
    software
      ? { minMs: 0, maxMs: 0 }
      : { minMs: config.inProcess.warmupMs, maxMs: config.inProcess.maxWarmupMs },
  );
  detail(`warmed up in ${(warmup.durationMs / 1000).toFixed(1)} s`);
  const stability = await measureUntilStable(
    async () => {
      const cpuBefore = await page.cpuMs?.();
      const w: BenchPageWindow = software
        ? await page.measureWindow(plan.batchSize, 1, SOFTWARE_ADAPTER_SAMPLES)
        : await page.measureWindow(plan.batchSize, b.windowMs, b.minSamplesPerWindow);
      const cpuAfter = await page.cpuMs?.();
      return {
        samples: w.samples,
        items: w.samples.length * plan.batchSize,
        durationMs: w.durationMs,
        ...(cpuBefore === undefined || cpuAfter === undefined ? {} : { cpuMs: cpuAfter - cpuBefore }),
      };
    },
    software ? { windows: 1, tolerancePct: config.stability.tolerancePct, maxTrials: 1 } : config.stability,
    (w, trial) =>
      detail(`window ${trial}: p95 ${w.p95Ms.toFixed(2)} ms, ${w.itemsPerSecond.toFixed(0)} items/s`),
  );
  const memory: BenchPageMemory = await page.memory();
  const { accepted } = stability;
  const run = summarizeStableRun(stability, config.statistics);
  const reasons = run.reasons;
  if (plan.backend === 'webgpu' && start.adapter?.includes('(software adapter)')) {
    reasons.push(`WebGPU on ${start.adapter}: a correctness run, not a speed figure`);
  }
  if (memory.error) reasons.push(`memory: ${memory.error}`);
  return {
    id: plan.id,
    kind: 'browser',
    status: run.status,
    ...(reasons.length > 0 ? { reason: reasons.join('; ') } : {}),
    params: {
      ...paramsOf(plan),
      modelBytes: start.modelBytes,
      adapter: start.adapter ?? 'none',
      crossOriginIsolated: start.crossOriginIsolated,
      warmupMs: Math.round(warmup.durationMs),
      warmupPlateaued: warmup.plateaued,
    },
    backend: {
      backend: start.backend.backend,
      skipped: start.backend.skipped.map((s) => ({ ...s })),
      ...(start.backend.fallbackReason === undefined ? {} : { fallbackReason: start.backend.fallbackReason }),
    },
    latency: run.latency,
    throughput: run.throughput,
    stability: run.stability,
    memory: {
      peakRssBytes: null,
      jsHeapBytes: memory.jsHeapBytes,
      arrayBuffersBytes: null,
      wasmHeapBytes: memory.wasmHeapBytes,
      isolateBytes: memory.userAgentBytes,
      source:
        'chromium: performance.measureUserAgentSpecificMemory() after the windows, performance.memory, predictor.memory()',
    },
    ...cpuUse(
      accepted.cpuMs,
      accepted.samples.length,
      accepted.durationMs,
      "Chromium's renderer processes: CDP SystemInfo.getProcessInfo cpuTime over the accepted windows",
    ),
    durationMs: performance.now() - started,
  };
}
