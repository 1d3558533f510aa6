// Wraps one onnxruntime session (node or web build, same onnxruntime-common API) as an InferenceEngine.
import type * as OrtWeb from 'onnxruntime-web/wasm';
import type { EngineMemory, EngineValueInfo, InferenceEngine, PlainTensor } from '../engine.ts';
import { ShipshapeError, messageOf } from '../errors.ts';
import type { BackendName } from '../types.ts';

/** The part of an onnxruntime module an engine uses; `onnxruntime-node` and `onnxruntime-web` both provide it. */
export type OrtModule = Pick<typeof OrtWeb, 'InferenceSession' | 'Tensor'>;
type OrtSession = OrtWeb.InferenceSession;
type OrtTensor = OrtWeb.Tensor;

export interface OrtEngineOptions {
  readonly ort: OrtModule;
  readonly backend: BackendName;
  readonly model: Uint8Array;
  readonly sessionOptions: OrtWeb.InferenceSession.SessionOptions;
  /** What the backend's memory looks like now, when it can tell. */
  readonly memory?: () => EngineMemory;
}

/**
 * onnxruntime's log level for sessions and runs: fatal only. Its own logger writes a failed run's error to stderr or
 * the console (the native build and the WASM build alike, each run at warning level unless told), outside the
 * service's JSON log, while the same message reaches the caller as BACKEND_FAILED anyway.
 */
const QUIET = 4 as const;

/**
 * Creates a session and wraps it.
 * @throws ShipshapeError BACKEND_UNAVAILABLE when onnxruntime cannot create the session on this backend.
 */
export async function createOrtEngine(options: OrtEngineOptions): Promise<InferenceEngine> {
  const { ort, backend, model, sessionOptions, memory } = options;
  let session: OrtSession | undefined;
  // onnxruntime-node builds native run options on every call that passes any (about 20 µs, a quarter of a news-bag
  // run at batch 1), and its session's level already covers runs; the WASM build logs each run at warning level
  // unless the run says otherwise, at no measurable cost.
  const runOptions = backend === 'native' ? undefined : { logSeverityLevel: QUIET };
  try {
    session = await ort.InferenceSession.create(model, { logSeverityLevel: QUIET, ...sessionOptions });
  } catch (error) {
    throw new ShipshapeError(
      'BACKEND_UNAVAILABLE',
      `onnxruntime could not create a session on "${backend}": ${engineMessage(error)}`,
      { cause: error, subject: backend },
    );
  }
  const inputs = session.inputMetadata.map(valueInfo);
  const outputs = session.outputMetadata.map(valueInfo);
  let disposed: Promise<void> | undefined;

  return {
    backend,
    inputs,
    outputs,
    async run(feeds) {
      const live = session;
      if (live === undefined || disposed !== undefined) {
        throw new ShipshapeError('DISPOSED', `The ${backend} engine was disposed; create a new predictor.`);
      }
      const ortFeeds: Record<string, OrtTensor> = {};
      let results: OrtWeb.InferenceSession.ReturnType | undefined;
      try {
        for (const [name, tensor] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(ort, tensor);
        results = await (runOptions === undefined ? live.run(ortFeeds) : live.run(ortFeeds, runOptions));
        const out: Record<string, PlainTensor> = {};
        for (const [name, tensor] of Object.entries(results))
          out[name] = toPlainTensor(name, tensor, backend);
        return out;
      } catch (error) {
        if (error instanceof ShipshapeError) throw error;
        throw new ShipshapeError(
          'BACKEND_FAILED',
          `The ${backend} session run failed: ${engineMessage(error)}`,
          {
            cause: error,
            subject: backend,
          },
        );
      } finally {
        for (const tensor of Object.values(ortFeeds)) tensor.dispose();
        if (results !== undefined) for (const tensor of Object.values(results)) tensor.dispose();
      }
    },
    dispose() {
      disposed ??= (async () => {
        const live = session;
        session = undefined;
        await live?.release();
      })();
      return disposed;
    },
    ...(memory === undefined ? {} : { memory }),
  };
}

/** The session options a WASM engine may be tuned with; the execution provider and log level stay fixed. */
export type WasmSessionTuning = Pick<
  OrtWeb.InferenceSession.SessionOptions,
  'graphOptimizationLevel' | 'enableCpuMemArena' | 'enableMemPattern' | 'executionMode'
>;

/**
 * The WASM engine's session options. Measured on news-transformer (bench/experiments/runtime/native-vs-wasm.ts
 * `--tuning`): optimisation 'disabled' or 'basic', no memory arena and parallel execution ran within noise of these
 * or slower ('basic' at batch 32), so they stay as they were.
 */
export const DEFAULT_WASM_TUNING: WasmSessionTuning = Object.freeze({ graphOptimizationLevel: 'all' });

/**
 * Creates a session on onnxruntime-web's plain WASM build (in a page, in workerd or in Node) and wraps it; its
 * memory is the byte length of the WASM linear memory `wasmMemory` gives, once the instantiation has shown it.
 * `tuning` defaults to `DEFAULT_WASM_TUNING`.
 * @throws ShipshapeError BACKEND_UNAVAILABLE when onnxruntime cannot create the session.
 */
export function createOrtWasmEngine(
  ort: OrtModule,
  model: Uint8Array,
  wasmMemory: () => WebAssembly.Memory | undefined,
  tuning: WasmSessionTuning = DEFAULT_WASM_TUNING,
): Promise<InferenceEngine> {
  return createOrtEngine({
    ort,
    backend: 'wasm',
    model,
    sessionOptions: { ...tuning, executionProviders: ['wasm'] },
    memory: () => {
      const memory = wasmMemory();
      return memory === undefined ? {} : { wasmHeapBytes: memory.buffer.byteLength };
    },
  });
}

function valueInfo(meta: OrtWeb.InferenceSession.ValueMetadata): EngineValueInfo {
  return meta.isTensor
    ? { name: meta.name, dtype: meta.type, shape: [...meta.shape] }
    : { name: meta.name, dtype: 'non-tensor', shape: [] };
}

function toOrtTensor(ort: OrtModule, tensor: PlainTensor): OrtTensor {
  switch (tensor.dtype) {
    case 'int64':
      return new ort.Tensor('int64', tensor.data, tensor.dims);
    case 'int32':
      return new ort.Tensor('int32', tensor.data, tensor.dims);
    case 'float32':
      return new ort.Tensor('float32', tensor.data, tensor.dims);
  }
}

// Copies the data out: the tensor is disposed right after, and a web build's data may be a view it reuses.
function toPlainTensor(name: string, tensor: OrtTensor, backend: BackendName): PlainTensor {
  const dims = [...tensor.dims];
  const data: unknown = tensor.data;
  if (tensor.type === 'float32' && data instanceof Float32Array)
    return { dtype: 'float32', data: data.slice(), dims };
  if (tensor.type === 'int64' && data instanceof BigInt64Array)
    return { dtype: 'int64', data: data.slice(), dims };
  if (tensor.type === 'int32' && data instanceof Int32Array)
    return { dtype: 'int32', data: data.slice(), dims };
  throw new ShipshapeError(
    'BACKEND_FAILED',
    `Output "${name}" on ${backend} is a ${tensor.type} tensor on "${tensor.location}"; expected float32, int64 or int32 on the CPU.`,
    { subject: backend },
  );
}

/** The engine's message on one line: onnxruntime's end with a newline, which would split a log line or an error. */
function engineMessage(error: unknown): string {
  return messageOf(error)
    .trim()
    .replace(/\s*\n\s*/g, ' ');
}
