// GET /v1/health and POST /v1/feedback on the real Node server (news-bag): the report, feedback turning the accuracy
// check, drifted traffic turning the OOV check and firing one alert line, and bad feedback bodies.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readConfig } from '../../edge/config.ts';
import { localHealthStore } from '../../edge/health.ts';
import { createLog } from '../../edge/log.ts';
import { startNodeServer, type NodeServer } from '../../edge/node-server.ts';
import { CHECK_NAMES, type HealthReport } from '../../runtime/monitor/types.ts';
import {
  BUNDLE_DIR,
  QUIET_VARS,
  readServableGoldenCases,
  request,
  startNode,
  type GoldenCase,
  type RunningServer,
  type WireError,
} from './support.ts';

const TOKEN = 'health-token_0123';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const LABELS = ['World', 'Sports', 'Business', 'Sci/Tech'];
/** Feedback items for a verdict in these tests (the default is 100). */
const MIN_FEEDBACK = 20;

interface Predicted {
  readonly predictions: readonly { readonly id: string; readonly label: string }[];
}

interface FeedbackAnswer {
  readonly id: string;
  readonly status: string;
  readonly correct?: boolean;
  readonly error?: { readonly code: string; readonly message: string };
}

async function predictAll(url: string, texts: readonly string[]) {
  const ids: { id: string; label: string }[] = [];
  for (let start = 0; start < texts.length; start += 60) {
    const answer = await request<Predicted>(`${url}/v1/predict`, {
      method: 'POST',
      headers: AUTH,
      json: { texts: texts.slice(start, start + 60) },
    });
    expect(answer.status).toBe(200);
    ids.push(...answer.body.predictions.map(({ id, label }) => ({ id, label })));
  }
  return ids;
}

const health = (url: string) => request<HealthReport>(`${url}/v1/health`, { headers: AUTH });
const feedback = <T = FeedbackAnswer>(url: string, json: unknown) =>
  request<T>(`${url}/v1/feedback`, { method: 'POST', headers: AUTH, json });
const wrongLabel = (label: string) => LABELS.find((other) => other !== label)!;

describe('GET /v1/health and POST /v1/feedback', () => {
  let server: RunningServer;
  let golden: GoldenCase[];

  beforeAll(async () => {
    server = await startNode({
      SHIPSHAPE_TOKEN: TOKEN,
      SHIPSHAPE_HEALTH_THRESHOLDS: JSON.stringify({ minFeedback: MIN_FEEDBACK }),
    });
    golden = readServableGoldenCases();
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers a report with every check, 200 while nothing is bad', async () => {
    const answer = await health(server.url);
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('ok');
    expect(answer.body.model).toEqual({ name: 'news-bag', version: '1.0.0' });
    expect(Object.keys(answer.body.checks)).toEqual([...CHECK_NAMES]);
    for (const name of CHECK_NAMES) {
      expect(Object.keys(answer.body.checks[name])).toEqual(
        expect.arrayContaining(['name', 'status', 'ok', 'value', 'threshold', 'samples', 'minSamples']),
      );
    }
    expect(answer.body.checks.accuracy.minSamples).toBe(MIN_FEEDBACK);
  });

  it("gives every prediction its own id: the request's random key and the prediction's index", async () => {
    const ids = (
      await predictAll(
        server.url,
        golden.slice(0, 3).map((c) => c.text),
      )
    ).map(({ id }) => id);
    const key = ids[0]!.split('.')[0]!;
    expect(UUID.test(key)).toBe(true);
    expect(ids).toEqual([`${key}.0`, `${key}.1`, `${key}.2`]);
    const [single] = await predictAll(server.url, [golden[0]!.text]);
    expect(UUID.test(single!.id)).toBe(true);
  });

  it('records feedback once: 200 with the verdict, then 409 FEEDBACK_DUPLICATE', async () => {
    const [predicted] = await predictAll(server.url, [golden[0]!.text]);
    const first = await feedback(server.url, { id: predicted!.id, label: predicted!.label });
    expect({ status: first.status, body: first.body }).toEqual({
      status: 200,
      body: { id: predicted!.id, status: 'recorded', correct: true },
    });
    const again = await feedback<WireError>(server.url, { id: predicted!.id, label: predicted!.label });
    expect({ status: again.status, code: again.body.error.code }).toEqual({
      status: 409,
      code: 'FEEDBACK_DUPLICATE',
    });
  });

  it('answers 404 PREDICTION_NOT_FOUND for an id it never gave', async () => {
    const answer = await feedback<WireError>(server.url, { id: 'no-such-prediction', label: 'Sports' });
    expect({ status: answer.status, code: answer.body.error.code }).toEqual({
      status: 404,
      code: 'PREDICTION_NOT_FOUND',
    });
  });

  it("answers 422 INPUT_INVALID for a label the model does not have, naming the model's labels", async () => {
    const [predicted] = await predictAll(server.url, [golden[1]!.text]);
    const answer = await feedback<WireError>(server.url, { id: predicted!.id, label: 'Weather' });
    expect({ status: answer.status, code: answer.body.error.code }).toEqual({
      status: 422,
      code: 'INPUT_INVALID',
    });
    expect(answer.body.error.message).toContain('World, Sports, Business, Sci/Tech');
  });

  it.each([
    ['a body that is not JSON', '{"id":', 400, 'MALFORMED_JSON'],
    ['a body without a label', JSON.stringify({ id: 'abc' }), 422, 'INPUT_INVALID'],
    [
      'a body with an unknown field',
      JSON.stringify({ id: 'abc', label: 'Sports', x: 1 }),
      422,
      'INPUT_INVALID',
    ],
    ['an empty feedback list', JSON.stringify({ feedback: [] }), 422, 'INPUT_INVALID'],
    [
      '1001 feedback items',
      JSON.stringify({
        feedback: Array.from({ length: 1001 }, (_, i) => ({ id: `p${i}`, label: 'Sports' })),
      }),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
  ])('answers %s with %i %s', async (_what, body, status, code) => {
    const answer = await request<WireError>(`${server.url}/v1/feedback`, {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body,
    });
    expect({ status: answer.status, code: answer.body.error.code }).toEqual({ status, code });
  });

  it('answers a feedback list item by item', async () => {
    const [a, b] = await predictAll(
      server.url,
      golden.slice(2, 4).map((c) => c.text),
    );
    const answer = await feedback<{ recorded: number; feedback: FeedbackAnswer[] }>(server.url, {
      feedback: [
        { id: a!.id, label: wrongLabel(a!.label) },
        { id: 'unknown-id', label: 'Sports' },
        { id: b!.id, label: 'Weather' },
      ],
    });
    expect(answer.status).toBe(200);
    expect(answer.body.recorded).toBe(1);
    expect(
      answer.body.feedback.map((item) => [item.id, item.status, item.correct ?? item.error?.code]),
    ).toEqual([
      [a!.id, 'recorded', false],
      ['unknown-id', 'refused', 'PREDICTION_NOT_FOUND'],
      [b!.id, 'refused', 'INPUT_INVALID'],
    ]);
  });

  it('turns the accuracy check bad once enough feedback says the predictions were wrong', async () => {
    const texts = golden.slice(10, 10 + 3 * MIN_FEEDBACK).map((c) => c.text);
    const predicted = await predictAll(server.url, texts);
    const correct = await feedback<{ recorded: number }>(server.url, {
      feedback: predicted.slice(0, MIN_FEEDBACK).map(({ id, label }) => ({ id, label })),
    });
    expect(correct.body.recorded).toBe(MIN_FEEDBACK);
    const before = (await health(server.url)).body.checks.accuracy;
    expect(before.status).toBe('ok');
    const wrong = await feedback<{ recorded: number }>(server.url, {
      feedback: predicted.slice(MIN_FEEDBACK).map(({ id, label }) => ({ id, label: wrongLabel(label) })),
    });
    expect(wrong.body.recorded).toBe(2 * MIN_FEEDBACK);
    const after = (await health(server.url)).body.checks.accuracy;
    expect({ status: after.status, ok: after.ok }).toEqual({ status: 'bad', ok: false });
    expect(after.value).toBeLessThan(before.value!);
  });

  it('gives ids through the Open Inference Protocol too, as a prediction_id output', async () => {
    const answer = await request<{
      outputs: { name: string; datatype: string; shape: number[]; data: string[] }[];
    }>(`${server.url}/v2/models/news-bag/infer`, {
      method: 'POST',
      headers: AUTH,
      json: {
        inputs: [{ name: 'text', shape: [2], datatype: 'BYTES', data: [golden[5]!.text, golden[6]!.text] }],
      },
    });
    expect(answer.status).toBe(200);
    const ids = answer.body.outputs.find((output) => output.name === 'prediction_id')!;
    expect({ datatype: ids.datatype, shape: ids.shape }).toEqual({ datatype: 'BYTES', shape: [2] });
    const taken = await feedback(server.url, { id: ids.data[0], label: golden[5]!.label });
    expect(taken.body.status).toBe('recorded');
  });

  it('answers 405 with Allow for a wrong method on the health routes', async () => {
    const get = await request<WireError>(`${server.url}/v1/feedback`, { headers: AUTH });
    const post = await request<WireError>(`${server.url}/v1/health`, { method: 'POST', headers: AUTH });
    expect([get.status, get.headers.get('Allow'), post.status, post.headers.get('Allow')]).toEqual([
      405,
      'POST',
      405,
      'GET, HEAD',
    ]);
  });
});

/** Texts of made-up words: nearly every token is unknown to the news vocabulary. */
function gibberish(count: number): string[] {
  let seed = 7;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed;
  };
  const word = () =>
    Array.from({ length: 5 + (next() % 4) }, () => String.fromCharCode(97 + (next() % 26))).join('');
  return Array.from({ length: count }, () => Array.from({ length: 12 }, word).join(' '));
}

describe('drifted traffic', () => {
  let server: RunningServer;
  let hook: Server;
  const lines: string[] = [];
  const posted: { kind: string; alert: { check: string } }[] = [];
  let report: HealthReport;
  let status: number;

  beforeAll(async () => {
    // A real HTTP receiver for SHIPSHAPE_ALERT_WEBHOOK.
    hook = createServer((incoming, response) => {
      let body = '';
      incoming.on('data', (chunk: Buffer) => (body += chunk.toString()));
      incoming.on('end', () => {
        posted.push(JSON.parse(body) as (typeof posted)[number]);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`;
    server = await startNode(
      { SHIPSHAPE_TOKEN: TOKEN, SHIPSHAPE_ALERT_WEBHOOK: hookUrl },
      { log: createLog({ sink: (line) => lines.push(line) }) },
    );
    await predictAll(server.url, gibberish(600));
    for (let read = 0; read < 3; read++) {
      const answer = await health(server.url);
      report = answer.body;
      status = answer.status;
    }
    // /metrics evaluates health too.
    await fetch(`${server.url}/metrics`, { headers: AUTH });
  });
  afterAll(async () => {
    await server.close();
    await new Promise((resolve) => hook.close(resolve));
  });

  it('turns the OOV check bad', () => {
    expect(report.checks.oov_rate.status).toBe('bad');
    expect(report.checks.oov_rate.value).toBeGreaterThan(0.5);
    expect(status).toBe(report.status === 'failing' ? 503 : 200);
  });

  it('logs exactly one alert line per bad check, however often health is read', () => {
    const alerts = lines
      .map(
        (line) =>
          JSON.parse(line) as { msg: string; event?: string; kind?: string; check?: string; level: string },
      )
      .filter((line) => line.event === 'alert');
    const bad = CHECK_NAMES.filter((name) => report.checks[name].status === 'bad');
    expect(bad).toContain('oov_rate');
    expect(alerts.map((line) => line.check).sort()).toEqual([...bad].sort());
    expect(alerts.map((line) => [line.level, line.msg, line.kind])).toEqual(
      bad.map(() => ['warn', 'alert', 'firing']),
    );
  });

  it('POSTs each alert event to SHIPSHAPE_ALERT_WEBHOOK once', async () => {
    const bad = CHECK_NAMES.filter((name) => report.checks[name].status === 'bad');
    await vi.waitFor(() => expect(posted).toHaveLength(bad.length), { timeout: 10_000, interval: 20 });
    expect(posted.map(({ kind, alert }) => [kind, alert.check]).sort()).toEqual(
      bad.map((check) => ['firing', check]).sort(),
    );
  });

  it('lists the alert as firing in the report', () => {
    expect(report.alerts.filter((alert) => alert.state === 'firing').map((alert) => alert.check)).toContain(
      'oov_rate',
    );
  });
});

describe('health on its own timer, and across a model swap', () => {
  let server: NodeServer;
  const lines: string[] = [];
  /** Every report the health store gave: until a test reads /v1/health or /metrics, only the timer asks. */
  const reports: HealthReport[] = [];

  beforeAll(async () => {
    const local = localHealthStore();
    server = await startNodeServer({
      bundle: BUNDLE_DIR,
      port: 0,
      config: readConfig({ ...QUIET_VARS, SHIPSHAPE_TOKEN: TOKEN }),
      webDir: false,
      log: createLog({ sink: (line) => lines.push(line) }),
      healthIntervalMs: 50,
      health: {
        ...local,
        report: async (monitor) => {
          const report = await local.report(monitor);
          reports.push(report);
          return report;
        },
      },
    });
  });
  afterAll(async () => {
    await server.close();
  });

  // The monitor also evaluates after recording (at most once a second), so an alert line alone does not prove the
  // timer: the timer's own reports, with no read over HTTP, do.
  it('fires an alert from the timer, with no read of /v1/health or /metrics', async () => {
    await predictAll(server.url, gibberish(600));
    const afterTraffic = reports.length;
    await vi.waitFor(
      () => {
        const firing = reports
          .slice(afterTraffic)
          .some((report) => report.alerts.some((a) => a.check === 'oov_rate' && a.state === 'firing'));
        expect(firing).toBe(true);
        expect(
          lines.some((line) => line.includes('"event":"alert"') && line.includes('"check":"oov_rate"')),
        ).toBe(true);
      },
      { timeout: 30_000, interval: 50 },
    );
  });

  it('starts a fresh monitor for a swapped-in model: counts from zero, old ids forgotten', async () => {
    const [old] = await predictAll(server.url, ['The striker scored twice in the final']);
    await server.reload();
    const report = (await health(server.url)).body;
    expect(report.checks.oov_rate.samples).toBe(0);
    const answer = await feedback<WireError>(server.url, { id: old!.id, label: 'Sports' });
    expect({ status: answer.status, code: answer.body.error.code }).toEqual({
      status: 404,
      code: 'PREDICTION_NOT_FOUND',
    });
    const [fresh] = await predictAll(server.url, ['The striker scored twice in the final']);
    expect((await feedback(server.url, { id: fresh!.id, label: 'Sports' })).body.status).toBe('recorded');
  });
});
