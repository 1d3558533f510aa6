// The HTTP contract every entry of the edge app honours: over real HTTP against a running server (Node, workerd), or
// in-process through Hono's app.request() against the app the entries are built from.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseRawResponse,
  rawRequest,
  readServableGoldenCases,
  readLabels,
  request,
  softmax,
  type GoldenCase,
  type JsonResponse,
  type RunningServer,
  type WireError,
} from './support.ts';

export const TOKEN = 'contract-token_0123456789';
export const ALLOWED_ORIGIN = 'https://app.example';
export const MAX_BODY_BYTES = 65_536;
/** The config every contract server runs with (env vars / Worker vars). */
export const CONTRACT_VARS: Readonly<Record<string, string>> = {
  SHIPSHAPE_TOKEN: TOKEN,
  SHIPSHAPE_CORS_ORIGINS: `${ALLOWED_ORIGIN}, https://other.example`,
  SHIPSHAPE_MAX_BODY_BYTES: String(MAX_BODY_BYTES),
  SHIPSHAPE_MAX_TEXTS: '256',
  // The contract's burst sends 100 requests at once to one process or isolate, and expects every one answered. The
  // last of them waits for the 99 before it; on a loaded machine that passed the default 100 ms queue deadline and
  // was shed (503 OVERLOADED), which is the admission gate working, not a contract breach. The deadline has its own
  // tests (admission.test.ts, overload.slow.test.ts), so the contract runs with one no burst here can reach.
  SHIPSHAPE_MAX_QUEUE_WAIT_MS: '30000',
};

const SCORE_ATOL = 1e-4;
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const CHUNK = 128;

interface V1Answer {
  readonly model: { readonly name: string; readonly version: string };
  readonly backend: string;
  readonly predictions: readonly {
    readonly id: string;
    readonly label: string;
    readonly scores: Record<string, number>;
  }[];
}

interface InferAnswer {
  readonly model_name: string;
  readonly model_version?: string;
  readonly id?: string;
  readonly outputs: readonly { name: string; shape: number[]; datatype: string; data: (number | string)[] }[];
}

interface BadInput {
  readonly what: string;
  readonly path: string;
  readonly init: RequestInit & { json?: unknown };
  readonly status: number;
  readonly code: string;
  readonly allow?: string;
}

const post = (json: unknown): RequestInit & { json?: unknown } => ({ method: 'POST', headers: AUTH, json });
const raw = (body: BodyInit, contentType?: string): RequestInit => ({
  method: 'POST',
  headers: { ...AUTH, ...(contentType === undefined ? {} : { 'Content-Type': contentType }) },
  body,
});
const infer = (input: Record<string, unknown>) =>
  post({ inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: ['a'], ...input }] });
/** `{"text":"` + an invalid UTF-8 byte + `"}`. */
const NOT_UTF8 = new Uint8Array([
  ...new TextEncoder().encode('{"text":"caf'),
  0xe9,
  ...new TextEncoder().encode('"}'),
]);

const BAD_INPUTS: readonly BadInput[] = [
  {
    what: 'malformed JSON',
    path: '/v1/predict',
    init: raw('{"texts": [', 'application/json'),
    status: 400,
    code: 'MALFORMED_JSON',
  },
  {
    what: 'a number where a text belongs',
    path: '/v1/predict',
    init: post({ texts: ['ok', 1] }),
    status: 422,
    code: 'INPUT_INVALID',
  },
  {
    what: 'a text of the wrong type',
    path: '/v1/predict',
    init: post({ text: 5 }),
    status: 422,
    code: 'INPUT_INVALID',
  },
  { what: 'neither text nor texts', path: '/v1/predict', init: post({}), status: 422, code: 'INPUT_INVALID' },
  {
    what: 'a JSON array instead of an object',
    path: '/v1/predict',
    init: post(['a']),
    status: 422,
    code: 'INPUT_INVALID',
  },
  { what: 'JSON null', path: '/v1/predict', init: post(null), status: 422, code: 'INPUT_INVALID' },
  {
    what: 'an unknown field',
    path: '/v1/predict',
    init: post({ texts: ['a'], extra: true }),
    status: 422,
    code: 'INPUT_INVALID',
  },
  {
    what: 'an empty texts list',
    path: '/v1/predict',
    init: post({ texts: [] }),
    status: 422,
    code: 'INPUT_INVALID',
  },
  {
    what: 'a text over the length limit',
    path: '/v1/predict',
    init: post({ text: 'a'.repeat(10_001) }),
    status: 422,
    code: 'INPUT_INVALID',
  },
  {
    what: 'more texts than allowed',
    path: '/v1/predict',
    init: post({ texts: Array<string>(257).fill('a') }),
    status: 413,
    code: 'TOO_MANY_TEXTS',
  },
  {
    what: 'a body over the size limit',
    path: '/v1/predict',
    init: post({ texts: Array<string>(20).fill('b'.repeat(4000)) }),
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  {
    what: 'a text/plain body',
    path: '/v1/predict',
    init: raw('{"text":"a"}', 'text/plain'),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    what: 'a body without Content-Type',
    path: '/v1/predict',
    init: raw(new TextEncoder().encode('{"text":"a"}')),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    what: 'a body that is not UTF-8 (a Latin-1 byte)',
    path: '/v1/predict',
    init: raw(NOT_UTF8, 'application/json'),
    status: 400,
    code: 'MALFORMED_BODY',
  },
  {
    what: 'a charset other than UTF-8',
    path: '/v1/predict',
    init: raw('{"text":"a"}', 'application/json; charset=latin1'),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    what: 'a gzip-compressed body',
    path: '/v1/predict',
    init: {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
      body: gzipSync('{"text":"a"}'),
    },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    what: 'an empty text',
    path: '/v1/predict',
    init: post({ text: '' }),
    status: 422,
    code: 'INPUT_INVALID',
  },
  {
    what: 'a whitespace-only text among others',
    path: '/v1/predict',
    init: post({ texts: ['ok', ' \t\n'] }),
    status: 422,
    code: 'INPUT_INVALID',
  },
  {
    what: 'an empty text (v2 infer)',
    path: '/v2/models/news-bag/infer',
    init: infer({ data: [''] }),
    status: 422,
    code: 'INPUT_INVALID',
  },
  {
    what: 'GET on /v1/predict',
    path: '/v1/predict',
    init: { headers: AUTH },
    status: 405,
    code: 'METHOD_NOT_ALLOWED',
    allow: 'POST',
  },
  {
    what: 'DELETE on /v2/models/news-bag',
    path: '/v2/models/news-bag',
    init: { method: 'DELETE', headers: AUTH },
    status: 405,
    code: 'METHOD_NOT_ALLOWED',
    allow: 'GET, HEAD',
  },
  {
    what: 'GET on /v2/models/news-bag/infer',
    path: '/v2/models/news-bag/infer',
    init: { headers: AUTH },
    status: 405,
    code: 'METHOD_NOT_ALLOWED',
    allow: 'POST',
  },
  {
    what: 'an unknown model (v1)',
    path: '/v1/predict',
    init: post({ text: 'a', model: 'no-such-model' }),
    status: 404,
    code: 'MODEL_NOT_FOUND',
  },
  {
    what: 'an unknown model (v2 metadata)',
    path: '/v2/models/no-such-model',
    init: { headers: AUTH },
    status: 404,
    code: 'MODEL_NOT_FOUND',
  },
  {
    what: 'an unknown model (v2 infer)',
    path: '/v2/models/no-such-model/infer',
    init: infer({}),
    status: 404,
    code: 'MODEL_NOT_FOUND',
  },
  {
    what: 'an unknown model version',
    path: '/v2/models/news-bag/versions/9.9.9',
    init: { headers: AUTH },
    status: 404,
    code: 'MODEL_NOT_FOUND',
  },
  {
    what: 'an unknown path',
    path: '/v1/nothing-here',
    init: { headers: AUTH },
    status: 404,
    code: 'NOT_FOUND',
  },
  {
    what: 'malformed JSON (v2 infer)',
    path: '/v2/models/news-bag/infer',
    init: raw('{"inputs": [}', 'application/json'),
    status: 400,
    code: 'MALFORMED_JSON',
  },
  {
    what: 'no inputs (v2 infer)',
    path: '/v2/models/news-bag/infer',
    init: post({ inputs: [] }),
    status: 422,
    code: 'INPUT_INVALID',
  },
  {
    what: 'an FP32 input (v2 infer)',
    path: '/v2/models/news-bag/infer',
    init: infer({ datatype: 'FP32', data: [1] }),
    status: 422,
    code: 'INPUT_INVALID',
  },
  {
    what: 'a wrong input name (v2 infer)',
    path: '/v2/models/news-bag/infer',
    init: infer({ name: 'input_ids' }),
    status: 422,
    code: 'INPUT_INVALID',
  },
  {
    what: 'data that does not fill the shape (v2 infer)',
    path: '/v2/models/news-bag/infer',
    init: infer({ shape: [2] }),
    status: 422,
    code: 'INPUT_INVALID',
  },
  {
    what: 'a number in BYTES data (v2 infer)',
    path: '/v2/models/news-bag/infer',
    init: infer({ data: [7] }),
    status: 422,
    code: 'INPUT_INVALID',
  },
  {
    what: 'a string shape (v2 infer)',
    path: '/v2/models/news-bag/infer',
    init: infer({ shape: ['1'] }),
    status: 422,
    code: 'INPUT_INVALID',
  },
  {
    what: 'an unknown output requested (v2 infer)',
    path: '/v2/models/news-bag/infer',
    init: post({
      inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: ['a'] }],
      outputs: [{ name: 'logits' }],
    }),
    status: 422,
    code: 'INPUT_INVALID',
  },
  {
    what: 'more texts than allowed (v2 infer)',
    path: '/v2/models/news-bag/infer',
    init: infer({ shape: [257], data: Array<string>(257).fill('a') }),
    status: 413,
    code: 'TOO_MANY_TEXTS',
  },
];

function expectScores(scores: Record<string, number>, golden: GoldenCase, labels: readonly string[]): void {
  expect(Object.keys(scores)).toEqual(labels);
  const expected = softmax(golden.logits);
  labels.forEach((label, i) => {
    expect(
      Math.abs((scores[label] ?? NaN) - (expected[i] ?? NaN)),
      `case ${golden.id} ${label}`,
    ).toBeLessThanOrEqual(SCORE_ATOL);
  });
}

function expectWireError(response: JsonResponse<WireError>, status: number, code: string): void {
  expect({ status: response.status, code: response.body?.error?.code }).toEqual({ status, code });
  expect(Object.keys(response.body)).toEqual(['error']);
  expect(Object.keys(response.body.error)).toEqual(['code', 'message', 'requestId']);
  expect(response.body.error.requestId).toBe(response.headers.get('x-request-id'));
  expect(response.body.error.message.length).toBeGreaterThan(10);
  expect(response.body.error.message).not.toMatch(/\n\s+at /);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
}

/** An entry the contract runs against: a server over real HTTP, or the app in-process. */
export interface ContractTarget {
  /** Answers a request for `path` (with its query) as the entry does. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/** A running server as a contract target: `fetch` goes over real HTTP to its URL. */
export function overHttp(server: RunningServer): ContractTarget & { readonly url: string } {
  return {
    url: server.url,
    fetch: (path, init) => fetch(`${server.url}${path}`, init),
    close: () => server.close(),
  };
}

/**
 * How the entry is reached, and where the entries differ because of what answers before the app runs. Over HTTP a
 * non-numeric Content-Length is refused by the HTTP parser: the Node entry answers in the app's JSON shape
 * (`json-400`, MALFORMED_REQUEST); workerd answers `500 Internal Server Error` in plain text itself, before the
 * Worker runs (`workerd-plain-500`). In-process there is no socket and no static files (dist/web): the checks of
 * broken framing, raw headers and static files are not defined there, and stay with the HTTP entries.
 */
export type ContractQuirks =
  | { readonly transport: 'http'; readonly badContentLength: 'json-400' | 'workerd-plain-500' }
  | { readonly transport: 'in-process' };

/**
 * Defines the contract suite for one entry. `start` launches the entry with `CONTRACT_VARS`; `backends` lists the
 * backends that entry may report.
 */
export function describeApiContract(
  platform: string,
  start: () => Promise<ContractTarget & { readonly url?: string }>,
  backends: readonly string[],
  quirks: ContractQuirks,
): void {
  describe(`the edge API on ${platform}`, () => {
    let target: ContractTarget & { readonly url?: string };
    const http = quirks.transport === 'http' ? quirks : undefined;
    const golden = readServableGoldenCases();
    const labels = readLabels();
    const call = <T = unknown>(path: string, init: RequestInit & { json?: unknown } = {}) =>
      request<T>(path, init, (input, requestInit) => target.fetch(input, requestInit));
    /** The server's base URL, for what only a raw socket can send (HTTP targets only). */
    const socket = (): string => {
      if (target.url === undefined) throw new Error(`${platform} has no socket to send raw HTTP to.`);
      return target.url;
    };
    const predictOne = (text: string) => call<V1Answer>('/v1/predict', post({ text }));

    beforeAll(async () => {
      target = await start();
      // Ready means loaded and warmed up; a Worker loads on its first request.
      const deadline = Date.now() + 60_000;
      while ((await call('/readyz')).status !== 200) {
        if (Date.now() > deadline) throw new Error(`${platform}: /readyz never answered 200`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });

    afterAll(async () => {
      await target?.close();
    });

    it('answers /healthz with 200 and no token', async () => {
      const response = await call('/healthz');
      expect({ status: response.status, body: response.body }).toEqual({
        status: 200,
        body: { status: 'ok' },
      });
    });

    it('answers /readyz with the model and its backend once warmed up', async () => {
      const response = await call<{ status: string; model: unknown; backend: string }>('/readyz');
      expect(response.status).toBe(200);
      expect(response.body.status).toBe('ready');
      expect(response.body.model).toEqual({ name: 'news-bag', version: '1.0.0' });
      expect(backends).toContain(response.body.backend);
    });

    it('matches every golden case through POST /v1/predict {texts}: labels exact, scores within 1e-4', async () => {
      for (let start = 0; start < golden.length; start += CHUNK) {
        const chunk = golden.slice(start, start + CHUNK);
        const response = await call<V1Answer>('/v1/predict', post({ texts: chunk.map((c) => c.text) }));
        expect(response.status).toBe(200);
        expect(response.body.model).toEqual({ name: 'news-bag', version: '1.0.0' });
        expect(backends).toContain(response.body.backend);
        expect(response.body.predictions).toHaveLength(chunk.length);
        response.body.predictions.forEach((prediction, i) => {
          const expected = chunk[i]!;
          expect(Object.keys(prediction)).toEqual(['id', 'label', 'scores']);
          expect(prediction.label, `case ${expected.id}`).toBe(expected.label);
          expectScores(prediction.scores, expected, labels);
        });
        // Each prediction has its own id, for POST /v1/feedback.
        expect(new Set(response.body.predictions.map((p) => p.id)).size).toBe(chunk.length);
      }
    });

    it('matches golden cases one text at a time through POST /v1/predict {text}', async () => {
      for (const expected of golden.filter((_, i) => i % 9 === 0)) {
        const response = await predictOne(expected.text);
        expect(response.status).toBe(200);
        expect(response.body.predictions).toHaveLength(1);
        expect(response.body.predictions[0]!.label, `case ${expected.id}`).toBe(expected.label);
        expectScores(response.body.predictions[0]!.scores, expected, labels);
      }
    });

    it('matches every golden case through the Open Inference Protocol (BYTES in, FP32 probabilities out)', async () => {
      for (let start = 0; start < golden.length; start += CHUNK) {
        const chunk = golden.slice(start, start + CHUNK);
        const response = await call<InferAnswer>(
          '/v2/models/news-bag/infer',
          post({
            id: `chunk-${start}`,
            inputs: [
              { name: 'text', shape: [chunk.length], datatype: 'BYTES', data: chunk.map((c) => c.text) },
            ],
          }),
        );
        expect(response.status).toBe(200);
        const { outputs, ...rest } = response.body;
        expect(rest).toEqual({ model_name: 'news-bag', model_version: '1.0.0', id: `chunk-${start}` });
        expect(outputs.map((o) => ({ name: o.name, shape: o.shape, datatype: o.datatype }))).toEqual([
          { name: 'probabilities', shape: [chunk.length, labels.length], datatype: 'FP32' },
          { name: 'prediction_id', shape: [chunk.length], datatype: 'BYTES' },
        ]);
        const [output, ids] = outputs;
        expect(new Set(ids!.data).size).toBe(chunk.length);
        chunk.forEach((expected, row) => {
          const scores = Object.fromEntries(
            labels.map((label, i) => [label, output!.data[row * labels.length + i] as number]),
          );
          expectScores(scores, expected, labels);
        });
      }
    });

    it('accepts v2 BYTES data nested as [N, 1] and omits "id" when the request has none', async () => {
      const cases = golden.slice(0, 3);
      const response = await call<InferAnswer>(
        '/v2/models/news-bag/versions/1.0.0/infer',
        post({
          inputs: [{ name: 'text', shape: [3, 1], datatype: 'BYTES', data: cases.map((c) => [c.text]) }],
          outputs: [{ name: 'probabilities' }],
        }),
      );
      expect(response.status).toBe(200);
      expect(Object.keys(response.body)).toEqual(['model_name', 'model_version', 'outputs']);
      // Only the output asked for: no prediction_id.
      expect(response.body.outputs.map((o) => [o.name, o.shape])).toEqual([
        ['probabilities', [3, labels.length]],
      ]);
    });

    it('describes the model as Open Inference Protocol metadata', async () => {
      const expected = {
        name: 'news-bag',
        versions: ['1.0.0'],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'text', datatype: 'BYTES', shape: [-1] }],
        outputs: [
          { name: 'probabilities', datatype: 'FP32', shape: [-1, labels.length] },
          { name: 'prediction_id', datatype: 'BYTES', shape: [-1] },
        ],
      };
      for (const path of ['/v2/models/news-bag', '/v2/models/news-bag/versions/1.0.0']) {
        const response = await call(path, { headers: AUTH });
        expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: expected });
      }
    });

    it('answers the v2 health endpoints with 200 and an empty body, without a token', async () => {
      for (const path of ['/v2/health/live', '/v2/health/ready']) {
        const response = await target.fetch(path);
        expect({ path, status: response.status, body: await response.text() }).toEqual({
          path,
          status: 200,
          body: '',
        });
      }
    });

    it('answers v2 model ready with 200 for the served model and 404 for another', async () => {
      const ready = await target.fetch('/v2/models/news-bag/ready', { headers: AUTH });
      expect({ status: ready.status, body: await ready.text() }).toEqual({ status: 200, body: '' });
      const unknown = await call<WireError>('/v2/models/other/ready', { headers: AUTH });
      expectWireError(unknown, 404, 'MODEL_NOT_FOUND');
    });

    it('answers GET /v2 with the server metadata', async () => {
      const response = await call('/v2', { headers: AUTH });
      expect({ status: response.status, body: response.body }).toEqual({
        status: 200,
        body: { name: 'shipshape', version: '0.1.0', extensions: [] },
      });
    });

    it('lists the model with its labels and backend at GET /v1/models', async () => {
      const response = await call<{ models: Record<string, unknown>[] }>('/v1/models', {
        headers: AUTH,
      });
      expect(response.status).toBe(200);
      expect(response.body.models).toHaveLength(1);
      const [model] = response.body.models;
      expect(model).toMatchObject({
        name: 'news-bag',
        version: '1.0.0',
        task: 'text-classification',
        labels,
        ready: true,
      });
      expect(backends).toContain((model!.backend as { backend: string }).backend);
    });

    it.each(BAD_INPUTS)(
      'answers $status $code for $what, then serves the next valid request',
      async (bad) => {
        const response = await call<WireError>(bad.path, bad.init);
        expectWireError(response, bad.status, bad.code);
        if (bad.allow !== undefined) expect(response.headers.get('allow')).toBe(bad.allow);
        const next = await predictOne(golden[0]!.text);
        expect(next.status).toBe(200);
        expect(next.body.predictions[0]!.label).toBe(golden[0]!.label);
      },
    );

    it('answers 413 PAYLOAD_TOO_LARGE for a chunked body over the limit (no Content-Length)', async () => {
      const chunk = new TextEncoder().encode(`"${'c'.repeat(16_384)}",`);
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent === 0) controller.enqueue(new TextEncoder().encode('{"texts":['));
          if (sent > MAX_BODY_BYTES * 2) {
            controller.enqueue(new TextEncoder().encode('"end"]}'));
            controller.close();
            return;
          }
          controller.enqueue(chunk);
          sent += chunk.byteLength;
        },
      });
      const response = await call<WireError>('/v1/predict', {
        method: 'POST',
        headers: { ...AUTH, 'Content-Type': 'application/json' },
        body,
        duplex: 'half',
      } as RequestInit);
      expectWireError(response, 413, 'PAYLOAD_TOO_LARGE');
      expect((await predictOne('still serving')).status).toBe(200);
    });

    it('answers 100 concurrent requests, every one correctly', async () => {
      const cases = Array.from({ length: 100 }, (_, i) => golden[(i * 7) % golden.length]!);
      const responses = await Promise.all(cases.map((c) => predictOne(c.text)));
      expect(responses.map((r) => r.status)).toEqual(cases.map(() => 200));
      expect(responses.map((r) => r.body.predictions[0]!.label)).toEqual(cases.map((c) => c.label));
    });

    describe('request ids and Server-Timing', () => {
      it('echoes a well-formed X-Request-Id on an answer', async () => {
        const response = await call('/v1/predict', {
          ...post({ text: 'a' }),
          headers: { ...AUTH, 'X-Request-Id': 'contract-1' },
        });
        expect(response.status).toBe(200);
        expect(response.headers.get('x-request-id')).toBe('contract-1');
      });

      it('puts the X-Request-Id in the error body', async () => {
        const response = await call<WireError>('/v1/predict', {
          ...post({}),
          headers: { ...AUTH, 'X-Request-Id': 'contract-2' },
        });
        expectWireError(response, 422, 'INPUT_INVALID');
        expect(response.body.error.requestId).toBe('contract-2');
      });

      it('generates a request id when the client sends none', async () => {
        const response = await call('/healthz');
        expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      });

      it('sends Server-Timing with queue, infer and total on a prediction', async () => {
        const response = await call('/v1/predict', post({ text: 'a' }));
        const names = (response.headers.get('server-timing') ?? '').split(',').map((m) => m.split(';')[0]);
        expect(names).toEqual(['queue', 'infer', 'total']);
      });
    });

    describe('input policy', () => {
      it('answers a 60,000-character unknown key with 422 quoting at most an excerpt of it', async () => {
        const response = await call<WireError>('/v1/predict', post({ text: 'a', ['k'.repeat(60_000)]: 1 }));
        expectWireError(response, 422, 'INPUT_INVALID');
        expect(response.body.error.message).toContain('(60000 characters)');
        expect(response.body.error.message.length).toBeLessThan(200);
      });

      // Only a socket shows these: app.request() has no HTTP parser in front of the app.
      if (http !== undefined) {
        it('accepts a bearer header with spaces and a tab after the token, as Node strips them', async () => {
          for (const padding of ['   ', '\t']) {
            const answer = await rawRequest(
              socket(),
              `GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}${padding}\r\nConnection: close`,
            );
            expect({ padding, status: parseRawResponse(answer).status }).toEqual({ padding, status: 200 });
          }
        });

        it('answers a broken chunked body with a JSON 400', async () => {
          const answer = await rawRequest(
            socket(),
            'POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
              `Authorization: Bearer ${TOKEN}\r\nTransfer-Encoding: chunked\r\nConnection: close`,
            'zz\r\n{"text":"a"}\r\n0\r\n\r\n',
          );
          const { status, body } = parseRawResponse(answer);
          expect(status).toBe(400);
          expect(['MALFORMED_REQUEST', 'BODY_INCOMPLETE']).toContain((body as WireError).error.code);
        });

        it(
          http.badContentLength === 'json-400'
            ? 'answers a non-numeric Content-Length with a JSON 400 MALFORMED_REQUEST'
            : "answers a non-numeric Content-Length with workerd's own plain-text 500, before the Worker runs",
          async () => {
            const answer = await rawRequest(
              socket(),
              'POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
                `Authorization: Bearer ${TOKEN}\r\nContent-Length: abc\r\nConnection: close`,
              '{"text":"a"}',
            );
            const { status, body } = parseRawResponse(answer);
            if (http.badContentLength === 'json-400') {
              expect({ status, code: (body as WireError).error.code }).toEqual({
                status: 400,
                code: 'MALFORMED_REQUEST',
              });
            } else {
              expect({ status, body }).toEqual({ status: 500, body: 'Internal Server Error' });
            }
          },
        );
      }
    });

    describe('bearer token', () => {
      it('answers 401 UNAUTHORIZED with a Bearer challenge when the token is missing', async () => {
        const response = await call<WireError>('/v1/predict', {
          method: 'POST',
          json: { text: 'a' },
        });
        expectWireError(response, 401, 'UNAUTHORIZED');
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      });

      it('answers 401 UNAUTHORIZED for a wrong token', async () => {
        const response = await call<WireError>('/v1/models', {
          headers: { Authorization: `Bearer ${TOKEN}x` },
        });
        expectWireError(response, 401, 'UNAUTHORIZED');
        expect(response.headers.get('www-authenticate')).toContain('invalid_token');
      });

      it('answers 401 UNAUTHORIZED for a malformed Authorization header', async () => {
        const response = await call<WireError>('/v2/models/news-bag', {
          headers: { Authorization: 'Basic dXNlcjpwYXNz' },
        });
        expectWireError(response, 401, 'UNAUTHORIZED');
      });

      it('answers 200 with the right token', async () => {
        const response = await call('/v1/models', { headers: AUTH });
        expect(response.status).toBe(200);
      });
    });

    describe('CORS', () => {
      it('answers a preflight from an allowed origin with 204 and the allowed methods and headers', async () => {
        const response = await target.fetch('/v1/predict', {
          method: 'OPTIONS',
          headers: {
            Origin: ALLOWED_ORIGIN,
            'Access-Control-Request-Method': 'POST',
            'Access-Control-Request-Headers': 'authorization, content-type',
          },
        });
        expect(response.status).toBe(204);
        expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
        expect(response.headers.get('access-control-allow-methods')).toContain('POST');
        expect(response.headers.get('access-control-allow-headers')?.toLowerCase()).toContain(
          'authorization',
        );
        expect(response.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('content-type');
      });

      it('gives no Access-Control-Allow-Origin to an origin not in the list', async () => {
        const response = await target.fetch('/v1/predict', {
          method: 'OPTIONS',
          headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
        });
        expect(response.headers.get('access-control-allow-origin')).toBeNull();
      });

      it('marks answers and errors for an allowed origin readable by it', async () => {
        const ok = await target.fetch('/v1/predict', {
          method: 'POST',
          headers: { ...AUTH, Origin: ALLOWED_ORIGIN, 'Content-Type': 'application/json' },
          body: JSON.stringify({ text: 'a' }),
        });
        expect(ok.status).toBe(200);
        expect(ok.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
        const denied = await target.fetch('/v1/predict', {
          method: 'POST',
          headers: { Origin: ALLOWED_ORIGIN },
        });
        expect(denied.status).toBe(401);
        expect(denied.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
      });
    });

    // Only the HTTP entries serve dist/web; the in-process app is built without static files.
    describe.runIf(http !== undefined)('static files', () => {
      it('serves the demo page at /', async () => {
        const response = await target.fetch('/');
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toMatch(/^text\/html/);
        expect(await response.text()).toContain('<script type="module" src="/app/demo.js">');
      });

      it("serves onnxruntime-web's 26 MB WebGPU .wasm, stored gzipped, as application/wasm", async () => {
        const response = await target.fetch('/app/ort-wasm-simd-threaded.asyncify.wasm');
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe('application/wasm');
        const bytes = new Uint8Array(await response.arrayBuffer());
        const original = readFileSync(
          createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm'),
        );
        expect(bytes.byteLength).toBe(original.byteLength);
        expect(Buffer.compare(Buffer.from(bytes), original)).toBe(0);
      });
    });
  });
}
