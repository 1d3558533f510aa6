// The seam between the portable core and a platform: an engine runs one model on one backend.
import type { BackendName, PlatformName } from './backends.ts';

export type TensorDtype = 'int64' | 'int32' | 'float32';

/** A plain tensor: data in a typed array plus dims. Engines turn these into onnxruntime tensors and dispose them. */
export type PlainTensor =
  | { readonly dtype: 'int64'; readonly data: BigInt64Array; readonly dims: readonly number[] }
  | { readonly dtype: 'int32'; readonly data: Int32Array; readonly dims: readonly number[] }
  | { readonly dtype: 'float32'; readonly data: Float32Array; readonly dims: readonly number[] };

/** Declared input or output of the loaded session. */
export interface EngineValueInfo {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly (number | string)[];
}

/** One inference session on one backend. Owns every onnxruntime object it creates. */
export interface InferenceEngine {
  readonly backend: BackendName;
  readonly inputs: readonly EngineValueInfo[];
  readonly outputs: readonly EngineValueInfo[];
  /**
   * Runs the session. Input tensors are created and output tensors disposed inside, so nothing leaks.
   * Throws BACKEND_FAILED (cause passed through) when the session run fails.
   */
  run(feeds: Readonly<Record<string, PlainTensor>>): Promise<Record<string, PlainTensor>>;
  /** Registers a callback for a lost device (WebGPU); engines that cannot lose a device never call it. */
  onLost?(listener: (reason: string) => void): void;
  /** What the engine's memory looks like now; engines that cannot tell leave it out. */
  memory?(): EngineMemory;
  /** Releases the session. Idempotent. */
  dispose(): Promise<void>;
}

/** Memory an engine can account for. WASM linear memory grows and never shrinks, so its size is a leak signal. */
export interface EngineMemory {
  /** Bytes of the WASM module's linear memory; absent when the backend is not WASM or cannot tell. */
  readonly wasmHeapBytes?: number;
}

export interface EngineOptions {
  readonly numThreads: number;
}

/** What a runtime platform offers: its backend ladder and a way to start an engine on one backend. */
export interface Platform {
  readonly name: PlatformName;
  /** Backends in priority order, best first: the platform's entry of `BACKEND_LADDERS` (tests may narrow it). */
  readonly ladder: readonly BackendName[];
  /**
   * Starts an engine on exactly `backend` (never a silent fallback to another one).
   * Throws BACKEND_UNAVAILABLE whose message says why (no adapter, package not installed, ...).
   */
  createEngine(backend: BackendName, model: Uint8Array, options: EngineOptions): Promise<InferenceEngine>;
}
