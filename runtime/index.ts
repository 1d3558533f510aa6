// The portable entry (`shipshape` under the `default` condition): the core, no platform. Pass `platform` yourself,
// or import a platform entry (`shipshape/node`, `shipshape/browser`, `shipshape/workerd`) that binds one.
export { createPredictor, type PortablePredictorOptions } from './predictor.ts';
export { createBatcher, type Batcher, type BatcherOptions } from './batcher.ts';
export { softmax, argmax } from './softmax.ts';
export {
  loadBundle,
  filesSource,
  urlSource,
  readParityCases,
  type BundleSource,
  type LoadBundleOptions,
  type ParityCase,
} from './bundle/index.ts';
export { ShipshapeError, isShipshapeError, hasErrorCode, type ErrorCode } from './errors.ts';
export type {
  EngineMemory,
  EngineOptions,
  EngineValueInfo,
  InferenceEngine,
  PlainTensor,
  Platform,
  TensorDtype,
} from './engine.ts';
export type * from './types.ts';
