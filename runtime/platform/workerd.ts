// Cloudflare Workers (workerd) platform: onnxruntime-web's plain WASM build, fed a precompiled WebAssembly.Module.
import * as ort from 'onnxruntime-web/wasm';
import ortWasmModule from 'onnxruntime-web/ort-wasm-simd-threaded.wasm';
import { BACKEND_LADDERS } from '../backends.ts';
import type { Platform } from '../engine.ts';
import { definePlatform } from './define.ts';
import { createOrtWasmEngine } from './ort-engine.ts';
import { findWasmMemory } from './ort-web-memory.ts';

export interface WorkerdPlatformOptions {
  /**
   * onnxruntime-web's `ort-wasm-simd-threaded.wasm`, compiled. Default: the module imported from
   * `onnxruntime-web/ort-wasm-simd-threaded.wasm` (wrangler's default `CompiledWasm` rule for `*.wasm`). It must be
   * that exact file of the installed onnxruntime-web version: the JS glue and the binary are built together.
   */
  readonly wasmModule?: WebAssembly.Module;
}

type Instantiate = typeof WebAssembly.instantiate;

let firstEngine: Promise<unknown> | undefined;
let wasmMemory: WebAssembly.Memory | undefined;

/**
 * Runs `create` (the first session creation, which initializes onnxruntime's WASM) while `WebAssembly.instantiate`
 * answers for the precompiled module.
 *
 * Why: workerd forbids compiling WASM from bytes ("Wasm code generation disallowed by embedder"), and
 * onnxruntime-web 1.30 neither accepts a `WebAssembly.Module` in `env.wasm.wasmBinary` nor passes Emscripten's
 * `instantiateWasm` hook through (its factory config holds only `numThreads`, `wasmBinary`, `locateFile`). With
 * `wasmBinary` set, the glue calls `WebAssembly.instantiate(new Uint8Array(wasmBinary), imports)`. So `wasmBinary` is
 * an empty marker ArrayBuffer, recognised by identity (`bytes.buffer === marker`); every other call goes to the
 * original function, which is restored as soon as the creation settles.
 */
async function withPrecompiledWasm<T>(wasmModule: WebAssembly.Module, create: () => Promise<T>): Promise<T> {
  const marker = new ArrayBuffer(0);
  const original: Instantiate = WebAssembly.instantiate;
  const precompiled = async function instantiatePrecompiled(
    this: unknown,
    ...args: Parameters<Instantiate>
  ): Promise<unknown> {
    const [source, imports] = args;
    const isMarker = source instanceof Uint8Array && source.buffer === marker;
    if (!isMarker) return Reflect.apply(original, this, args);
    // Synchronous instantiation: the promise API may settle on a later task, which an isolate still starting (the
    // global scope) does not run until its first request arrives; `new WebAssembly.Instance` finishes now.
    const instance = new WebAssembly.Instance(wasmModule, imports);
    wasmMemory = findWasmMemory(imports, instance);
    return { instance, module: wasmModule };
  } as Instantiate;
  ort.env.wasm.wasmBinary = marker;
  WebAssembly.instantiate = precompiled;
  try {
    return await create();
  } finally {
    if (WebAssembly.instantiate === precompiled) WebAssembly.instantiate = original;
  }
}

function createWasmEngine(wasmModule: WebAssembly.Module, model: Uint8Array, numThreads: number) {
  const create = () => createOrtWasmEngine(ort, model, () => wasmMemory);
  if (firstEngine === undefined) {
    // Settings read once, when the first session instantiates the WASM module.
    if (numThreads !== 1) {
      console.warn(`shipshape: numThreads ${numThreads} ignored on workerd; Workers run WASM on one thread.`);
    }
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    const first = withPrecompiledWasm(wasmModule, create);
    firstEngine = first;
    return first;
  }
  return firstEngine.catch(() => undefined).then(create);
}

/** Builds the workerd platform. Most callers want the ready-made `workerdPlatform`. */
export function createWorkerdPlatform(options: WorkerdPlatformOptions = {}): Platform {
  const wasmModule = options.wasmModule ?? ortWasmModule;
  return definePlatform(
    'workerd',
    { wasm: (model, engineOptions) => createWasmEngine(wasmModule, model, engineOptions.numThreads) },
    (backend) =>
      `backend "${backend}" is not available on Cloudflare Workers; available: ${BACKEND_LADDERS.workerd.join(', ')}`,
  );
}

/** The workerd platform with onnxruntime-web's own WASM binary. */
export const workerdPlatform: Platform = createWorkerdPlatform();
