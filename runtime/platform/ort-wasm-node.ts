// onnxruntime-web's plain SIMD WASM build, run inside Node; keeps hold of its linear memory so leaks can be measured.
import type * as OrtWeb from 'onnxruntime-web/wasm';
import type { EngineOptions, InferenceEngine } from '../engine.ts';
import { ShipshapeError } from '../errors.ts';
import { createOrtWasmEngine, DEFAULT_WASM_TUNING, type WasmSessionTuning } from './ort-engine.ts';

type OrtWebModule = typeof OrtWeb;

let ortWeb: Promise<OrtWebModule> | undefined;
let firstSession: Promise<unknown> | undefined;
let wasmMemory: WebAssembly.Memory | undefined;
let warnedThreads = false;

/**
 * Starts an engine on onnxruntime-web's WASM build, on one thread: the multi-threaded WASM build needs a worker per
 * thread and shared memory set up for Node, which this runtime does not do; `numThreads` applies to `native` only.
 * `tuning`: the session options (default `DEFAULT_WASM_TUNING`).
 * @throws ShipshapeError BACKEND_UNAVAILABLE when the package cannot load or the session cannot be created.
 */
export async function createWasmEngine(
  model: Uint8Array,
  options: EngineOptions,
  tuning: WasmSessionTuning = DEFAULT_WASM_TUNING,
): Promise<InferenceEngine> {
  if (options.numThreads !== 1 && !warnedThreads) {
    warnedThreads = true;
    console.warn(
      `shipshape: numThreads ${options.numThreads} ignored on wasm in Node; it runs on one thread.`,
    );
  }
  const ort = await loadOrtWeb();
  const create = (): Promise<InferenceEngine> => createOrtWasmEngine(ort, model, () => wasmMemory, tuning);
  if (firstSession === undefined) {
    // The first session instantiates the WASM module; watch that one instantiation to find its memory.
    const restore = watchInstantiate((memory) => (wasmMemory = memory));
    const engine = create().finally(restore);
    firstSession = engine;
    return engine;
  }
  await firstSession.catch(() => undefined);
  return create();
}

function loadOrtWeb(): Promise<OrtWebModule> {
  ortWeb ??= import('onnxruntime-web/wasm').then(
    (ort) => {
      // Both take effect only before the first session (onnxruntime reads them when it instantiates its module).
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.proxy = false;
      return ort;
    },
    (error: unknown) => {
      ortWeb = undefined;
      throw new ShipshapeError(
        'BACKEND_UNAVAILABLE',
        `onnxruntime-web could not be loaded: ${error instanceof Error ? error.message : String(error)}. ` +
          'Reinstall dependencies with `npm ci`.',
        { cause: error, subject: 'wasm' },
      );
    },
  );
  return ortWeb;
}

// onnxruntime-web does not expose its Emscripten module; the memory is an import (or export) of the one instance.
function watchInstantiate(found: (memory: WebAssembly.Memory) => void): () => void {
  const original = WebAssembly.instantiate;
  const watched = async function (this: unknown, ...args: Parameters<typeof original>): Promise<unknown> {
    const result: unknown = await Reflect.apply(original, this, args);
    const imports = args[1] as Record<string, Record<string, unknown>> | undefined;
    for (const namespace of Object.values(imports ?? {})) {
      for (const value of Object.values(namespace)) if (value instanceof WebAssembly.Memory) found(value);
    }
    const instance =
      result instanceof WebAssembly.Instance ? result : (result as { instance?: unknown }).instance;
    if (instance instanceof WebAssembly.Instance) {
      for (const value of Object.values(instance.exports))
        if (value instanceof WebAssembly.Memory) found(value);
    }
    return result;
  };
  WebAssembly.instantiate = watched as typeof original;
  return () => {
    if (WebAssembly.instantiate === (watched as typeof original)) WebAssembly.instantiate = original;
  };
}
