// Cumulative counts since start (what /metrics exposes), and the difference of two of them (a Worker's delta).
import { bucketIndex } from './windows.ts';
import {
  BATCH_SIZE_BOUNDS,
  LATENCY_BOUNDS_MS,
  type CheckName,
  type Histogram,
  type MonitorDelta,
} from './types.ts';

/** A histogram being filled. */
export interface MutableHistogram {
  readonly bounds: readonly number[];
  readonly counts: number[];
  sum: number;
  count: number;
}

export function emptyHistogram(bounds: readonly number[]): MutableHistogram {
  return { bounds, counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 };
}

export function observeHistogram(histogram: MutableHistogram, value: number): void {
  const i = bucketIndex(histogram.bounds, value);
  histogram.counts[i] = (histogram.counts[i] as number) + 1;
  histogram.sum += value;
  histogram.count += 1;
}

function addHistogram(target: MutableHistogram, source: Histogram, sign: number): void {
  const n = Math.min(target.counts.length, source.counts.length);
  for (let i = 0; i < n; i += 1)
    target.counts[i] = (target.counts[i] as number) + sign * (source.counts[i] as number);
  target.sum += sign * source.sum;
  target.count += sign * source.count;
}

function freezeHistogram(histogram: MutableHistogram): Histogram {
  return {
    bounds: histogram.bounds,
    counts: [...histogram.counts],
    sum: histogram.sum,
    count: histogram.count,
  };
}

const REQUEST_KEY_SEPARATOR = '\u0000';

/** The monitor's cumulative counts, in shapes cheap to update. */
export interface Counts {
  texts: number;
  runs: number;
  tokens: number;
  unknownTokens: number;
  truncatedTexts: number;
  /** By manifest label index. */
  readonly predictions: number[];
  /** By `route \0 method \0 status`. */
  readonly requests: Map<string, number>;
  readonly errors: Map<string, number>;
  feedbackCorrect: number;
  feedbackIncorrect: number;
  readonly runDurationMs: MutableHistogram;
  readonly batchSize: MutableHistogram;
  readonly requestDurationMs: Map<string, MutableHistogram>;
  readonly queueWaitMs: MutableHistogram;
  readonly alertsFired: Map<CheckName, number>;
}

export function emptyCounts(labels: number): Counts {
  return {
    texts: 0,
    runs: 0,
    tokens: 0,
    unknownTokens: 0,
    truncatedTexts: 0,
    predictions: new Array<number>(labels).fill(0),
    requests: new Map(),
    errors: new Map(),
    feedbackCorrect: 0,
    feedbackIncorrect: 0,
    runDurationMs: emptyHistogram(LATENCY_BOUNDS_MS),
    batchSize: emptyHistogram(BATCH_SIZE_BOUNDS),
    requestDurationMs: new Map(),
    queueWaitMs: emptyHistogram(LATENCY_BOUNDS_MS),
    alertsFired: new Map(),
  };
}

export function requestKey(route: string, method: string, status: number): string {
  return `${route}${REQUEST_KEY_SEPARATOR}${method}${REQUEST_KEY_SEPARATOR}${status}`;
}

export function increment<K>(map: Map<K, number>, key: K, by = 1): void {
  const next = (map.get(key) ?? 0) + by;
  if (next === 0) map.delete(key);
  else map.set(key, next);
}

export function routeHistogram(counts: Counts, route: string): MutableHistogram {
  let histogram = counts.requestDurationMs.get(route);
  if (histogram === undefined) {
    histogram = emptyHistogram(LATENCY_BOUNDS_MS);
    counts.requestDurationMs.set(route, histogram);
  }
  return histogram;
}

type DeltaTotals = MonitorDelta['totals'];

/** The public shape of `counts` (label names in manifest order). */
export function toTotals(counts: Counts, labels: readonly string[]): DeltaTotals {
  const predictionsByLabel: Record<string, number> = Object.create(null) as Record<string, number>;
  labels.forEach((label, i) => (predictionsByLabel[label] = counts.predictions[i] ?? 0));
  const requestDurationMs: Record<string, Histogram> = Object.create(null) as Record<string, Histogram>;
  for (const [route, histogram] of counts.requestDurationMs)
    requestDurationMs[route] = freezeHistogram(histogram);
  return {
    texts: counts.texts,
    runs: counts.runs,
    tokens: counts.tokens,
    unknownTokens: counts.unknownTokens,
    truncatedTexts: counts.truncatedTexts,
    predictionsByLabel,
    requests: [...counts.requests].map(([key, count]) => {
      const [route = '', method = '', status = '0'] = key.split(REQUEST_KEY_SEPARATOR);
      return { route, method, status: Number(status), count };
    }),
    errorsByCode: Object.fromEntries(counts.errors),
    feedback: { correct: counts.feedbackCorrect, incorrect: counts.feedbackIncorrect },
    runDurationMs: freezeHistogram(counts.runDurationMs),
    batchSize: freezeHistogram(counts.batchSize),
    requestDurationMs,
    queueWaitMs: freezeHistogram(counts.queueWaitMs),
    alertsFired: Object.fromEntries(counts.alertsFired),
  };
}

/**
 * Adds public-shape totals into `counts` (`sign` -1 subtracts). Alerts fired are left out: an aggregating monitor
 * counts the alerts it fires itself, and adding each isolate's would count one condition many times.
 */
export function addTotals(counts: Counts, totals: DeltaTotals, labels: readonly string[], sign = 1): void {
  counts.texts += sign * totals.texts;
  counts.runs += sign * totals.runs;
  counts.tokens += sign * totals.tokens;
  counts.unknownTokens += sign * totals.unknownTokens;
  counts.truncatedTexts += sign * totals.truncatedTexts;
  labels.forEach((label, i) => {
    counts.predictions[i] =
      (counts.predictions[i] as number) + sign * (totals.predictionsByLabel[label] ?? 0);
  });
  for (const { route, method, status, count } of totals.requests) {
    increment(counts.requests, requestKey(route, method, status), sign * count);
  }
  for (const [code, count] of Object.entries(totals.errorsByCode))
    increment(counts.errors, code, sign * count);
  counts.feedbackCorrect += sign * totals.feedback.correct;
  counts.feedbackIncorrect += sign * totals.feedback.incorrect;
  addHistogram(counts.runDurationMs, totals.runDurationMs, sign);
  addHistogram(counts.batchSize, totals.batchSize, sign);
  for (const [route, histogram] of Object.entries(totals.requestDurationMs)) {
    addHistogram(routeHistogram(counts, route), histogram, sign);
    if (counts.requestDurationMs.get(route)?.count === 0) counts.requestDurationMs.delete(route);
  }
  addHistogram(counts.queueWaitMs, totals.queueWaitMs, sign);
}
