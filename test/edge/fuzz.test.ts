// Property test: generated methods, paths, headers and bodies through the app in-process (app.request) with a real
// news-bag predictor (onnxruntime-node). Whatever arrives: never a 5xx but a known 503, never a stack, always the
// JSON error shape with the request id that the X-Request-Id header carries.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type EdgeApp } from '../../edge/app.ts';
import { readConfig } from '../../edge/config.ts';
import { MAX_MESSAGE_CHARS } from '../../edge/excerpt.ts';
import { createLog } from '../../edge/log.ts';
import { createPredictor, loadBundle } from '../../runtime/node.ts';
import { BUNDLE_DIR } from './support.ts';

const TOKEN = 'fuzz-token_0123';
const MAX_BODY_BYTES = 65_536;
const RUNS = 300;
/** 503 codes that mean "not now" rather than a bug. */
const KNOWN_503 = ['OVERLOADED', 'NOT_READY', 'MODEL_UNAVAILABLE', 'DISPOSED', 'BACKEND_UNAVAILABLE'];

const PATHS = [
  '/healthz',
  '/readyz',
  '/v1/models',
  '/v1/predict',
  '/v2',
  '/v2/health/live',
  '/v2/health/ready',
  '/v2/models/news-bag',
  '/v2/models/news-bag/ready',
  '/v2/models/news-bag/infer',
  '/v2/models/news-bag/versions/1.0.0',
  '/v2/models/news-bag/versions/1.0.0/infer',
  '/v2/models/other/infer',
];

const text = fc.string({ unit: 'binary', maxLength: 40 });
const blank = fc.constantFrom('', ' ', '\t\n', '\u00a0\u2003');
const hugeKey = fc.integer({ min: 100, max: 70_000 }).map((n) => 'k'.repeat(n));

const jsonBody = fc.oneof(
  fc.record({ text: fc.oneof(text, blank) }),
  fc.record({ texts: fc.array(fc.oneof(text, blank), { maxLength: 12 }) }),
  fc.record({ text, model: fc.oneof(fc.constant('news-bag'), fc.string({ maxLength: 300 })) }),
  fc.record({
    inputs: fc.array(
      fc.record({
        name: fc.constantFrom('text', 'input_ids', ''),
        shape: fc.array(fc.integer({ min: -1, max: 20 }), { maxLength: 3 }),
        datatype: fc.constantFrom('BYTES', 'FP32'),
        data: fc.array(fc.oneof(text, blank, fc.integer(), fc.array(text, { maxLength: 2 })), {
          maxLength: 8,
        }),
      }),
      { maxLength: 2 },
    ),
    outputs: fc.option(fc.array(fc.record({ name: fc.string({ maxLength: 20 }) }), { maxLength: 2 }), {
      nil: undefined,
    }),
  }),
  fc.tuple(hugeKey, fc.jsonValue({ maxDepth: 1 })).map(([key, value]) => ({ text: 'a', [key]: value })),
  fc.jsonValue({ maxDepth: 3 }),
);

const encoder = new TextEncoder();
const body = fc.oneof(
  { arbitrary: jsonBody.map((value) => encoder.encode(JSON.stringify(value) ?? 'null')), weight: 6 },
  fc.uint8Array({ maxLength: 200 }),
  // Valid JSON around a byte that is never UTF-8.
  fc.tuple(text, fc.constantFrom(0xff, 0xc0, 0x80, 0xed)).map(([t, bad]) => {
    const bytes = encoder.encode(JSON.stringify({ text: `${t}#` }));
    bytes[bytes.length - 3] = bad;
    return bytes;
  }),
  fc.string({ maxLength: 100 }).map((s) => encoder.encode(s)),
);

/** A header value fetch's Headers accepts (no CR, LF or NUL). */
const headerValue = fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((s) => s.replace(/[\r\n\0]/g, ''));

/** Mostly `common`, sometimes `rare`: enough requests get past auth and the media type to reach the schemas. */
const mostly = <T>(common: fc.Arbitrary<T>, rare: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: common, weight: 6 }, { arbitrary: rare, weight: 1 });
/** Absent (undefined) `1 - 1/freq` of the time. */
const sometimes = <T>(value: fc.Arbitrary<T>, freq: number) => fc.option(value, { nil: undefined, freq });

const headers = fc
  .record({
    'Content-Type': sometimes(
      mostly(
        fc.constant('application/json'),
        fc.oneof(
          fc.constantFrom(
            'application/json; charset=utf-8',
            'application/json; charset="UTF-8"',
            'application/json; charset=latin1',
            'application/json;charset=utf-16',
            'application/vnd.api+json',
            'text/plain',
            'multipart/form-data; boundary=x',
          ),
          headerValue,
        ),
      ),
      8,
    ),
    'Content-Encoding': sometimes(
      fc.oneof(fc.constantFrom('gzip', 'br', 'deflate', 'identity', 'gzip, identity'), headerValue),
      2,
    ),
    Authorization: sometimes(
      mostly(
        fc.constant(`Bearer ${TOKEN}`),
        fc.oneof(
          fc.constantFrom(
            `Bearer  ${TOKEN} `,
            `bearer ${TOKEN}`,
            `Bearer ${TOKEN}x`,
            'Bearer',
            'Basic dXNlcjpwYXNz',
          ),
          headerValue,
        ),
      ),
      10,
    ),
    'X-Request-Id': sometimes(fc.oneof(fc.stringMatching(/^[A-Za-z0-9_=-]{1,128}$/), headerValue), 2),
    'Content-Length': sometimes(fc.oneof(fc.nat({ max: 200_000 }).map(String), headerValue), 2),
  })
  .map(
    (all) =>
      Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as Record<string, string>,
  );

const method = mostly(
  fc.constantFrom('POST', 'GET'),
  fc.oneof(
    fc.constantFrom('HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
    fc.stringMatching(/^[A-Z]{1,12}$/).filter((m) => !['CONNECT', 'TRACE', 'TRACK'].includes(m)),
  ),
);

const path = mostly(
  fc.constantFrom(...PATHS),
  fc.oneof(
    fc.webPath(),
    fc.string({ maxLength: 300 }).map((s) => `/v2/models/${encodeURIComponent(s)}/infer`),
  ),
);

const requestCase = fc.oneof(
  fc.record({ method, path, headers, body: sometimes(body, 8) }),
  // Aimed at the validating routes: a POST with a body, so most cases reach the media type and schema checks.
  fc.record({
    method: fc.constant('POST'),
    path: fc.constantFrom('/v1/predict', '/v2/models/news-bag/infer'),
    headers,
    body,
  }),
);

describe('the edge app under generated requests', () => {
  let edge: EdgeApp;
  const logged: string[] = [];

  beforeAll(async () => {
    edge = createApp({
      config: readConfig({ SHIPSHAPE_TOKEN: TOKEN, SHIPSHAPE_MAX_BODY_BYTES: String(MAX_BODY_BYTES) }),
      log: createLog({ sink: (line) => logged.push(line) }),
      loadPredictor: async () => createPredictor(await loadBundle(BUNDLE_DIR), { backend: 'native' }),
    });
    await edge.warmUp();
  });

  afterAll(async () => {
    await edge?.dispose();
  });

  it(`never answers a 5xx but a known 503, never a stack, always the JSON error shape (${RUNS} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(requestCase, async (generated) => {
        const carriesBody = generated.method !== 'GET' && generated.method !== 'HEAD';
        const response = await edge.app.request(`http://localhost${generated.path}`, {
          method: generated.method,
          headers: generated.headers,
          ...(carriesBody && generated.body !== undefined ? { body: generated.body } : {}),
        });
        const raw = await response.text();
        const id = response.headers.get('x-request-id');
        expect(id).toMatch(/^[A-Za-z0-9_=-]{1,128}$/);
        const sent = generated.headers['X-Request-Id'];
        if (sent !== undefined && /^[A-Za-z0-9_=-]{1,128}$/.test(sent)) expect(id).toBe(sent);
        expect(raw).not.toMatch(/\n\s+at /);
        if (response.status < 400 || generated.method === 'HEAD') return;
        expect(response.headers.get('content-type')).toMatch(/^application\/json/);
        const wire = JSON.parse(raw) as { error: { code: string; message: string; requestId: string } };
        expect(Object.keys(wire)).toEqual(['error']);
        expect(Object.keys(wire.error)).toEqual(['code', 'message', 'requestId']);
        expect(wire.error.requestId).toBe(id);
        expect(wire.error.message.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
        if (response.status >= 500) {
          expect({ status: response.status, known: KNOWN_503.includes(wire.error.code) }).toEqual({
            status: 503,
            known: true,
          });
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('logged no unexpected error while fuzzed', () => {
    expect(logged.filter((line) => line.includes('unexpected error'))).toEqual([]);
  });
});
