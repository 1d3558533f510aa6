// Graceful shutdown of the Node server: requests in flight at SIGTERM finish, readiness turns 503, the deadline cuts.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startNodeServer, type NodeServer } from '../../edge/node-server.ts';
import { readConfig } from '../../edge/config.ts';
import { bundleDir } from '../helpers/bundle-copy.ts';
import { shipshape, startServe, type ServeProcess } from '../helpers/cli.ts';
import { request, type WireError } from './support.ts';

/**
 * Admission control that takes every request these tests send at once: what they test is the drain, and with the
 * default bounds most of a 50-request burst would be shed with 503 OVERLOADED before the signal.
 */
const ROOMY_ADMISSION: Record<string, string> = {
  SHIPSHAPE_MAX_QUEUED_TEXTS: '100000',
  SHIPSHAPE_MAX_QUEUE_WAIT_MS: '600000',
};

const TRANSFORMER = bundleDir('news-transformer');
const IN_FLIGHT = 50;

/** Enough texts that a news-transformer request really is in flight while the signal arrives. */
const texts = (i: number) =>
  Array.from(
    { length: 48 },
    (_, j) =>
      `Request ${i} text ${j}: stocks rallied as the central bank held rates and tech earnings beat forecasts`,
  );

interface Sent {
  /** Resolves once the headers and the first half of the body are written to the socket. */
  readonly started: Promise<void>;
  /** Writes the rest of the body. */
  finish(): void;
  /** The status, or the error code of a connection that failed (e.g. ECONNRESET). */
  readonly outcome: Promise<number | string>;
  /** The response's Connection header, once it came. */
  readonly connection: Promise<string | undefined>;
}

/**
 * Starts a JSON POST on its own connection (no keep-alive agent) and sends only the first half of the body: the
 * request stays in flight on the server (received, body still arriving) until `finish()`, however fast the model is.
 */
function startPost(url: string, path: string, json: unknown): Sent {
  const body = Buffer.from(JSON.stringify(json));
  const half = Math.floor(body.length / 2);
  const req = httpRequest(`${url}${path}`, {
    method: 'POST',
    agent: false,
    headers: { 'Content-Type': 'application/json', 'Content-Length': body.length },
  });
  let connection!: (value: string | undefined) => void;
  const connectionPromise = new Promise<string | undefined>((resolve) => (connection = resolve));
  const outcome = new Promise<number | string>((resolve) => {
    req.once('response', (response) => {
      connection(response.headers.connection);
      response.resume();
      response.once('end', () => resolve(response.statusCode ?? 0));
      response.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    req.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
  req.flushHeaders();
  const started = new Promise<void>((resolve) => req.write(body.subarray(0, half), () => resolve()));
  return { started, finish: () => req.end(body.subarray(half)), outcome, connection: connectionPromise };
}

/**
 * Starts `count` predictions, half-sent, and returns once the server has them all: each was written to its socket,
 * and a later request on a new connection was answered, so the server read the earlier ones first (loopback, one
 * event loop).
 */
async function startInFlight(url: string, count: number): Promise<Sent[]> {
  const sent = Array.from({ length: count }, (_, i) => startPost(url, '/v1/predict', { texts: texts(i) }));
  await Promise.all(sent.map((s) => s.started));
  expect((await request(`${url}/healthz`)).status).toBe(200);
  return sent;
}

/** SIGTERM, then (once the server says it drains) the rest of every body; resolves with every outcome. */
async function terminateWhileInFlight(
  serve: ServeProcess,
  sent: readonly Sent[],
): Promise<(number | string)[]> {
  serve.child.kill('SIGTERM');
  await serve.waitForOutput(/SIGTERM: draining/);
  for (const s of sent) s.finish();
  return Promise.all(sent.map((s) => s.outcome));
}

describe('shipshape serve on SIGTERM', () => {
  describe(`with ${IN_FLIGHT} requests in flight and the default deadline`, () => {
    let serve: ServeProcess;
    let outcomes: (number | string)[];
    let code: number | null;
    beforeAll(async () => {
      serve = await startServe(['--bundle', TRANSFORMER], ROOMY_ADMISSION);
      outcomes = await terminateWhileInFlight(serve, await startInFlight(serve.url, IN_FLIGHT));
      code = await serve.exited;
    }, 120_000);
    afterAll(() => {
      if (serve?.child.exitCode === null) serve.child.kill('SIGKILL');
    });

    it('logs that it drains all of them', () => {
      expect(serve.output()).toContain(
        `SIGTERM: draining, ${IN_FLIGHT} requests in flight, deadline 25000 ms`,
      );
    });

    it(`answers all ${IN_FLIGHT} with 200`, () => {
      expect(outcomes).toEqual(Array.from({ length: IN_FLIGHT }, () => 200));
    });

    it('reports them completed and exits 0', () => {
      expect(serve.output()).toContain(`stopped; ${IN_FLIGHT} requests completed during the drain`);
      expect(code).toBe(0);
    });
  });

  describe('when the deadline (1 ms) comes before the requests finish', () => {
    let serve: ServeProcess;
    let outcomes: (number | string)[];
    let code: number | null;
    beforeAll(async () => {
      serve = await startServe(['--bundle', TRANSFORMER, '--shutdown-timeout', '1'], ROOMY_ADMISSION);
      outcomes = await terminateWhileInFlight(serve, await startInFlight(serve.url, IN_FLIGHT));
      code = await serve.exited;
    }, 120_000);
    afterAll(() => {
      if (serve?.child.exitCode === null) serve.child.kill('SIGKILL');
    });

    it('exits 1 with a log line counting exactly the requests its clients lost', () => {
      const failed = outcomes.filter((outcome) => outcome !== 200).length;
      expect(failed).toBeGreaterThan(0);
      expect(serve.output()).toMatch(
        new RegExp(
          `shipshape: ${failed} requests cut at the deadline \\(1 ms\\); ${IN_FLIGHT - failed} completed`,
        ),
      );
      expect(code).toBe(1);
    });
  });

  it('refuses a shutdown timeout that is not whole milliseconds, naming the variable', () => {
    const result = shipshape(['serve', '--port', '0'], '', { SHIPSHAPE_SHUTDOWN_TIMEOUT_MS: '2s' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'SHIPSHAPE_SHUTDOWN_TIMEOUT_MS is "2s"; use a whole number of milliseconds',
    );
  });
});

describe('NodeServer.shutdown', () => {
  let server: NodeServer;
  let sent: Sent[];
  let stopping: Promise<{ completed: number; cut: number }>;
  beforeAll(async () => {
    server = await startNodeServer({
      bundle: TRANSFORMER,
      port: 0,
      config: readConfig(ROOMY_ADMISSION),
      webDir: false,
    });
    sent = Array.from({ length: 20 }, (_, i) => startPost(server.url, '/v1/predict', { texts: texts(i) }));
    // In-process, the server's own count says when all 20 have arrived.
    await vi.waitFor(() => expect(server.inFlight).toBe(20), { timeout: 60_000, interval: 5 });
    stopping = server.shutdown();
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  it('answers /readyz 503 NOT_READY saying the server is shutting down while it drains', async () => {
    const response = await server.edge.fetch(new Request('http://in-process/readyz'));
    expect(response.status).toBe(503);
    expect(((await response.json()) as WireError).error).toEqual({
      code: 'NOT_READY',
      message: 'The server is shutting down; send requests to another instance.',
      requestId: expect.any(String),
    });
  });

  it('answers the Open Inference Protocol readiness probe 400 while it drains', async () => {
    const response = await server.edge.fetch(new Request('http://in-process/v2/health/ready'));
    expect(response.status).toBe(400);
  });

  it('refuses a model swap with NOT_READY while it drains', async () => {
    await expect(server.reload()).rejects.toMatchObject({ code: 'NOT_READY' });
  });

  it('stops accepting connections', async () => {
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it('finishes every request in flight and reports them completed, none cut', async () => {
    for (const s of sent) s.finish();
    expect(await Promise.all(sent.map((s) => s.outcome))).toEqual(Array.from({ length: 20 }, () => 200));
    expect(await stopping).toEqual({ completed: 20, cut: 0 });
  });

  it('answers them with Connection: close, so clients do not reuse the connection', async () => {
    expect(await Promise.all(sent.map((s) => s.connection))).toEqual(
      Array.from({ length: 20 }, () => 'close'),
    );
  });
});
