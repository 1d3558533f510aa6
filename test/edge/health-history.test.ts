// The dashboard's arithmetic without a browser: the metrics parser, counter rates, chart columns and the checks table.
import { describe, expect, it } from 'vitest';
import {
  CHARTS,
  checkRows,
  createHealthHistory,
  describeRefusal,
  describeScope,
  formatCheckValue,
  isErrorAnswer,
  isHealthReport,
  parseMetrics,
  pointOf,
  readCounters,
  type ChartSpec,
} from '../../edge/web/health-history.ts';
import {
  CHECK_NAMES,
  type CheckName,
  type HealthCheck,
  type HealthReport,
} from '../../runtime/monitor/types.ts';

function check(name: CheckName, fields: Partial<HealthCheck> = {}): HealthCheck {
  return {
    name,
    status: 'ok',
    ok: true,
    value: 0.01,
    threshold: 0.05,
    direction: name.includes('accuracy') ? 'min' : 'max',
    samples: 600,
    minSamples: 500,
    severity: 'warning',
    detail: `${name} is fine.`,
    ...fields,
  };
}

function report(
  checks: Partial<Record<CheckName, Partial<HealthCheck>>> = {},
  model = { name: 'news-bag', version: '1.0.0' },
): HealthReport {
  const all = Object.fromEntries(CHECK_NAMES.map((name) => [name, check(name, checks[name])]));
  return {
    status: 'ok',
    model,
    checkedAt: '2026-12-03T10:00:00.000Z',
    checks: all as Record<CheckName, HealthCheck>,
    alerts: [],
    windows: { latencySeconds: 300, qualitySeconds: 3600 },
  };
}

const METRICS = `# HELP shipshape_http_requests_total Requests answered.
# TYPE shipshape_http_requests_total counter
shipshape_http_requests_total{route="/v1/predict",method="POST",status="200"} 40
shipshape_http_requests_total{route="/v1/predict",method="POST",status="422"} 2
shipshape_http_requests_total{route="/v2/models/:name/infer",method="POST",status="200"} 8
shipshape_http_requests_total{route="/v1/health",method="GET",status="200"} 100
# TYPE shipshape_texts_total counter
shipshape_texts_total{model="news-bag"} 1200
shipshape_http_request_duration_seconds_bucket{route="/v1/predict",le="+Inf"} 42
shipshape_odd{note="a \\"quoted\\", {braced} value"} 3 1700000000000
`;

const chart = (key: string): ChartSpec => {
  const found = CHARTS.find((spec) => spec.key === key);
  if (found === undefined) throw new Error(`no chart ${key}`);
  return found;
};

describe('parseMetrics', () => {
  it('reads names, labels and values and skips comments', () => {
    const samples = parseMetrics(METRICS);
    expect(samples).toHaveLength(7);
    expect(samples[0]).toEqual({
      name: 'shipshape_http_requests_total',
      labels: { route: '/v1/predict', method: 'POST', status: '200' },
      value: 40,
    });
  });

  it('reads escaped quotes, commas and braces inside a label value, and a sample with a timestamp', () => {
    const odd = parseMetrics(METRICS).find((sample) => sample.name === 'shipshape_odd');
    expect(odd).toEqual({ name: 'shipshape_odd', labels: { note: 'a "quoted", {braced} value' }, value: 3 });
  });

  it('reads +Inf in a label and a sample without labels', () => {
    const samples = parseMetrics('up 1\nx_bucket{le="+Inf"} +Inf\n');
    expect(samples).toEqual([
      { name: 'up', labels: {}, value: 1 },
      { name: 'x_bucket', labels: { le: '+Inf' }, value: Infinity },
    ]);
  });

  it('skips a line it cannot read instead of failing', () => {
    expect(parseMetrics('broken{le="1" 2\nfine 3\nno_value\n')).toEqual([
      { name: 'fine', labels: {}, value: 3 },
    ]);
  });
});

describe('readCounters', () => {
  it('counts requests on the prediction routes only, every status, and every text', () => {
    expect(readCounters(parseMetrics(METRICS))).toEqual({ requests: 50, texts: 1200 });
  });

  it('counts POSTs only: a 405 GET and an OPTIONS preflight on a prediction route are not requests', () => {
    const exposition = [
      'shipshape_http_requests_total{route="/v1/predict",method="POST",status="200"} 5',
      'shipshape_http_requests_total{route="/v1/predict",method="GET",status="405"} 3',
      'shipshape_http_requests_total{route="/v1/predict",method="OPTIONS",status="204"} 7',
      'shipshape_http_requests_total{route="/v2/models/:name/infer",method="OPTIONS",status="204"} 11',
    ].join('\n');
    expect(readCounters(parseMetrics(exposition)).requests).toBe(5);
  });

  it('counts the versioned infer route with the other prediction routes', () => {
    const exposition = [
      'shipshape_http_requests_total{route="/v1/predict",method="POST",status="200"} 5',
      'shipshape_http_requests_total{route="/v2/models/:name/versions/:version/infer",method="POST",status="200"} 4',
      'shipshape_http_requests_total{route="/v2/models/:name/versions/:version/infer",method="POST",status="404"} 1',
    ].join('\n');
    expect(readCounters(parseMetrics(exposition)).requests).toBe(10);
  });

  it('says null for a counter the exposition does not have yet', () => {
    expect(readCounters(parseMetrics('# nothing yet\n'))).toEqual({ requests: null, texts: null });
  });
});

describe('the health history', () => {
  it('has no throughput on the first poll, then the counters change per second', () => {
    const history = createHealthHistory();
    const first = history.add({ at: 10_000, report: report(), counters: { requests: 10, texts: 300 } });
    const second = history.add({ at: 12_000, report: report(), counters: { requests: 30, texts: 940 } });
    expect([first?.requestsPerSecond, first?.textsPerSecond]).toEqual([null, null]);
    expect([second?.requestsPerSecond, second?.textsPerSecond]).toEqual([10, 320]);
  });

  it('leaves a gap instead of a negative rate when the counters went back (a restart)', () => {
    const history = createHealthHistory();
    history.add({ at: 0, report: report(), counters: { requests: 500, texts: 5000 } });
    const after = history.add({ at: 2000, report: report(), counters: { requests: 3, texts: 40 } });
    expect(after?.requestsPerSecond).toBeNull();
    expect(after?.textsPerSecond).toBeNull();
  });

  it('leaves a gap in throughput for a poll without counters', () => {
    const history = createHealthHistory();
    history.add({ at: 0, report: report(), counters: { requests: 1, texts: 1 } });
    history.add({ at: 2000, report: report() });
    const third = history.add({ at: 4000, report: report(), counters: { requests: 9, texts: 9 } });
    expect(history.points[1]?.requestsPerSecond).toBeNull();
    expect(third?.requestsPerSecond).toBeNull();
  });

  it('takes each chart value and its threshold from the checks, and p50/p99 from the latency stats', () => {
    const point = pointOf({
      at: 5000,
      report: report({
        p95_latency: { value: 12.5, threshold: 100, stats: { p50: 4, p99: 30 } },
        oov_rate: { value: 0.41, threshold: 0.05 },
        label_drift: { value: 0.3, threshold: 0.1 },
        length_drift: { value: null, threshold: 0.15 },
        estimated_accuracy: { value: 0.87, threshold: 0.8 },
      }),
    });
    expect(point).toMatchObject({
      time: 5,
      p50LatencyMs: 4,
      p95LatencyMs: 12.5,
      p99LatencyMs: 30,
      maxP95LatencyMs: 100,
      oovRate: 0.41,
      maxOovRate: 0.05,
      labelDrift: 0.3,
      maxLabelDrift: 0.1,
      lengthDrift: null,
      maxLengthDrift: 0.15,
      estimatedAccuracy: 0.87,
      minEstimatedAccuracy: 0.8,
    });
  });

  it('leaves p50 and p99 as gaps when the latency check carries no such stats', () => {
    const point = pointOf({ at: 0, report: report({ p95_latency: { value: 9 } }) });
    expect([point.p50LatencyMs, point.p95LatencyMs, point.p99LatencyMs]).toEqual([null, 9, null]);
  });

  it("gives each chart the time column, then one column per series, in the chart's order", () => {
    const history = createHealthHistory();
    history.add({ at: 1000, report: report({ oov_rate: { value: 0.02 } }) });
    history.add({ at: 3000, report: report({ oov_rate: { value: 0.3 } }) });
    expect(history.columns(chart('oov'))).toEqual([
      [1, 3],
      [0.02, 0.3],
      [0.05, 0.05],
    ]);
    expect(history.columns(chart('drift'))).toHaveLength(1 + chart('drift').series.length);
  });

  it('drops a poll that started before the last one added, so time only goes forward', () => {
    const history = createHealthHistory();
    history.add({ at: 4000, report: report(), counters: { requests: 10, texts: 10 } });
    expect(history.add({ at: 3000, report: report(), counters: { requests: 8, texts: 8 } })).toBeUndefined();
    expect(history.points.map((point) => point.time)).toEqual([4]);
  });

  it('keeps only the newest polls up to its capacity', () => {
    const history = createHealthHistory(3);
    for (let i = 0; i < 5; i++) history.add({ at: i * 1000, report: report() });
    expect(history.points.map((point) => point.time)).toEqual([2, 3, 4]);
  });

  it('starts again when the service answers for another model version', () => {
    const history = createHealthHistory();
    history.add({ at: 0, report: report(), counters: { requests: 1, texts: 1 } });
    const swapped = history.add({
      at: 2000,
      report: report({}, { name: 'news-bag', version: '1.1.0' }),
      counters: { requests: 5, texts: 5 },
    });
    expect(history.points).toHaveLength(1);
    expect(swapped?.requestsPerSecond).toBeNull();
  });
});

describe('the checks table', () => {
  it('has one row per check in report order, with status, value, threshold and samples', () => {
    const rows = checkRows(
      report({ oov_rate: { status: 'bad', ok: false, value: 0.4123, samples: 800, minSamples: 500 } }),
    );
    expect(rows.map((row) => row.name)).toEqual([...CHECK_NAMES]);
    expect(rows.find((row) => row.name === 'oov_rate')).toMatchObject({
      status: 'bad',
      value: '41.23 %',
      threshold: '≤ 5.00 %',
      samples: '800 / 500',
    });
  });

  it('shows a floor with ≥ and a missing value as a dash', () => {
    const rows = checkRows(report({ accuracy: { status: 'unavailable', value: null, threshold: 0.85 } }));
    expect(rows.find((row) => row.name === 'accuracy')).toMatchObject({ value: '–', threshold: '≥ 85.00 %' });
  });

  it('formats latency in ms, rates as percentages and distances with three decimals', () => {
    expect(formatCheckValue('p95_latency', 12.345)).toBe('12.3 ms');
    expect(formatCheckValue('error_rate', 0.001)).toBe('0.10 %');
    expect(formatCheckValue('length_drift', 0.12345)).toBe('0.123');
  });
});

describe('answers that are not reports', () => {
  it('tells a report from an error answer', () => {
    expect(isHealthReport(report({}))).toBe(true);
    expect(isHealthReport({ error: { code: 'NOT_READY', message: 'loading' } })).toBe(false);
    expect(isHealthReport(undefined)).toBe(false);
  });

  it('takes only a body with a string code and message for an error answer', () => {
    expect(isErrorAnswer({ error: { code: 'NOT_READY', message: 'loading' } })).toBe(true);
    expect(isErrorAnswer({ error: 'NOT_READY' })).toBe(false);
    expect(isErrorAnswer({ error: { code: 503, message: 'loading' } })).toBe(false);
    expect(isErrorAnswer(report({}))).toBe(false);
    expect(isErrorAnswer(undefined)).toBe(false);
  });

  it('asks for the token on 401', () => {
    const text = describeRefusal(401, { error: { code: 'UNAUTHORIZED', message: 'Missing bearer token.' } });
    expect(text).toBe("401 UNAUTHORIZED: Missing bearer token. Enter the service's token above.");
  });

  it('says the page keeps polling while the model loads', () => {
    const text = describeRefusal(503, { error: { code: 'NOT_READY', message: 'The model is loading.' } });
    expect(text).toBe('503 NOT_READY: The model is loading. The dashboard keeps polling.');
  });
});

describe('the banner', () => {
  it("says whose report a Worker's answer is, and nothing for Node's", () => {
    expect(describeScope({ ...report(), scope: 'service' })).toBe('all isolates');
    expect(describeScope({ ...report(), scope: 'isolate' })).toBe('this isolate only (no HEALTH binding)');
    expect(describeScope(report())).toBe('');
  });
});
