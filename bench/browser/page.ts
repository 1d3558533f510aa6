// The bench page: runs the browser runtime in Chromium and times predictBatch with tinybench, for Playwright to drive.
import { Bench } from 'tinybench';
import {
  createPredictor,
  loadBundle,
  readParityCases,
  type BackendReport,
  type Predictor,
} from '../../runtime/browser.ts';

export interface BenchPageStart {
  readonly backend: BackendReport;
  /** The WebGPU adapter, e.g. `google swiftshader (software adapter)`, or null without one. */
  readonly adapter: string | null;
  readonly modelBytes: number;
  readonly crossOriginIsolated: boolean;
}

export interface BenchPageWindow {
  readonly samples: number[];
  readonly durationMs: number;
}

export interface BenchPageMemory {
  /** `performance.measureUserAgentSpecificMemory()`: the page's JS heaps, WASM memory and DOM. */
  readonly userAgentBytes: number | null;
  readonly wasmHeapBytes: number | null;
  /** `performance.memory.usedJSHeapSize` (Chromium only; excludes WASM memory). */
  readonly jsHeapBytes: number | null;
  readonly error?: string;
}

export interface BenchPage {
  start(bundleUrl: string, backend: 'webgpu' | 'wasm'): Promise<BenchPageStart>;
  measureWindow(batchSize: number, windowMs: number, minSamples: number): Promise<BenchPageWindow>;
  memory(): Promise<BenchPageMemory>;
}

declare global {
  interface Window {
    shipshapeBench: BenchPage;
  }
}

let predictor: Predictor | undefined;
let texts: string[] = [];
let next = 0;

function active(): Predictor {
  if (predictor === undefined) throw new Error('call start() first');
  return predictor;
}

function batch(size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < size; i++) out.push(texts[next++ % texts.length] as string);
  return out;
}

async function runOnce(size: number): Promise<void> {
  const items = await active().predictBatch(batch(size), { batchSize: size });
  const failed = items.find((item) => item.status === 'error');
  if (failed?.status === 'error')
    throw new Error(`predictBatch item failed: ${failed.error.code}: ${failed.error.message}`);
}

async function describeAdapter(): Promise<string | null> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (gpu === undefined) return null;
  const adapter = (await gpu.requestAdapter()) as {
    info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
    isFallbackAdapter?: boolean;
  } | null;
  if (adapter === null) return null;
  const info = adapter.info ?? {};
  const name = [info.vendor, info.architecture, info.description]
    .filter((s) => s !== undefined && s !== '')
    .join(' ');
  // Newer Chromium moved the flag to GPUAdapterInfo; older ones have it on the adapter. SwiftShader does not
  // always raise it, so CPU rasterizers are also recognised by name.
  const software =
    info.isFallbackAdapter === true ||
    adapter.isFallbackAdapter === true ||
    /swiftshader|llvmpipe|warp/i.test(name);
  return `${name || 'unknown adapter'}${software ? ' (software adapter)' : ''}`;
}

window.shipshapeBench = {
  async start(bundleUrl, backend) {
    await predictor?.dispose();
    const bundle = await loadBundle(bundleUrl);
    const cases = await readParityCases(bundle);
    texts = [
      ...cases.filter((c) => c.tags.includes('test-split')),
      ...cases.filter((c) => !c.tags.includes('test-split')),
    ].map((c) => c.text);
    predictor = await createPredictor(bundle, { backend, batching: false });
    return {
      backend: predictor.backend,
      adapter: await describeAdapter(),
      modelBytes: bundle.modelBytes.byteLength,
      crossOriginIsolated: globalThis.crossOriginIsolated,
    };
  },
  async measureWindow(batchSize, windowMs, minSamples) {
    const bench = new Bench({
      time: windowMs,
      iterations: minSamples,
      warmup: false,
      retainSamples: true,
      throws: true,
    });
    bench.add('predictBatch', () => runOnce(batchSize));
    const start = performance.now();
    await bench.run();
    const durationMs = performance.now() - start;
    const result = bench.tasks[0]?.result;
    if (result?.state !== 'completed')
      throw new Error(`tinybench window ended in state ${result?.state ?? 'none'}`);
    return { samples: [...(result.latency.samples ?? [])], durationMs };
  },
  async memory() {
    const wasmHeapBytes = active().memory().wasmHeapBytes ?? null;
    const jsHeapBytes =
      (performance as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? null;
    const measure = (performance as { measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }> })
      .measureUserAgentSpecificMemory;
    if (measure === undefined) {
      return {
        userAgentBytes: null,
        wasmHeapBytes,
        jsHeapBytes,
        error: 'measureUserAgentSpecificMemory unavailable (needs cross-origin isolation)',
      };
    }
    try {
      const result = await measure.call(performance);
      return { userAgentBytes: result.bytes, wasmHeapBytes, jsHeapBytes };
    } catch (error) {
      return { userAgentBytes: null, wasmHeapBytes, jsHeapBytes, error: String(error) };
    }
  },
};
