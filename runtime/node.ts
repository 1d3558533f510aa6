// The Node entry (`shipshape` under the `node` condition, or `shipshape/node`): the core bound to the Node platform.
import { loadBundle as loadBundleFrom, type BundleSource, type LoadBundleOptions } from './bundle/index.ts';
import { createPredictor as createPortablePredictor } from './predictor.ts';
import { checkPositiveInteger, resolvePredictorSettings } from './predictor-input.ts';
import { directorySource } from './platform/node-files.ts';
import { nodePlatform } from './platform/node.ts';
import { startNodeWorkerPool } from './platform/node-pool.ts';
import type { BackendChoice, Bundle, Predictor, PredictorOptions } from './types.ts';
import { createPooledPredictor } from './worker-pool.ts';

/**
 * Starts a predictor on Node. Backend ladder: `native` (onnxruntime-node, an optional dependency) then `wasm`
 * (onnxruntime-web's WASM build, one thread). `predictor.backend` says which one runs and why others were skipped.
 * @throws ShipshapeError BACKEND_UNAVAILABLE (e.g. `backend: 'webgpu'`: `Unsupported backend "webgpu" on node.
 *   Should be one of: native, wasm.`), INPUT_INVALID for an out-of-range option.
 */
export function createPredictor(bundle: Bundle, options: PredictorOptions = {}): Promise<Predictor> {
  return createPortablePredictor(bundle, { ...options, platform: nodePlatform });
}

export interface PredictorPoolOptions extends PredictorOptions {
  /** Worker threads, each loading the bundle and holding its own session (`numThreads` threads each). */
  readonly workers: number;
  /**
   * How much lower the workers' CPU priority is than the calling thread's (Linux nice), so the event loop still
   * gets a core at once when the workers saturate them all. Default 10; 0 keeps the caller's priority.
   */
  readonly niceIncrement?: number;
}

/**
 * Starts a pool of `workers` worker threads (piscina) that each load the bundle at `bundleDir` (verifying the
 * serving files) and hold their own predictor, and returns one `Predictor` in front of them. The calling thread only
 * checks texts and micro-batches `predict` calls (`batching`, as `createPredictor`, with one batch in flight per
 * worker); tokenizing and inference run in the workers, so the event loop stays free. `predictBatch` sends its runs
 * of `batchSize` to all workers at once. `observe` reports every worker's runs, with `worker` set to its thread id.
 * A worker that dies fails its batch with BACKEND_FAILED and is replaced. `dispose` lets running batches finish,
 * rejects queued ones with DISPOSED and ends every thread.
 * @throws ShipshapeError INPUT_INVALID when `workers` or another option is out of range; the bundle's BUNDLE_* codes;
 *   BACKEND_UNAVAILABLE when the workers' backend cannot start.
 */
export async function createPredictorPool(
  bundleDir: string,
  options: PredictorPoolOptions,
): Promise<Predictor> {
  checkPositiveInteger('workers', options.workers);
  const settings = resolvePredictorSettings(options);
  const bundle = await loadBundle(bundleDir, { verify: 'serving' });
  const pool = await startNodeWorkerPool(bundleDir, {
    workers: options.workers,
    backend: settings.backend as BackendChoice,
    numThreads: settings.numThreads,
    maxTextLength: settings.maxTextLength,
    returnLogits: settings.returnLogits,
    ...(options.niceIncrement === undefined ? {} : { niceIncrement: options.niceIncrement }),
  });
  return createPooledPredictor(bundle, pool, options);
}

/**
 * Loads and verifies a bundle from a directory path or any `BundleSource`.
 * @throws ShipshapeError with a BUNDLE_* / VOCAB_INVALID / TOKENIZER_UNSUPPORTED / PREPROCESSING_MISMATCH code.
 */
export function loadBundle(
  dirOrSource: string | BundleSource,
  options: LoadBundleOptions = {},
): Promise<Bundle> {
  return loadBundleFrom(
    typeof dirOrSource === 'string' ? directorySource(dirOrSource) : dirOrSource,
    options,
  );
}

export { directorySource } from './platform/node-files.ts';
export { nodePlatform, createNodePlatform, type NodePlatformOptions } from './platform/node.ts';
export {
  startNodeWorkerPool,
  type NodeWorkerPool,
  type NodeWorkerPoolOptions,
} from './platform/node-pool.ts';
export { createPooledPredictor, type PoolRun, type WorkerPool } from './worker-pool.ts';
export * from './shared-exports.ts';
