// The browser entry (`shipshape` under the `browser` condition, or `shipshape/browser`): the core bound to the
// browser platform (WebGPU when an adapter exists, else WASM).
import { loadBundleAt, type BundleSource, type LoadBundleOptions } from './bundle/index.ts';
import { createPredictor as createPortablePredictor } from './predictor.ts';
import { browserPlatform, createBrowserPlatform, type BrowserPlatformOptions } from './platform/browser.ts';
import type { Bundle, Predictor, PredictorOptions } from './types.ts';

/** Predictor options in a browser: the core's, plus where onnxruntime-web's `.wasm` files are served. */
export interface BrowserPredictorOptions extends PredictorOptions, BrowserPlatformOptions {}

/**
 * Starts a predictor in a page or a Web Worker. Backend ladder: `webgpu` (onnxruntime-web's WebGPU build, only when
 * the WebGPU `requestAdapter()` gives an adapter) then `wasm` (its plain WASM build). Each build is loaded on
 * first use. `predictor.backend` says which one runs and why WebGPU was skipped; if the GPU device is lost while
 * serving, the predictor rebuilds on `wasm` and sets `backend.fallbackReason`.
 * @throws ShipshapeError BACKEND_UNAVAILABLE (e.g. `backend: 'native'`: `Unsupported backend "native" on browser.
 *   Should be one of: webgpu, wasm.`), INPUT_INVALID for an out-of-range option.
 */
export function createPredictor(bundle: Bundle, options: BrowserPredictorOptions = {}): Promise<Predictor> {
  const { wasmBaseUrl, ...predictorOptions } = options;
  const platform = wasmBaseUrl === undefined ? browserPlatform : createBrowserPlatform({ wasmBaseUrl });
  return createPortablePredictor(bundle, { ...predictorOptions, platform });
}

/**
 * Loads and verifies a bundle served under a base URL (relative to the page, e.g. `'/models/news-bag/'`), or from
 * any `BundleSource`.
 * @throws ShipshapeError with a BUNDLE_* / VOCAB_INVALID / TOKENIZER_UNSUPPORTED / PREPROCESSING_MISMATCH code.
 */
export function loadBundle(
  urlOrSource: string | URL | BundleSource,
  options: LoadBundleOptions = {},
): Promise<Bundle> {
  return loadBundleAt(urlOrSource, options, globalThis.location?.href);
}

export { browserPlatform, createBrowserPlatform, type BrowserPlatformOptions } from './platform/browser.ts';
export * from './shared-exports.ts';
