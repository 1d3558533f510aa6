// HTTP scenarios against a running service on loopback: a closed-loop concurrency sweep and an open-loop Poisson run.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { erroredScenario, type Scenario } from '../report.ts';
import {
  cpuUse,
  createRng,
  exponentialDraw,
  measureUntilStable,
  measurementDoubts,
  summarizeLatency,
  summarizeStableRun,
  throughputOf,
  type LatencySummary,
  type MeasurementWindow,
  type StabilityOptions,
  type Throughput,
} from '../stats.ts';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * The service's predict endpoint for a base URL, refusing anything but loopback: the bench generates load and
 * must never point it at a shared or production host.
 * @throws Error naming the host and the fix.
 */
export function predictEndpoint(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch (error) {
    throw new Error(`--url ${JSON.stringify(baseUrl)} is not a URL; pass e.g. http://127.0.0.1:8787`, {
      cause: error,
    });
  }
  if (url.protocol !== 'http:') throw new Error(`--url ${baseUrl}: only http: on loopback is supported.`);
  if (!LOOPBACK.has(url.hostname)) {
    throw new Error(
      `--url ${baseUrl}: host ${url.hostname} is not loopback; the bench only loads 127.0.0.1, localhost or ::1.`,
    );
  }
  return new URL('/v1/predict', url);
}

/** One request's fate: `status` is 0 when no HTTP answer came (a transport error or the timeout). */
export interface Outcome {
  readonly ok: boolean;
  readonly ms: number;
  readonly status: number;
  /** The `error.code` of a non-2xx JSON answer (`OVERLOADED`...), when it has one. */
  readonly code?: string;
  readonly error?: string;
}

/** Bytes of a failed answer kept to read its error code; the edge's error bodies are far smaller. */
const ERROR_BODY_LIMIT = 4096;

/** The `error.code` of an `{"error":{"code","message"}}` body, or undefined. */
function errorCode(body: string): string | undefined {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/** The client `createPredictClient` makes. */
export type PredictClient = ReturnType<typeof createPredictClient>;

/** A minimal keep-alive client: one POST, the body read to the end, status 2xx counts as success. */
export function createPredictClient(endpoint: URL, options: { maxSockets: number; timeoutMs: number }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets });
  /**
   * Sends one request. `intendedAt` (open loop) is when it should have left: latency runs from then when the
   * client was late, from the actual send when a timer fired early, so it is never negative.
   */
  const post = (body: string, intendedAt = Number.POSITIVE_INFINITY): Promise<Outcome> =>
    new Promise((resolve) => {
      const startedAt = Math.min(intendedAt, performance.now());
      const request = http.request(
        endpoint,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          timeout: options.timeoutMs,
        },
        (response) => {
          const status = response.statusCode ?? 0;
          const success = status >= 200 && status < 300;
          let size = 0;
          let kept = '';
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (!success && kept.length < ERROR_BODY_LIMIT) kept += chunk.toString('utf8');
          });
          response.on('end', () => {
            const ms = performance.now() - startedAt;
            if (success && size > 0) {
              resolve({ ok: true, ms, status });
              return;
            }
            const code = success ? undefined : errorCode(kept);
            resolve({
              ok: false,
              ms,
              status,
              ...(code === undefined ? {} : { code }),
              error: `HTTP ${status}${code === undefined ? '' : ` ${code}`}`,
            });
          });
          response.on('error', (error) =>
            resolve({ ok: false, ms: performance.now() - startedAt, status: 0, error: error.message }),
          );
        },
      );
      request.on('timeout', () => request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
      request.on('error', (error) =>
        resolve({ ok: false, ms: performance.now() - startedAt, status: 0, error: error.message }),
      );
      request.end(body);
    });
  return { post, close: () => agent.destroy() };
}

export function bodies(texts: readonly string[], textsPerRequest: number, count = 32): string[] {
  const out: string[] = [];
  let next = 0;
  for (let i = 0; i < count; i++) {
    const batch: string[] = [];
    for (let j = 0; j < textsPerRequest; j++) batch.push(texts[next++ % texts.length] as string);
    out.push(JSON.stringify({ texts: batch }));
  }
  return out;
}

export class ErrorTally {
  count = 0;
  readonly samples = new Set<string>();
  add(message: string): void {
    this.count++;
    if (this.samples.size < 5) this.samples.add(message);
  }
}

/** What every HTTP load scenario (closed, open, overload, capacity) is given. */
export interface HttpLoadOptions {
  readonly id: string;
  /** The service's base URL: loopback only (see `predictEndpoint`). */
  readonly url: string;
  readonly texts: readonly string[];
  readonly textsPerRequest: number;
  readonly requestTimeoutMs: number;
  /** As `summarizeLatency`'s `minTail` and `retain`. */
  readonly minTailSamples: number;
  readonly retainSamples: number;
  readonly onProgress?: (detail: string) => void;
  /** CPU ms used so far by the service process, when the bench started it (see `RunningService.cpuMs`). */
  readonly serviceCpuMs?: () => number | undefined;
}

export interface ClosedLoopOptions extends HttpLoadOptions {
  readonly concurrency: number;
  readonly windowMs: number;
  readonly minSamplesPerWindow: number;
  readonly stability: StabilityOptions;
  /** Request bodies to cycle through instead of `{"texts":[...]}` of `textsPerRequest` texts (e.g. `{"text"}`). */
  readonly payloads?: readonly string[];
}

/** The service's CPU per request and utilisation, from CPU ms over a wall-clock span, when known. */
export function serviceCpu(
  cpuMs: number | undefined,
  requests: number,
  wallMs: number,
): { cpu?: NonNullable<Scenario['cpu']> } {
  return cpuUse(
    cpuMs,
    requests,
    wallMs,
    'the service process started by the bench: /proc/PID/stat utime + stime (10 ms ticks)',
  );
}

export function cpuDelta(
  read: (() => number | undefined) | undefined,
  before: number | undefined,
): number | undefined {
  const after = read?.();
  return after === undefined || before === undefined ? undefined : after - before;
}

/**
 * Closed loop: `concurrency` clients each send the next request as soon as the last answers, window after window
 * until the windows agree (see `measureUntilStable`). Latency covers successful requests only; failures are counted.
 */
export async function runClosedLoopScenario(options: ClosedLoopOptions): Promise<Scenario> {
  const started = performance.now();
  const params = {
    url: options.url,
    concurrency: options.concurrency,
    textsPerRequest: options.textsPerRequest,
  };
  const client = createPredictClient(predictEndpoint(options.url), {
    maxSockets: options.concurrency,
    timeoutMs: options.requestTimeoutMs,
  });
  const payloads = options.payloads ?? bodies(options.texts, options.textsPerRequest);
  const errors = new ErrorTally();
  let requests = 0;
  let next = 0;
  try {
    // One short round to open the connections and warm the service.
    await Promise.all(Array.from({ length: options.concurrency }, () => client.post(payloads[0] as string)));
    const measureWindow = async (): Promise<MeasurementWindow> => {
      const samples: number[] = [];
      const cpuBefore = options.serviceCpuMs?.();
      const windowStart = performance.now();
      const worker = async (): Promise<void> => {
        while (
          performance.now() - windowStart < options.windowMs ||
          samples.length < options.minSamplesPerWindow
        ) {
          const outcome = await client.post(payloads[next++ % payloads.length] as string);
          requests++;
          if (outcome.ok) samples.push(outcome.ms);
          else errors.add(outcome.error ?? 'failed');
          if (errors.count > 0 && errors.count >= requests) {
            throw new Error(
              `every request failed (${[...errors.samples].join('; ')}); is the service up at ${options.url}?`,
            );
          }
        }
      };
      await Promise.all(Array.from({ length: options.concurrency }, worker));
      const cpuMs = cpuDelta(options.serviceCpuMs, cpuBefore);
      return {
        samples,
        items: samples.length * options.textsPerRequest,
        durationMs: performance.now() - windowStart,
        ...(cpuMs === undefined ? {} : { cpuMs }),
      };
    };
    const stability = await measureUntilStable(measureWindow, options.stability, (w, trial) =>
      options.onProgress?.(
        `window ${trial}: p95 ${w.p95Ms.toFixed(2)} ms, ${w.requestsPerSecond.toFixed(0)} req/s`,
      ),
    );
    const { accepted } = stability;
    const run = summarizeStableRun(stability, options);
    return {
      id: options.id,
      kind: 'http-closed',
      status: run.status,
      ...(run.reasons.length > 0 ? { reason: run.reasons.join('; ') } : {}),
      params,
      latency: run.latency,
      throughput: run.throughput,
      stability: run.stability,
      http: { requests, errors: errors.count, errorSamples: [...errors.samples] },
      ...serviceCpu(accepted.cpuMs, accepted.samples.length, accepted.durationMs),
      durationMs: performance.now() - started,
    };
  } catch (error) {
    return erroredScenario(options.id, 'http-closed', params, error, started);
  } finally {
    client.close();
  }
}

export interface OpenLoopOptions extends HttpLoadOptions {
  readonly ratePerSecond: number;
  readonly maxRequests: number;
  readonly maxDurationMs: number;
  readonly seed: number;
}

/** The seeded Poisson schedule: send offsets in ms, at most `maxRequests`, all before `maxDurationMs`. */
export function poissonSchedule(
  ratePerSecond: number,
  maxRequests: number,
  maxDurationMs: number,
  seed: number,
): number[] {
  const rng = createRng(seed);
  const offsets: number[] = [];
  let t = 0;
  while (offsets.length < maxRequests) {
    t += exponentialDraw(ratePerSecond / 1000, rng);
    if (t > maxDurationMs) break;
    offsets.push(t);
  }
  return offsets;
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * The open loop's sender: posts `payloads` in turn at `schedule`'s offsets (ms from now) whether or not earlier
 * requests have answered, each timed from its scheduled time; stops sending once `maxDurationMs` has passed, then
 * waits for every answer. `onSent` sees the running count after each send.
 */
export async function sendOnSchedule(
  client: PredictClient,
  payloads: readonly string[],
  schedule: readonly number[],
  maxDurationMs: number,
  onOutcome: (outcome: Outcome) => void,
  onSent?: (sent: number) => void,
): Promise<{ sent: number; durationMs: number }> {
  const inFlight: Promise<void>[] = [];
  const t0 = performance.now();
  let sent = 0;
  for (const offset of schedule) {
    const due = t0 + offset;
    const now = performance.now();
    if (now - t0 > maxDurationMs) break;
    if (due > now) await sleep(due - now);
    inFlight.push(client.post(payloads[sent % payloads.length] as string, due).then(onOutcome));
    sent++;
    onSent?.(sent);
  }
  await Promise.all(inFlight);
  return { sent, durationMs: performance.now() - t0 };
}

/** What an open loop measured. */
export interface OpenLoopRun {
  readonly sent: number;
  /** Requests answered 2xx. */
  readonly answered: number;
  /** Wall-clock ms from the first send to the last answer. */
  readonly durationMs: number;
  /** Latency of the answered (2xx) requests, each from its scheduled time. */
  readonly latency: LatencySummary;
  readonly throughput: Throughput;
  /** Answers the caller counts as shed rather than as errors. */
  readonly shed: number;
  readonly errors: ErrorTally;
  /** The service's CPU ms over the loop, when known. */
  readonly cpuMs: number | undefined;
}

/**
 * Sends `payloads` on `schedule` with `sendOnSchedule` and measures what came back: a 2xx is timed, an answer
 * `isShed` picks out is counted as shed (none by default), any other fate is an error. Reports progress every
 * `progressEvery` sends.
 * @throws Error when no request was answered (the service is likely down), naming the failures.
 */
export async function runOpenLoop(
  client: PredictClient,
  payloads: readonly string[],
  schedule: readonly number[],
  maxDurationMs: number,
  options: HttpLoadOptions & {
    readonly progressEvery: number;
    readonly isShed?: (outcome: Outcome) => boolean;
  },
): Promise<OpenLoopRun> {
  const errors = new ErrorTally();
  const samples: number[] = [];
  let shed = 0;
  const cpuBefore = options.serviceCpuMs?.();
  const { sent, durationMs } = await sendOnSchedule(
    client,
    payloads,
    schedule,
    maxDurationMs,
    (outcome) => {
      if (outcome.ok) samples.push(outcome.ms);
      else if (options.isShed?.(outcome) === true) shed++;
      else errors.add(outcome.error ?? 'failed');
    },
    (count) => {
      if (count % options.progressEvery === 0)
        options.onProgress?.(`${count}/${schedule.length} requests sent`);
    },
  );
  const cpuMs = cpuDelta(options.serviceCpuMs, cpuBefore);
  if (samples.length === 0) {
    const failures = [...errors.samples].join('; ');
    const none =
      options.isShed === undefined
        ? `no request succeeded (${failures})`
        : `no request was admitted (${shed} shed; ${failures})`;
    throw new Error(`${none}; is the service up at ${options.url}?`);
  }
  return {
    sent,
    answered: samples.length,
    durationMs,
    latency: summarizeLatency(samples, { minTail: options.minTailSamples, retain: options.retainSamples }),
    throughput: throughputOf(samples.length, samples.length * options.textsPerRequest, durationMs),
    shed,
    errors,
    cpuMs,
  };
}

/**
 * Open loop: requests leave on a seeded Poisson schedule whether or not earlier ones have answered, bounded by
 * `maxRequests` and `maxDurationMs`. Latency runs from each request's scheduled time, not its actual send, so a
 * stalled client or server cannot hide queueing (coordinated omission).
 */
export async function runOpenLoopScenario(options: OpenLoopOptions): Promise<Scenario> {
  const started = performance.now();
  const params = {
    url: options.url,
    ratePerSecond: options.ratePerSecond,
    maxRequests: options.maxRequests,
    maxDurationMs: options.maxDurationMs,
    seed: options.seed,
    textsPerRequest: options.textsPerRequest,
  };
  const client = createPredictClient(predictEndpoint(options.url), {
    maxSockets: Number.POSITIVE_INFINITY,
    timeoutMs: options.requestTimeoutMs,
  });
  const payloads = bodies(options.texts, options.textsPerRequest);
  const schedule = poissonSchedule(
    options.ratePerSecond,
    options.maxRequests,
    options.maxDurationMs,
    options.seed,
  );
  try {
    await client.post(payloads[0] as string);
    const run = await runOpenLoop(client, payloads, schedule, options.maxDurationMs, {
      ...options,
      progressEvery: 100,
    });
    const { sent, durationMs, latency, throughput, errors } = run;
    const p95ok = latency.percentiles.p95.status === 'ok';
    return {
      id: options.id,
      kind: 'http-open',
      status: p95ok ? 'ok' : 'insufficient-samples',
      ...(p95ok ? {} : { reason: measurementDoubts(latency).join('; ') }),
      params,
      latency,
      throughput,
      http: {
        requests: sent,
        errors: errors.count,
        errorSamples: [...errors.samples],
        offeredRatePerSecond: options.ratePerSecond,
        achievedRatePerSecond: throughput.requestsPerSecond,
        unsent: schedule.length - sent,
      },
      ...serviceCpu(run.cpuMs, run.answered + errors.count, durationMs),
      durationMs: performance.now() - started,
    };
  } catch (error) {
    return erroredScenario(options.id, 'http-open', params, error, started);
  } finally {
    client.close();
  }
}
