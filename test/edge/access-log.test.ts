// Request ids, the access log, Server-Timing and log rate limiting, in-process through app.request() with a real
// news-bag predictor (onnxruntime-node).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type EdgeApp } from '../../edge/app.ts';
import { readConfig } from '../../edge/config.ts';
import { createLog } from '../../edge/log.ts';
import { createPredictor, loadBundle } from '../../runtime/node.ts';
import type { PredictorOptions } from '../../runtime/types.ts';
import { BUNDLE_DIR, type WireError } from './support.ts';

type Line = Record<string, unknown>;

function build(
  vars: Record<string, string> = {},
  predictor: PredictorOptions = { backend: 'native' },
  repeatWindowMs = 1_000,
) {
  const lines: Line[] = [];
  const edge = createApp({
    config: readConfig(vars),
    log: createLog({ sink: (line) => lines.push(JSON.parse(line) as Line), repeatWindowMs }),
    loadPredictor: async () => createPredictor(await loadBundle(BUNDLE_DIR), predictor),
  });
  return { edge, lines, requests: () => lines.filter((line) => line.msg === 'request') };
}

const JSON_POST = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('request ids, access log and Server-Timing', () => {
  let served: ReturnType<typeof build>;
  let edge: EdgeApp;
  beforeAll(async () => {
    served = build();
    edge = served.edge;
    await edge.warmUp();
  });
  afterAll(async () => {
    await edge?.dispose();
  });

  it('echoes a well-formed X-Request-Id and logs it', async () => {
    const response = await edge.app.request('/healthz', { headers: { 'X-Request-Id': 'req-42_A=' } });
    expect(response.headers.get('x-request-id')).toBe('req-42_A=');
    expect(served.requests().at(-1)).toMatchObject({
      requestId: 'req-42_A=',
      route: '/healthz',
      status: 200,
    });
  });

  it.each([
    ['characters outside letters, digits, _, - and =', 'id with spaces'],
    ['more than 128 characters', 'a'.repeat(129)],
  ])('replaces an X-Request-Id with %s by a generated UUID', async (_, id) => {
    const response = await edge.app.request('/healthz', { headers: { 'X-Request-Id': id } });
    expect(response.headers.get('x-request-id')).toMatch(UUID);
  });

  it('generates a UUID request id when the client sends none', async () => {
    const response = await edge.app.request('/healthz');
    expect(response.headers.get('x-request-id')).toMatch(UUID);
  });

  it('puts the request id in error bodies', async () => {
    const response = await edge.app.request('/v1/predict', JSON_POST({}, { 'X-Request-Id': 'err-1' }));
    expect(response.status).toBe(422);
    expect(((await response.json()) as WireError).error.requestId).toBe('err-1');
  });

  it('logs one line per prediction with route, status, texts, latency, model and backend', async () => {
    const before = served.requests().length;
    const response = await edge.app.request(
      '/v1/predict',
      JSON_POST({ texts: ['Lakers win the title', 'Stocks fall'] }, { 'X-Request-Id': 'log-1' }),
    );
    expect(response.status).toBe(200);
    const mine = served.requests().slice(before);
    expect(mine).toHaveLength(1);
    const { time, latencyMs, ...rest } = mine[0]!;
    expect(rest).toEqual({
      level: 'info',
      msg: 'request',
      requestId: 'log-1',
      method: 'POST',
      route: '/v1/predict',
      status: 200,
      texts: 2,
      model: { name: 'news-bag', version: '1.0.0' },
      backend: 'native',
    });
    expect(typeof time).toBe('string');
    expect(typeof latencyMs).toBe('number');
  });

  it('logs the route pattern, not the raw path', async () => {
    await edge.app.request('/v2/models/news-bag/versions/1.0.0', { headers: { 'X-Request-Id': 'log-2' } });
    expect(served.requests().find((line) => line.requestId === 'log-2')).toMatchObject({
      route: '/v2/models/:name/versions/:version',
      status: 200,
    });
  });

  it('logs the error code of an error answer', async () => {
    await edge.app.request('/v1/nothing', { headers: { 'X-Request-Id': 'log-3' } });
    expect(served.requests().find((line) => line.requestId === 'log-3')).toMatchObject({
      route: null,
      status: 404,
      error: 'NOT_FOUND',
    });
  });

  it('sends Server-Timing with the queue wait, the inference time and the total', async () => {
    const response = await edge.app.request('/v1/predict', JSON_POST({ text: 'Mars rover lands' }));
    const metrics = (response.headers.get('server-timing') ?? '').split(',').map((m) => m.split(';')[0]);
    expect(metrics).toEqual(['queue', 'infer', 'total']);
  });

  it('writes no access-log line with SHIPSHAPE_ACCESS_LOG=off', async () => {
    const quiet = build({ SHIPSHAPE_ACCESS_LOG: 'off' });
    await quiet.edge.app.request('/healthz');
    expect(quiet.requests()).toEqual([]);
  });

  it('warns once at startup when the text limits cannot fit the body limit', () => {
    const { lines } = build({ SHIPSHAPE_MAX_BODY_BYTES: '65536', SHIPSHAPE_MAX_TEXTS: '256' });
    expect(lines.filter((line) => line.level === 'warn').map((line) => line.msg)).toEqual([
      expect.stringContaining('over SHIPSHAPE_MAX_BODY_BYTES (65536)'),
    ]);
  });
});

describe('the log under a burst of 503s', () => {
  it('writes the OVERLOADED error once, not once per refused request', async () => {
    // A window of an hour, so how long the burst takes on a busy machine cannot matter.
    const { edge, lines } = build(
      {},
      { backend: 'native', batching: { maxQueue: 1, maxDelayMs: 200 } },
      3_600_000,
    );
    await edge.warmUp();
    const responses = await Promise.all(
      Array.from({ length: 20 }, async (_, i) =>
        edge.app.request('/v1/predict', JSON_POST({ text: `burst ${i}` })),
      ),
    );
    const refused = responses.filter((response) => response.status === 503).length;
    expect(refused).toBeGreaterThan(1);
    expect(lines.filter((line) => line.level === 'error' && line.code === 'OVERLOADED')).toHaveLength(1);
    edge.log.flush();
    expect(lines.find((line) => line.code === 'OVERLOADED' && line.repeated !== undefined)?.repeated).toBe(
      refused - 1,
    );
    await edge.dispose();
  });
});
