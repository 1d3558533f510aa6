// Browser platform: WebGPU through onnxruntime-web's WebGPU build when an adapter exists, else its plain WASM build.
import type * as OrtWasm from 'onnxruntime-web/wasm';
import type * as OrtWebGpu from 'onnxruntime-web/webgpu';
import type { EngineOptions, InferenceEngine, Platform } from '../engine.ts';
import { ShipshapeError } from '../errors.ts';
import { definePlatform } from './define.ts';
import { BACKEND_LADDERS, type BackendName } from '../backends.ts';
import { createOrtEngine, createOrtWasmEngine } from './ort-engine.ts';
import { watchWasmMemory } from './ort-web-memory.ts';

/** The WASM binary each onnxruntime-web build loads (its JS glue is embedded in the build's bundle). */
const WASM_FILES = Object.freeze({
  webgpu: 'ort-wasm-simd-threaded.asyncify.wasm',
  wasm: 'ort-wasm-simd-threaded.wasm',
});

export interface BrowserPlatformOptions {
  /**
   * Where onnxruntime-web's `.wasm` files are served (a directory URL, absolute or relative to the page), e.g.
   * `'/ort/'`. Default: next to the script that holds onnxruntime-web (its `import.meta.url`), which is where
   * `buildBrowserRuntime` (runtime/platform/browser-build.ts) copies them.
   */
  readonly wasmBaseUrl?: string | URL;
}

/** The slice of WebGPU this module touches; declared here so the runtime needs no `@webgpu/types`. */
interface GpuDeviceLostInfo {
  readonly reason: string;
  readonly message: string;
}
interface GpuDevice {
  readonly lost: Promise<GpuDeviceLostInfo>;
}
interface Gpu {
  requestAdapter(): Promise<object | null>;
}

function unavailable(backend: BackendName, reason: string, cause?: unknown): ShipshapeError {
  return new ShipshapeError('BACKEND_UNAVAILABLE', `${backend} unavailable: ${reason}`, {
    subject: backend,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Resolves a WASM file's URL against the page, or undefined to keep onnxruntime's own lookup. */
function wasmUrl(base: string | URL | undefined, file: string): string | undefined {
  if (base === undefined) return undefined;
  const directory = String(base).endsWith('/') ? String(base) : `${String(base)}/`;
  return new URL(file, new URL(directory, globalThis.location?.href)).href;
}

/**
 * Checks for a WebGPU adapter before onnxruntime is asked: with the adapter missing, onnxruntime would either throw
 * an opaque error or (with a `['webgpu','wasm']` list) fall back to WASM with only a console warning, and the
 * reported backend would be wrong.
 */
async function assertWebGpuAdapter(): Promise<void> {
  const gpu = (globalThis.navigator as { gpu?: Gpu } | undefined)?.gpu;
  if (gpu === undefined) {
    throw unavailable(
      'webgpu',
      'navigator.gpu is undefined (this browser has no WebGPU, or it is turned off)',
    );
  }
  let adapter: object | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (error) {
    throw unavailable('webgpu', `navigator.gpu.requestAdapter() threw: ${String(error)}`, error);
  }
  if (adapter === null) throw unavailable('webgpu', 'no WebGPU adapter (requestAdapter() returned null)');
}

let webGpuDevice: GpuDevice | undefined;
let webGpuLost: string | undefined;
const webGpuLostListeners = new Set<(reason: string) => void>();

/**
 * Watches onnxruntime's WebGPU device (one per page: every WebGPU session of the build shares it). Its `lost`
 * promise settles when the GPU process crashes, the driver resets, or the device is destroyed.
 */
function watchDevice(device: GpuDevice): void {
  if (webGpuDevice === device) return;
  webGpuDevice = device;
  webGpuLost = undefined;
  void device.lost.then((info) => {
    if (webGpuDevice !== device) return;
    webGpuLost = `${info.reason || 'unknown'}: ${info.message || 'no message'}`;
    for (const listener of webGpuLostListeners) listener(webGpuLost);
  });
}

/** Each build's WASM memory, found while its first session instantiated the module. */
const memories: { webgpu?: WebAssembly.Memory; wasm?: WebAssembly.Memory } = {};
const firstEngines: { webgpu?: Promise<unknown>; wasm?: Promise<unknown> } = {};

/** Creates an engine; the build's first creation (which instantiates its WASM) is watched for the memory. */
function createWatched(
  backend: 'webgpu' | 'wasm',
  create: () => Promise<InferenceEngine>,
): Promise<InferenceEngine> {
  const first = firstEngines[backend];
  if (first !== undefined) return first.catch(() => undefined).then(create);
  const restore = watchWasmMemory((memory) => (memories[backend] = memory));
  const engine = create().finally(restore);
  firstEngines[backend] = engine;
  return engine;
}

function memoryOf(backend: 'webgpu' | 'wasm') {
  return () => {
    const memory = memories[backend];
    return memory === undefined ? {} : { wasmHeapBytes: memory.buffer.byteLength };
  };
}

async function createWebGpuEngine(model: Uint8Array, options: EngineOptions, base: string | URL | undefined) {
  await assertWebGpuAdapter();
  if (webGpuLost !== undefined) {
    // onnxruntime-web creates its WebGPU device once per page and keeps handing out that (now dead) one.
    throw unavailable(
      'webgpu',
      `this page's WebGPU device was lost (${webGpuLost}) and onnxruntime-web cannot replace it; reload the page`,
    );
  }
  let ort: typeof OrtWebGpu;
  try {
    ort = await import('onnxruntime-web/webgpu');
  } catch (error) {
    throw unavailable('webgpu', `onnxruntime-web/webgpu failed to load: ${String(error)}`, error);
  }
  const wasm = wasmUrl(base, WASM_FILES.webgpu);
  if (wasm !== undefined) ort.env.wasm.wasmPaths = { wasm };
  ort.env.wasm.numThreads = options.numThreads;
  ort.env.wasm.proxy = false;
  // WebGPU alone: with 'wasm' listed too, onnxruntime would fall back silently inside this (slower) build.
  const engine = await createWatched('webgpu', () =>
    createOrtEngine({
      ort,
      backend: 'webgpu',
      model,
      sessionOptions: { executionProviders: ['webgpu'], graphOptimizationLevel: 'all' },
      memory: memoryOf('webgpu'),
    }),
  );
  const device = (await ort.env.webgpu.device) as GpuDevice | undefined;
  if (device === undefined || typeof device.lost?.then !== 'function') {
    await engine.dispose();
    throw unavailable(
      'webgpu',
      'onnxruntime-web created a WebGPU session but exposed no GPUDevice (env.webgpu.device)',
    );
  }
  watchDevice(device);
  return withLostDevice(engine);
}

/** Adds `onLost` to a WebGPU engine, and refuses runs on a lost device instead of waiting on it. */
function withLostDevice(engine: InferenceEngine): InferenceEngine {
  const listeners = new Set<(reason: string) => void>();
  const forward = (reason: string) => {
    for (const listener of listeners) listener(reason);
  };
  webGpuLostListeners.add(forward);
  const wrapped: InferenceEngine = {
    backend: engine.backend,
    inputs: engine.inputs,
    outputs: engine.outputs,
    run(feeds) {
      if (webGpuLost !== undefined) {
        return Promise.reject(
          new ShipshapeError(
            'BACKEND_FAILED',
            `webgpu run refused: the WebGPU device was lost (${webGpuLost})`,
            { subject: 'webgpu' },
          ),
        );
      }
      return engine.run(feeds);
    },
    onLost(listener) {
      listeners.add(listener);
      const lost = webGpuLost;
      if (lost !== undefined) queueMicrotask(() => listener(lost));
    },
    dispose() {
      webGpuLostListeners.delete(forward);
      listeners.clear();
      return engine.dispose();
    },
  };
  if (engine.memory !== undefined) wrapped.memory = engine.memory.bind(engine);
  return wrapped;
}

async function createWasmEngine(model: Uint8Array, options: EngineOptions, base: string | URL | undefined) {
  let ort: typeof OrtWasm;
  try {
    ort = await import('onnxruntime-web/wasm');
  } catch (error) {
    throw unavailable('wasm', `onnxruntime-web/wasm failed to load: ${String(error)}`, error);
  }
  const wasm = wasmUrl(base, WASM_FILES.wasm);
  if (wasm !== undefined) ort.env.wasm.wasmPaths = { wasm };
  // Threads need cross-origin isolation (COOP/COEP); without it onnxruntime warns and runs one thread.
  ort.env.wasm.numThreads = options.numThreads;
  ort.env.wasm.proxy = false;
  return createWatched('wasm', () => createOrtWasmEngine(ort, model, () => memories.wasm));
}

/**
 * Builds the browser platform. Each onnxruntime-web build is loaded by dynamic import on first use, so a page
 * that ends up on WASM never downloads the WebGPU build. onnxruntime's `env.wasm` settings (numThreads, the WASM
 * URL) take effect only before a build's first session.
 */
export function createBrowserPlatform(options: BrowserPlatformOptions = {}): Platform {
  const base = options.wasmBaseUrl;
  return definePlatform(
    'browser',
    {
      webgpu: (model, engineOptions) => createWebGpuEngine(model, engineOptions, base),
      wasm: (model, engineOptions) => createWasmEngine(model, engineOptions, base),
    },
    (backend) =>
      `backend "${backend}" is not available in a browser; available: ${BACKEND_LADDERS.browser.join(', ')}`,
  );
}

/** The browser platform with onnxruntime-web's `.wasm` files next to its script. */
export const browserPlatform: Platform = createBrowserPlatform();
