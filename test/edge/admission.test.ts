// The admission gate on its own: bounds counted in texts, FIFO, the queue-wait deadline, Retry-After, counters.
import { Hono } from 'hono';
import { timing } from 'hono/timing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  admitRequest,
  createAdmission,
  noteArrival,
  type Admission,
  type AdmissionOptions,
} from '../../edge/admission.ts';
import { isEdgeError } from '../../edge/errors.ts';

/** Work the test finishes by hand. */
function deferred(): {
  promise: Promise<string>;
  finish: (value?: string) => void;
  fail: (e: Error) => void;
} {
  let finish!: (value?: string) => void;
  let fail!: (e: Error) => void;
  const promise = new Promise<string>((resolve, reject) => {
    finish = (value = 'done') => resolve(value);
    fail = reject;
  });
  return { promise, finish, fail };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function gate(options: Partial<AdmissionOptions> = {}): Admission {
  return createAdmission({ maxInflightTexts: 4, maxQueuedTexts: 8, maxQueueWaitMs: 60_000, ...options });
}

/** Starts a request of `texts` whose work waits for `finish`; `order` records when each work starts. */
function start(admission: Admission, texts: number, name: string, order: string[] = []) {
  const work = deferred();
  const result = admission.run(texts, async () => {
    order.push(name);
    return work.promise;
  });
  result.catch(() => undefined);
  return { result, ...work };
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; retryAfter: string | undefined }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isEdgeError(error)) throw new Error(`expected an EdgeError, got ${String(error)}`);
  return { code: error.code, retryAfter: error.headers['Retry-After'] };
}

describe('createAdmission', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('admits requests at once up to maxInflightTexts and queues the rest', async () => {
    const admission = gate();
    const order: string[] = [];
    const a = start(admission, 3, 'a', order);
    const b = start(admission, 1, 'b', order);
    const c = start(admission, 2, 'c', order);
    await flush();
    expect(order).toEqual(['a', 'b']);
    expect(admission.stats()).toMatchObject({
      inServiceTexts: 4,
      inServiceRequests: 2,
      queuedTexts: 2,
      queuedRequests: 1,
    });
    a.finish();
    b.finish();
    await flush();
    expect(order).toEqual(['a', 'b', 'c']);
    c.finish();
    await expect(c.result).resolves.toBe('done');
  });

  it('refuses a request at once with OVERLOADED when it would take the queue past maxQueuedTexts', async () => {
    const admission = gate();
    const running = start(admission, 4, 'running');
    const queued = start(admission, 6, 'queued');
    const refused = admission.run(3, () => Promise.resolve('never'));
    expect(await refusal(refused)).toEqual({ code: 'OVERLOADED', retryAfter: '1' });
    expect(admission.stats()).toMatchObject({ queuedTexts: 6, shed: 1, shedQueueFull: 1, shedDeadline: 0 });
    running.finish();
    queued.finish();
    await expect(queued.result).resolves.toBe('done');
  });

  it('admits waiting requests in arrival order, even when a later, smaller one would fit first', async () => {
    const admission = gate();
    const order: string[] = [];
    const first = start(admission, 4, 'first', order);
    const big = start(admission, 3, 'big', order);
    const small = start(admission, 1, 'small', order);
    await flush();
    expect(order).toEqual(['first']);
    first.finish();
    await flush();
    expect(order).toEqual(['first', 'big', 'small']);
    big.finish();
    small.finish();
    await Promise.all([big.result, small.result]);
  });

  it('admits a request larger than maxInflightTexts once nothing else is in service', async () => {
    const admission = gate();
    const order: string[] = [];
    const small = start(admission, 1, 'small', order);
    const huge = start(admission, 7, 'huge', order);
    await flush();
    expect(order).toEqual(['small']);
    small.finish();
    await flush();
    expect(order).toEqual(['small', 'huge']);
    expect(admission.stats()).toMatchObject({ inServiceTexts: 7, inServiceRequests: 1 });
    huge.finish();
    await expect(huge.result).resolves.toBe('done');
  });

  it('frees the place of a request whose work throws', async () => {
    const admission = gate();
    const failing = start(admission, 4, 'failing');
    const next = start(admission, 4, 'next');
    failing.fail(new Error('boom'));
    await expect(failing.result).rejects.toThrow('boom');
    await flush();
    expect(admission.stats()).toMatchObject({ inServiceTexts: 4, queuedTexts: 0 });
    next.finish();
    await expect(next.result).resolves.toBe('done');
    expect(admission.stats()).toMatchObject({
      inServiceTexts: 0,
      inServiceRequests: 0,
      admitted: 2,
      shed: 0,
    });
  });

  it('refuses a request that waits maxQueueWaitMs and frees its place in the queue (fake timers)', async () => {
    vi.useFakeTimers();
    const admission = gate({ maxQueueWaitMs: 100 });
    const running = start(admission, 4, 'running');
    const late = start(admission, 8, 'late');
    expect(admission.stats().queuedTexts).toBe(8);
    await vi.advanceTimersByTimeAsync(101);
    expect(await refusal(late.result)).toMatchObject({ code: 'OVERLOADED' });
    expect(admission.stats()).toMatchObject({ queuedTexts: 0, queuedRequests: 0, shed: 1, shedDeadline: 1 });
    // The freed place takes a full-size request again.
    const again = start(admission, 8, 'again');
    expect(admission.stats().queuedTexts).toBe(8);
    running.finish();
    await vi.advanceTimersByTimeAsync(0);
    again.finish();
    await expect(again.result).resolves.toBe('done');
  });

  it('counts the deadline from arrival: a request that must wait and has used up its wait before the gate is refused at once (injected clock)', async () => {
    let clock = 1_000;
    const admission = gate({ maxQueueWaitMs: 100, now: () => clock });
    const running = start(admission, 4, 'running');
    clock += 150;
    const late = admission.run(1, () => Promise.resolve('never'), { arrivedAt: clock - 100 });
    expect(await refusal(late)).toMatchObject({ code: 'OVERLOADED' });
    expect(admission.stats()).toMatchObject({ queuedTexts: 0, shedDeadline: 1 });
    // With nothing in its way, a late arrival is still served.
    running.finish();
    await running.result;
    await expect(admission.run(1, () => Promise.resolve('ok'), { arrivedAt: clock - 500 })).resolves.toBe(
      'ok',
    );
  });

  it('tells the admitted work how long it waited in the queue (injected clock)', async () => {
    let clock = 1_000;
    const admission = gate({ now: () => clock });
    const running = start(admission, 4, 'running');
    const waited: number[] = [];
    const queued = admission.run(1, ({ waitedMs }) => {
      waited.push(waitedMs);
      return Promise.resolve('ok');
    });
    clock += 37;
    running.finish();
    await expect(queued).resolves.toBe('ok');
    expect(waited).toEqual([37]);
  });

  it('drops a waiter that outlived its deadline without its timer firing, on the next arrival (injected clock)', async () => {
    // On workerd a waiter's timer dies with its request; the next arrival must not find the queue still full.
    let clock = 0;
    const admission = gate({ maxQueueWaitMs: 60_000, now: () => clock });
    const running = start(admission, 4, 'running');
    const stale = start(admission, 8, 'stale');
    clock += 60_001;
    const fresh = start(admission, 8, 'fresh');
    expect(await refusal(stale.result)).toMatchObject({ code: 'OVERLOADED' });
    expect(admission.stats()).toMatchObject({ queuedTexts: 8, shedDeadline: 1, shedQueueFull: 0 });
    running.finish();
    await flush();
    fresh.finish();
    await expect(fresh.result).resolves.toBe('done');
  });

  it('estimates Retry-After from the recent service rate and the backlog (injected clock)', async () => {
    let clock = 0;
    const admission = gate({ maxInflightTexts: 10, maxQueuedTexts: 10, now: () => clock });
    // 10 texts served in 2 s: 5 texts per second.
    const first = start(admission, 10, 'first');
    clock += 2_000;
    first.finish();
    await first.result;
    const running = start(admission, 10, 'running');
    const queued = start(admission, 10, 'queued');
    // Backlog 10 in service + 10 queued + 10 asked = 30 texts at 5 per second: 6 s.
    expect(await refusal(admission.run(10, () => Promise.resolve('never')))).toEqual({
      code: 'OVERLOADED',
      retryAfter: '6',
    });
    running.finish();
    await flush();
    queued.finish();
    await queued.result;
  });

  it('counts admitted and shed requests', async () => {
    const admission = gate({ maxInflightTexts: 1, maxQueuedTexts: 1 });
    const a = start(admission, 1, 'a');
    const b = start(admission, 1, 'b');
    const c = start(admission, 1, 'c');
    await refusal(c.result);
    a.finish();
    await flush();
    b.finish();
    await Promise.all([a.result, b.result]);
    expect(admission.stats()).toEqual({
      inServiceTexts: 0,
      inServiceRequests: 0,
      queuedTexts: 0,
      queuedRequests: 0,
      admitted: 2,
      shed: 1,
      shedQueueFull: 1,
      shedDeadline: 0,
    });
  });

  it('with yieldBeforeWork, starts admitted work only after the event loop turned, so later arrivals see it in service', async () => {
    const admission = gate({ yieldBeforeWork: true });
    const order: string[] = [];
    const first = start(admission, 4, 'first', order);
    await Promise.resolve();
    expect(order).toEqual([]);
    const second = start(admission, 4, 'second', order);
    expect(admission.stats()).toMatchObject({ inServiceTexts: 4, queuedTexts: 4 });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(order).toEqual(['first']);
    first.finish();
    second.finish();
    await Promise.all([first.result, second.result]);
  });

  it('with pollMs, a waiter learns of its admission on its own timer, not from the request that freed its place (fake timers)', async () => {
    vi.useFakeTimers();
    const admission = gate({ pollMs: 2 });
    const order: string[] = [];
    const first = start(admission, 4, 'first', order);
    const second = start(admission, 4, 'second', order);
    first.finish();
    await first.result;
    await Promise.resolve();
    expect(order).toEqual(['first']);
    expect(admission.stats()).toMatchObject({ inServiceTexts: 4, queuedTexts: 0 });
    await vi.advanceTimersByTimeAsync(2);
    expect(order).toEqual(['first', 'second']);
    second.finish();
    await expect(second.result).resolves.toBe('done');
  });

  it('with pollMs, refuses a waiter past its deadline on its own timer (fake timers)', async () => {
    vi.useFakeTimers();
    const admission = gate({ pollMs: 2, maxQueueWaitMs: 50 });
    const running = start(admission, 4, 'running');
    const late = start(admission, 4, 'late');
    await vi.advanceTimersByTimeAsync(60);
    expect(await refusal(late.result)).toMatchObject({ code: 'OVERLOADED' });
    expect(admission.stats()).toMatchObject({ queuedTexts: 0, shedDeadline: 1 });
    running.finish();
    await running.result;
  });

  it('rejects a bound that is not a positive integer', () => {
    expect(() => gate({ maxQueuedTexts: 0 })).toThrow(
      'Admission option maxQueuedTexts must be an integer >= 1, got 0.',
    );
  });
});

describe('admitRequest', () => {
  function appWith(withTiming: boolean): Hono {
    const admission = gate();
    const app = new Hono();
    if (withTiming) app.use(timing({ total: false }));
    app.use(noteArrival());
    app.get('/', (c) => admitRequest(c, admission, 1, () => Promise.resolve(c.text('ok'))));
    return app;
  }

  it('records the wait as the Server-Timing metric "queue" when hono/timing is installed', async () => {
    const response = await appWith(true).request('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('Server-Timing')).toMatch(
      /^queue;dur=\d+(\.\d)?;desc="admission queue wait"$/,
    );
  });

  it('records nothing, and warns of nothing, without hono/timing', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const response = await appWith(false).request('/');
      expect(response.status).toBe(200);
      expect(response.headers.get('Server-Timing')).toBeNull();
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });
});
