// Admission control: a weighted FIFO gate, counted in texts, in front of every prediction, so overload is shed at once.
//
// Portable (it runs in workerd too). On Node a waiter's promise is settled by whichever request frees a place. On
// workerd that is not safe: with waiters settled from other requests, some requests never answered ("the Workers
// runtime canceled this request because it detected that your Worker's code had hung": 8 of 400 in a paced flood of
// 32-text requests, 3 and 33 in two 5 s runs of bench/experiments/edge/overload.ts), most likely because a woken waiter went on
// in the waking request's context and died with it. So with `pollMs` a waiter is never settled from outside: the
// gate only marks it admitted or refused, and the waiter looks on its own timer, in its own request. A waiter whose
// request died (its client went away) is dropped by timestamp on the next arrival or release, so it cannot hold the
// gate.
import type { Context, MiddlewareHandler } from 'hono';
import { setMetric, type TimingVariables } from 'hono/timing';
import { EdgeError } from './errors.ts';

declare module 'hono' {
  interface ContextVariableMap {
    /** ms from the request's arrival to its admission, once admitted (the health monitor's queue wait). */
    queueWaitMs: number;
  }
}

export interface AdmissionOptions {
  /**
   * Most texts in service at once. A request with more texts than this is admitted only when nothing else is in
   * service, so it runs alone instead of never.
   */
  readonly maxInflightTexts: number;
  /** Most texts waiting for service; a request that would take the queue past it is refused at once. */
  readonly maxQueuedTexts: number;
  /** Longest a request waits in the queue, in ms; past it, it is refused and its place freed. */
  readonly maxQueueWaitMs: number;
  /**
   * Yield to the event loop once between admitting a request and starting its work. For engines that compute on
   * this thread without yielding (onnxruntime's WASM in workerd): there every request would run from admission to
   * its answer in one go, so the gate would never see a second request, and the flood would wait unseen in front of
   * the isolate. With the yield, requests that arrived meanwhile reach the gate and are queued or refused. Default
   * false.
   */
  readonly yieldBeforeWork?: boolean;
  /**
   * When set, a waiting request learns that it was admitted or refused by looking every `pollMs` ms on its own
   * timer, instead of being woken by the request that freed a place (workerd: see the top of this file). Default:
   * woken.
   */
  readonly pollMs?: number;
  /** The clock, in ms. Default `Date.now` (on workerd it advances with I/O, which is what a waiter waits for). */
  readonly now?: () => number;
}

/** Counters for metrics. Texts are counted as requests carry them; requests as calls of `run`. */
export interface AdmissionStats {
  /** Texts in service now (admitted, not yet finished). */
  readonly inServiceTexts: number;
  /** Requests in service now. */
  readonly inServiceRequests: number;
  /** Texts waiting now. */
  readonly queuedTexts: number;
  /** Requests waiting now. */
  readonly queuedRequests: number;
  /** Requests admitted since the gate was created. */
  readonly admitted: number;
  /** Requests refused since the gate was created, for either reason. */
  readonly shed: number;
  /** Of `shed`: refused on arrival because the queue was full. */
  readonly shedQueueFull: number;
  /** Of `shed`: refused because they waited `maxQueueWaitMs` without being admitted. */
  readonly shedDeadline: number;
}

/** What a request learns when it is admitted. */
export interface Admitted {
  /** ms from its arrival (`RunOptions.arrivedAt`) to its admission. */
  readonly waitedMs: number;
}

export interface RunOptions {
  /**
   * When the request reached the server (the gate's clock), if before the call: the queue-wait deadline counts from
   * then, so time already lost before the gate (a body read stalled behind a run that held the thread) counts too.
   * Default: now.
   */
  readonly arrivedAt?: number;
}

export interface Admission {
  /**
   * Runs `work` once `texts` texts may be in service, FIFO among waiting requests; counts them in service until
   * `work` settles.
   * @throws EdgeError OVERLOADED (503, with a `Retry-After` estimated from the queue) when the queue cannot take
   *   `texts` more, or when `maxQueueWaitMs` after its arrival it is still not admitted. Whatever `work` throws.
   */
  run<T>(texts: number, work: (admitted: Admitted) => Promise<T>, options?: RunOptions): Promise<T>;
  /** The counters now. */
  stats(): AdmissionStats;
}

type WaiterState = 'queued' | 'granted' | 'reclaimed' | 'running' | 'refused';

interface Waiter {
  readonly texts: number;
  /** Its arrival + maxQueueWaitMs. */
  readonly deadlineAt: number;
  state: WaiterState;
  /** When the gate counted it in service, for dropping a grant nobody claims. */
  grantedAt: number;
  /** Why it was refused, once `state` is 'refused'. */
  refusal?: EdgeError;
  /** Settles its promise from `state` (a no-op when the waiter polls). */
  wake: () => void;
}

/** The longest Retry-After we advise, in seconds: past it a client should rather look elsewhere. */
const MAX_RETRY_AFTER_S = 30;
/** Weight of the newest completion in the service-rate estimate (exponential decay of older ones). */
const RATE_DECAY = 0.8;

/**
 * Creates the gate.
 * @throws Error naming the option when a bound is not a positive integer (`maxQueueWaitMs` may be any number >= 1).
 */
export function createAdmission(options: AdmissionOptions): Admission {
  const { maxInflightTexts, maxQueuedTexts, maxQueueWaitMs } = options;
  for (const [name, value] of Object.entries({ maxInflightTexts, maxQueuedTexts, maxQueueWaitMs })) {
    if (!(Number.isInteger(value) && value >= 1)) {
      throw new Error(`Admission option ${name} must be an integer >= 1, got ${String(value)}.`);
    }
  }
  if (options.pollMs !== undefined && !(Number.isInteger(options.pollMs) && options.pollMs >= 1)) {
    throw new Error(`Admission option pollMs must be an integer >= 1, got ${String(options.pollMs)}.`);
  }
  const now = options.now ?? Date.now;
  const queue: Waiter[] = [];
  let queuedTexts = 0;
  let inServiceTexts = 0;
  let inServiceRequests = 0;
  /** Granted waiters whose own continuation has not claimed the grant yet. */
  const granted = new Set<Waiter>();
  let admitted = 0;
  let shedQueueFull = 0;
  let shedDeadline = 0;
  // Service rate from recent completions: decayed texts over decayed busy ms.
  let busySince: number | undefined;
  let decayedTexts = 0;
  let decayedBusyMs = 0;

  /** Seconds until `backlog` more texts would likely be served, from the recent service rate; at least 1. */
  function retryAfterSeconds(backlog: number): number {
    if (!(decayedTexts > 0 && decayedBusyMs > 0)) return 1;
    const ms = (backlog * decayedBusyMs) / decayedTexts;
    return Math.min(MAX_RETRY_AFTER_S, Math.max(1, Math.ceil(ms / 1000)));
  }

  function overloaded(message: string, texts: number): EdgeError {
    const backlog = queuedTexts + inServiceTexts + texts;
    return new EdgeError('OVERLOADED', message, {
      headers: { 'Retry-After': String(retryAfterSeconds(backlog)) },
    });
  }

  function startService(texts: number, count = true): void {
    if (inServiceRequests === 0) busySince = now();
    inServiceTexts += texts;
    inServiceRequests += 1;
    if (count) admitted += 1;
  }

  function endService(texts: number): void {
    inServiceTexts -= texts;
    inServiceRequests -= 1;
    const at = now();
    if (busySince !== undefined) {
      decayedTexts = decayedTexts * RATE_DECAY + texts;
      decayedBusyMs = decayedBusyMs * RATE_DECAY + Math.max(0, at - busySince);
      busySince = inServiceRequests > 0 ? at : undefined;
    }
  }

  function removeQueued(waiter: Waiter): void {
    const index = queue.indexOf(waiter);
    if (index >= 0) queue.splice(index, 1);
    queuedTexts -= waiter.texts;
  }

  function refuseExpired(waiter: Waiter): void {
    removeQueued(waiter);
    waiter.state = 'refused';
    shedDeadline += 1;
    waiter.refusal = overloaded(
      `The server is overloaded: the request waited ${maxQueueWaitMs} ms without being served ` +
        '(SHIPSHAPE_MAX_QUEUE_WAIT_MS). Retry after the Retry-After seconds.',
      0,
    );
    waiter.wake();
  }

  /** Admits queued requests in order while they fit; first drops what died without settling (see the top). */
  function pump(): void {
    const at = now();
    for (const waiter of granted) {
      if (at - waiter.grantedAt > maxQueueWaitMs) {
        // Granted but never claimed: its request is gone. Give the capacity back.
        granted.delete(waiter);
        waiter.state = 'reclaimed';
        endService(waiter.texts);
      }
    }
    // Arrival times differ from queue order (a request may reach the gate later than one that arrived after it).
    for (const waiter of queue.filter((w) => at > w.deadlineAt)) refuseExpired(waiter);
    while (queue.length > 0) {
      const head = queue[0] as Waiter;
      const fits = inServiceTexts + head.texts <= maxInflightTexts || inServiceRequests === 0;
      if (!fits) break;
      removeQueued(head);
      head.state = 'granted';
      head.grantedAt = at;
      granted.add(head);
      startService(head.texts);
      head.wake();
    }
  }

  async function serve<T>(texts: number, waitedMs: number, work: (a: Admitted) => Promise<T>): Promise<T> {
    try {
      if (options.yieldBeforeWork === true) await new Promise((resolve) => setTimeout(resolve, 0));
      return await work({ waitedMs });
    } finally {
      endService(texts);
      pump();
    }
  }

  return {
    async run<T>(
      texts: number,
      work: (admitted: Admitted) => Promise<T>,
      runOptions: RunOptions = {},
    ): Promise<T> {
      if (!(Number.isInteger(texts) && texts >= 1)) {
        throw new Error(`Admission.run takes a positive integer count of texts, got ${String(texts)}.`);
      }
      pump();
      const at = now();
      const arrivedAt = Math.min(runOptions.arrivedAt ?? at, at);
      if (queue.length === 0 && (inServiceTexts + texts <= maxInflightTexts || inServiceRequests === 0)) {
        startService(texts);
        return serve(texts, at - arrivedAt, work);
      }
      if (at - arrivedAt >= maxQueueWaitMs) {
        // It has had its wait before it reached the gate.
        shedDeadline += 1;
        throw overloaded(
          `The server is overloaded: the request waited ${maxQueueWaitMs} ms without being served ` +
            '(SHIPSHAPE_MAX_QUEUE_WAIT_MS). Retry after the Retry-After seconds.',
          texts,
        );
      }
      if (queuedTexts + texts > maxQueuedTexts) {
        shedQueueFull += 1;
        throw overloaded(
          `The server is overloaded: ${queuedTexts} texts are already waiting and this request's ${texts} would ` +
            `pass the bound of ${maxQueuedTexts} (SHIPSHAPE_MAX_QUEUED_TEXTS). Retry after the Retry-After seconds.`,
          texts,
        );
      }
      const deadlineAt = arrivedAt + maxQueueWaitMs;
      const waiter: Waiter = { texts, deadlineAt, state: 'queued', grantedAt: 0, wake: () => undefined };
      queue.push(waiter);
      queuedTexts += texts;
      let timer: ReturnType<typeof setTimeout> | undefined;
      // The promise and every timer are created here, in this request: see the top of the file.
      const decided = new Promise<void>((resolve, reject) => {
        const settle = (): boolean => {
          if (waiter.state === 'queued') return false;
          if (waiter.refusal !== undefined) reject(waiter.refusal);
          else resolve();
          return true;
        };
        const { pollMs } = options;
        if (pollMs === undefined) {
          waiter.wake = settle;
          timer = setTimeout(() => {
            if (waiter.state === 'queued') refuseExpired(waiter);
          }, deadlineAt - at);
          return;
        }
        const look = (): void => {
          if (waiter.state === 'queued' && now() > deadlineAt) refuseExpired(waiter);
          if (!settle()) timer = setTimeout(look, pollMs);
        };
        timer = setTimeout(look, pollMs);
      });
      try {
        await decided;
      } finally {
        clearTimeout(timer);
      }
      if (waiter.state === 'reclaimed') {
        // Its grant was taken back as unclaimed, yet it is alive after all: count it in service again.
        startService(texts, false);
      }
      granted.delete(waiter);
      waiter.state = 'running';
      return serve(texts, Math.max(0, now() - arrivedAt), work);
    },
    stats(): AdmissionStats {
      return {
        inServiceTexts,
        inServiceRequests,
        queuedTexts,
        queuedRequests: queue.length,
        admitted,
        shed: shedQueueFull + shedDeadline,
        shedQueueFull,
        shedDeadline,
      };
    },
  };
}

/** When each request reached the app, by its Request object (see `noteArrival`). */
const arrivals = new WeakMap<Request, number>();

/**
 * Middleware, first in the chain: notes when a request reached the app, so that its queue-wait deadline also counts
 * the time it spent before the gate (reading its body while a synchronous run held the thread).
 */
export function noteArrival(now: () => number = Date.now): MiddlewareHandler {
  return async function noteArrivalTime(c, next) {
    arrivals.set(c.req.raw, now());
    await next();
  };
}

/**
 * Runs one request's prediction through the gate, its deadline counted from its arrival (`noteArrival`), and
 * records its wait as the Server-Timing metric `queue` (ms from arrival to admission) when the `hono/timing`
 * middleware is installed (`setMetric` without it would log a warning per request).
 * @throws EdgeError OVERLOADED as `Admission.run` does; whatever `work` throws.
 */
export function admitRequest<T>(
  c: Context,
  admission: Admission,
  texts: number,
  work: () => Promise<T>,
): Promise<T> {
  const arrivedAt = arrivals.get(c.req.raw);
  return admission.run(
    texts,
    async ({ waitedMs }) => {
      c.set('queueWaitMs', waitedMs);
      const timed = c as Context<{ Variables: TimingVariables }>;
      if (timed.get('metric') !== undefined) setMetric(timed, 'queue', waitedMs, 'admission queue wait');
      return work();
    },
    arrivedAt === undefined ? {} : { arrivedAt },
  );
}
