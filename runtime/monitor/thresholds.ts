// Default thresholds derived from the bundle and the SLA, and the schema overrides are checked against.
import * as z from 'zod';
import type { Manifest } from '../bundle/manifest.ts';
import { describeIssues } from '../bundle/manifest.ts';
import { ShipshapeError } from '../errors.ts';
import { LATENCY_BOUNDS_MS, type CheckName, type Thresholds } from './types.ts';

/**
 * Jensen-Shannon distance ceilings for the label and token-length distributions. Sampling noise alone puts a
 * distance between a sample and its own source; at n = 500 (the default `minTexts`) multinomial samples of the
 * bundled references (news-bag, news-transformer; 200,000 draws each) reach, at their 99.9th percentile, 0.077 for
 * the 4 labels and 0.098 for the 9 length bins (`test/runtime/monitor-defaults.test.ts` re-derives them). Live
 * in-distribution traffic is not such a sample: its label mix is the model's predictions, not the training labels,
 * and varies with the news of the day. So the ceilings sit well above: 0.15 for labels (a single-topic stream is at
 * about 0.7, a two-topic stream at about 0.5) and 0.15 for lengths (texts twice as long as training are at about 0.6).
 */
export const DEFAULT_MAX_LABEL_DRIFT = 0.15;
export const DEFAULT_MAX_LENGTH_DRIFT = 0.15;

/** The checks whose failure makes the service `failing` (users feel them now); the rest make it `degraded`. */
export const CRITICAL_CHECKS: ReadonlySet<CheckName> = new Set<CheckName>(['p95_latency', 'error_rate']);

/** What the SLA contributes to the defaults. */
export interface SlaLimits {
  /** The SLA's p95 latency ceiling, ms. Default 100. */
  readonly maxP95LatencyMs?: number;
}

const rate = z.number().min(0).max(1);
const count = z.number().int().positive();
const seconds = z
  .number()
  .positive()
  .max(7 * 24 * 3600);

/** Partial thresholds as a config file or `SHIPSHAPE_HEALTH_THRESHOLDS` gives them: unknown fields are refused. */
export const thresholdsSchema = z
  .strictObject({
    minAccuracy: rate,
    minEstimatedAccuracy: rate,
    // The top latency bucket bound: a p95 above it reads as the bound (histogram_quantile's rule), so a higher
    // ceiling could never be crossed.
    maxP95LatencyMs: z
      .number()
      .positive()
      .max(LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1] as number),
    maxErrorRate: rate,
    maxOovRate: rate,
    maxTruncationRate: rate,
    maxLabelDrift: rate,
    maxLengthDrift: rate,
    minTexts: count,
    minRequests: count,
    minFeedback: count,
    latencyWindowSeconds: seconds.min(10),
    qualityWindowSeconds: seconds.min(60),
    alertRepeatSeconds: seconds,
    resolveMargin: z.number().min(0).lt(1),
  })
  .partial();

/**
 * Thresholds derived from the bundle and the SLA:
 * - `minAccuracy`, `minEstimatedAccuracy`: the bundle's test accuracy minus 0.05 (a 5-point fall is an incident;
 *   less is within what a window of a few hundred labels shows by chance: the standard error at 0.89 and n = 100
 *   is 0.03).
 * - `maxP95LatencyMs`: the SLA's, default 100 ms.
 * - `maxErrorRate`: 0.01 (1% of prediction requests answered 5xx).
 * - `maxOovRate`: max(2 x reference, reference + 0.02); `maxTruncationRate`: max(2 x reference, reference + 0.05):
 *   relative for common rates, with an absolute floor so a reference near 0 does not make any unknown word an alert.
 * - `maxLabelDrift`, `maxLengthDrift`: 0.15 JS distance (see `DEFAULT_MAX_LABEL_DRIFT`).
 * - `minTexts` 500, `minRequests` 100, `minFeedback` 100; windows 300 s (latency, errors) and 3600 s (quality);
 *   alerts repeat every 3600 s; `resolveMargin` 0.1.
 */
export function defaultThresholds(manifest: Manifest, sla: SlaLimits = {}): Thresholds {
  const { oovRate, truncationRate } = manifest.reference;
  const floor = Math.max(0, manifest.metrics.accuracy - 0.05);
  return {
    minAccuracy: floor,
    minEstimatedAccuracy: floor,
    maxP95LatencyMs: sla.maxP95LatencyMs ?? 100,
    maxErrorRate: 0.01,
    maxOovRate: Math.min(1, Math.max(2 * oovRate, oovRate + 0.02)),
    maxTruncationRate: Math.min(1, Math.max(2 * truncationRate, truncationRate + 0.05)),
    maxLabelDrift: DEFAULT_MAX_LABEL_DRIFT,
    maxLengthDrift: DEFAULT_MAX_LENGTH_DRIFT,
    minTexts: 500,
    minRequests: 100,
    minFeedback: 100,
    latencyWindowSeconds: 300,
    qualityWindowSeconds: 3600,
    alertRepeatSeconds: 3600,
    resolveMargin: 0.1,
  };
}

/**
 * Checks partial thresholds (a config file's, the environment's) against `thresholdsSchema`.
 * @param where names the source in the message (`--health-config health.json`, `SHIPSHAPE_HEALTH_THRESHOLDS`).
 * @throws ShipshapeError INPUT_INVALID naming the bad field.
 */
export function parseThresholds(value: unknown, where = 'thresholds'): Partial<Thresholds> {
  const parsed = thresholdsSchema.safeParse(value);
  if (!parsed.success) {
    throw new ShipshapeError(
      'INPUT_INVALID',
      `Invalid health thresholds in ${where}: ${describeIssues(parsed.error)}. Give a JSON object with some of: ${Object.keys(thresholdsSchema.shape).join(', ')}.`,
    );
  }
  return parsed.data as Partial<Thresholds>;
}
