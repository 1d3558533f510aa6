// Health on the Worker in real workerd: /metrics, /v1/health and /v1/feedback answered by the HealthAggregator
// Durable Object (wrangler.toml's HEALTH binding), its totals surviving a restart, and the per-isolate fallback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IN_CI,
  requireEdgeBuild,
  hasWorkerd,
  readServableGoldenCases,
  request,
  durableObjectStorage,
  startWorkerd,
  startWorkerdIsolates,
  type RunningServer,
  type WireError,
} from './support.ts';
import { promtoolProblems } from './promtool.ts';
import {
  GERMAN_TEXTS,
  metricValue,
  predict,
  waitForMetric,
  type HealthAnswer,
} from './worker-health-support.ts';

/** edge/health-aggregator.ts imports `cloudflare:workers`, which only workerd has: its line, spelled out. */
const PER_ISOLATE_METRICS_COMMENT =
  '# shipshape: per-isolate metrics (no HEALTH Durable Object binding; each isolate counts for itself)';

const HAS_WORKERD = hasWorkerd();

/** `POST /v1/feedback`'s answer to a list. */
interface FeedbackListAnswer {
  readonly recorded: number;
  readonly feedback: readonly {
    readonly id: string;
    readonly status: string;
    readonly correct?: boolean;
    readonly error?: { readonly code: string };
  }[];
}

/** A verdict after 50 texts instead of 500, so one request of German texts can turn the OOV check bad. */
const THRESHOLDS = { SHIPSHAPE_HEALTH_THRESHOLDS: JSON.stringify({ minTexts: 50 }) };

describe.runIf(HAS_WORKERD)('the Worker with the HEALTH Durable Object', () => {
  let server: RunningServer;
  beforeAll(async () => {
    requireEdgeBuild();
    server = await startWorkerd(THRESHOLDS);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('counts the texts and labels of its predictions in /metrics, from the aggregate', async () => {
    const golden = readServableGoldenCases().slice(0, 20);
    const answer = await predict(
      server.url,
      golden.map((c) => c.text),
    );
    expect(answer.status).toBe(200);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metricValue(metrics, 'shipshape_texts_total{model="news-bag"}')).toBe(20);
    const byLabel = new Map<string, number>();
    for (const c of golden) byLabel.set(c.label, (byLabel.get(c.label) ?? 0) + 1);
    for (const [label, count] of byLabel) {
      expect(metricValue(metrics, `shipshape_predictions_total{model="news-bag",label="${label}"}`)).toBe(
        count,
      );
    }
    expect(metrics).not.toContain(PER_ISOLATE_METRICS_COMMENT);
  });

  it("names the isolates' backend, not the aggregator's, in shipshape_model_info", async () => {
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(
      metricValue(metrics, 'shipshape_model_info{model="news-bag",version="1.0.0",backend="wasm"}'),
    ).toBe(1);
  });

  it('answers /metrics that pass promtool check metrics', async () => {
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(promtoolProblems(await response.text())).toBe('');
  });

  it('records feedback on a prediction id once, and answers 409 FEEDBACK_DUPLICATE to a second', async () => {
    const answer = await predict(server.url, ['The striker scored twice in the final']);
    const [prediction] = answer.body.predictions;
    const first = await request(`${server.url}/v1/feedback`, {
      json: { id: prediction!.id, label: 'Sports' },
    });
    expect(first.status).toBe(200);
    const second = await request<WireError>(`${server.url}/v1/feedback`, {
      json: { id: prediction!.id, label: 'Sports' },
    });
    expect({ status: second.status, code: second.body.error.code }).toEqual({
      status: 409,
      code: 'FEEDBACK_DUPLICATE',
    });
  });

  it('answers 404 PREDICTION_NOT_FOUND to feedback on an id no isolate gave', async () => {
    const response = await request<WireError>(`${server.url}/v1/feedback`, {
      json: { id: 'no-such-prediction', label: 'Sports' },
    });
    expect({ status: response.status, code: response.body.error.code }).toEqual({
      status: 404,
      code: 'PREDICTION_NOT_FOUND',
    });
  });

  it('answers a feedback list item by item, in order, and counts its one recorded item once', async () => {
    const correct = 'shipshape_feedback_total{model="news-bag",outcome="correct"}';
    const incorrect = 'shipshape_feedback_total{model="news-bag",outcome="incorrect"}';
    const before = await (await fetch(`${server.url}/metrics`)).text();
    const answer = await predict(server.url, ['Stocks rallied after the earnings report']);
    const [prediction] = answer.body.predictions;
    const response = await request<FeedbackListAnswer>(`${server.url}/v1/feedback`, {
      json: {
        feedback: [
          { id: prediction!.id, label: prediction!.label },
          { id: prediction!.id, label: prediction!.label },
          { id: 'no-such-prediction', label: 'Sports' },
        ],
      },
    });
    expect(response.status).toBe(200);
    expect({
      recorded: response.body.recorded,
      items: response.body.feedback.map((item) => [item.id, item.status, item.correct ?? item.error?.code]),
    }).toEqual({
      recorded: 1,
      items: [
        [prediction!.id, 'recorded', true],
        [prediction!.id, 'refused', 'FEEDBACK_DUPLICATE'],
        ['no-such-prediction', 'refused', 'PREDICTION_NOT_FOUND'],
      ],
    });
    const after = await (await fetch(`${server.url}/metrics`)).text();
    expect([
      (metricValue(after, correct) ?? 0) - (metricValue(before, correct) ?? 0),
      (metricValue(after, incorrect) ?? 0) - (metricValue(before, incorrect) ?? 0),
    ]).toEqual([1, 0]);
  });

  it('turns oov_rate bad in /v1/health (scope "service") once German texts pass minTexts', async () => {
    const answer = await predict(server.url, GERMAN_TEXTS);
    expect(answer.status).toBe(200);
    const health = await request<HealthAnswer>(`${server.url}/v1/health`);
    expect(health.body.scope).toBe('service');
    expect(health.body.checks.oov_rate.status).toBe('bad');
    expect(health.body.alerts.map((alert) => alert.check)).toContain('oov_rate');
  });

  it('fires the oov_rate alert once however often health is read', async () => {
    await request(`${server.url}/v1/health`);
    await request(`${server.url}/v1/health`);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metricValue(metrics, 'shipshape_alerts_fired_total{model="news-bag",check="oov_rate"}')).toBe(1);
    expect(metricValue(metrics, 'shipshape_alert_firing{model="news-bag",check="oov_rate"}')).toBe(1);
  });
});

describe.runIf(HAS_WORKERD)('the HealthAggregator across a restart', () => {
  const storage = durableObjectStorage();

  it('keeps its counters: a new workerd on the same storage continues from the stored totals', async () => {
    const texts = readServableGoldenCases().map((c) => c.text);
    const first = await startWorkerd({}, { durableObjectsDir: storage() });
    try {
      expect((await predict(first.url, texts.slice(0, 7))).status).toBe(200);
      // The totals are written at most once a second: wait until the aggregate shows them, then a second more.
      await waitForMetric(first.url, 'shipshape_texts_total{model="news-bag"}', 7);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    } finally {
      await first.close();
    }
    const second = await startWorkerd({}, { durableObjectsDir: storage() });
    try {
      expect((await predict(second.url, texts.slice(7, 10))).status).toBe(200);
      const metrics = await (await fetch(`${second.url}/metrics`)).text();
      expect(metricValue(metrics, 'shipshape_texts_total{model="news-bag"}')).toBe(10);
    } finally {
      await second.close();
    }
  });
});

describe.runIf(HAS_WORKERD)('the Worker deployed without the HEALTH binding', () => {
  let server: RunningServer;
  beforeAll(async () => {
    requireEdgeBuild();
    server = await startWorkerd({}, { withoutDurableObjects: true });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers /v1/health from the isolate, with scope "isolate"', async () => {
    expect((await predict(server.url, ['Stocks rallied after the earnings report'])).status).toBe(200);
    const health = await request<HealthAnswer>(`${server.url}/v1/health`);
    expect(health.status).toBe(200);
    expect(health.body.scope).toBe('isolate');
  });

  it("starts /metrics with the per-isolate comment line and still counts the isolate's texts", async () => {
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics.startsWith(`${PER_ISOLATE_METRICS_COMMENT}\n`)).toBe(true);
    expect(metricValue(metrics, 'shipshape_texts_total{model="news-bag"}')).toBe(1);
  });

  it('answers per-isolate /metrics that still pass promtool check metrics', async () => {
    expect(promtoolProblems(await (await fetch(`${server.url}/metrics`)).text())).toBe('');
  });

  it("takes feedback on the isolate's own prediction ids", async () => {
    const answer = await predict(server.url, ['The striker scored twice in the final']);
    const response = await request(`${server.url}/v1/feedback`, {
      json: { id: answer.body.predictions[0]!.id, label: 'Sports' },
    });
    expect(response.status).toBe(200);
  });
});

/** A HealthAggregator that answers every call 500: an aggregator in trouble, which a real one cannot be made into. */
const FAILING_AGGREGATOR = `
export class HealthAggregator {
  async fetch() {
    return new Response('the aggregator is down', { status: 500 });
  }
}
export default { fetch: () => new Response('') };
`;

describe.runIf(HAS_WORKERD)('the Worker with an aggregator that fails (a stand-in answering 500)', () => {
  let isolates: Awaited<ReturnType<typeof startWorkerdIsolates>> | undefined;
  let url: string;
  beforeAll(async () => {
    requireEdgeBuild();
    isolates = await startWorkerdIsolates(1, {}, { durableObjectsScript: FAILING_AGGREGATOR });
    url = isolates.urls[0]!;
  });
  afterAll(async () => {
    await isolates?.close();
  });

  it('still answers predictions 200', async () => {
    expect((await predict(url, ['Stocks rallied after the earnings report'])).status).toBe(200);
    expect((await predict(url, ['The striker scored twice in the final'])).status).toBe(200);
  });

  it("answers /metrics 503 HEALTH_UNAVAILABLE with Retry-After, not one isolate's counts", async () => {
    const response = await request<WireError>(`${url}/metrics`);
    expect({ status: response.status, code: response.body.error.code }).toEqual({
      status: 503,
      code: 'HEALTH_UNAVAILABLE',
    });
    expect(response.headers.get('retry-after')).toBe('1');
  });

  it('answers /v1/health 503 HEALTH_UNAVAILABLE', async () => {
    const response = await request<WireError>(`${url}/v1/health`);
    expect({ status: response.status, code: response.body.error.code }).toEqual({
      status: 503,
      code: 'HEALTH_UNAVAILABLE',
    });
  });
});

/**
 * A HealthAggregator that counts the texts of every delta it is sent, answers each call but `report` 500 with the
 * header that says the delta was merged anyway (a failure after the merge, which a real one cannot be made into), and
 * answers `report` with the count.
 */
const MERGED_THEN_FAILING_AGGREGATOR = `
export class HealthAggregator {
  textsReceived = 0;
  async fetch(request) {
    const call = await request.json();
    this.textsReceived += call.delta?.totals?.texts ?? 0;
    if (new URL(request.url).pathname === '/report') {
      return Response.json({ status: 'ok', checks: {}, alerts: [], textsReceived: this.textsReceived });
    }
    return Response.json(
      { error: { code: 'INTERNAL', message: 'failed after the merge' } },
      { status: 500, headers: { 'Shipshape-Delta-Merged': '1' } },
    );
  }
}
export default { fetch: () => new Response('') };
`;

describe.runIf(HAS_WORKERD)('the Worker with an aggregator that fails after merging (a stand-in)', () => {
  let isolates: Awaited<ReturnType<typeof startWorkerdIsolates>> | undefined;
  let url: string;
  beforeAll(async () => {
    requireEdgeBuild();
    isolates = await startWorkerdIsolates(1, {}, { durableObjectsScript: MERGED_THEN_FAILING_AGGREGATOR });
    url = isolates.urls[0]!;
  });
  afterAll(async () => {
    await isolates?.close();
  });

  it('sends each text once: a delta answered as merged is not sent again', async () => {
    expect((await predict(url, ['Stocks rallied after the earnings report'])).status).toBe(200);
    expect((await predict(url, ['The striker scored twice in the final'])).status).toBe(200);
    const health = await request<{ textsReceived: number }>(`${url}/v1/health`);
    expect(health.body.textsReceived).toBe(2);
  });
});

describe.runIf(!HAS_WORKERD && IN_CI)('Worker health without workerd', () => {
  it('fails in CI because workerd is missing', () => {
    throw new Error('workerd is not installed (node_modules/@cloudflare/workerd-*); run npm ci.');
  });
});
