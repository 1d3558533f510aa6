// Alert sinks over real HTTP: the log line, webhook retries and timeouts, and predictions that never wait on a sink.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPredictor, loadBundle, type Predictor } from '../../runtime/node.ts';
import {
  createHealthMonitor,
  logSink,
  webhookSink,
  type AlertEvent,
  type AlertState,
} from '../../runtime/monitor/index.ts';
import { bundleDir } from '../helpers/bundle-copy.ts';
import { rejection } from '../helpers/rejection.ts';

const ALERT: AlertState = {
  check: 'oov_rate',
  severity: 'warning',
  state: 'firing',
  since: '2026-12-03T10:00:00.000Z',
  lastSentAt: '2026-12-03T10:00:00.000Z',
  value: 0.2,
  threshold: 0.037445,
  detail: 'Unknown tokens 20% of 5000.',
  model: { name: 'news-bag', version: '1.0.0' },
};
const FIRING: AlertEvent = { kind: 'firing', alert: ALERT };

/** A local webhook receiver: records each POST body, answers as `answer` says (or never, for 'hang'). */
interface Receiver {
  readonly url: string;
  readonly bodies: unknown[];
  readonly server: Server;
  answer: number | 'hang';
}

async function startReceiver(answer: number | 'hang'): Promise<Receiver> {
  const bodies: unknown[] = [];
  const hung: ServerResponse[] = [];
  const receiver = { bodies, answer } as { -readonly [K in keyof Receiver]: Receiver[K] };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      bodies.push(JSON.parse(body));
      if (receiver.answer === 'hang') hung.push(response);
      else response.writeHead(receiver.answer).end();
    });
  });
  server.on('close', () => hung.forEach((response) => response.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.server = server;
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/alerts`;
  return receiver;
}

const receivers: Receiver[] = [];
async function receiver(answer: number | 'hang'): Promise<Receiver> {
  const started = await startReceiver(answer);
  receivers.push(started);
  return started;
}

afterEach(async () => {
  for (const { server } of receivers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('logSink', () => {
  it('writes one JSON line per event, warn for a firing alert and info for a resolution', async () => {
    const lines: string[] = [];
    const sink = logSink((line) => lines.push(line));
    await sink.send(FIRING);
    await sink.send({
      kind: 'resolved',
      alert: { ...ALERT, state: 'resolved', resolvedAt: '2026-12-03T11:00:00.000Z' },
    });
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      {
        level: 'warn',
        event: 'alert',
        kind: 'firing',
        check: 'oov_rate',
        severity: 'warning',
        value: 0.2,
        threshold: 0.037445,
        model: { name: 'news-bag', version: '1.0.0' },
        detail: 'Unknown tokens 20% of 5000.',
        since: '2026-12-03T10:00:00.000Z',
      },
      expect.objectContaining({ level: 'info', kind: 'resolved' }),
    ]);
  });
});

describe('webhookSink', () => {
  it('posts the event as JSON', async () => {
    const hook = await receiver(204);
    await webhookSink(hook.url).send(FIRING);
    expect(hook.bodies).toEqual([{ kind: 'firing', alert: ALERT }]);
  });

  it('retries a 500 a bounded number of times, then rejects saying so', async () => {
    const hook = await receiver(500);
    const error = await rejection(webhookSink(hook.url, { retries: 2, backoffMs: [10, 20] }).send(FIRING));
    expect(hook.bodies).toHaveLength(3);
    expect(error.message).toBe(`webhook ${new URL(hook.url).origin} answered 500 (3 attempts)`);
  });

  it('retries a 429 (a rate-limiting receiver) like a 5xx', async () => {
    const hook = await receiver(429);
    const error = await rejection(webhookSink(hook.url, { retries: 2, backoffMs: [10] }).send(FIRING));
    expect(hook.bodies).toHaveLength(3);
    expect(error.message).toMatch(/answered 429 \(3 attempts\)$/);
  });

  it('does not retry a 4xx', async () => {
    const hook = await receiver(404);
    const error = await rejection(webhookSink(hook.url, { retries: 2, backoffMs: [10] }).send(FIRING));
    expect(hook.bodies).toHaveLength(1);
    expect(error.message).toMatch(/answered 404 \(1 attempt\)$/);
  });

  it('gives up on a receiver that hangs past the timeout, retrying it too', async () => {
    const hook = await receiver('hang');
    const error = await rejection(
      webhookSink(hook.url, { timeoutMs: 150, retries: 1, backoffMs: [10] }).send(FIRING),
    );
    expect(hook.bodies).toHaveLength(2);
    expect(error.message).toMatch(/did not answer within 150 ms \(2 attempts\)$/);
  });

  it('refuses a URL that is not http(s)', () => {
    expect(() => webhookSink('file:///etc/passwd')).toThrow(/not an http\(s\) URL/);
  });
});

describe('a failing webhook and real predictions (news-bag, native)', () => {
  let predictor: Predictor;

  beforeAll(async () => {
    predictor = await createPredictor(await loadBundle(bundleDir('news-bag')), { backend: 'native' });
  });

  afterAll(async () => {
    await predictor.dispose();
  });

  /** A monitor that alerts on the first texts, on OOV only (any unknown word breaks a ceiling of 0). */
  function alertingMonitor(url: string, warnings: string[]) {
    return createHealthMonitor(predictor, {
      thresholds: {
        minTexts: 1,
        maxOovRate: 0,
        maxTruncationRate: 1,
        maxLabelDrift: 1,
        maxLengthDrift: 1,
        minEstimatedAccuracy: 0,
      },
      sinks: [webhookSink(url, { timeoutMs: 300, retries: 2, backoffMs: [10, 10] })],
      warn: (message) => warnings.push(message),
    });
  }

  async function until(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  it('answers every prediction while the webhook answers 500, and reports the failure once', async () => {
    const hook = await receiver(500);
    const warnings: string[] = [];
    const monitor = alertingMonitor(hook.url, warnings);
    const answers = await predictor.predictBatch([
      'Zyxqvw flurbles the quarterly earnings',
      'The striker scored',
    ]);
    expect(answers.map((answer) => answer.status)).toEqual(['ok', 'ok']);
    await until(() => warnings.length > 0);
    expect(hook.bodies).toHaveLength(3);
    expect(warnings).toEqual([
      `shipshape: alert sink "webhook ${new URL(hook.url).origin}" failed to deliver the firing oov_rate alert: webhook ${new URL(hook.url).origin} answered 500 (3 attempts)`,
    ]);
    monitor.dispose();
  });

  it('answers predictions while the webhook hangs, before it has answered', async () => {
    const hook = await receiver('hang');
    const warnings: string[] = [];
    const monitor = alertingMonitor(hook.url, warnings);
    const first = await predictor.predict('Zyxqvw flurbles the quarterly earnings');
    await until(() => hook.bodies.length > 0);
    const second = await predictor.predict('The striker scored twice in the final');
    expect([first.label, second.label]).toEqual(['Business', 'Sports']);
    expect(warnings).toEqual([]);
    await until(() => warnings.length > 0);
    expect(hook.bodies).toHaveLength(3);
    expect(warnings[0]).toMatch(/did not answer within 300 ms \(3 attempts\)$/);
    monitor.dispose();
  });
});
