// The Cloudflare Workers entry (`shipshape` under the `workerd` condition, or `shipshape/workerd`): the core bound
// to the workerd platform (onnxruntime-web's WASM build, one thread).
import { loadBundleAt, type BundleSource, type LoadBundleOptions } from './bundle/index.ts';
import { createPredictor as createPortablePredictor } from './predictor.ts';
import { createWorkerdPlatform, workerdPlatform, type WorkerdPlatformOptions } from './platform/workerd.ts';
import type { Bundle, Predictor, PredictorOptions } from './types.ts';

/** Predictor options on Workers: the core's, plus where the compiled onnxruntime WASM comes from. */
export interface WorkerdPredictorOptions extends PredictorOptions, WorkerdPlatformOptions {}

/**
 * Starts a predictor in a Worker. Backend ladder: `wasm` only (onnxruntime-web's WebGPU build hangs in workerd).
 * The Worker must be bundled with onnxruntime-web's `.wasm` as a compiled-module import (wrangler's default rule
 * for `*.wasm`). Create it once per isolate, outside the request path: the first one instantiates the WASM.
 * @throws ShipshapeError BACKEND_UNAVAILABLE (e.g. `backend: 'webgpu'`: `Unsupported backend "webgpu" on workerd.
 *   Should be one of: wasm.`), INPUT_INVALID for an out-of-range option.
 */
export function createPredictor(bundle: Bundle, options: WorkerdPredictorOptions = {}): Promise<Predictor> {
  const { wasmModule, ...predictorOptions } = options;
  const platform = wasmModule === undefined ? workerdPlatform : createWorkerdPlatform({ wasmModule });
  return createPortablePredictor(bundle, { ...predictorOptions, platform });
}

/**
 * Loads and verifies a bundle from a base URL (fetched with the global `fetch`) or any `BundleSource`, e.g.
 * `filesSource` over Data-module imports, or `urlSource(base, env.ASSETS.fetch.bind(env.ASSETS))`.
 * @throws ShipshapeError with a BUNDLE_* / VOCAB_INVALID / TOKENIZER_UNSUPPORTED / PREPROCESSING_MISMATCH code.
 */
export function loadBundle(
  urlOrSource: string | URL | BundleSource,
  options: LoadBundleOptions = {},
): Promise<Bundle> {
  return loadBundleAt(urlOrSource, options);
}

export { workerdPlatform, createWorkerdPlatform, type WorkerdPlatformOptions } from './platform/workerd.ts';
export * from './shared-exports.ts';
