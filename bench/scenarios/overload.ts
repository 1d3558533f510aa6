// The overload scenario: measure the service's capacity closed-loop, then offer a multiple of it open-loop and see
// that admission control keeps admitted latency bounded by shedding the excess with 503 OVERLOADED.
import { performance } from 'node:perf_hooks';
import { erroredScenario, type Scenario } from '../report.ts';
import { measurementDoubts } from '../stats.ts';
import {
  bodies,
  createPredictClient,
  poissonSchedule,
  predictEndpoint,
  runOpenLoop,
  serviceCpu,
  type HttpLoadOptions,
} from './http.ts';

export interface OverloadOptions extends HttpLoadOptions {
  /** Closed-loop clients for the capacity phase: enough to keep the service busy. */
  readonly capacityConcurrency: number;
  /** Length of the capacity phase, in ms. */
  readonly capacityMs: number;
  /** Offered rate as a multiple of the measured capacity. */
  readonly factor: number;
  /** Length of the open-loop phase, in ms. */
  readonly durationMs: number;
  readonly seed: number;
}

/** The code admission control sheds with; any other failure is an error. */
export const SHED_CODE = 'OVERLOADED';

/**
 * Capacity, then overload. Capacity: `capacityConcurrency` closed-loop clients for `capacityMs`; successful requests
 * per second (a 503 in this phase does not count). Overload: Poisson arrivals at `factor` x capacity for
 * `durationMs`, latency from each request's scheduled time (no coordinated omission). Reported: admitted (2xx)
 * latency, goodput, requests shed with 503 OVERLOADED, and every other failure as an error.
 */
export async function runOverloadScenario(options: OverloadOptions): Promise<Scenario> {
  const started = performance.now();
  const params = {
    url: options.url,
    textsPerRequest: options.textsPerRequest,
    capacityConcurrency: options.capacityConcurrency,
    capacityMs: options.capacityMs,
    factor: options.factor,
    durationMs: options.durationMs,
    seed: options.seed,
  };
  const endpoint = predictEndpoint(options.url);
  const payloads = bodies(options.texts, options.textsPerRequest);
  const closed = createPredictClient(endpoint, {
    maxSockets: options.capacityConcurrency,
    timeoutMs: options.requestTimeoutMs,
  });
  const open = createPredictClient(endpoint, {
    maxSockets: Number.POSITIVE_INFINITY,
    timeoutMs: options.requestTimeoutMs,
  });
  try {
    // Capacity.
    let next = 0;
    await Promise.all(
      Array.from({ length: options.capacityConcurrency }, () => closed.post(payloads[0] as string)),
    );
    let served = 0;
    const capacityStart = performance.now();
    const client = async (): Promise<void> => {
      while (performance.now() - capacityStart < options.capacityMs) {
        const outcome = await closed.post(payloads[next++ % payloads.length] as string);
        if (outcome.ok) served++;
        else if (outcome.code !== SHED_CODE) throw new Error(`capacity phase: ${outcome.error ?? 'failed'}`);
      }
    };
    await Promise.all(Array.from({ length: options.capacityConcurrency }, client));
    const capacity = served / ((performance.now() - capacityStart) / 1000);
    if (!(capacity > 0)) throw new Error(`capacity phase: no request succeeded at ${options.url}`);
    const rate = capacity * options.factor;
    options.onProgress?.(`capacity ${capacity.toFixed(1)} req/s; offering ${rate.toFixed(1)} req/s`);

    // Overload.
    const schedule = poissonSchedule(rate, Number.MAX_SAFE_INTEGER, options.durationMs, options.seed);
    const run = await runOpenLoop(open, payloads, schedule, options.durationMs, {
      ...options,
      progressEvery: 200,
      isShed: (outcome) => outcome.status === 503 && outcome.code === SHED_CODE,
    });
    const { sent, durationMs, latency, throughput, shed, errors } = run;
    const p99ok = latency.percentiles.p99.status === 'ok';
    return {
      id: options.id,
      kind: 'http-overload',
      status: p99ok ? 'ok' : 'insufficient-samples',
      ...(p99ok
        ? {}
        : {
            reason: [
              ...measurementDoubts(latency),
              `p99 needs ${latency.percentiles.p99.minSamples} samples, got ${latency.count}`,
            ].join('; '),
          }),
      params,
      latency,
      throughput,
      http: {
        requests: sent,
        errors: errors.count,
        errorSamples: [...errors.samples],
        shed,
        capacityRatePerSecond: capacity,
        offeredRatePerSecond: rate,
        achievedRatePerSecond: throughput.requestsPerSecond,
        unsent: schedule.length - sent,
      },
      ...serviceCpu(run.cpuMs, sent, durationMs),
      durationMs: performance.now() - started,
    };
  } catch (error) {
    return erroredScenario(options.id, 'http-overload', params, error, started);
  } finally {
    closed.close();
    open.close();
  }
}
