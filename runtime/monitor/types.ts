// The health monitor's public shapes: checks, reports, thresholds, alerts and the mergeable state Workers aggregate.
// Portable: no platform imports. The implementation lives beside it in runtime/monitor/.
import type { Manifest } from '../bundle/manifest.ts';
import type { RunObservation } from '../types.ts';

/**
 * Bucket bounds (ms) of every latency histogram: the monitor's own percentiles and `/metrics` (as seconds) use the
 * same buckets, so Prometheus's `histogram_quantile` and `checkHealth()`'s p95 agree within one bucket. They include
 * the SLA's 100 ms (p95) and 200 ms (p99) so burn-rate rules can count requests over the line exactly.
 */
export const LATENCY_BOUNDS_MS = [
  0.5, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 120, 150, 200, 250, 300, 400, 500,
  750, 1000, 1500, 2000, 3000, 5000, 10000,
] as const;
/** Bucket bounds of the items-per-session-run histogram. */
export const BATCH_SIZE_BOUNDS = [1, 2, 4, 8, 16, 32, 64, 128, 256] as const;

/** The checks `checkHealth()` runs, in report order. */
export const CHECK_NAMES = [
  'accuracy',
  'estimated_accuracy',
  'p95_latency',
  'error_rate',
  'oov_rate',
  'truncation_rate',
  'label_drift',
  'length_drift',
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

/**
 * One check's verdict. `ok` is false only for `bad`: a check without enough samples (`insufficient_data`) or without
 * what it needs (`unavailable`: no feedback yet, a bundle without calibration data) never raises an alert.
 */
export type CheckStatus = 'ok' | 'bad' | 'insufficient_data' | 'unavailable';

export interface HealthCheck {
  readonly name: CheckName;
  readonly status: CheckStatus;
  readonly ok: boolean;
  /** The measured value over the check's window (rate, ms, distance...); null when there is none. */
  readonly value: number | null;
  readonly threshold: number;
  /** `max`: the value must stay at or below the threshold; `min`: at or above. */
  readonly direction: 'max' | 'min';
  /** Samples in the window (texts, requests or feedback items) and the fewest that allow a verdict. */
  readonly samples: number;
  readonly minSamples: number;
  /** A bad `critical` check makes the report `failing`; a bad `warning` check makes it `degraded`. */
  readonly severity: 'warning' | 'critical';
  /** One sentence for people: what was measured, against what, and the verdict. */
  readonly detail: string;
  /** Supporting figures (e.g. `psi`, `jsDistance`, `pValue`, `lowerBound`, `reference`). */
  readonly stats?: Readonly<Record<string, number>>;
}

export type HealthStatus = 'ok' | 'degraded' | 'failing';

/** What `checkHealth()` returns, and what `GET /v1/health` answers (200 unless `failing`, then 503). */
export interface HealthReport {
  readonly status: HealthStatus;
  readonly model: { readonly name: string; readonly version: string };
  /** ISO time of the check. */
  readonly checkedAt: string;
  /** One entry per check, keyed by name, in `CHECK_NAMES` order. */
  readonly checks: Readonly<Record<CheckName, HealthCheck>>;
  /** Alerts firing now. */
  readonly alerts: readonly AlertState[];
  /** Window lengths the checks used, seconds. */
  readonly windows: { readonly latencySeconds: number; readonly qualitySeconds: number };
}

/** Thresholds and windows; every field has a default derived from the bundle and the SLA (`defaultThresholds`). */
export interface Thresholds {
  /** Lowest acceptable accuracy from feedback, and from the confidence-based estimate. */
  readonly minAccuracy: number;
  readonly minEstimatedAccuracy: number;
  /** Highest acceptable p95 request latency, ms (the SLA's). */
  readonly maxP95LatencyMs: number;
  /** Highest acceptable share of requests answered with a server error (5xx). */
  readonly maxErrorRate: number;
  /** Highest acceptable unknown-token rate, and truncation rate (tested against the observed rate's lower bound). */
  readonly maxOovRate: number;
  readonly maxTruncationRate: number;
  /** Highest acceptable Jensen-Shannon distance (base 2, 0..1) of the label and token-length distributions. */
  readonly maxLabelDrift: number;
  readonly maxLengthDrift: number;
  /** Fewest texts (drift, OOV, truncation, estimate), requests (latency, errors) and feedback items for a verdict. */
  readonly minTexts: number;
  readonly minRequests: number;
  readonly minFeedback: number;
  /** Rolling windows, seconds: latency and errors; quality (drift, OOV, truncation, accuracy). */
  readonly latencyWindowSeconds: number;
  readonly qualityWindowSeconds: number;
  /** A firing alert is repeated at most this often, seconds. */
  readonly alertRepeatSeconds: number;
  /**
   * Hysteresis: a bad check resolves only once its value is back inside the threshold by this fraction of the
   * threshold (e.g. 0.1: an OOV ceiling of 0.05 resolves below 0.045).
   */
  readonly resolveMargin: number;
}

/** Where an alert is in its life. */
export interface AlertState {
  readonly check: CheckName;
  readonly severity: 'warning' | 'critical';
  readonly state: 'firing' | 'resolved';
  /** ISO times: when it first fired, when it was last sent, when it resolved. */
  readonly since: string;
  readonly lastSentAt: string;
  readonly resolvedAt?: string;
  readonly value: number | null;
  readonly threshold: number;
  readonly detail: string;
  readonly model: { readonly name: string; readonly version: string };
}

/** An alert to deliver: the first firing, a repeat after `alertRepeatSeconds`, or the resolution. */
export interface AlertEvent {
  readonly kind: 'firing' | 'repeat' | 'resolved';
  readonly alert: AlertState;
}

/** Delivers alert events. A sink that throws or rejects is logged and ignored: it never fails a prediction. */
export interface AlertSink {
  readonly name: string;
  send(event: AlertEvent): Promise<void> | void;
}

/** The answer to feedback on a prediction id. */
export type FeedbackResult =
  | { readonly status: 'recorded'; readonly correct: boolean }
  | { readonly status: 'unknown_id' }
  | { readonly status: 'duplicate' }
  | { readonly status: 'unknown_label'; readonly labels: readonly string[] };

/** One request as the edge saw it, for latency and error checks and request metrics. */
export interface RequestRecord {
  /** The route pattern (`/v1/predict`, `/v2/models/:name/infer`, `/metrics`...; `other` for unmatched paths). */
  readonly route: string;
  readonly method: string;
  /** A prediction request (`/v1/predict`, the v2 infer route): only these count for `p95_latency` and `error_rate`. */
  readonly inference: boolean;
  readonly durationMs: number;
  /** Time spent waiting for admission, ms, for requests that waited in the admission queue. */
  readonly queueWaitMs?: number;
  /** HTTP status answered. 5xx count as errors for `error_rate`. */
  readonly status: number;
  /** The error code answered, if any (`OVERLOADED`, `INPUT_INVALID`...). */
  readonly errorCode?: string;
  /** Texts the request carried (0 when refused before parsing). */
  readonly texts?: number;
}

/**
 * A histogram with fixed bucket bounds: `counts[i]` observations were `<= bounds[i]` and `> bounds[i-1]`; the last
 * count is for values above every bound. Mergeable by adding counts. Used for latency (ms), batch size and
 * token length.
 */
export interface Histogram {
  readonly bounds: readonly number[];
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

/** Everything a monitor counted since it started: what `/metrics` exposes as counters and histograms. */
export interface MonitorTotals {
  readonly model: { readonly name: string; readonly version: string };
  readonly backend: string;
  readonly texts: number;
  readonly runs: number;
  readonly tokens: number;
  readonly unknownTokens: number;
  readonly truncatedTexts: number;
  /** Predictions by label name, in manifest label order. */
  readonly predictionsByLabel: Readonly<Record<string, number>>;
  /** Requests by route, method and status. */
  readonly requests: readonly {
    readonly route: string;
    readonly method: string;
    readonly status: number;
    readonly count: number;
  }[];
  readonly errorsByCode: Readonly<Record<string, number>>;
  readonly feedback: { readonly correct: number; readonly incorrect: number };
  /** Session-run duration (ms) and items per run. */
  readonly runDurationMs: Histogram;
  readonly batchSize: Histogram;
  /** Request duration (ms) by route, and admission queue wait (ms), bounds `LATENCY_BOUNDS_MS`. */
  readonly requestDurationMs: Readonly<Record<string, Histogram>>;
  readonly queueWaitMs: Histogram;
  /** Alerts fired since start, by check. */
  readonly alertsFired: Readonly<Partial<Record<CheckName, number>>>;
}

/**
 * What one monitor counted since its last `takeDelta()`: plain JSON, so a Worker isolate can send it to the
 * aggregating Durable Object, whose monitor `mergeDelta()`s it. Counts are exact; a delta lost with an evicted
 * isolate is the only loss.
 */
export interface MonitorDelta {
  readonly model: { readonly name: string; readonly version: string };
  /** Epoch ms of the first and last event in it. */
  readonly from: number;
  readonly to: number;
  /** Opaque to callers: the per-time-bucket counts and remembered prediction ids. */
  readonly buckets: readonly unknown[];
  /** Predictions remembered for feedback, a group per request: its key, each prediction's label index, epoch ms. */
  readonly predictions: readonly (readonly [key: string, labelIndices: readonly number[], at: number])[];
  readonly totals: Omit<MonitorTotals, 'model' | 'backend'>;
}

export interface HealthMonitorOptions {
  /** Overrides of the defaults `defaultThresholds(manifest, sla)` derives. */
  readonly thresholds?: Partial<Thresholds>;
  /** Delivered on every alert event; default none (the edge adds a log sink). */
  readonly sinks?: readonly AlertSink[];
  /** Most prediction ids remembered for feedback (oldest forgotten first). Default 100,000. */
  readonly maxTrackedPredictions?: number;
  /** Clock, epoch ms. Default `Date.now`. Tests pass their own. */
  readonly now?: () => number;
  /** Key generator for a request's predictions (ids are `KEY.INDEX`, or `KEY` alone for one). Default a random UUID. */
  readonly newId?: () => string;
  /**
   * Whether `takeDelta()` will carry this monitor's remembered predictions to an aggregator (a Worker isolate). A
   * monitor read in place (the Node server, an aggregator) passes `false` and keeps no copy of them for deltas.
   * Default true.
   */
  readonly forwardsDeltas?: boolean;
  /** Where sink failures are reported. Default `console.warn`. */
  readonly warn?: (message: string) => void;
}

/**
 * The health monitor: rolling windows over what a predictor runs and what the edge answers, checked against the
 * bundle's reference statistics and the thresholds.
 */
export interface HealthMonitor {
  readonly manifest: Manifest;
  readonly thresholds: Thresholds;
  /** Counts one session run (the predictor's `observe()` calls it when the monitor was made from a predictor). */
  record(observation: RunObservation): void;
  /** Counts one answered request. */
  recordRequest(request: RequestRecord): void;
  /** Remembers a prediction for later feedback; returns its id. */
  remember(label: string): string;
  /**
   * Remembers one request's predictions (top labels, in order) for later feedback; returns their ids, in order. One
   * entry for the request, so a batch costs about what one prediction does.
   */
  rememberAll(labels: readonly string[]): string[];
  /** Ground truth for a remembered prediction; counted once per id. */
  feedback(id: string, trueLabel: string): FeedbackResult;
  /** The checks now. Also evaluates alerts and sends their events to the sinks (without awaiting them). */
  checkHealth(): HealthReport;
  /** Cumulative counts since start, for `/metrics`. */
  totals(): MonitorTotals;
  /** Alert states now (firing and recently resolved). */
  alerts(): readonly AlertState[];
  /** What was counted since the previous call, then forgets it (Workers: flush to the aggregator). */
  takeDelta(): MonitorDelta;
  /** Adds another monitor's delta (the aggregator). Refuses a delta of another model name or version. */
  mergeDelta(delta: MonitorDelta): void;
  /** Stops following the predictor. Idempotent. */
  dispose(): void;
}
