// GET /metrics on the real Node server (news-bag, onnxruntime-node): the counts after real traffic, promtool, auth.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../edge/app.ts';
import { readConfig } from '../../edge/config.ts';
import { createLog } from '../../edge/log.ts';
import { defaultThresholds } from '../../runtime/monitor/index.ts';
import { CHECK_NAMES, type CheckName } from '../../runtime/monitor/types.ts';
import { createPredictor, loadBundle } from '../../runtime/node.ts';
import { promtoolProblems } from './promtool.ts';
import { BUNDLE_DIR, QUIET_VARS, request, startNode, type RunningServer, type WireError } from './support.ts';

const TOKEN = 'metrics-token_0123';
const AUTH = { Authorization: `Bearer ${TOKEN}` };

async function scrape(url: string, headers: Record<string, string> = AUTH) {
  const response = await fetch(`${url}/metrics`, { headers });
  return { status: response.status, type: response.headers.get('Content-Type'), text: await response.text() };
}

/** The value of the one sample line that starts with `series` (name and labels, exactly). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics on the Node server', () => {
  let server: RunningServer;
  let text: string;

  beforeAll(async () => {
    server = await startNode({ SHIPSHAPE_TOKEN: TOKEN });
    const predict = (json: unknown) =>
      request(`${server.url}/v1/predict`, { method: 'POST', headers: AUTH, json });
    expect((await predict({ text: 'The striker scored twice in the final' })).status).toBe(200);
    expect(
      (await predict({ texts: ['Stocks rallied after the earnings report', 'The striker scored again'] }))
        .status,
    ).toBe(200);
    expect((await predict({ texts: [] })).status).toBe(422);
    expect((await request(`${server.url}/v1/predict`, { headers: AUTH })).status).toBe(405);
    expect((await request(`${server.url}/no/such/path`, { headers: AUTH })).status).toBe(404);
    const scraped = await scrape(server.url);
    expect(scraped.status).toBe(200);
    text = scraped.text;
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers in the Prometheus text format 0.0.4', async () => {
    expect((await scrape(server.url)).type).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('counts requests by route pattern, method and status (unmatched paths as "other")', () => {
    expect(
      sample(text, 'shipshape_http_requests_total{route="/v1/predict",method="POST",status="200"}'),
    ).toBe(2);
    expect(
      sample(text, 'shipshape_http_requests_total{route="/v1/predict",method="POST",status="422"}'),
    ).toBe(1);
    expect(sample(text, 'shipshape_http_requests_total{route="/v1/predict",method="GET",status="405"}')).toBe(
      1,
    );
    expect(sample(text, 'shipshape_http_requests_total{route="other",method="GET",status="404"}')).toBe(1);
  });

  it('counts error answers by code', () => {
    expect(sample(text, 'shipshape_errors_total{code="INPUT_INVALID"}')).toBe(1);
    expect(sample(text, 'shipshape_errors_total{code="METHOD_NOT_ALLOWED"}')).toBe(1);
  });

  it('counts the three texts classified, not the warm-up or the parity proof', () => {
    expect(sample(text, 'shipshape_texts_total{model="news-bag"}')).toBe(3);
    const labels = ['World', 'Sports', 'Business', 'Sci/Tech'].map(
      (label) => sample(text, `shipshape_predictions_total{model="news-bag",label="${label}"}`) ?? 0,
    );
    expect(labels.reduce((a, b) => a + b, 0)).toBe(3);
    expect(
      sample(text, 'shipshape_predictions_total{model="news-bag",label="Sports"}'),
    ).toBeGreaterThanOrEqual(1);
  });

  it('counts tokens and session runs for the texts', () => {
    expect(sample(text, 'shipshape_tokens_total{model="news-bag"}')).toBeGreaterThan(10);
    expect(sample(text, 'shipshape_inference_duration_seconds_count{model="news-bag"}')).toBe(2);
    expect(sample(text, 'shipshape_inference_batch_size_bucket{model="news-bag",le="1"}')).toBe(1);
    expect(sample(text, 'shipshape_inference_batch_size_bucket{model="news-bag",le="2"}')).toBe(2);
  });

  it('has a request duration histogram per route, in seconds', () => {
    expect(sample(text, 'shipshape_http_request_duration_seconds_count{route="/v1/predict"}')).toBe(4);
    expect(
      sample(text, 'shipshape_http_request_duration_seconds_bucket{route="/v1/predict",le="+Inf"}'),
    ).toBe(4);
  });

  it('counts queue waits of the admitted prediction requests', () => {
    expect(sample(text, 'shipshape_queue_wait_seconds_count')).toBe(2);
  });

  it('names the model, version and backend, and the admission gauges', () => {
    expect(sample(text, 'shipshape_model_info{model="news-bag",version="1.0.0",backend="native"}')).toBe(1);
    expect(sample(text, 'shipshape_inflight_texts')).toBe(0);
    expect(sample(text, 'shipshape_queued_texts')).toBe(0);
  });

  it("gives every health check a threshold gauge: the bundle's defaults, p95 latency in seconds", async () => {
    const t = defaultThresholds((await loadBundle(BUNDLE_DIR)).manifest);
    const expected: Record<CheckName, number> = {
      accuracy: t.minAccuracy,
      estimated_accuracy: t.minEstimatedAccuracy,
      // The server's 100 ms, exposed in the base unit.
      p95_latency: 0.1,
      error_rate: t.maxErrorRate,
      oov_rate: t.maxOovRate,
      truncation_rate: t.maxTruncationRate,
      label_drift: t.maxLabelDrift,
      length_drift: t.maxLengthDrift,
    };
    const exposed = Object.fromEntries(
      CHECK_NAMES.map((check) => [
        check,
        sample(text, `shipshape_health_check_threshold{model="news-bag",check="${check}"}`),
      ]),
    );
    expect(exposed).toEqual(expected);
  });

  it('has an alert gauge at 0 for a check that is not firing', () => {
    expect(text).toContain('shipshape_alert_firing{model="news-bag",check="label_drift"} 0\n');
  });

  it('passes promtool check metrics', () => {
    expect(promtoolProblems(text)).toBe('');
  });

  it('answers 401 without the token', async () => {
    const answer = await request<WireError>(`${server.url}/metrics`);
    expect({ status: answer.status, code: answer.body.error.code }).toEqual({
      status: 401,
      code: 'UNAUTHORIZED',
    });
  });

  it('answers 405 with Allow on POST', async () => {
    const answer = await request<WireError>(`${server.url}/metrics`, { method: 'POST', headers: AUTH });
    expect({
      status: answer.status,
      code: answer.body.error.code,
      allow: answer.headers.get('Allow'),
    }).toEqual({ status: 405, code: 'METHOD_NOT_ALLOWED', allow: 'GET, HEAD' });
  });
});

describe('GET /metrics with SHIPSHAPE_METRICS_PUBLIC=1', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startNode({ SHIPSHAPE_TOKEN: TOKEN, SHIPSHAPE_METRICS_PUBLIC: '1' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers without the token', async () => {
    const scraped = await scrape(server.url, {});
    expect(scraped.status).toBe(200);
    expect(scraped.text).toContain('shipshape_model_info{model="news-bag"');
  });

  it('still asks for the token on /v1/feedback and /v1/health', async () => {
    const feedback = await request<WireError>(`${server.url}/v1/feedback`, {
      json: { id: 'x', label: 'Sports' },
    });
    const health = await request<WireError>(`${server.url}/v1/health`);
    expect([feedback.status, health.status]).toEqual([401, 401]);
  });
});

describe('before the model is loaded', () => {
  // A real news-bag load, held back until the test lets it go, so the app is observed while it loads.
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const edge = createApp({
    config: readConfig(QUIET_VARS),
    log: createLog({ sink: () => undefined }),
    loadPredictor: async () => {
      await gate;
      return createPredictor(await loadBundle(BUNDLE_DIR), { backend: 'native' });
    },
  });
  afterAll(async () => {
    release();
    await edge.warmUp().catch(() => undefined);
    await edge.dispose();
  });

  it('answers /metrics with the edge gauges only', async () => {
    const response = await edge.app.request('/metrics');
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(text).toContain('shipshape_inflight_texts 0\n');
    expect(text).not.toContain('shipshape_model_info');
    expect(promtoolProblems(text)).toBe('');
  });

  it('answers /v1/health with 503 NOT_READY', async () => {
    const response = await edge.app.request('/v1/health');
    const body = (await response.json()) as WireError;
    expect({ status: response.status, code: body.error.code }).toEqual({ status: 503, code: 'NOT_READY' });
  });

  it('answers /v1/feedback with 503 NOT_READY', async () => {
    const response = await edge.app.request('/v1/feedback', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: 'x', label: 'Sports' }),
    });
    const body = (await response.json()) as WireError;
    expect({ status: response.status, code: body.error.code }).toEqual({ status: 503, code: 'NOT_READY' });
  });
});
