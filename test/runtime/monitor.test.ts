// The health monitor on news-bag's manifest with an injected clock: windows, verdicts, alerts, feedback and deltas.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { manifestSchema, type Manifest } from '../../runtime/bundle/manifest.ts';
import { hasErrorCode } from '../../runtime/errors.ts';
import {
  createHealthMonitor,
  defaultThresholds,
  parseThresholds,
  type AlertEvent,
  type AlertSink,
  type HealthMonitor,
  type HealthMonitorOptions,
  type MonitorDelta,
  type RequestRecord,
} from '../../runtime/monitor/index.ts';
import type { RunObservation } from '../../runtime/types.ts';
import { bundleDir } from '../helpers/bundle-copy.ts';

/** news-bag's manifest without its calibration section (as bundles exported before it), unless a test adds one. */
const manifest: Manifest = withoutCalibration(
  manifestSchema.parse(JSON.parse(readFileSync(join(bundleDir('news-bag'), 'manifest.json'), 'utf8'))),
);

function withoutCalibration(full: Manifest): Manifest {
  const copy = { ...full };
  delete copy.calibration;
  return copy;
}
const T0 = Date.parse('2026-12-03T10:00:00Z');

/** A clock the test moves. */
function clock(start = T0): { now: () => number; advance: (seconds: number) => void } {
  let t = start;
  return { now: () => t, advance: (seconds) => (t += seconds * 1000) };
}

/** A sink that keeps what it gets. */
function collector(): AlertSink & { events: AlertEvent[] } {
  const events: AlertEvent[] = [];
  return { name: 'collector', events, send: (event) => void events.push(event) };
}

interface Texts {
  readonly n: number;
  readonly label?: number;
  readonly length?: number;
  readonly confidence?: number;
  /** Unknown tokens per text. */
  readonly unknown?: number;
}

/** A session run of `n` texts, each `length` tokens (default 30), all predicted `label`. */
function run({ n, label = 0, length = 30, confidence = 0.9, unknown = 0 }: Texts): RunObservation {
  return {
    backend: 'native',
    batchSize: n,
    runMs: 2,
    totalMs: 3,
    tokens: n * length,
    unknownTokens: n * unknown,
    truncations: length > manifest.preprocessing.maxLen ? n : 0,
    labels: new Array<number>(n).fill(label),
    confidences: new Array<number>(n).fill(confidence),
    lengths: new Array<number>(n).fill(length),
  };
}

/** In-distribution texts: labels and lengths in the reference's proportions, OOV at the reference rate. */
function referenceRuns(texts: number): RunObservation[] {
  const runs: RunObservation[] = [];
  const { edges, counts } = manifest.reference.tokenLength;
  const total = counts.reduce((a, b) => a + b, 0);
  counts.forEach((count, bin) => {
    const inBin = Math.round((texts * count) / total);
    for (let label = 0; label < 4; label += 1) {
      const n = Math.round(inBin / 4);
      if (n > 0) runs.push(run({ n, label, length: (edges[bin] as number) + 3 }));
    }
  });
  return runs;
}

function request(durationMs: number, status = 200, extra: Partial<RequestRecord> = {}): RequestRecord {
  return { route: '/v1/predict', method: 'POST', inference: true, durationMs, status, texts: 1, ...extra };
}

function monitorWith(options: HealthMonitorOptions = {}): HealthMonitor {
  return createHealthMonitor(manifest, { warn: () => undefined, ...options });
}

describe('verdicts and windows', () => {
  it('gives no verdict and raises no alert on a handful of bad requests and texts', () => {
    const sink = collector();
    const time = clock();
    const monitor = monitorWith({ now: time.now, sinks: [sink] });
    for (let i = 0; i < 5; i += 1) {
      monitor.record(run({ n: 2, label: 1, length: 200, unknown: 50 }));
      monitor.recordRequest(request(5000, 500, { errorCode: 'BACKEND_FAILED' }));
      time.advance(1);
    }
    const report = monitor.checkHealth();
    expect(report.status).toBe('ok');
    expect(Object.values(report.checks).map((check) => check.status)).toEqual([
      'unavailable',
      'unavailable',
      'insufficient_data',
      'insufficient_data',
      'insufficient_data',
      'insufficient_data',
      'insufficient_data',
      'insufficient_data',
    ]);
    expect(sink.events).toEqual([]);
  });

  it('turns the checks bad once a single-label, unknown-word-heavy, overlong stream reaches minTexts', () => {
    const monitor = monitorWith({ now: clock().now });
    for (let i = 0; i < 50; i += 1) monitor.record(run({ n: 10, label: 1, length: 200, unknown: 50 }));
    const { checks, status } = monitor.checkHealth();
    expect(status).toBe('degraded');
    expect(
      [checks.oov_rate, checks.truncation_rate, checks.label_drift, checks.length_drift].map((c) => c.status),
    ).toEqual(['bad', 'bad', 'bad', 'bad']);
    expect(checks.oov_rate.value).toBeCloseTo(0.25, 12);
    expect(checks.truncation_rate.value).toBe(1);
    expect(checks.label_drift.stats?.psi).toBeGreaterThan(0.25);
  });

  it('finds no drift, OOV or truncation in texts in the reference proportions', () => {
    const monitor = monitorWith({ now: clock().now });
    for (const observation of referenceRuns(2000)) monitor.record(observation);
    const { checks } = monitor.checkHealth();
    expect(
      [checks.label_drift, checks.length_drift, checks.oov_rate, checks.truncation_rate].map((c) => c.status),
    ).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(checks.label_drift.value).toBeLessThan(0.01);
    expect(checks.length_drift.value).toBeLessThan(0.05);
  });

  it('judges OOV by the lower bound: a rate just over the ceiling on few tokens is not bad', () => {
    const ceiling = defaultThresholds(manifest).maxOovRate;
    const monitor = monitorWith({ now: clock().now, thresholds: { minTexts: 10 } });
    // 20 texts of 10 tokens, a rate of 1.5 x the ceiling: the 99% lower bound on 200 tokens is below it.
    const unknown = Math.ceil(ceiling * 1.5 * 10 * 20);
    monitor.record({ ...run({ n: 20, length: 10 }), unknownTokens: unknown });
    const check = monitor.checkHealth().checks.oov_rate;
    expect(check.value).toBeGreaterThan(ceiling);
    expect(check.stats?.lowerBound).toBeLessThan(ceiling);
    expect(check.status).toBe('ok');
  });

  it('computes p95 from the inference requests only, interpolated within the bucket', () => {
    const monitor = monitorWith({ now: clock().now });
    for (let i = 0; i < 100; i += 1) monitor.recordRequest(request(9));
    for (let i = 0; i < 100; i += 1)
      monitor.recordRequest(request(900, 200, { route: '/metrics', inference: false }));
    const check = monitor.checkHealth().checks.p95_latency;
    // 100 requests in (8, 10]: the 95th is 95% of the way through the bucket.
    expect(check.value).toBeCloseTo(9.9, 9);
    expect(check.samples).toBe(100);
    expect(check.status).toBe('ok');
  });

  it('counts only 5xx answers to prediction requests as errors, and a failing error rate makes the report failing', () => {
    const monitor = monitorWith({ now: clock().now });
    for (let i = 0; i < 95; i += 1) monitor.recordRequest(request(5));
    for (let i = 0; i < 5; i += 1) monitor.recordRequest(request(5, 422, { errorCode: 'INPUT_INVALID' }));
    expect(monitor.checkHealth().checks.error_rate).toMatchObject({ status: 'ok', value: 0 });
    for (let i = 0; i < 3; i += 1) monitor.recordRequest(request(5, 503, { errorCode: 'OVERLOADED' }));
    const report = monitor.checkHealth();
    expect(report.checks.error_rate).toMatchObject({ status: 'bad', severity: 'critical' });
    // Rates are reported to 6 decimals.
    expect(report.checks.error_rate.value).toBeCloseTo(3 / 103, 6);
    expect(report.status).toBe('failing');
  });

  it('forgets requests older than the latency window', () => {
    const time = clock();
    const monitor = monitorWith({ now: time.now });
    for (let i = 0; i < 100; i += 1) monitor.recordRequest(request(500));
    expect(monitor.checkHealth().checks.p95_latency.status).toBe('bad');
    time.advance(300);
    const check = monitor.checkHealth().checks.p95_latency;
    expect(check).toMatchObject({ status: 'insufficient_data', samples: 0, value: null });
  });

  it('keeps texts for the quality window and forgets them after it', () => {
    const time = clock();
    const monitor = monitorWith({ now: time.now });
    monitor.record(run({ n: 600, label: 2 }));
    time.advance(3540);
    expect(monitor.checkHealth().checks.label_drift.samples).toBe(600);
    time.advance(60);
    expect(monitor.checkHealth().checks.label_drift.samples).toBe(0);
    expect(monitor.totals().texts).toBe(600);
  });

  it('says why the estimated accuracy is unavailable for a bundle without calibration', () => {
    const monitor = monitorWith({ now: clock().now });
    monitor.record(run({ n: 600 }));
    const check = monitor.checkHealth().checks.estimated_accuracy;
    expect(check.status).toBe('unavailable');
    expect(check.detail).toMatch(/no calibration section/);
  });

  it('estimates accuracy as the mean calibrated accuracy of the predictions confidence bins', () => {
    const calibrated: Manifest = {
      ...manifest,
      calibration: {
        split: 'validation',
        examples: 2000,
        method: 'histogram-binning',
        edges: [0, 0.5, 0.8, 1],
        counts: [100, 600, 1300],
        accuracy: [0.4, 0.7, 0.95],
      },
    };
    const monitor = createHealthMonitor(calibrated, { now: clock().now });
    monitor.record(run({ n: 300, confidence: 0.99 }));
    monitor.record(run({ n: 100, confidence: 0.6 }));
    monitor.record(run({ n: 100, confidence: 0.8 }));
    monitor.record(run({ n: 100, confidence: 0.2 }));
    const check = monitor.checkHealth().checks.estimated_accuracy;
    // 0.8 sits on an edge and counts in the bin above it; 0.817 is below news-bag's floor of 0.841.
    expect(check.value).toBeCloseTo((400 * 0.95 + 100 * 0.7 + 100 * 0.4) / 600, 6);
    expect(check.status).toBe('bad');
  });
});

describe('feedback', () => {
  it('records feedback once per prediction id and says whether the prediction was right', () => {
    const ids = ['a', 'b'];
    const monitor = monitorWith({ now: clock().now, newId: () => ids.shift() ?? 'none' });
    const a = monitor.remember('Sports');
    const b = monitor.remember('World');
    expect([monitor.feedback(a, 'Sports'), monitor.feedback(b, 'Business')]).toEqual([
      { status: 'recorded', correct: true },
      { status: 'recorded', correct: false },
    ]);
    expect(monitor.feedback(a, 'Sports')).toEqual({ status: 'duplicate' });
    expect(monitor.totals().feedback).toEqual({ correct: 1, incorrect: 1 });
    expect(monitor.checkHealth().checks.accuracy).toMatchObject({
      status: 'insufficient_data',
      value: 0.5,
      samples: 2,
    });
  });

  it('answers unknown_id for an id it never issued and unknown_label with the labels for a label the model lacks', () => {
    const monitor = monitorWith({ now: clock().now });
    const id = monitor.remember('Sports');
    expect(monitor.feedback('nope', 'Sports')).toEqual({ status: 'unknown_id' });
    expect(monitor.feedback(id, 'Weather')).toEqual({ status: 'unknown_label', labels: manifest.labels });
  });

  it('forgets the oldest prediction ids past maxTrackedPredictions', () => {
    let n = 0;
    const monitor = monitorWith({
      now: clock().now,
      maxTrackedPredictions: 3,
      newId: () => `id-${(n += 1)}`,
    });
    for (let i = 0; i < 5; i += 1) monitor.remember('World');
    expect(
      ['id-1', 'id-2', 'id-3', 'id-4', 'id-5'].map((id) => monitor.feedback(id, 'World').status),
    ).toEqual(['unknown_id', 'unknown_id', 'recorded', 'recorded', 'recorded']);
  });

  it('does not call an accuracy just below the floor bad while its upper bound is above it', () => {
    const monitor = monitorWith({ now: clock().now });
    for (let i = 0; i < 100; i += 1) monitor.feedback(monitor.remember('World'), i < 82 ? 'World' : 'Sports');
    const check = monitor.checkHealth().checks.accuracy;
    expect([check.status, check.value]).toEqual(['ok', 0.82]);
    expect(check.stats?.upperBound).toBeGreaterThan(0.841);
  });

  it('keeps no more ids waiting for takeDelta than maxTrackedPredictions, the newest ones', () => {
    let n = 0;
    const monitor = monitorWith({
      now: clock().now,
      maxTrackedPredictions: 4,
      newId: () => `id-${(n += 1)}`,
    });
    for (let i = 0; i < 10; i += 1) monitor.remember('World');
    const ids = monitor.takeDelta().predictions.map(([id]) => id);
    expect(ids.length).toBeLessThanOrEqual(4);
    expect(ids.at(-1)).toBe('id-10');
  });

  it('turns accuracy bad when enough feedback says the model is wrong', () => {
    const monitor = monitorWith({ now: clock().now });
    for (let i = 0; i < 100; i += 1) monitor.feedback(monitor.remember('World'), i < 70 ? 'World' : 'Sports');
    expect(monitor.checkHealth().checks.accuracy).toMatchObject({ status: 'bad', value: 0.7, samples: 100 });
  });
});

describe('alerts', () => {
  /** Replaces the latency window's requests with 100 taking `ms` each. */
  function latencyPhase(monitor: HealthMonitor, time: ReturnType<typeof clock>, ms: number): void {
    time.advance(301);
    for (let i = 0; i < 100; i += 1) monitor.recordRequest(request(ms));
    monitor.checkHealth();
  }

  it('fires once when a check turns bad, however often it is checked', () => {
    const sink = collector();
    const time = clock();
    const monitor = monitorWith({ now: time.now, sinks: [sink] });
    latencyPhase(monitor, time, 150);
    for (let i = 0; i < 10; i += 1) {
      time.advance(5);
      monitor.checkHealth();
    }
    expect(sink.events.map((e) => [e.kind, e.alert.check])).toEqual([['firing', 'p95_latency']]);
    expect(monitor.totals().alertsFired).toEqual({ p95_latency: 1 });
    expect(monitor.checkHealth().alerts).toMatchObject([
      { check: 'p95_latency', state: 'firing', severity: 'critical' },
    ]);
  });

  it('repeats a firing alert after alertRepeatSeconds and not before', () => {
    const sink = collector();
    const time = clock();
    const monitor = monitorWith({ now: time.now, sinks: [sink], thresholds: { alertRepeatSeconds: 600 } });
    latencyPhase(monitor, time, 150);
    latencyPhase(monitor, time, 150);
    expect(sink.events.map((e) => e.kind)).toEqual(['firing']);
    latencyPhase(monitor, time, 150);
    expect(sink.events.map((e) => e.kind)).toEqual(['firing', 'repeat']);
  });

  it('does not flap on a value on the line and resolves only inside the margin', () => {
    const sink = collector();
    const time = clock();
    const monitor = monitorWith({ now: time.now, sinks: [sink] });
    // The ceiling is 100 ms; with a margin of 0.1 the alert resolves at or below 90 ms.
    for (const ms of [101, 99, 101, 99, 95]) latencyPhase(monitor, time, ms);
    expect(sink.events.map((e) => e.kind)).toEqual(['firing']);
    expect(monitor.checkHealth().checks.p95_latency.status).toBe('ok');
    latencyPhase(monitor, time, 50);
    expect(sink.events.map((e) => e.kind)).toEqual(['firing', 'resolved']);
    expect(monitor.alerts()).toMatchObject([{ check: 'p95_latency', state: 'resolved' }]);
    expect(monitor.checkHealth().alerts).toEqual([]);
  });

  it('neither resolves nor repeats an alert while its check has too little data', () => {
    const sink = collector();
    const time = clock();
    const monitor = monitorWith({ now: time.now, sinks: [sink], thresholds: { alertRepeatSeconds: 60 } });
    latencyPhase(monitor, time, 150);
    time.advance(600);
    expect(monitor.checkHealth().checks.p95_latency.status).toBe('insufficient_data');
    expect(sink.events.map((e) => e.kind)).toEqual(['firing']);
    expect(monitor.alerts()).toMatchObject([{ check: 'p95_latency', state: 'firing' }]);
  });

  it('fires one alert per bad check while traffic flows, without anyone calling checkHealth', () => {
    const sink = collector();
    const time = clock();
    const monitor = monitorWith({ now: time.now, sinks: [sink] });
    for (let i = 0; i < 100; i += 1) {
      monitor.record(run({ n: 10, label: 3 }));
      time.advance(0.1);
    }
    // One label and one length: both distributions drift; OOV and truncation stay ok.
    expect(sink.events.map((e) => [e.kind, e.alert.check])).toEqual([
      ['firing', 'label_drift'],
      ['firing', 'length_drift'],
    ]);
  });

  it('reports a failing sink through warn at most once a minute and keeps checking (a fake sink that throws)', async () => {
    const warnings: string[] = [];
    const time = clock();
    const throwing: AlertSink = {
      name: 'broken',
      send: () => {
        throw new Error('disk full');
      },
    };
    const rejecting: AlertSink = {
      name: 'offline',
      send: () => Promise.reject(new Error('connection refused')),
    };
    const monitor = createHealthMonitor(manifest, {
      now: time.now,
      sinks: [throwing, rejecting],
      warn: (message) => warnings.push(message),
      thresholds: { alertRepeatSeconds: 10 },
    });
    latencyPhase(monitor, time, 150);
    time.advance(20);
    expect(monitor.checkHealth().alerts).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(warnings).toEqual([
      'shipshape: alert sink "broken" failed to deliver the firing p95_latency alert: disk full',
      'shipshape: alert sink "offline" failed to deliver the firing p95_latency alert: connection refused',
    ]);
    time.advance(60);
    monitor.checkHealth();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(warnings).toHaveLength(4);
  });
});

describe('deltas', () => {
  /** The same traffic, split over three isolates or all in one monitor. */
  function traffic(index: number): { runs: RunObservation[]; requests: RequestRecord[] } {
    return {
      runs: [
        run({ n: 7 + index, label: index % 4, length: 10 + 20 * index, unknown: index }),
        ...referenceRuns(300),
      ],
      requests: [
        request(3 + index),
        request(40 * index, 503, { errorCode: 'OVERLOADED', queueWaitMs: 12 }),
        request(7, 200, { route: '/metrics', method: 'GET', inference: false }),
      ],
    };
  }

  it('makes an aggregator fed the deltas of three monitors agree with one monitor fed everything', () => {
    const time = clock();
    const whole = monitorWith({ now: time.now });
    const isolates = [0, 1, 2].map(() => monitorWith({ now: time.now }));
    const aggregate = createHealthMonitor(manifest, { now: time.now, warn: () => undefined });
    for (let round = 0; round < 4; round += 1) {
      isolates.forEach((isolate, index) => {
        const { runs, requests } = traffic(index + round);
        for (const observation of runs) {
          isolate.record(observation);
          whole.record(observation);
        }
        for (const record of requests) {
          isolate.recordRequest(record);
          whole.recordRequest(record);
        }
      });
      time.advance(45);
      // Every other round the isolates flush: deltas hold several buckets, and travel as JSON.
      if (round % 2 === 1) {
        for (const isolate of isolates)
          aggregate.mergeDelta(JSON.parse(JSON.stringify(isolate.takeDelta())) as MonitorDelta);
      }
    }
    // A delta carries no backend (the aggregator's own is "unknown"); everything else must agree.
    expect({ ...aggregate.totals(), backend: 'native' }).toEqual(whole.totals());
    const fromDeltas = aggregate.checkHealth();
    const fromAll = whole.checkHealth();
    expect(fromDeltas).toEqual(fromAll);
    expect(fromAll.checks.label_drift.samples).toBeGreaterThan(1000);
  });

  it('sends each count once: a second delta without new traffic is empty', () => {
    const monitor = monitorWith({ now: clock().now });
    monitor.record(run({ n: 5 }));
    monitor.recordRequest(request(4));
    expect(monitor.takeDelta().totals.texts).toBe(5);
    const again = monitor.takeDelta();
    expect([again.buckets, again.totals.texts, again.totals.requests, again.predictions]).toEqual([
      [],
      0,
      [],
      [],
    ]);
  });

  it('lets the aggregator take feedback on a prediction an isolate remembered', () => {
    const time = clock();
    const isolate = monitorWith({ now: time.now, newId: () => 'p-1' });
    const aggregate = monitorWith({ now: time.now });
    const id = isolate.remember('Business');
    aggregate.mergeDelta(isolate.takeDelta());
    expect(aggregate.feedback(id, 'Business')).toEqual({ status: 'recorded', correct: true });
  });

  it("remembers a request's predictions under one key, each answerable by its own id, here and in the aggregate", () => {
    const time = clock();
    const isolate = monitorWith({ now: time.now, newId: () => 'req-7' });
    const aggregate = monitorWith({ now: time.now });
    const ids = isolate.rememberAll(['World', 'Sports', 'Sports']);
    expect(ids).toEqual(['req-7.0', 'req-7.1', 'req-7.2']);
    const delta = isolate.takeDelta();
    expect(delta.predictions).toEqual([['req-7', [0, 1, 1], T0]]);
    aggregate.mergeDelta(JSON.parse(JSON.stringify(delta)) as typeof delta);
    expect(aggregate.feedback('req-7.1', 'Sports')).toEqual({ status: 'recorded', correct: true });
    expect(aggregate.feedback('req-7.2', 'World')).toEqual({ status: 'recorded', correct: false });
    expect(aggregate.feedback('req-7.1', 'Sports')).toEqual({ status: 'duplicate' });
    expect(isolate.feedback('req-7.0', 'World')).toEqual({ status: 'recorded', correct: true });
  });

  it('refuses a delta of another model version with HEALTH_DELTA_MISMATCH', () => {
    const other = createHealthMonitor({ ...manifest, version: '2.0.0' }, { now: clock().now });
    other.record(run({ n: 1 }));
    const delta = other.takeDelta();
    let thrown: unknown;
    try {
      monitorWith().mergeDelta(delta);
    } catch (error) {
      thrown = error;
    }
    expect(hasErrorCode(thrown, 'HEALTH_DELTA_MISMATCH')).toBe(true);
    expect((thrown as Error).message).toBe(
      "A health delta of news-bag 2.0.0 cannot be merged into the monitor of news-bag 1.0.0. Send each model's deltas to its own aggregator.",
    );
  });
});

describe('thresholds', () => {
  it('refuses a p95 ceiling above the top latency bucket (10 s), which no measured p95 could cross', () => {
    expect(parseThresholds({ maxP95LatencyMs: 10_000 })).toEqual({ maxP95LatencyMs: 10_000 });
    let thrown: unknown;
    try {
      parseThresholds({ maxP95LatencyMs: 20_000 }, 'SHIPSHAPE_HEALTH_THRESHOLDS');
    } catch (error) {
      thrown = error;
    }
    expect(hasErrorCode(thrown, 'INPUT_INVALID')).toBe(true);
    expect((thrown as Error).message).toMatch(
      /^Invalid health thresholds in SHIPSHAPE_HEALTH_THRESHOLDS: maxP95LatencyMs: /,
    );
  });

  it('derives news-bag defaults from its manifest and the SLA', () => {
    expect(defaultThresholds(manifest, { maxP95LatencyMs: 80 })).toMatchObject({
      minAccuracy: 0.841,
      minEstimatedAccuracy: 0.841,
      maxP95LatencyMs: 80,
      maxErrorRate: 0.01,
      // max(2 x 0.017445, 0.017445 + 0.02) and max(2 x 0.05575, 0.05575 + 0.05)
      maxOovRate: 0.037445,
      maxTruncationRate: 0.1115,
      maxLabelDrift: 0.15,
      maxLengthDrift: 0.15,
      minTexts: 500,
    });
  });

  it('takes overrides field by field', () => {
    const monitor = monitorWith({ thresholds: { maxOovRate: 0.2, minTexts: 50 } });
    expect([
      monitor.thresholds.maxOovRate,
      monitor.thresholds.minTexts,
      monitor.thresholds.minRequests,
    ]).toEqual([0.2, 50, 100]);
  });

  it('refuses an unknown threshold field with INPUT_INVALID naming it', () => {
    let thrown: unknown;
    try {
      monitorWith({ thresholds: { maxOOVRate: 0.2 } as never });
    } catch (error) {
      thrown = error;
    }
    expect(hasErrorCode(thrown, 'INPUT_INVALID')).toBe(true);
    expect((thrown as Error).message).toMatch(/maxOOVRate/);
  });
});
