// The health monitor of the portable runtime: rolling windows, drift and accuracy checks, alerts and their sinks.
export { createHealthMonitor, LATENCY_BUCKET_SECONDS, QUALITY_BUCKET_SECONDS } from './monitor.ts';
export {
  defaultThresholds,
  parseThresholds,
  thresholdsSchema,
  CRITICAL_CHECKS,
  DEFAULT_MAX_LABEL_DRIFT,
  DEFAULT_MAX_LENGTH_DRIFT,
  type SlaLimits,
} from './thresholds.ts';
export { logSink, webhookSink, type WebhookSinkOptions } from './sinks.ts';
export { jsDistance, psi, wilsonLowerBound, wilsonUpperBound, PSI_EPSILON, Z_99 } from './drift.ts';
export { histogramQuantile } from '../statistics.ts';
export { isRecovered } from './alerts.ts';
export { BATCH_SIZE_BOUNDS, CHECK_NAMES, LATENCY_BOUNDS_MS } from './types.ts';
export type * from './types.ts';
