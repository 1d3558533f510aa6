// The Node entry (`shipshape` under the `node` condition, or `shipshape/node`): the core bound to the Node platform.
import { loadBundle as loadBundleFrom, type BundleSource, type LoadBundleOptions } from './bundle/index.ts';
import { createPredictor as createPortablePredictor } from './predictor.ts';
import { directorySource } from './platform/node-files.ts';
import { nodePlatform } from './platform/node.ts';
import type { Bundle, Predictor, PredictorOptions } from './types.ts';

/**
 * Starts a predictor on Node. Backend ladder: `native` (onnxruntime-node, an optional dependency) then `wasm`
 * (onnxruntime-web's WASM build, one thread). `predictor.backend` says which one runs and why others were skipped.
 * @throws ShipshapeError BACKEND_UNAVAILABLE (e.g. `backend: 'webgpu'`: `Unsupported backend "webgpu" on node.
 *   Should be one of: native, wasm.`), INPUT_INVALID for an out-of-range option.
 */
export function createPredictor(bundle: Bundle, options: PredictorOptions = {}): Promise<Predictor> {
  return createPortablePredictor(bundle, { ...options, platform: nodePlatform });
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
export * from './shared-exports.ts';
