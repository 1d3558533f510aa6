// Two isolates of the Worker in one real workerd (two Workers of the same built script, each with its own globals
// and model), both bound to one HealthAggregator: /metrics, /v1/health and /v1/feedback see them as one service.
// And an isolate whose aggregator never answers: its reads answer 503 in bounded time instead of hanging.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IN_CI,
  requireEdgeBuild,
  hasWorkerd,
  readServableGoldenCases,
  request,
  startWorkerdIsolates,
  type WireError,
} from './support.ts';
import { metricValue, predict, waitForMetric, type HealthAnswer } from './worker-health-support.ts';

const HAS_WORKERD = hasWorkerd();

const TEXTS = 'shipshape_texts_total{model="news-bag"}';

describe.runIf(HAS_WORKERD)('two isolates of the Worker', () => {
  let isolates: Awaited<ReturnType<typeof startWorkerdIsolates>> | undefined;
  let urls: readonly string[];
  const golden = readServableGoldenCases();

  beforeAll(async () => {
    requireEdgeBuild();
    isolates = await startWorkerdIsolates(2);
    urls = isolates.urls;
  });
  afterAll(async () => {
    await isolates?.close();
  });

  it('are separate isolates: the second has not loaded the model when the first has answered', async () => {
    expect((await predict(urls[0]!, [golden[0]!.text])).status).toBe(200);
    expect((await request(`${urls[1]!}/readyz`)).status).toBe(503);
  });

  it('show the texts of both in /metrics on either of them once both have flushed', async () => {
    // One text on isolate 0 already; 3 more there and 5 on isolate 1.
    expect(
      (
        await predict(
          urls[0]!,
          golden.slice(1, 4).map((c) => c.text),
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await predict(
          urls[1]!,
          golden.slice(4, 9).map((c) => c.text),
        )
      ).status,
    ).toBe(200);
    expect(await waitForMetric(urls[0]!, TEXTS, 9)).toBe(9);
    expect(metricValue(await (await fetch(`${urls[1]!}/metrics`)).text(), TEXTS)).toBe(9);
  });

  it('count the prediction requests of both under one route in /metrics', async () => {
    const metrics = await (await fetch(`${urls[1]!}/metrics`)).text();
    expect(
      metricValue(metrics, 'shipshape_http_requests_total{route="/v1/predict",method="POST",status="200"}'),
    ).toBe(3);
  });

  it('take feedback on one isolate for a prediction the other made', async () => {
    const answer = await predict(urls[0]!, ['The striker scored twice in the final']);
    const [prediction] = answer.body.predictions;
    // The prediction's id reaches the aggregator with isolate 0's next flush.
    expect(await waitForMetric(urls[1]!, TEXTS, 10)).toBe(10);
    const response = await request(`${urls[1]!}/v1/feedback`, {
      json: { id: prediction!.id, label: 'Sports' },
    });
    expect(response.status).toBe(200);
    const metrics = await (await fetch(`${urls[0]!}/metrics`)).text();
    const outcome = prediction!.label === 'Sports' ? 'correct' : 'incorrect';
    expect(metricValue(metrics, `shipshape_feedback_total{model="news-bag",outcome="${outcome}"}`)).toBe(1);
  });

  it('answer one /v1/health for the service on both', async () => {
    const [a, b] = await Promise.all(urls.map((url) => request<HealthAnswer>(`${url}/v1/health`)));
    expect([a!.body.scope, b!.body.scope]).toEqual(['service', 'service']);
    expect(a!.body.checks.oov_rate.samples).toBe(b!.body.checks.oov_rate.samples);
  });
});

/**
 * A HealthAggregator that never finishes an answer (a real one cannot be made to): `snapshot` sends its headers and a
 * body that never ends, every other call never answers. Its timers keep each call pending, so workerd sees no hung
 * request to cancel.
 */
const STALLED_AGGREGATOR = `
export class HealthAggregator {
  async fetch(request) {
    await request.text();
    if (new URL(request.url).pathname === '/snapshot') {
      const { readable, writable } = new TransformStream();
      const writer = writable.getWriter();
      void writer.write(new TextEncoder().encode('{"totals":'));
      setTimeout(() => void writer.close(), 600_000);
      return new Response(readable, { headers: { 'Content-Type': 'application/json' } });
    }
    await new Promise((resolve) => setTimeout(resolve, 600_000));
    return new Response(null, { status: 204 });
  }
}
export default { fetch: () => new Response('') };
`;

/** The isolates' deadline on one aggregator call (createDurableHealthStore's default `callTimeoutMs`). */
const CALL_TIMEOUT_MS = 10_000;

describe.runIf(HAS_WORKERD)('the Worker with an aggregator that never answers (a stand-in)', () => {
  let isolates: Awaited<ReturnType<typeof startWorkerdIsolates>> | undefined;
  let url: string;
  beforeAll(async () => {
    requireEdgeBuild();
    isolates = await startWorkerdIsolates(1, {}, { durableObjectsScript: STALLED_AGGREGATOR });
    url = isolates.urls[0]!;
  });
  afterAll(async () => {
    await isolates?.close();
  });

  it('still answers predictions 200', async () => {
    expect((await predict(url, ['Stocks rallied after the earnings report'])).status).toBe(200);
  });

  it('answers /v1/health and /metrics 503 HEALTH_UNAVAILABLE once the deadline passes, not never', async () => {
    const started = Date.now();
    const [health, metrics] = await Promise.all([
      request<WireError>(`${url}/v1/health`),
      request<WireError>(`${url}/metrics`),
    ]);
    const elapsedMs = Date.now() - started;
    expect([health, metrics].map((r) => ({ status: r.status, code: r.body.error.code }))).toEqual([
      { status: 503, code: 'HEALTH_UNAVAILABLE' },
      { status: 503, code: 'HEALTH_UNAVAILABLE' },
    ]);
    // Not before the deadline (the stand-in never answers), and well before the test's own timeout.
    expect(elapsedMs).toBeGreaterThanOrEqual(CALL_TIMEOUT_MS - 50);
    expect(elapsedMs).toBeLessThan(CALL_TIMEOUT_MS + 20_000);
  });
});

describe.runIf(!HAS_WORKERD && IN_CI)('Worker isolates without workerd', () => {
  it('fails in CI because workerd is missing', () => {
    throw new Error('workerd is not installed (node_modules/@cloudflare/workerd-*); run npm ci.');
  });
});
