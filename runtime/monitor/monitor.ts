// createHealthMonitor: counts what a predictor runs and the edge answers into rolling windows, checks and alerts.
import type { Manifest } from '../bundle/manifest.ts';
import { ShipshapeError } from '../errors.ts';
import type { Predictor, RunObservation } from '../types.ts';
import { ConfidenceCalibration, PredictionLedger, predictionId } from './accuracy.ts';
import { AlertBook } from './alerts.ts';
import { runChecks, type CheckInputs } from './checks.ts';
import { defaultThresholds, parseThresholds } from './thresholds.ts';
import {
  addTotals,
  emptyCounts,
  increment,
  observeHistogram,
  requestKey,
  routeHistogram,
  toTotals,
  type Counts,
} from './totals.ts';
import {
  addBucket,
  BucketRing,
  bucketIndex,
  emptyLatencyBucket,
  emptyQualityBucket,
  sumBuckets,
  type Bucket,
  type LatencyBucket,
  type QualityBucket,
  type QualityShape,
} from './windows.ts';
import {
  CHECK_NAMES,
  LATENCY_BOUNDS_MS,
  type AlertState,
  type CheckName,
  type FeedbackResult,
  type HealthCheck,
  type HealthMonitor,
  type HealthMonitorOptions,
  type HealthReport,
  type HealthStatus,
  type MonitorDelta,
  type MonitorTotals,
  type RequestRecord,
  type Thresholds,
} from './types.ts';

/** Bucket widths: latency reacts within seconds, quality statistics need minutes of texts. */
export const LATENCY_BUCKET_SECONDS = 10;
export const QUALITY_BUCKET_SECONDS = 60;
/**
 * Alerts are evaluated on `checkHealth()` and, at most this often, after recording: so alerts reach the sinks while
 * traffic flows even when nobody polls `/v1/health`, at a cost of one check pass per second.
 */
const EVALUATE_EVERY_MS = 1000;
const DEFAULT_MAX_TRACKED_PREDICTIONS = 100_000;

/**
 * A random UUID as a flat string. Node builds `crypto.randomUUID()` by concatenation, a rope of about 560 bytes that
 * stays one while only stored; reading a character flattens it (about 140 bytes per remembered id with the Map
 * entry, measured: 100,000 ids in 14 MB rather than 56 MB).
 */
function flatUuid(): string {
  const id = crypto.randomUUID();
  id.charCodeAt(0);
  return id;
}

/** Groups of predictions remembered since the last delta: a key, its size and time per group; labels flat. */
interface Pending {
  keys: string[];
  sizes: number[];
  labels: number[];
  at: number[];
}

function emptyPending(): Pending {
  return { keys: [], sizes: [], labels: [], at: [] };
}

function groupsOf(pending: Pending): MonitorDelta['predictions'] {
  let offset = 0;
  return pending.keys.map((key, i) => {
    const size = pending.sizes[i] as number;
    const group = [key, pending.labels.slice(offset, offset + size), pending.at[i] as number] as const;
    offset += size;
    return group;
  });
}

function isPredictor(source: Predictor | Manifest): source is Predictor {
  return typeof (source as Predictor).observe === 'function';
}

/** bin[n] for token counts 0..last edge, the exporter's rule: edges[i] <= n < edges[i + 1], else the last bin. */
function lengthBins(edges: readonly number[]): { table: Uint8Array | Uint16Array; last: number } {
  const bins = edges.length - 1;
  const top = edges[edges.length - 1] as number;
  const table = bins < 256 ? new Uint8Array(top + 1) : new Uint16Array(top + 1);
  for (let n = 0; n <= top; n += 1) {
    let bin = bins - 1;
    for (let i = 0; i < bins; i += 1) {
      if ((edges[i] as number) <= n && n < (edges[i + 1] as number)) {
        bin = i;
        break;
      }
    }
    table[n] = bin;
  }
  return { table, last: bins - 1 };
}

/**
 * A health monitor for one model.
 *
 * From a predictor it follows the predictor's `observe()` (every session run is counted); from a manifest it counts
 * only what is given to `record()` and `mergeDelta()` (the Workers aggregator). Thresholds default to
 * `defaultThresholds(manifest)`, overridden field by field by `options.thresholds`.
 * @throws ShipshapeError INPUT_INVALID when `options.thresholds` has an unknown field or a value out of range.
 */
export function createHealthMonitor(
  source: Predictor | Manifest,
  options: HealthMonitorOptions = {},
): HealthMonitor {
  const predictor = isPredictor(source) ? source : undefined;
  const manifest = predictor === undefined ? (source as Manifest) : predictor.bundle.manifest;
  const overrides = Object.fromEntries(
    Object.entries(options.thresholds ?? {}).filter(([, value]) => value !== undefined),
  );
  const thresholds: Thresholds = { ...defaultThresholds(manifest), ...parseThresholds(overrides) };
  const now = options.now ?? Date.now;
  const newId = options.newId ?? flatUuid;
  const warn = options.warn ?? ((message: string) => console.warn(message));
  const model = { name: manifest.name, version: manifest.version };
  const labels = manifest.labels;
  const labelIndex = new Map(labels.map((label, i) => [label, i]));
  const calibration =
    manifest.calibration === undefined ? undefined : new ConfidenceCalibration(manifest.calibration);
  const lengths = lengthBins(manifest.reference.tokenLength.edges);
  const shape: QualityShape = {
    labels: labels.length,
    lengthBins: manifest.reference.tokenLength.edges.length - 1,
    confidenceBins: calibration?.bins ?? 0,
  };
  const latencyRing = new BucketRing<LatencyBucket>(
    LATENCY_BUCKET_SECONDS,
    thresholds.latencyWindowSeconds,
    emptyLatencyBucket,
  );
  const qualityRing = new BucketRing<QualityBucket>(
    QUALITY_BUCKET_SECONDS,
    thresholds.qualityWindowSeconds,
    (start) => emptyQualityBucket(start, shape),
  );
  const inputs: CheckInputs = {
    thresholds,
    referenceLabels: labels.map((label) => manifest.reference.labelDistribution[label] ?? 0),
    referenceLengths: manifest.reference.tokenLength.counts,
    referenceOovRate: manifest.reference.oovRate,
    referenceTruncationRate: manifest.reference.truncationRate,
    hasCalibration: calibration !== undefined,
    latencySeconds: latencyRing.size * LATENCY_BUCKET_SECONDS,
    qualitySeconds: qualityRing.size * QUALITY_BUCKET_SECONDS,
  };
  const counts: Counts = emptyCounts(labels.length);
  let taken: Counts = emptyCounts(labels.length);
  const maxTracked = options.maxTrackedPredictions ?? DEFAULT_MAX_TRACKED_PREDICTIONS;
  const ledger = new PredictionLedger(maxTracked);
  // Groups of ids remembered since the last takeDelta(), in flat arrays (a tuple per group would cost more memory).
  let pending = emptyPending();
  let pendingPredictions = 0;
  const forwardsDeltas = options.forwardsDeltas ?? true;
  let deltaFrom: number | undefined;
  let deltaTo: number | undefined;
  let backend: string = predictor?.backend.backend ?? 'unknown';
  let evaluatedAt = Number.NEGATIVE_INFINITY;
  const alerts = new AlertBook({
    model,
    sinks: options.sinks ?? [],
    warn,
    onFired: (check) => increment(counts.alertsFired, check),
  });

  function touched(at: number): void {
    deltaFrom ??= at;
    deltaTo = at;
  }

  function checks(at: number): HealthCheck[] {
    const latency = sumBuckets(latencyRing.inWindow(at), emptyLatencyBucket);
    const quality = sumBuckets(qualityRing.inWindow(at), (start) => emptyQualityBucket(start, shape));
    return runChecks(latency, quality, inputs);
  }

  function evaluate(at: number): HealthCheck[] {
    const result = checks(at);
    evaluatedAt = at;
    alerts.evaluate(result, thresholds, at);
    return result;
  }

  // Evaluating without a sink would only build checks nobody hears of (a Worker isolate whose aggregator alerts);
  // `checkHealth()` still evaluates on every read.
  const hasSinks = (options.sinks ?? []).length > 0;
  function maybeEvaluate(at: number): void {
    if (hasSinks && at - evaluatedAt >= EVALUATE_EVERY_MS) evaluate(at);
  }

  function record(observation: RunObservation): void {
    const at = now();
    touched(at);
    backend = observation.backend;
    const n = observation.batchSize;
    const latency = latencyRing.at(at);
    latency.runs += 1;
    latency.items += n;
    const runBin = bucketIndex(LATENCY_BOUNDS_MS, observation.runMs);
    latency.runLatency[runBin] = (latency.runLatency[runBin] as number) + 1;
    const quality = qualityRing.at(at);
    quality.texts += n;
    quality.tokens += observation.tokens;
    quality.unknownTokens += observation.unknownTokens;
    quality.truncations += observation.truncations;
    for (let i = 0; i < n; i += 1) {
      const label = observation.labels[i];
      if (label !== undefined) {
        quality.labels[label] = (quality.labels[label] as number) + 1;
        counts.predictions[label] = (counts.predictions[label] as number) + 1;
      }
      const length = observation.lengths[i];
      if (length !== undefined) {
        const bin = length < lengths.table.length ? (lengths.table[length] as number) : lengths.last;
        quality.lengths[bin] = (quality.lengths[bin] as number) + 1;
      }
      const confidence = observation.confidences[i];
      if (calibration !== undefined && confidence !== undefined) {
        const bin = calibration.bin(confidence);
        quality.confidence[bin] = (quality.confidence[bin] as number) + 1;
        quality.expectedCorrect += calibration.accuracy[bin] as number;
      }
    }
    counts.texts += n;
    counts.runs += 1;
    counts.tokens += observation.tokens;
    counts.unknownTokens += observation.unknownTokens;
    counts.truncatedTexts += observation.truncations;
    observeHistogram(counts.runDurationMs, observation.runMs);
    observeHistogram(counts.batchSize, n);
    maybeEvaluate(at);
  }

  function recordRequest(request: RequestRecord): void {
    const at = now();
    touched(at);
    increment(counts.requests, requestKey(request.route, request.method, request.status));
    observeHistogram(routeHistogram(counts, request.route), request.durationMs);
    if (request.queueWaitMs !== undefined) observeHistogram(counts.queueWaitMs, request.queueWaitMs);
    const latency = latencyRing.at(at);
    if (request.errorCode !== undefined) {
      increment(counts.errors, request.errorCode);
      latency.errors[request.errorCode] = (latency.errors[request.errorCode] ?? 0) + 1;
    }
    if (request.inference) {
      latency.requests += 1;
      if (request.status >= 500) latency.serverErrors += 1;
      const bin = bucketIndex(LATENCY_BOUNDS_MS, request.durationMs);
      latency.latency[bin] = (latency.latency[bin] as number) + 1;
    }
    maybeEvaluate(at);
  }

  function track(key: string, labelIndices: readonly number[], at: number): void {
    ledger.remember(key, labelIndices);
    if (!forwardsDeltas) return;
    pending.keys.push(key);
    pending.sizes.push(labelIndices.length);
    for (const label of labelIndices) pending.labels.push(label);
    pending.at.push(at);
    pendingPredictions += labelIndices.length;
    // Nobody may be taking deltas (Node): keep the pending list as bounded as the ledger (dropping the older half at
    // once, so the cost per group stays constant).
    if (pendingPredictions > maxTracked) {
      const keep = Math.floor(pending.keys.length / 2);
      const dropped = pending.sizes.slice(0, keep).reduce((sum, size) => sum + size, 0);
      pending = {
        keys: pending.keys.slice(keep),
        sizes: pending.sizes.slice(keep),
        labels: pending.labels.slice(dropped),
        at: pending.at.slice(keep),
      };
      pendingPredictions -= dropped;
    }
  }

  function overall(result: readonly HealthCheck[]): HealthStatus {
    if (result.some((check) => check.status === 'bad' && check.severity === 'critical')) return 'failing';
    if (result.some((check) => check.status === 'bad')) return 'degraded';
    return 'ok';
  }

  function validateDelta(delta: MonitorDelta): void {
    if (delta.model.name !== model.name || delta.model.version !== model.version) {
      throw new ShipshapeError(
        'HEALTH_DELTA_MISMATCH',
        `A health delta of ${delta.model.name} ${delta.model.version} cannot be merged into the monitor of ${model.name} ${model.version}. Send each model's deltas to its own aggregator.`,
      );
    }
    for (const bucket of delta.buckets as Bucket[]) {
      const fits =
        bucket.kind === 'latency'
          ? bucket.latency.length === LATENCY_BOUNDS_MS.length + 1
          : bucket.kind === 'quality' &&
            bucket.labels.length === shape.labels &&
            bucket.lengths.length === shape.lengthBins &&
            bucket.confidence.length === shape.confidenceBins;
      if (!fits || !Number.isFinite(bucket.start)) {
        throw new ShipshapeError(
          'HEALTH_DELTA_MISMATCH',
          `A health delta of ${model.name} ${model.version} has a bucket whose bins differ from this monitor's (another bundle under the same name and version?). Re-export with a new version.`,
        );
      }
    }
  }

  const monitor: HealthMonitor = {
    manifest,
    thresholds,
    record,
    recordRequest,
    remember(label: string): string {
      return monitor.rememberAll([label])[0] as string;
    },
    rememberAll(predicted: readonly string[]): string[] {
      const indices = predicted.map((label) => {
        const index = labelIndex.get(label);
        if (index === undefined) {
          throw new ShipshapeError(
            'INPUT_INVALID',
            `Unknown label "${label}" for ${model.name}. Should be one of: ${labels.join(', ')}.`,
          );
        }
        return index;
      });
      if (indices.length === 0) return [];
      const at = now();
      touched(at);
      const key = newId();
      track(key, indices, at);
      return indices.map((_, i) => predictionId(key, i, indices.length));
    },
    feedback(id: string, trueLabel: string): FeedbackResult {
      const truth = labelIndex.get(trueLabel);
      if (truth === undefined) return { status: 'unknown_label', labels };
      const answer = ledger.answer(id);
      if (answer.status === 'unknown') return { status: 'unknown_id' };
      if (answer.status === 'duplicate') return { status: 'duplicate' };
      const at = now();
      touched(at);
      const correct = answer.labelIndex === truth;
      const quality = qualityRing.at(at);
      if (correct) {
        quality.feedbackCorrect += 1;
        counts.feedbackCorrect += 1;
      } else {
        quality.feedbackIncorrect += 1;
        counts.feedbackIncorrect += 1;
      }
      maybeEvaluate(at);
      return { status: 'recorded', correct };
    },
    checkHealth(): HealthReport {
      const at = now();
      const result = evaluate(at);
      const byName = Object.fromEntries(result.map((check) => [check.name, check])) as Record<
        CheckName,
        HealthCheck
      >;
      return {
        status: overall(result),
        model,
        checkedAt: new Date(at).toISOString(),
        checks: Object.fromEntries(CHECK_NAMES.map((name) => [name, byName[name]])) as Record<
          CheckName,
          HealthCheck
        >,
        alerts: alerts.firing(),
        windows: { latencySeconds: inputs.latencySeconds, qualitySeconds: inputs.qualitySeconds },
      };
    },
    totals(): MonitorTotals {
      return { model, backend, ...toTotals(counts, labels) };
    },
    alerts(): readonly AlertState[] {
      return alerts.all(now());
    },
    takeDelta(): MonitorDelta {
      const at = now();
      const current = toTotals(counts, labels);
      const change = emptyCounts(labels.length);
      addTotals(change, current, labels);
      addTotals(change, toTotals(taken, labels), labels, -1);
      taken = emptyCounts(labels.length);
      addTotals(taken, current, labels);
      const delta: MonitorDelta = {
        model,
        from: deltaFrom ?? at,
        to: deltaTo ?? at,
        buckets: [...latencyRing.takeChanges(), ...qualityRing.takeChanges()],
        predictions: groupsOf(pending),
        // Each monitor counts the alerts it fires itself (see addTotals).
        totals: { ...toTotals(change, labels), alertsFired: {} },
      };
      pending = emptyPending();
      pendingPredictions = 0;
      deltaFrom = undefined;
      deltaTo = undefined;
      return delta;
    },
    mergeDelta(delta: MonitorDelta): void {
      validateDelta(delta);
      const at = now();
      for (const bucket of delta.buckets as Bucket[]) {
        const ring: BucketRing<Bucket> = bucket.kind === 'latency' ? latencyRing : qualityRing;
        // A bucket from a clock ahead of ours counts as now; one older than the window counts only in the totals.
        const start = Math.min(bucket.start, at);
        if (start < ring.windowStart(at)) continue;
        addBucket(ring.at(start), bucket);
      }
      for (const [key, indices, when] of delta.predictions) {
        if (indices.every((label) => Number.isInteger(label) && label >= 0 && label < labels.length)) {
          track(key, indices, when);
        }
      }
      addTotals(counts, delta.totals, labels);
      if (delta.from <= delta.to) {
        deltaFrom = Math.min(deltaFrom ?? delta.from, delta.from);
        deltaTo = Math.max(deltaTo ?? delta.to, delta.to);
      }
      maybeEvaluate(at);
    },
    dispose(): void {
      stop?.();
      stop = undefined;
    },
  };
  let stop = predictor?.observe(record);
  return monitor;
}
