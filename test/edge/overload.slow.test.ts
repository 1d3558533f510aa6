// Admission control over real HTTP, on Node and in real workerd: a flood past a small configured bound is shed with
// 503 OVERLOADED and Retry-After, the rest is served, and service is normal afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IN_CI,
  requireEdgeBuild,
  hasWorkerd,
  request,
  startNode,
  startWorkerd,
  type JsonResponse,
  type RunningServer,
  type WireError,
} from './support.ts';

const HAS_WORKERD = hasWorkerd();

/**
 * One request of 8 texts fills the service and one more may wait; with the flood in flight at once, every request
 * that arrives while one is served and one waits is refused on arrival. The deadline is long, so the queue bound
 * alone decides (the deadline has its own unit test).
 */
const TIGHT: Readonly<Record<string, string>> = {
  // Room for the heavy request below (the default is 64 texts).
  SHIPSHAPE_MAX_TEXTS: '256',
  SHIPSHAPE_MAX_INFLIGHT_TEXTS: '8',
  SHIPSHAPE_MAX_QUEUED_TEXTS: '8',
  SHIPSHAPE_MAX_QUEUE_WAIT_MS: '30000',
};
const FLOOD = 40;
/** Requests of the paced flood, one every PACE_MS. */
const PACED = 400;
const PACE_MS = 8;
const TEXTS_PER_REQUEST = 8;
/** Long enough that each request keeps the service busy while the others arrive. */
const TEXT = 'Stocks rallied after the earnings report as investors cheered the results. '.repeat(25);

/** A request far above the in-service bound: admitted only alone, it keeps the gate busy while the flood arrives. */
const HEAVY_TEXTS = 256;

const texts = (i: number, count = TEXTS_PER_REQUEST) =>
  Array.from({ length: count }, (_, j) => `${i}.${j} ${TEXT}`);

type Flood = JsonResponse<WireError | undefined>[];

/** Sends a heavy request and `count` ordinary ones at once. */
async function flood(
  send: (i: number, texts: string[]) => Promise<JsonResponse<unknown>>,
  count = FLOOD,
): Promise<Flood> {
  const heavy = send(-1, texts(-1, HEAVY_TEXTS));
  const rest = Array.from({ length: count }, (_, i) => send(i, texts(i)));
  return (await Promise.all([heavy, ...rest])) as Flood;
}

/** The bound TIGHT sets on waiting texts. */
const QUEUE_BOUND = Number(TIGHT.SHIPSHAPE_MAX_QUEUED_TEXTS);
/** What a refusal for a full queue says: the texts waiting, the request's own, the bound (edge/admission.ts). */
const QUEUE_FULL =
  /^The server is overloaded: (\d+) texts are already waiting and this request's (\d+) would pass the bound of (\d+) /;

/**
 * Checks a flood's answers against the queue bound. How many are shed depends on how fast the machine serves, but
 * not which: each refusal must come from a queue full at the bound (what waited, plus the request, passes it; what
 * waited does not), and at least two requests are served: the first arrival finds the gate idle, and a request that
 * fits is refused only while another waits, which is served in its turn.
 */
function expectShedAndServed(responses: Flood, sizes: readonly number[]): void {
  const statuses = responses.map((response) => response.status);
  expect(statuses.filter((status) => status !== 200 && status !== 503)).toEqual([]);
  expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(2);
  const shed = responses.filter((response) => response.status === 503);
  // The heavy request holds the service while the flood arrives, so some of it is refused on any machine.
  expect(shed.length).toBeGreaterThan(0);
  for (const response of shed) {
    expect(response.body?.error.code).toBe('OVERLOADED');
    expect(response.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
    const [, waiting, texts, bound] = (QUEUE_FULL.exec(response.body?.error.message ?? '') ?? []).map(Number);
    expect({ bound, texts: sizes.includes(texts ?? NaN) }).toEqual({ bound: QUEUE_BOUND, texts: true });
    expect(waiting).toBeLessThanOrEqual(QUEUE_BOUND);
    expect((waiting ?? NaN) + (texts ?? NaN)).toBeGreaterThan(QUEUE_BOUND);
  }
}

/**
 * For the enclosing describe: a server from `start` with its model loaded and warm (a Worker loads it on its first
 * request), closed after the describe. Returns the server once `beforeAll` has run.
 */
function warmServer(start: () => Promise<RunningServer>): () => RunningServer {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start();
    expect((await request(`${server.url}/v1/predict`, { json: { text: 'warm up' } })).status).toBe(200);
  });
  afterAll(async () => {
    await server?.close();
  });
  return () => server;
}

function describeOverload(name: string, start: () => Promise<RunningServer>): void {
  describe(`admission control on ${name}`, () => {
    const served = warmServer(start);

    it('answers a flood of v1 `texts` requests with 503 OVERLOADED and Retry-After past the bound, 200 below it', async () => {
      expectShedAndServed(
        await flood((_, batch) => request(`${served().url}/v1/predict`, { json: { texts: batch } })),
        [TEXTS_PER_REQUEST, HEAVY_TEXTS],
      );
    });

    it('answers a flood of v2 infer requests with 503 OVERLOADED and Retry-After past the bound, 200 below it', async () => {
      expectShedAndServed(
        await flood((_, batch) =>
          request(`${served().url}/v2/models/news-bag/infer`, {
            json: { inputs: [{ name: 'text', shape: [batch.length], datatype: 'BYTES', data: batch }] },
          }),
        ),
        [TEXTS_PER_REQUEST, HEAVY_TEXTS],
      );
    });

    it('bounds single-text requests too', async () => {
      // Eight single texts fill the service and eight wait; the rest of the flood is refused.
      expectShedAndServed(
        await flood(
          (i, batch) =>
            request(`${served().url}/v1/predict`, {
              json: i < 0 ? { texts: batch } : { text: batch[0] },
            }),
          2 * FLOOD,
        ),
        [1, HEAVY_TEXTS],
      );
    });

    it('serves normally once the flood has passed', async () => {
      const response = await request<{ predictions: { label: string }[] }>(`${served().url}/v1/predict`, {
        json: { texts: ['The striker scored twice in the final', 'Stocks fall as oil prices surge'] },
      });
      expect(response.status).toBe(200);
      expect(response.body.predictions.map((p) => p.label)).toEqual(['Sports', 'Business']);
    });
  });
}

/**
 * Requests that keep arriving while others wait and finish, with the default settings: each finish admits a waiter,
 * and waiters also reach their deadline. On workerd a waiter woken from another request could hang and get workerd's
 * own plain-text 500 (edge/admission.ts explains); here 8 of 400 did before waiters polled.
 */
function describePacedFlood(name: string, start: () => Promise<RunningServer>): void {
  describe(`a paced flood with the default admission settings on ${name}`, () => {
    const served = warmServer(start);

    it('answers every request 200 or 503 OVERLOADED, never a hung request', async () => {
      // Plain fetch: workerd's answer to a hung request is not JSON.
      const send = async (i: number): Promise<string> => {
        const response = await fetch(`${served().url}/v1/predict`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ texts: texts(i, 32) }),
        });
        const body = await response.text();
        return response.status === 200 || response.status === 503 ? 'ok' : `${response.status}: ${body}`;
      };
      const pending: Promise<string>[] = [];
      for (let i = 0; i < PACED; i++) {
        pending.push(send(i));
        await new Promise((resolve) => setTimeout(resolve, PACE_MS));
      }
      const others = (await Promise.all(pending)).filter((outcome) => outcome !== 'ok');
      expect(others).toEqual([]);
    });
  });
}

describe('overload', () => {
  beforeAll(() => requireEdgeBuild());

  describeOverload('the Node server', () => startNode(TIGHT));
  describePacedFlood('the Node server', () => startNode());

  describe.runIf(HAS_WORKERD)('workerd', () => {
    describeOverload('the Worker in workerd (Miniflare, wrangler dry-run output)', () => startWorkerd(TIGHT));
    describePacedFlood('the Worker in workerd', () => startWorkerd());
  });

  describe.runIf(!HAS_WORKERD && IN_CI)('workerd missing', () => {
    it('fails in CI because workerd is missing', () => {
      throw new Error('workerd is not installed (node_modules/@cloudflare/workerd-*); run npm ci.');
    });
  });
});
