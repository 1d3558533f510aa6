// The Prometheus text exposition writer and the rendering of a monitor's totals and report into shipshape's families.
import { describe, expect, it } from 'vitest';
import {
  escapeLabelValue,
  Exposition,
  formatValue,
  METRIC_FAMILIES,
  renderEdgeMetrics,
  renderMonitorMetrics,
  scaleBound,
} from '../../edge/metrics.ts';
import {
  BATCH_SIZE_BOUNDS,
  CHECK_NAMES,
  LATENCY_BOUNDS_MS,
  type CheckName,
  type HealthCheck,
  type HealthReport,
  type Histogram,
  type MonitorTotals,
} from '../../runtime/monitor/types.ts';
import { promtoolProblems } from './promtool.ts';

function histogram(bounds: readonly number[], values: readonly number[]): Histogram {
  const counts = new Array<number>(bounds.length + 1).fill(0);
  for (const value of values) {
    const i = bounds.findIndex((bound) => value <= bound);
    counts[i === -1 ? bounds.length : i]! += 1;
  }
  return { bounds, counts, sum: values.reduce((a, b) => a + b, 0), count: values.length };
}

function check(name: CheckName, overrides: Partial<HealthCheck> = {}): HealthCheck {
  return {
    name,
    status: 'insufficient_data',
    ok: true,
    value: null,
    threshold: 0.1,
    direction: 'max',
    samples: 0,
    minSamples: 500,
    severity: 'warning',
    detail: `${name} detail`,
    ...overrides,
  };
}

const MODEL = { name: 'news-bag', version: '1.0.0' };

function sampleTotals(): MonitorTotals {
  return {
    model: MODEL,
    backend: 'native',
    texts: 3,
    runs: 2,
    tokens: 30,
    unknownTokens: 2,
    truncatedTexts: 0,
    predictionsByLabel: { World: 0, Sports: 2, Business: 1, 'Sci/Tech': 0 },
    requests: [
      { route: '/v1/predict', method: 'POST', status: 200, count: 2 },
      { route: '/healthz', method: 'GET', status: 200, count: 1 },
      { route: '/v1/predict', method: 'POST', status: 422, count: 1 },
    ],
    errorsByCode: { INPUT_INVALID: 1 },
    feedback: { correct: 1, incorrect: 0 },
    runDurationMs: histogram(LATENCY_BOUNDS_MS, [0.4, 2.5]),
    batchSize: histogram(BATCH_SIZE_BOUNDS, [1, 2]),
    requestDurationMs: {
      '/v1/predict': histogram(LATENCY_BOUNDS_MS, [1.5, 3, 0.2]),
      '/healthz': histogram(LATENCY_BOUNDS_MS, [0.1]),
    },
    queueWaitMs: histogram(LATENCY_BOUNDS_MS, [0, 0]),
    alertsFired: { oov_rate: 1 },
  };
}

function sampleReport(): HealthReport {
  const checks = Object.fromEntries(CHECK_NAMES.map((name) => [name, check(name)])) as Record<
    CheckName,
    HealthCheck
  >;
  checks.oov_rate = check('oov_rate', {
    status: 'bad',
    ok: false,
    value: 0.4,
    threshold: 0.05,
    samples: 600,
  });
  checks.label_drift = check('label_drift', {
    status: 'ok',
    value: 0.05,
    threshold: 0.2,
    samples: 600,
    stats: { psi: 0.01 },
  });
  checks.accuracy = check('accuracy', {
    status: 'insufficient_data',
    value: 1,
    threshold: 0.85,
    direction: 'min',
    samples: 1,
    minSamples: 100,
  });
  return {
    status: 'degraded',
    model: MODEL,
    checkedAt: '2026-12-03T10:00:00.000Z',
    checks,
    alerts: [
      {
        check: 'oov_rate',
        severity: 'warning',
        state: 'firing',
        since: '2026-12-03T09:59:00.000Z',
        lastSentAt: '2026-12-03T09:59:00.000Z',
        value: 0.4,
        threshold: 0.05,
        detail: 'oov',
        model: MODEL,
      },
    ],
    windows: { latencySeconds: 300, qualitySeconds: 3600 },
  };
}

describe('Exposition', () => {
  it('writes HELP and TYPE once per family, then its samples', () => {
    const text = new Exposition()
      .add(METRIC_FAMILIES.errors, [
        { labels: { code: 'A' }, value: 1 },
        { labels: { code: 'B' }, value: 2 },
      ])
      .text();
    expect(text).toBe(
      '# HELP shipshape_errors_total Error answers by error code.\n' +
        '# TYPE shipshape_errors_total counter\n' +
        'shipshape_errors_total{code="A"} 1\n' +
        'shipshape_errors_total{code="B"} 2\n',
    );
  });

  it('escapes backslashes, double quotes and line feeds in label values', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
  });

  it('spells infinities and NaN as the format does', () => {
    expect([Infinity, -Infinity, Number.NaN, 0.25].map(formatValue)).toEqual(['+Inf', '-Inf', 'NaN', '0.25']);
  });

  it('writes ms bounds as seconds without binary noise', () => {
    expect(LATENCY_BOUNDS_MS.map((bound) => scaleBound(bound, 1 / 1000)).slice(0, 4)).toEqual([
      0.0005, 0.001, 0.002, 0.003,
    ]);
    expect(scaleBound(100, 1 / 1000)).toBe(0.1);
    expect(String(scaleBound(300, 1 / 1000))).toBe('0.3');
  });

  it('writes histograms with cumulative buckets, +Inf, _sum and _count', () => {
    const text = new Exposition()
      .histogram(METRIC_FAMILIES.queueWait, [
        { histogram: histogram([1, 10], [0.5, 5, 5, 50]), scale: 1 / 1000 },
      ])
      .text();
    expect(text.split('\n').slice(2)).toEqual([
      'shipshape_queue_wait_seconds_bucket{le="0.001"} 1',
      'shipshape_queue_wait_seconds_bucket{le="0.01"} 3',
      'shipshape_queue_wait_seconds_bucket{le="+Inf"} 4',
      'shipshape_queue_wait_seconds_sum 0.0605',
      'shipshape_queue_wait_seconds_count 4',
      '',
    ]);
  });

  it('leaves out a family without samples', () => {
    expect(new Exposition().add(METRIC_FAMILIES.errors, []).text()).toBe('');
  });

  it('refuses a family written twice', () => {
    const out = new Exposition().add(METRIC_FAMILIES.texts, [{ value: 1 }]);
    expect(() => out.add(METRIC_FAMILIES.texts, [{ value: 2 }])).toThrow(/written twice/);
  });

  it('refuses a histogram whose counts do not fit its bounds', () => {
    const bad = { bounds: [1, 2], counts: [1, 2], sum: 3, count: 3 };
    expect(() => new Exposition().histogram(METRIC_FAMILIES.queueWait, [{ histogram: bad }])).toThrow(
      /2 counts for 2 bounds/,
    );
  });
});

describe('renderMonitorMetrics', () => {
  const text = renderMonitorMetrics(sampleTotals(), sampleReport());
  const lines = text.split('\n');

  it('counts requests by route, method and status in a stable order', () => {
    expect(lines.filter((line) => line.startsWith('shipshape_http_requests_total'))).toEqual([
      'shipshape_http_requests_total{route="/healthz",method="GET",status="200"} 1',
      'shipshape_http_requests_total{route="/v1/predict",method="POST",status="200"} 2',
      'shipshape_http_requests_total{route="/v1/predict",method="POST",status="422"} 1',
    ]);
  });

  it('exposes request durations in seconds with the shared latency buckets', () => {
    expect(lines).toContain(
      'shipshape_http_request_duration_seconds_bucket{route="/v1/predict",le="0.001"} 1',
    );
    expect(lines).toContain('shipshape_http_request_duration_seconds_bucket{route="/v1/predict",le="0.1"} 3');
    expect(lines).toContain('shipshape_http_request_duration_seconds_count{route="/v1/predict"} 3');
    expect(lines).toContain('shipshape_http_request_duration_seconds_sum{route="/v1/predict"} 0.0047');
  });

  it('exposes the model counters with the model label', () => {
    expect(lines).toEqual(
      expect.arrayContaining([
        'shipshape_model_info{model="news-bag",version="1.0.0",backend="native"} 1',
        'shipshape_texts_total{model="news-bag"} 3',
        'shipshape_tokens_total{model="news-bag"} 30',
        'shipshape_unknown_tokens_total{model="news-bag"} 2',
        'shipshape_truncated_texts_total{model="news-bag"} 0',
        'shipshape_predictions_total{model="news-bag",label="Sci/Tech"} 0',
        'shipshape_predictions_total{model="news-bag",label="Sports"} 2',
        'shipshape_feedback_total{model="news-bag",outcome="correct"} 1',
        'shipshape_feedback_total{model="news-bag",outcome="incorrect"} 0',
        'shipshape_alerts_fired_total{model="news-bag",check="oov_rate"} 1',
        'shipshape_alerts_fired_total{model="news-bag",check="accuracy"} 0',
        'shipshape_errors_total{code="INPUT_INVALID"} 1',
        'shipshape_inference_batch_size_bucket{model="news-bag",le="2"} 2',
      ]),
    );
  });

  it('gives a verdict gauge only for judged checks', () => {
    const ok = lines.filter((line) => line.startsWith('shipshape_health_check_ok'));
    expect(ok).toEqual([
      'shipshape_health_check_ok{model="news-bag",check="oov_rate"} 0',
      'shipshape_health_check_ok{model="news-bag",check="label_drift"} 1',
    ]);
  });

  it('gives a threshold for every check and a value only where there is one', () => {
    expect(lines.filter((line) => line.startsWith('shipshape_health_check_threshold'))).toHaveLength(
      CHECK_NAMES.length,
    );
    expect(lines.filter((line) => line.startsWith('shipshape_health_check_value'))).toEqual([
      'shipshape_health_check_value{model="news-bag",check="accuracy"} 1',
      'shipshape_health_check_value{model="news-bag",check="oov_rate"} 0.4',
      'shipshape_health_check_value{model="news-bag",check="label_drift"} 0.05',
    ]);
  });

  it('exposes the latency check in seconds', () => {
    const report = sampleReport();
    const checks = {
      ...report.checks,
      p95_latency: check('p95_latency', { status: 'ok', value: 25, threshold: 100, direction: 'max' }),
    };
    const latency = renderMonitorMetrics(sampleTotals(), { ...report, checks })
      .split('\n')
      .filter((line) => line.includes('check="p95_latency"') && line.startsWith('shipshape_health_check_'));
    expect(latency).toEqual([
      'shipshape_health_check_value{model="news-bag",check="p95_latency"} 0.025',
      'shipshape_health_check_threshold{model="news-bag",check="p95_latency"} 0.1',
      'shipshape_health_check_ok{model="news-bag",check="p95_latency"} 1',
    ]);
  });

  it('exposes drift as JS distance and PSI only for drift checks with a verdict', () => {
    expect(lines.filter((line) => line.startsWith('shipshape_drift_score'))).toEqual([
      'shipshape_drift_score{model="news-bag",check="label_drift",measure="js_distance"} 0.05',
      'shipshape_drift_score{model="news-bag",check="label_drift",measure="psi"} 0.01',
    ]);
  });

  it('marks the firing alert with 1 and every other check with 0', () => {
    const firing = lines.filter((line) => line.startsWith('shipshape_alert_firing'));
    expect(firing).toHaveLength(CHECK_NAMES.length);
    expect(firing.filter((line) => line.endsWith(' 1'))).toEqual([
      'shipshape_alert_firing{model="news-bag",check="oov_rate"} 1',
    ]);
  });

  it('exposes feedback accuracy and leaves out the estimate it does not have', () => {
    expect(lines.filter((line) => line.startsWith('shipshape_accuracy'))).toEqual([
      'shipshape_accuracy{model="news-bag",source="feedback"} 1',
    ]);
  });

  it('passes promtool check metrics, together with the edge gauges', () => {
    const edge = renderEdgeMetrics({
      admission: {
        inServiceTexts: 3,
        inServiceRequests: 1,
        queuedTexts: 0,
        queuedRequests: 0,
        admitted: 5,
        shed: 0,
        shedQueueFull: 0,
        shedDeadline: 0,
      },
      engine: { model: 'news-bag', backend: 'wasm', memoryBytes: 1_048_576 },
    });
    expect(promtoolProblems(text + edge)).toBe('');
  });
});

describe('renderEdgeMetrics', () => {
  it('writes the admission gauges, and the engine memory when known', () => {
    const admission = {
      inServiceTexts: 3,
      inServiceRequests: 1,
      queuedTexts: 7,
      queuedRequests: 1,
      admitted: 5,
      shed: 0,
      shedQueueFull: 0,
      shedDeadline: 0,
    };
    const without = renderEdgeMetrics({ admission });
    expect(without).toContain('shipshape_inflight_texts 3\n');
    expect(without).toContain('shipshape_queued_texts 7\n');
    expect(without).not.toContain('shipshape_engine_memory_bytes');
    expect(
      renderEdgeMetrics({ admission, engine: { model: 'news-bag', backend: 'wasm', memoryBytes: 65536 } }),
    ).toContain('shipshape_engine_memory_bytes{model="news-bag",backend="wasm"} 65536\n');
  });
});
