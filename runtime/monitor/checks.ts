// The health checks: each window's counts against its threshold, as data (value, threshold, samples, verdict).
import { jsDistance, psi, wilsonLowerBound, wilsonUpperBound } from './drift.ts';
import { CRITICAL_CHECKS } from './thresholds.ts';
import { histogramQuantile } from '../statistics.ts';
import type { LatencyBucket, QualityBucket } from './windows.ts';
import {
  LATENCY_BOUNDS_MS,
  type CheckName,
  type CheckStatus,
  type HealthCheck,
  type Thresholds,
} from './types.ts';

/** What the checks read besides the windows. */
export interface CheckInputs {
  readonly thresholds: Thresholds;
  /** Reference label shares in manifest label order, and reference token-length counts per bin. */
  readonly referenceLabels: readonly number[];
  readonly referenceLengths: readonly number[];
  readonly referenceOovRate: number;
  readonly referenceTruncationRate: number;
  readonly hasCalibration: boolean;
  /** Effective window lengths, seconds. */
  readonly latencySeconds: number;
  readonly qualitySeconds: number;
}

const round = (value: number, digits = 4): number => Number(value.toFixed(digits));
/** Rates to 6 decimals: a count ratio needs no more, and sums of calibrated probabilities carry float noise. */
const rate = (value: number | null): number | null => (value === null ? null : round(value, 6));
const percent = (value: number): string => `${round(value * 100, 2)}%`;

interface Verdict {
  readonly name: CheckName;
  readonly direction: 'max' | 'min';
  readonly threshold: number;
  readonly samples: number;
  readonly minSamples: number;
  readonly value: number | null;
  /** Whether the measured value breaks the threshold (for rates: their lower bound does). */
  readonly breaks: boolean;
  readonly unavailable?: string;
  readonly describe: (status: CheckStatus) => string;
  readonly stats?: Readonly<Record<string, number>>;
}

function checkOf(verdict: Verdict): HealthCheck {
  let status: CheckStatus;
  if (verdict.unavailable !== undefined) status = 'unavailable';
  else if (verdict.samples < verdict.minSamples || verdict.value === null) status = 'insufficient_data';
  else status = verdict.breaks ? 'bad' : 'ok';
  const check: HealthCheck = {
    name: verdict.name,
    status,
    ok: status !== 'bad',
    value: verdict.value,
    threshold: verdict.threshold,
    direction: verdict.direction,
    samples: verdict.samples,
    minSamples: verdict.minSamples,
    severity: CRITICAL_CHECKS.has(verdict.name) ? 'critical' : 'warning',
    detail: verdict.unavailable ?? verdict.describe(status),
  };
  return verdict.stats === undefined ? check : { ...check, stats: verdict.stats };
}

const VERDICT_WORDS: Record<CheckStatus, string> = {
  ok: 'ok',
  bad: 'BAD',
  insufficient_data: 'no verdict yet',
  unavailable: 'unavailable',
};

function tail(status: CheckStatus, samples: number, minSamples: number, unit: string): string {
  return status === 'insufficient_data'
    ? `no verdict below ${minSamples} ${unit} (${samples} so far)`
    : VERDICT_WORDS[status];
}

/** Runs every check over the summed windows, in `CHECK_NAMES` order. */
export function runChecks(
  latency: LatencyBucket,
  quality: QualityBucket,
  inputs: CheckInputs,
): HealthCheck[] {
  const t = inputs.thresholds;
  const latencyWindow = `last ${inputs.latencySeconds} s`;
  const qualityWindow = `last ${inputs.qualitySeconds} s`;
  const checks: Verdict[] = [];

  const feedback = quality.feedbackCorrect + quality.feedbackIncorrect;
  const accuracy = feedback > 0 ? quality.feedbackCorrect / feedback : null;
  // Like the OOV rate, judged with the sample size: 100 answers of a model right 89% of the time fall below the 84.1%
  // floor by chance 8% of the time; the upper bound falls below only when the accuracy really did.
  const accuracyBound = wilsonUpperBound(quality.feedbackCorrect, feedback);
  checks.push({
    name: 'accuracy',
    direction: 'min',
    threshold: t.minAccuracy,
    samples: feedback,
    minSamples: t.minFeedback,
    value: rate(accuracy),
    breaks: accuracyBound < t.minAccuracy,
    ...(feedback === 0
      ? {
          unavailable: `No feedback in the ${qualityWindow}: POST /v1/feedback with prediction ids and their true labels to measure accuracy.`,
        }
      : {}),
    describe: (status) =>
      `Accuracy from feedback ${percent(accuracy ?? 0)} (${quality.feedbackCorrect} of ${feedback} correct, 99% upper bound ${percent(accuracyBound)}; ${qualityWindow}), floor ${percent(t.minAccuracy)}: ${tail(status, feedback, t.minFeedback, 'feedback items')}.`,
    stats: {
      upperBound: round(accuracyBound, 6),
      correct: quality.feedbackCorrect,
      incorrect: quality.feedbackIncorrect,
    },
  });

  const estimate = quality.texts > 0 ? quality.expectedCorrect / quality.texts : null;
  checks.push({
    name: 'estimated_accuracy',
    direction: 'min',
    threshold: t.minEstimatedAccuracy,
    samples: quality.texts,
    minSamples: t.minTexts,
    value: inputs.hasCalibration ? rate(estimate) : null,
    breaks: estimate !== null && estimate < t.minEstimatedAccuracy,
    ...(inputs.hasCalibration
      ? {}
      : {
          unavailable:
            'The bundle has no calibration section, so accuracy cannot be estimated without labels; re-export it with a shipshape_train that writes one.',
        }),
    describe: (status) =>
      `Accuracy estimated from confidence (calibrated on the validation split) ${percent(estimate ?? 0)} over ${quality.texts} texts (${qualityWindow}), floor ${percent(t.minEstimatedAccuracy)}: ${tail(status, quality.texts, t.minTexts, 'texts')}.`,
  });

  const p95 = histogramQuantile(LATENCY_BOUNDS_MS, latency.latency, 0.95);
  const p50 = histogramQuantile(LATENCY_BOUNDS_MS, latency.latency, 0.5);
  const p99 = histogramQuantile(LATENCY_BOUNDS_MS, latency.latency, 0.99);
  const runP95 = histogramQuantile(LATENCY_BOUNDS_MS, latency.runLatency, 0.95);
  checks.push({
    name: 'p95_latency',
    direction: 'max',
    threshold: t.maxP95LatencyMs,
    samples: latency.requests,
    minSamples: t.minRequests,
    value: p95 === null ? null : round(p95, 3),
    breaks: p95 !== null && p95 > t.maxP95LatencyMs,
    describe: (status) =>
      `p95 of ${latency.requests} prediction requests ${p95 === null ? 'n/a' : `${round(p95, 2)} ms`} (${latencyWindow}), ceiling ${t.maxP95LatencyMs} ms: ${tail(status, latency.requests, t.minRequests, 'requests')}.`,
    stats: {
      ...(p50 === null ? {} : { p50: round(p50, 3) }),
      ...(p99 === null ? {} : { p99: round(p99, 3) }),
      ...(runP95 === null ? {} : { runP95: round(runP95, 3) }),
      requestsPerSecond: round(latency.requests / inputs.latencySeconds),
      textsPerSecond: round(latency.items / inputs.latencySeconds),
      runs: latency.runs,
    },
  });

  const errorRate = latency.requests > 0 ? latency.serverErrors / latency.requests : null;
  checks.push({
    name: 'error_rate',
    direction: 'max',
    threshold: t.maxErrorRate,
    samples: latency.requests,
    minSamples: t.minRequests,
    value: rate(errorRate),
    breaks: errorRate !== null && errorRate > t.maxErrorRate,
    describe: (status) =>
      `${latency.serverErrors} of ${latency.requests} prediction requests answered 5xx (${latencyWindow}), ceiling ${percent(t.maxErrorRate)}: ${tail(status, latency.requests, t.minRequests, 'requests')}.`,
    stats: { errors: latency.serverErrors },
  });

  const oov = quality.tokens > 0 ? quality.unknownTokens / quality.tokens : null;
  const oovBound = wilsonLowerBound(quality.unknownTokens, quality.tokens);
  checks.push({
    name: 'oov_rate',
    direction: 'max',
    threshold: t.maxOovRate,
    samples: quality.texts,
    minSamples: t.minTexts,
    value: rate(oov),
    breaks: oovBound > t.maxOovRate,
    describe: (status) =>
      `Unknown tokens ${percent(oov ?? 0)} of ${quality.tokens} (99% lower bound ${percent(oovBound)}; reference ${percent(inputs.referenceOovRate)}; ${qualityWindow}), ceiling ${percent(t.maxOovRate)}: ${tail(status, quality.texts, t.minTexts, 'texts')}.`,
    stats: {
      lowerBound: round(oovBound, 6),
      reference: inputs.referenceOovRate,
      unknownTokens: quality.unknownTokens,
      tokens: quality.tokens,
    },
  });

  const truncation = quality.texts > 0 ? quality.truncations / quality.texts : null;
  const truncationBound = wilsonLowerBound(quality.truncations, quality.texts);
  checks.push({
    name: 'truncation_rate',
    direction: 'max',
    threshold: t.maxTruncationRate,
    samples: quality.texts,
    minSamples: t.minTexts,
    value: rate(truncation),
    breaks: truncationBound > t.maxTruncationRate,
    describe: (status) =>
      `Truncated texts ${percent(truncation ?? 0)} of ${quality.texts} (99% lower bound ${percent(truncationBound)}; reference ${percent(inputs.referenceTruncationRate)}; ${qualityWindow}), ceiling ${percent(t.maxTruncationRate)}: ${tail(status, quality.texts, t.minTexts, 'texts')}.`,
    stats: {
      lowerBound: round(truncationBound, 6),
      reference: inputs.referenceTruncationRate,
      truncatedTexts: quality.truncations,
    },
  });

  for (const [name, observed, reference, threshold, what] of [
    ['label_drift', quality.labels, inputs.referenceLabels, t.maxLabelDrift, 'Predicted labels'],
    ['length_drift', quality.lengths, inputs.referenceLengths, t.maxLengthDrift, 'Token lengths'],
  ] as const) {
    const distance = jsDistance(observed, reference);
    const index = psi(observed, reference);
    checks.push({
      name,
      direction: 'max',
      threshold,
      samples: quality.texts,
      minSamples: t.minTexts,
      value: distance === null ? null : round(distance, 6),
      breaks: distance !== null && distance > threshold,
      describe: (status) =>
        `${what} of ${quality.texts} texts against the bundle's reference: Jensen-Shannon distance ${distance === null ? 'n/a' : round(distance)} (PSI ${index === null ? 'n/a' : round(index)}; ${qualityWindow}), ceiling ${threshold}: ${tail(status, quality.texts, t.minTexts, 'texts')}.`,
      stats: {
        ...(distance === null ? {} : { jsDistance: round(distance, 6) }),
        ...(index === null ? {} : { psi: round(index, 6) }),
      },
    });
  }
  return checks.map(checkOf);
}
