// The browser platform in real Chromium: WebGPU (SwiftShader) when allowed, WASM otherwise, parity with torch.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBrowserRuntime } from '../../runtime/platform/browser-build.ts';
import type { PageParityResult, ShipshapeTestPage } from '../fixtures/browser/page.ts';
import { compareWithGolden, readGolden } from '../fixtures/workerd/golden.ts';
import type { BackendReport } from '../../runtime/types.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH, CONTENT_TYPES } from '../../bench/browser/chromium.ts';

const CHROMIUM = CHROMIUM_PATH;
const HAS_CHROMIUM = existsSync(CHROMIUM);
const IN_CI = Boolean(process.env.CI);
const ARTIFACTS = join(import.meta.dirname, '../../artifacts');
const FIXTURES = join(import.meta.dirname, '../fixtures/browser');
const ORT_DIST = dirname(
  createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'),
);
const BUNDLE = 'news-bag';
const ATOL = 1e-4;
/** SwiftShader runs WebGPU on the CPU, 30-3000x slower than a GPU: WebGPU runs check this many cases. */
const WEBGPU_CASES = 40;

if (!HAS_CHROMIUM && !IN_CI) {
  console.warn(
    `browser.slow.test.ts skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set SHIPSHAPE_CHROMIUM). ` +
      'In CI (CI set) these tests fail instead.',
  );
}

/** Serves the page, its build and the bundles from 127.0.0.1, recording every path asked for. */
function serve(appDir: string, requested: string[]): Promise<Server> {
  const roots: Readonly<Record<string, string>> = {
    '/app/': appDir,
    '/bundles/': ARTIFACTS,
    '/ort/': ORT_DIST,
  };
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    requested.push(path);
    let file = path === '/' ? join(FIXTURES, 'index.html') : undefined;
    for (const [prefix, dir] of Object.entries(roots)) {
      if (path.startsWith(prefix))
        file = join(dir, normalize(path.slice(prefix.length)).replace(/^(\.\.[/\\])+/, ''));
    }
    if (file === undefined || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Calls a method of the page's `window.shipshapeTest`. */
function call<K extends keyof ShipshapeTestPage>(
  page: Page,
  method: K,
  ...args: Parameters<ShipshapeTestPage[K]>
): Promise<Awaited<ReturnType<ShipshapeTestPage[K]>>> {
  return page.evaluate(
    ([name, callArgs]) => {
      const fn = window.shipshapeTest[name] as (...a: unknown[]) => unknown;
      return fn(...callArgs);
    },
    [method, args] as const,
  ) as Promise<Awaited<ReturnType<ShipshapeTestPage[K]>>>;
}

function expectParity(result: PageParityResult, count?: number): void {
  const golden = readGolden(join(ARTIFACTS, BUNDLE)).slice(0, count);
  expect(result.results.map((r) => r.id)).toEqual(golden.map((g) => g.id));
  const { mismatches, maxDiff } = compareWithGolden(
    golden,
    result.results.map((r) => r.item),
  );
  expect(mismatches).toEqual([]);
  expect(maxDiff).toBeLessThanOrEqual(ATOL);
}

describe.skipIf(!HAS_CHROMIUM && !IN_CI)('browser platform (Chromium)', () => {
  const requested: string[] = [];
  let buildDir: string;
  let server: Server | undefined;
  let origin: string;
  let webGpuChunks: string[];

  beforeAll(async () => {
    if (!HAS_CHROMIUM) {
      throw new Error(`Chromium is required in CI and missing at ${CHROMIUM}: apt-get install chromium`);
    }
    if (!existsSync(join(ARTIFACTS, BUNDLE, 'manifest.json'))) {
      throw new Error(
        `bundle artifacts/${BUNDLE} is missing; train it (python3 -m shipshape_train.train) first`,
      );
    }
    buildDir = mkdtempSync(join(tmpdir(), 'shipshape-browser-build-'));
    const build = await buildBrowserRuntime({
      outdir: buildDir,
      entryPoints: { page: join(FIXTURES, 'page.ts') },
      minify: false,
    });
    webGpuChunks = Object.entries(build.metafile.outputs)
      .filter(([, output]) => Object.keys(output.inputs).some((input) => input.includes('ort.webgpu')))
      .map(([file]) => `/app/${file.split('/').pop() ?? ''}`);
    server = await serve(buildDir, requested);
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
    if (buildDir !== undefined) rmSync(buildDir, { recursive: true, force: true });
  });

  /** Launches a fresh Chromium profile with `extraArgs` and opens the test page. */
  function usePage(extraArgs: readonly string[]): () => Page {
    let context: BrowserContext | undefined;
    let profile: string | undefined;
    let page: Page | undefined;
    beforeAll(async () => {
      profile = mkdtempSync(join(tmpdir(), 'shipshape-chromium-'));
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: [...CHROMIUM_ARGS, ...extraArgs],
      });
      await context.addInitScript(() => {
        // Capture every GPUDevice the page creates, so a test can destroy it (a real device loss).
        window.shipshapeDevices = [];
        const proto = (
          globalThis as { GPUAdapter?: { prototype: { requestDevice: (...a: unknown[]) => unknown } } }
        ).GPUAdapter?.prototype;
        if (proto === undefined) return;
        const original = proto.requestDevice;
        proto.requestDevice = async function (this: unknown, ...args: unknown[]) {
          const device = (await original.apply(this, args)) as { destroy(): void };
          window.shipshapeDevices?.push(device);
          return device;
        };
      });
      page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => window.shipshapeTest !== undefined);
    });
    afterAll(async () => {
      await context?.close();
      if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
    });
    return () => {
      if (page === undefined) throw new Error('page not open');
      return page;
    };
  }

  /** Opens another tab (a fresh JS realm, so onnxruntime starts over) in the context of `page`. */
  async function openTab(page: Page, init?: () => void): Promise<Page> {
    const tab = await page.context().newPage();
    if (init !== undefined) await tab.addInitScript(init);
    await tab.goto(`${origin}/`);
    await tab.waitForFunction(() => window.shipshapeTest !== undefined);
    return tab;
  }

  describe('without WebGPU (no --enable-unsafe-webgpu)', () => {
    const page = usePage([]);
    let report: BackendReport;

    beforeAll(async () => {
      requested.length = 0;
      report = await call(page(), 'start', `/bundles/${BUNDLE}/`);
    });

    it('runs on wasm and says why webgpu was skipped', () => {
      expect(report).toEqual({
        backend: 'wasm',
        skipped: [
          {
            backend: 'webgpu',
            reason: 'webgpu unavailable: no WebGPU adapter (requestAdapter() returned null)',
          },
        ],
      });
    });

    it('reports the size of the WASM heap', async () => {
      expect((await call(page(), 'memory')).wasmHeapBytes).toBeGreaterThan(1 << 20);
    });

    it('never downloads the WebGPU build', () => {
      expect(webGpuChunks.length).toBeGreaterThan(0);
      expect(requested).toContain('/app/ort-wasm-simd-threaded.wasm');
      expect(requested).not.toContain('/app/ort-wasm-simd-threaded.asyncify.wasm');
      for (const chunk of webGpuChunks) expect(requested).not.toContain(chunk);
    });

    it(`matches every parity case: labels exact, logits within ${ATOL}`, async () => {
      const result = await call(page(), 'parity');
      expect(result.backend.backend).toBe('wasm');
      expectParity(result);
    });

    it('says navigator.gpu is undefined when the browser has no WebGPU at all', async () => {
      // A browser without the API (e.g. WebGPU switched off by policy): hide it before any script runs.
      const tab = await openTab(page(), () => {
        Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
      });
      try {
        expect(await call(tab, 'start', `/bundles/${BUNDLE}/`)).toEqual({
          backend: 'wasm',
          skipped: [
            {
              backend: 'webgpu',
              reason:
                'webgpu unavailable: navigator.gpu is undefined (this browser has no WebGPU, or it is turned off)',
            },
          ],
        });
      } finally {
        await tab.close();
      }
    });

    it('loads the .wasm from wasmBaseUrl when one is given', async () => {
      const tab = await openTab(page());
      try {
        requested.length = 0;
        const tabReport = await call(tab, 'start', `/bundles/${BUNDLE}/`, '/ort/');
        expect(tabReport.backend).toBe('wasm');
        expect(requested).toContain('/ort/ort-wasm-simd-threaded.wasm');
        expect(requested).not.toContain('/app/ort-wasm-simd-threaded.wasm');
        expectParity(await call(tab, 'parity', 8), 8);
      } finally {
        await tab.close();
      }
    });
  });

  describe('with --enable-unsafe-webgpu (SwiftShader adapter)', () => {
    const page = usePage(['--enable-unsafe-webgpu']);
    let report: BackendReport;

    beforeAll(async () => {
      report = await call(page(), 'start', `/bundles/${BUNDLE}/`);
    });

    it('runs on webgpu with nothing skipped', () => {
      expect(report).toEqual({ backend: 'webgpu', skipped: [] });
    });

    it(`matches the first ${WEBGPU_CASES} parity cases (SwiftShader is slow): labels exact, logits within ${ATOL}`, async () => {
      const result = await call(page(), 'parity', WEBGPU_CASES, 8);
      expect(result.backend.backend).toBe('webgpu');
      expectParity(result, WEBGPU_CASES);
    });

    it('rebuilds on wasm when the GPU device is destroyed, sets fallbackReason and keeps parity', async () => {
      expect(await call(page(), 'destroyDevices')).toBeGreaterThan(0);
      await page().waitForFunction(() => window.shipshapeTest.backend().backend === 'wasm', undefined, {
        timeout: 30_000,
      });
      const result = await call(page(), 'parity', WEBGPU_CASES, 8);
      expect(result.backend.backend).toBe('wasm');
      expect(result.backend.fallbackReason).toMatch(
        /^webgpu device lost \(destroyed: .*\); rebuilt on wasm$/,
      );
      expect(result.backend.skipped).toEqual([
        {
          backend: 'webgpu',
          reason: expect.stringMatching(/^device lost while serving: destroyed/) as unknown,
        },
      ]);
      expectParity(result, WEBGPU_CASES);
    });

    it('starts later predictors on wasm, saying the page lost its WebGPU device', async () => {
      const later = await call(page(), 'start', `/bundles/${BUNDLE}/`);
      expect(later.backend).toBe('wasm');
      expect(later.skipped).toEqual([
        {
          backend: 'webgpu',
          reason: expect.stringMatching(
            /^webgpu unavailable: this page's WebGPU device was lost \(destroyed: .*\) and onnxruntime-web cannot replace it; reload the page$/,
          ) as unknown,
        },
      ]);
    });
  });
});
