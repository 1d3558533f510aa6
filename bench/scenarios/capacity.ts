// The capacity plan's self-check: profile the service, let the queueing model plan a per-replica rate within the
// p95 limit, then load the service open-loop at that rate (the SLA must hold) and at a clearly higher one (it must not).
import { performance } from 'node:perf_hooks';
import {
  DEFAULT_MAX_SHED_FRACTION,
  simulateQueue,
  sustainableRate,
  type QueuePoint,
  type ServiceProfile,
} from '../capacity/model.ts';
import { formatNumber } from '../gate/format.ts';
import { erroredScenario, type CapacityCheck, type CapacityPoint, type Scenario } from '../report.ts';
import { measurementDoubts, summarizeLatency, throughputOf, warmUntilPlateau } from '../stats.ts';
import { percentileSorted, sortAscending } from '../../runtime/statistics.ts';
import {
  ErrorTally,
  bodies,
  cpuDelta,
  createPredictClient,
  poissonSchedule,
  predictEndpoint,
  sendOnSchedule,
  serviceCpu,
  type HttpLoadOptions,
  type PredictClient,
} from './http.ts';
import { SHED_CODE } from './overload.ts';
import { machineCpuMs } from './service.ts';

export interface CapacityOptions extends HttpLoadOptions {
  /** The bundle's name, for the report (the service serves it). */
  readonly bundle: string;
  /** The service's worker threads: the model's servers. */
  readonly servers: number;
  /** The admission gate's longest queue wait the service runs with, ms. */
  readonly maxQueueWaitMs: number;
  /** Where `servers` and `maxQueueWaitMs` came from, for the report. */
  readonly profileSource: string;
  /** The p95 limit the plan is made for, ms. */
  readonly p95Ms: number;
  /** The model's shed tolerance at the sustainable rate. Default `DEFAULT_MAX_SHED_FRACTION` (0.001). */
  readonly maxShedFraction?: number;
  readonly headroom: number;
  readonly aboveFactor: number;
  /** The higher point is also at least this multiple of the capacity measured just before it. */
  readonly aboveCapacityFactor: number;
  /**
   * Least warm-up at full concurrency before anything is measured, ms; it goes on until throughput stops rising
   * (`warmUntilPlateau`), up to `maxWarmupMs`.
   */
  readonly warmupMs: number;
  readonly maxWarmupMs: number;
  /** Closed loop at concurrency 1, ms. */
  readonly serviceMs: number;
  /** Closed loop at `capacityConcurrencyPerServer` x `servers`, ms. */
  readonly capacityMs: number;
  readonly capacityConcurrencyPerServer: number;
  /**
   * How far the capacity measured again after the planned point may move from the first, percent, before the
   * scenario is `unstable` (the machine changed under the check). The bench passes `stability.tolerancePct`.
   */
  readonly capacityTolerancePct: number;
  /**
   * Most connections the open loop keeps to the service; requests past them wait in the client, their wait counted
   * from the scheduled send. A replica behind a proxy or load balancer sees a bounded pool of connections.
   */
  readonly maxSockets: number;
  /**
   * Most cores other processes may use during an open-loop point before the scenario is `unstable`: on shared
   * cores an open loop at a fixed rate falls behind whenever another job takes them, however sound the plan.
   */
  readonly maxOtherCores: number;
  /** Open loop at the planned rate, ms. */
  readonly durationMs: number;
  /** Open loop at the higher rate, ms. */
  readonly aboveDurationMs: number;
  readonly seed: number;
  /** The service process's peak RSS in bytes, when the bench started it. */
  readonly servicePeakRssBytes?: () => number | undefined;
}

/** The warm-up's window, ms: short enough to see the rise, long enough for a few hundred requests. */
const WARMUP_WINDOW_MS = 500;

/** The SLA at one point: p95 within the limit, nothing failed and nothing shed (`maxErrorPct: 0`). */
export function meetsSla(
  point: Pick<CapacityPoint, 'p95Ms' | 'errors' | 'shed'>,
  p95LimitMs: number,
): boolean {
  return point.p95Ms !== null && point.p95Ms <= p95LimitMs && point.errors === 0 && point.shed === 0;
}

/** What a plan is judged on: the limit, the model's rates and the two measured points. */
export interface CapacityJudgement {
  readonly p95LimitMs: number;
  readonly sustainableRatePerSecond: number;
  readonly plannedRatePerSecond: number;
  readonly aboveRatePerSecond: number;
  readonly planned: Pick<CapacityPoint, 'p95Ms' | 'errors' | 'shed' | 'requests' | 'predictedP95Ms'>;
  readonly above: Pick<CapacityPoint, 'p95Ms' | 'errors' | 'shed' | 'requests' | 'predictedP95Ms'>;
}

const rate = (r: number): string => `${formatNumber(r)} req/s`;
const p95Text = (p95: number | null): string => (p95 === null ? 'no answer' : `p95 ${formatNumber(p95)} ms`);

function failures(point: CapacityJudgement['planned']): string {
  const parts: string[] = [];
  if (point.errors > 0) parts.push(`${point.errors} failed`);
  if (point.shed > 0)
    parts.push(
      `${point.shed} of ${point.requests} shed (${((100 * point.shed) / point.requests).toFixed(1)}%)`,
    );
  return parts.length > 0 ? parts.join(', ') : 'nothing failed or shed';
}

/**
 * The verdict of a capacity plan against its measurements. It passes when the SLA held at the planned rate and did
 * not at the higher rate. The SLA missed at the planned rate means the model overestimated the replica; the SLA met
 * at the higher rate means it underestimated it, by at least the higher rate's margin over the sustainable one.
 */
export function judgeCapacity(m: CapacityJudgement): { verdict: 'pass' | 'fail'; detail: string } {
  const limit = m.p95LimitMs;
  const plannedOk = meetsSla(m.planned, limit);
  const aboveOk = meetsSla(m.above, limit);
  const factor = m.aboveRatePerSecond / m.sustainableRatePerSecond;
  const plannedText =
    `at the planned ${rate(m.plannedRatePerSecond)} ${p95Text(m.planned.p95Ms)} ` +
    `(model ${formatNumber(m.planned.predictedP95Ms)} ms, limit ${formatNumber(limit)} ms), ${failures(m.planned)}`;
  const aboveText =
    `at ${rate(m.aboveRatePerSecond)} (${factor.toFixed(2)}x the sustainable ${rate(m.sustainableRatePerSecond)}) ` +
    `${p95Text(m.above.p95Ms)} (model ${formatNumber(m.above.predictedP95Ms)} ms), ${failures(m.above)}`;
  const problems: string[] = [];
  if (!plannedOk) problems.push(`the model overestimated the replica: ${plannedText}`);
  if (aboveOk) {
    problems.push(
      `the model underestimated the replica by at least ${((factor - 1) * 100).toFixed(0)}%: ${aboveText}, ` +
        'within the SLA',
    );
  }
  if (problems.length > 0) return { verdict: 'fail', detail: `${problems.join('; ')}.` };
  return {
    verdict: 'pass',
    detail: `The SLA held ${plannedText}; it did not ${aboveText}.`,
  };
}

/**
 * The rates of the two points: planned = sustainable x (1 - headroom); above = the larger of aboveFactor x
 * sustainable and aboveCapacityFactor x `capacityRps` (the capacity measured just before it), so that the higher
 * point is clearly past what the replica can do, not at its knee, whatever share of capacity the SLA allows.
 */
export function plannedRates(
  sustainable: number,
  options: { headroom: number; aboveFactor: number; aboveCapacityFactor?: number; capacityRps?: number },
): { planned: number; above: number } {
  const pastCapacity =
    options.aboveCapacityFactor === undefined || options.capacityRps === undefined
      ? 0
      : options.capacityRps * options.aboveCapacityFactor;
  return {
    planned: sustainable * (1 - options.headroom),
    above: Math.max(sustainable * options.aboveFactor, pastCapacity),
  };
}

/** Closed loop at `concurrency` for `durationMs`: the successful requests' latencies, and the failures. */
async function closedLoop(
  client: PredictClient,
  payloads: readonly string[],
  concurrency: number,
  durationMs: number,
): Promise<{ samples: number[]; durationMs: number }> {
  const samples: number[] = [];
  let next = 0;
  let sent = 0;
  const errors = new ErrorTally();
  const start = performance.now();
  const worker = async (): Promise<void> => {
    while (performance.now() - start < durationMs) {
      const outcome = await client.post(payloads[next++ % payloads.length] as string);
      sent++;
      if (outcome.ok) samples.push(outcome.ms);
      else if (outcome.code !== SHED_CODE) errors.add(outcome.error ?? 'failed');
      if (errors.count > 0 && errors.count * 2 >= sent) {
        throw new Error(`most requests failed (${[...errors.samples].join('; ')})`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { samples, durationMs: performance.now() - start };
}

interface MeasuredPoint {
  readonly point: CapacityPoint;
  readonly samples: number[];
  readonly errorSamples: string[];
  readonly durationMs: number;
  readonly cpuMs: number | undefined;
}

/** One open-loop Poisson point at `ratePerSecond` for `durationMs`, latency from each scheduled send time. */
async function openLoopPoint(
  options: CapacityOptions,
  endpoint: URL,
  payloads: readonly string[],
  ratePerSecond: number,
  durationMs: number,
  seed: number,
  predicted: QueuePoint,
): Promise<MeasuredPoint> {
  const client = createPredictClient(endpoint, {
    maxSockets: options.maxSockets,
    timeoutMs: options.requestTimeoutMs,
  });
  try {
    const schedule = poissonSchedule(ratePerSecond, Number.MAX_SAFE_INTEGER, durationMs, seed);
    const samples: number[] = [];
    const lags: number[] = [];
    const errors = new ErrorTally();
    let shed = 0;
    await client.post(payloads[0] as string);
    const cpuBefore = options.serviceCpuMs?.();
    const machineBefore = machineCpuMs();
    const ownBefore = process.cpuUsage();
    // sendOnSchedule takes its own start an instant later, so these lags are a hair long, never short.
    const t0 = performance.now();
    const { sent, durationMs: sentOver } = await sendOnSchedule(
      client,
      payloads,
      schedule,
      durationMs,
      (outcome) => {
        if (outcome.ok) samples.push(outcome.ms);
        else if (outcome.status === 503 && outcome.code === SHED_CODE) shed++;
        else errors.add(outcome.error ?? 'failed');
      },
      (count) => {
        lags.push(Math.max(0, performance.now() - t0 - (schedule[count - 1] as number)));
        if (count % 1000 === 0) options.onProgress?.(`${count}/${schedule.length} requests sent`);
      },
    );
    const cpuMs = cpuDelta(options.serviceCpuMs, cpuBefore);
    const machineMs = cpuDelta(machineCpuMs, machineBefore);
    const own = process.cpuUsage(ownBefore);
    // Whatever the machine did beyond the service and this load generator (other jobs on shared cores).
    const otherCores =
      machineMs === undefined || cpuMs === undefined || sentOver <= 0
        ? null
        : Math.max(0, machineMs - cpuMs - (own.user + own.system) / 1000) / sentOver;
    const sorted = sortAscending(samples);
    const latency = sorted.length > 0 ? summarizeLatency(sorted, { minTail: options.minTailSamples }) : null;
    const seconds = sentOver / 1000;
    const partial = {
      p95Ms: latency?.percentiles.p95.ms ?? null,
      errors: errors.count,
      shed,
    };
    return {
      point: {
        offeredRatePerSecond: ratePerSecond,
        achievedRatePerSecond: samples.length / seconds,
        requests: sent,
        errors: errors.count,
        shed,
        unsent: schedule.length - sent,
        p50Ms: latency?.percentiles.p50.ms ?? null,
        p95Ms: partial.p95Ms,
        p99Ms: latency?.percentiles.p99.ms ?? null,
        p95Status: latency?.percentiles.p95.status ?? 'insufficient-samples',
        clientLagP95Ms: lags.length > 0 ? percentileSorted(sortAscending(lags), 0.95) : 0,
        otherCores,
        cpuPerRequestMs: cpuMs === undefined || sent === 0 ? null : cpuMs / sent,
        clientCpuPerRequestMs: sent === 0 ? 0 : (own.user + own.system) / 1000 / sent,
        predictedP95Ms: predicted.p95Ms,
        predictedShedFraction: predicted.shedFraction,
        meetsSla: meetsSla(partial, options.p95Ms),
      },
      samples,
      errorSamples: [...errors.samples],
      durationMs: sentOver,
      cpuMs,
    };
  } finally {
    client.close();
  }
}

function pointText(name: string, p: CapacityPoint): string {
  return (
    `${name} ${rate(p.offeredRatePerSecond)}: ${p95Text(p.p95Ms)} (model ${formatNumber(p.predictedP95Ms)} ms), ` +
    `${p.shed} shed, ${p.errors} failed, client lag p95 ${formatNumber(p.clientLagP95Ms)} ms` +
    (typeof p.otherCores === 'number' ? `, other processes ${p.otherCores.toFixed(2)} cores` : '')
  );
}

/**
 * Runs the self-check against the service at `options.url`:
 * 0. warm-up at full concurrency until throughput stops rising (`warmupMs` to `maxWarmupMs`);
 * 1. service time: closed loop at concurrency 1 for `serviceMs` (the profile's samples);
 * 2. capacity: closed loop at `capacityConcurrencyPerServer` x `servers` for `capacityMs` (successful requests/s);
 * 3. the model: `sustainableRate` within `p95Ms` and `maxShedFraction`; planned = sustainable x (1 - headroom);
 * 4. open loop at the planned rate for `durationMs`: the SLA must hold;
 * 5. capacity again (as 2): when it moved beyond `capacityTolerancePct`, the scenario is `unstable`;
 * 6. open loop at the larger of `aboveFactor` x sustainable and `aboveCapacityFactor` x the larger capacity measured,
 *    for `aboveDurationMs`: the SLA must not hold.
 * The scenario's latency, throughput, http and cpu are the planned point's (503s count as errors there, as in
 * `http-open`); `capacity` has the whole check. Measurement failures make the scenario `errored`, never throw.
 */
export async function runCapacityScenario(options: CapacityOptions): Promise<Scenario> {
  const started = performance.now();
  const params = {
    url: options.url,
    bundle: options.bundle,
    textsPerRequest: options.textsPerRequest,
    servers: options.servers,
    p95Ms: options.p95Ms,
    headroom: options.headroom,
    aboveFactor: options.aboveFactor,
    aboveCapacityFactor: options.aboveCapacityFactor,
    seed: options.seed,
  };
  const progress = (text: string): void => options.onProgress?.(text);
  const maxShedFraction = options.maxShedFraction ?? DEFAULT_MAX_SHED_FRACTION;
  let closed: PredictClient | undefined;
  try {
    const endpoint = predictEndpoint(options.url);
    const payloads = bodies(options.texts, options.textsPerRequest);

    const concurrency = options.capacityConcurrencyPerServer * options.servers;
    const client = createPredictClient(endpoint, {
      maxSockets: concurrency,
      timeoutMs: options.requestTimeoutMs,
    });
    closed = client;
    /** Successful requests/s closed loop at `concurrency`, and this bench's CPU ms per request meanwhile. */
    const measureCapacity = async (): Promise<{ rps: number; clientCpuPerRequestMs: number }> => {
      const ownBefore = process.cpuUsage();
      const capacity = await closedLoop(client, payloads, concurrency, options.capacityMs);
      const own = process.cpuUsage(ownBefore);
      const rps = capacity.samples.length / (capacity.durationMs / 1000);
      if (!(rps > 0)) throw new Error('capacity: no request succeeded');
      return { rps, clientCpuPerRequestMs: (own.user + own.system) / 1000 / capacity.samples.length };
    };

    // A fresh service (and this client) speeds up for seconds while V8 optimises the hot paths: from a fresh
    // `shipshape serve` on news-bag, closed-loop throughput at 8 clients rose from about 400 to about 1,000 req/s
    // over its first 6-9 s (three runs, in 0.7 s windows, on the shared 2 cores). Measured before that, the plan
    // is made for a slower replica than the one it is checked on. So warm at full concurrency until throughput
    // stops rising, and for at least `warmupMs`, before either measurement.
    const warmup = await warmUntilPlateau(
      async () => {
        const window = await closedLoop(client, payloads, concurrency, WARMUP_WINDOW_MS);
        return { ...window, items: window.samples.length };
      },
      { minMs: options.warmupMs, maxMs: options.maxWarmupMs },
    );
    progress(
      `warm-up: ${formatNumber(warmup.durationMs / 1000)} s, ` +
        `${warmup.plateaued ? 'throughput stopped rising' : 'throughput still rising at the limit'}`,
    );
    const service = await closedLoop(client, payloads, 1, options.serviceMs);
    if (service.samples.length === 0) throw new Error('service time: no request succeeded');
    progress(
      `service time: ${service.samples.length} requests at concurrency 1, ` +
        `p50 ${formatNumber(percentileSorted(sortAscending(service.samples), 0.5))} ms`,
    );
    const { rps: capacityRps, clientCpuPerRequestMs } = await measureCapacity();
    progress(`capacity: ${rate(capacityRps)} at concurrency ${concurrency} (${options.servers} workers)`);

    const serviceMs = summarizeLatency(service.samples, { retain: options.retainSamples }).samples;
    const profile: ServiceProfile = {
      serviceMs,
      servers: options.servers,
      capacityRps,
      maxQueueWaitMs: options.maxQueueWaitMs,
    };
    const model = sustainableRate(profile, { p95Ms: options.p95Ms, maxShedFraction }, { seed: options.seed });
    if (!model.reachable || !(model.ratePerSecond > 0)) {
      throw new Error(
        `the model finds no rate within p95 ${options.p95Ms} ms: even a trickle of load misses it ` +
          `(p95 ${formatNumber(model.at.p95Ms)} ms at ${rate(model.at.ratePerSecond)}); nothing to check`,
      );
    }
    const { planned: plannedRate } = plannedRates(model.ratePerSecond, options);
    progress(
      `model: sustainable ${rate(model.ratePerSecond)} within p95 ${options.p95Ms} ms; planned ${rate(plannedRate)}`,
    );

    const planned = await openLoopPoint(
      options,
      endpoint,
      payloads,
      plannedRate,
      options.durationMs,
      options.seed,
      simulateQueue(profile, plannedRate, { seed: options.seed }),
    );
    progress(pointText('planned', planned.point));
    // The plan holds for the machine it was made on. Measured again right after the planned point, a capacity that
    // moved tells a machine that got busier (or quieter) under the check from a model that was wrong.
    const { rps: capacityAfterRps } = await measureCapacity();
    client.close();
    const driftPct = (capacityAfterRps / capacityRps - 1) * 100;
    const drifted = Math.abs(driftPct) > options.capacityTolerancePct;
    progress(
      `capacity again: ${rate(capacityAfterRps)} (${driftPct >= 0 ? '+' : ''}${driftPct.toFixed(0)}% ` +
        `against the plan's, tolerance ±${options.capacityTolerancePct}%)`,
    );
    const rates = plannedRates(model.ratePerSecond, {
      ...options,
      capacityRps: Math.max(capacityRps, capacityAfterRps),
    });
    progress(
      `higher rate for the above point: ${rate(rates.above)} (${(rates.above / model.ratePerSecond).toFixed(2)}x the sustainable rate, ` +
        `${(rates.above / Math.max(capacityRps, capacityAfterRps)).toFixed(2)}x the capacity measured)`,
    );
    const above = await openLoopPoint(
      options,
      endpoint,
      payloads,
      rates.above,
      options.aboveDurationMs,
      options.seed + 1,
      simulateQueue(profile, rates.above, { seed: options.seed }),
    );
    progress(pointText('above', above.point));

    const busy = (
      [
        ['planned', planned.point],
        ['above', above.point],
      ] as const
    ).filter(([, p]) => (p.otherCores ?? 0) > options.maxOtherCores);
    const busyText = busy
      .map(([name, p]) => `${(p.otherCores as number).toFixed(2)} cores at the ${name} point`)
      .join(', ');
    const changes = [
      ...(drifted
        ? [
            `its capacity moved from ${rate(capacityRps)} to ${rate(capacityAfterRps)} ` +
              `(${driftPct >= 0 ? '+' : ''}${driftPct.toFixed(0)}%, beyond ±${options.capacityTolerancePct}%)`,
          ]
        : []),
      ...(busy.length > 0 ? [`other processes used ${busyText} (more than ${options.maxOtherCores})`] : []),
    ];
    const caveat =
      changes.length > 0
        ? ` The machine changed under the check: ${changes.join('; ')}; re-measure before blaming the model.`
        : '';
    const judged = judgeCapacity({
      p95LimitMs: options.p95Ms,
      sustainableRatePerSecond: model.ratePerSecond,
      plannedRatePerSecond: rates.planned,
      aboveRatePerSecond: rates.above,
      planned: planned.point,
      above: above.point,
    });
    const capacity: CapacityCheck = {
      bundle: options.bundle,
      textsPerRequest: options.textsPerRequest,
      profile: {
        ...profile,
        serviceMs,
        maxQueueWaitMs: options.maxQueueWaitMs,
        capacityConcurrency: concurrency,
        clientCpuPerRequestMs,
        source: options.profileSource,
      },
      p95LimitMs: options.p95Ms,
      maxShedFraction,
      headroom: options.headroom,
      aboveFactor: options.aboveFactor,
      aboveCapacityFactor: options.aboveCapacityFactor,
      model: {
        sustainableRatePerSecond: model.ratePerSecond,
        serviceScale: model.serviceScale,
        curve: model.curve.map((p) => ({
          ratePerSecond: p.ratePerSecond,
          p95Ms: p.p95Ms,
          shedFraction: p.shedFraction,
        })),
      },
      plannedRatePerSecond: rates.planned,
      aboveRatePerSecond: rates.above,
      planned: planned.point,
      above: above.point,
      capacityAfterRps,
      warmup: { durationMs: warmup.durationMs, plateaued: warmup.plateaued },
      peakRssBytes: options.servicePeakRssBytes?.() ?? null,
      verdict: judged.verdict,
      detail: judged.detail + caveat,
    };

    if (planned.samples.length === 0) {
      throw new Error(
        `no request succeeded at the planned ${rate(rates.planned)} (${planned.errorSamples.join('; ')})`,
      );
    }
    const latency = summarizeLatency(planned.samples, {
      minTail: options.minTailSamples,
      retain: options.retainSamples,
    });
    const measuredEnough = planned.point.p95Status === 'ok' && above.point.p95Status === 'ok';
    const reasons = [
      ...(busy.length > 0
        ? [`other processes used ${busyText} (more than ${options.maxOtherCores} allowed)`]
        : []),
      ...(drifted
        ? [
            `capacity moved ${driftPct >= 0 ? '+' : ''}${driftPct.toFixed(0)}% during the check ` +
              `(${rate(capacityRps)} before the planned point, ${rate(capacityAfterRps)} after; tolerance ±${options.capacityTolerancePct}%)`,
          ]
        : []),
      ...(measuredEnough ? [] : [measurementDoubts(latency).join('; ') || 'too few samples at a point']),
    ];
    const errorSamples = [
      ...planned.errorSamples,
      ...(planned.point.shed > 0 ? [`HTTP 503 ${SHED_CODE}`] : []),
    ].slice(0, 5);
    return {
      id: options.id,
      kind: 'http-capacity',
      status: drifted || busy.length > 0 ? 'unstable' : measuredEnough ? 'ok' : 'insufficient-samples',
      ...(reasons.length > 0 ? { reason: reasons.join('; ') } : {}),
      params,
      latency,
      throughput: throughputOf(
        planned.samples.length,
        planned.samples.length * options.textsPerRequest,
        planned.durationMs,
      ),
      http: {
        requests: planned.point.requests,
        // As in http-open, a request shed at the planned rate is a failed request.
        errors: planned.point.errors + planned.point.shed,
        errorSamples,
        offeredRatePerSecond: rates.planned,
        achievedRatePerSecond: planned.point.achievedRatePerSecond,
        unsent: planned.point.unsent,
      },
      ...serviceCpu(planned.cpuMs, planned.point.requests, planned.durationMs),
      capacity,
      durationMs: performance.now() - started,
    };
  } catch (error) {
    return erroredScenario(options.id, 'http-capacity', params, error, started);
  } finally {
    closed?.close();
  }
}
