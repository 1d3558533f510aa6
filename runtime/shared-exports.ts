// What every runtime entry exports besides its own `createPredictor` and `loadBundle`.
export { createBatcher, type Batcher, type BatcherOptions } from './batcher.ts';
export { softmax, argmax } from './softmax.ts';
export {
  filesSource,
  urlSource,
  readBody,
  fileTooLarge,
  fileUnsafe,
  readParityCases,
  DEFAULT_LOAD_TIMEOUT_MS,
  MANIFEST_MAX_BYTES,
  type BundleSource,
  type LoadBundleOptions,
  type ReadOptions,
  type ParityCase,
} from './bundle/index.ts';
export { describeProof, proveParity, type ParityProof, type ParityProofOptions } from './parity.ts';
export {
  CodedError,
  ShipshapeError,
  isCodedError,
  isShipshapeError,
  hasErrorCode,
  messageOf,
  type CodedErrorOptions,
  type ErrorCode,
} from './errors.ts';
export { BACKEND_LADDERS, BACKEND_NAMES, isBackendName, type PlatformName } from './backends.ts';
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
export {
  createHealthMonitor,
  defaultThresholds,
  parseThresholds,
  thresholdsSchema,
  logSink,
  webhookSink,
  jsDistance,
  psi,
  wilsonLowerBound,
  wilsonUpperBound,
  histogramQuantile,
  BATCH_SIZE_BOUNDS,
  CHECK_NAMES,
  LATENCY_BOUNDS_MS,
  type SlaLimits,
  type WebhookSinkOptions,
} from './monitor/index.ts';
export type * from './monitor/types.ts';
