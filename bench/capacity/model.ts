// The capacity model: a seeded M/G/c queue driven by measured service times, and the Erlang C (M/M/c) answer to check it.
import { basename } from 'node:path';
import { bisect, mean } from 'simple-statistics';
import type { Report, Scenario, ScenarioOf } from '../report.ts';
import { createRng, exponentialDraw } from '../stats.ts';
import { percentileSorted } from '../../runtime/statistics.ts';

/** The admission gate's default longest queue wait (edge config `maxQueueWaitMs`). */
export const DEFAULT_MAX_QUEUE_WAIT_MS = 100;
/** Requests simulated and measured per point, after the warm-up. */
export const DEFAULT_SIMULATED_REQUESTS = 20_000;
/**
 * The shed fraction a sustainable rate may have by default: 0.1%. A rate that sheds more is past the knee already
 * (the gate sheds only requests that waited `maxQueueWaitMs`), so it is no rate to plan for.
 */
export const DEFAULT_MAX_SHED_FRACTION = 0.001;

export interface ServiceProfile {
  /** One request's service time alone, ms (the closed-loop concurrency-1 latency samples of the replica). */
  readonly serviceMs: readonly number[];
  /** Requests the replica serves at once (its worker pool's size; `shipshape serve --workers`). */
  readonly servers: number;
  /** The replica's measured throughput at saturation, requests/s (closed loop, highest concurrency). */
  readonly capacityRps: number;
  /** The admission gate's longest queue wait, ms (edge config maxQueueWaitMs, default 100): longer waits are shed. */
  readonly maxQueueWaitMs?: number;
}

export interface QueuePoint {
  /** The offered Poisson rate, requests/s. */
  readonly ratePerSecond: number;
  /** The rate over the model's capacity (`profile.capacityRps`). */
  readonly utilisation: number;
  /** Response time (queue wait + service) of the admitted requests, ms. */
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  /** Mean queue wait of the admitted requests, ms. */
  readonly meanWaitMs: number;
  /** Requests refused for waiting past `maxQueueWaitMs`, over all measured requests. */
  readonly shedFraction: number;
}

export interface SimulationOptions {
  /** Requests measured per point, after the warm-up. Default 20,000. */
  readonly requests?: number;
  /** Requests simulated before measuring, so the queue starts from its steady state. Default requests / 10. */
  readonly warmupRequests?: number;
  /** Seed of the arrivals and the service-time draws. Default 1. */
  readonly seed?: number;
}

/**
 * The factor applied to the measured service times so that the model's capacity, servers / mean service time,
 * equals the measured `capacityRps`. The concurrency-1 samples alone miss the micro-batcher's gain (several
 * requests share one batch under load: factor below 1) and the cores' contention (servers slow each other down:
 * factor above 1); the closed-loop throughput at saturation has both in it.
 * @throws RangeError when the profile is not usable (see `simulateQueue`).
 */
export function serviceScale(profile: ServiceProfile): number {
  checkProfile(profile);
  return (profile.servers * 1000) / profile.capacityRps / mean([...profile.serviceMs]);
}

function checkProfile(profile: ServiceProfile): void {
  if (profile.serviceMs.length === 0)
    throw new RangeError('ServiceProfile.serviceMs is empty; it needs the measured service times (ms).');
  if (profile.serviceMs.some((v) => !Number.isFinite(v) || v < 0))
    throw new RangeError(
      'ServiceProfile.serviceMs has a negative or non-finite value; service times are ms >= 0.',
    );
  if (!(mean([...profile.serviceMs]) > 0))
    throw new RangeError(
      'ServiceProfile.serviceMs has a mean of 0 ms; the model needs service times above 0.',
    );
  if (!Number.isInteger(profile.servers) || profile.servers < 1)
    throw new RangeError(
      `ServiceProfile.servers is ${profile.servers}; use a whole number >= 1 (the workers).`,
    );
  if (!(profile.capacityRps > 0) || !Number.isFinite(profile.capacityRps))
    throw new RangeError(
      `ServiceProfile.capacityRps is ${profile.capacityRps}; use the measured requests/s > 0.`,
    );
  const wait = profile.maxQueueWaitMs;
  if (wait !== undefined && !(wait >= 0))
    throw new RangeError(`ServiceProfile.maxQueueWaitMs is ${wait}; use ms >= 0 (Infinity: never shed).`);
}

/**
 * Discrete-event M/G/c simulation, FIFO, seeded (deterministic), Poisson arrivals, service times resampled from
 * profile.serviceMs scaled so the model's capacity equals profile.capacityRps.
 *
 * FIFO with c servers is the Kiefer-Wolfowitz recursion: each arrival takes the server that frees first. A request
 * whose wait would pass `maxQueueWaitMs` (default 100) is shed, as the admission gate sheds it, and occupies no
 * server; its time is not in the percentiles. Arrivals and service draws come from two generators seeded from
 * `seed`, so two rates see the same draws (common random numbers): p95 then grows with the rate without noise
 * between points.
 * @throws RangeError when the profile is not usable (no samples, mean 0, servers < 1, capacity <= 0), or the rate
 *   is not > 0, or `requests` < 1.
 */
export function simulateQueue(
  profile: ServiceProfile,
  ratePerSecond: number,
  options: SimulationOptions = {},
): QueuePoint {
  const scale = serviceScale(profile);
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond))
    throw new RangeError(`simulateQueue: rate ${ratePerSecond}/s; use a finite rate > 0.`);
  const requests = options.requests ?? DEFAULT_SIMULATED_REQUESTS;
  if (!Number.isInteger(requests) || requests < 1)
    throw new RangeError(`simulateQueue: requests ${requests}; use a whole number >= 1.`);
  const warmup = options.warmupRequests ?? Math.ceil(requests / 10);
  const seed = options.seed ?? 1;
  const maxWait = profile.maxQueueWaitMs ?? DEFAULT_MAX_QUEUE_WAIT_MS;
  const arrivals = createRng(seed);
  const draws = createRng((seed ^ 0x5bd1e995) >>> 0);
  const samples = profile.serviceMs;
  const n = samples.length;
  const ratePerMs = ratePerSecond / 1000;
  // When each server is next free, ms; c is a worker count (a few to a few dozen), so a linear scan is cheapest.
  const freeAt = new Float64Array(profile.servers);
  const response = new Float64Array(requests);
  let admitted = 0;
  let shed = 0;
  let waitSum = 0;
  let now = 0;
  for (let i = 0; i < warmup + requests; i++) {
    now += exponentialDraw(ratePerMs, arrivals);
    const service = (samples[Math.floor(draws() * n)] as number) * scale;
    let server = 0;
    for (let s = 1; s < freeAt.length; s++)
      if ((freeAt[s] as number) < (freeAt[server] as number)) server = s;
    const wait = Math.max(0, (freeAt[server] as number) - now);
    const measured = i >= warmup;
    if (wait > maxWait) {
      if (measured) shed++;
      continue;
    }
    freeAt[server] = now + wait + service;
    if (measured) {
      response[admitted++] = wait + service;
      waitSum += wait;
    }
  }
  const sorted = Array.from(response.subarray(0, admitted).sort());
  // Every request that finds a server free is admitted, so at least one is unless `requests` is tiny and all queued.
  const quantile = (p: number): number => (admitted === 0 ? maxWait : percentileSorted(sorted, p));
  return {
    ratePerSecond,
    utilisation: ratePerSecond / profile.capacityRps,
    p50Ms: quantile(0.5),
    p95Ms: quantile(0.95),
    p99Ms: quantile(0.99),
    meanWaitMs: admitted === 0 ? maxWait : waitSum / admitted,
    shedFraction: shed / requests,
  };
}

export interface SustainableRate {
  /** The largest rate whose simulated p95 <= p95Ms and shed fraction <= maxShedFraction; 0 when none is. */
  readonly ratePerSecond: number;
  readonly at: QueuePoint;
  /** The factor applied to the measured service times so that servers / mean = capacityRps. */
  readonly serviceScale: number;
  /** False when even a trickle of load misses the limits: the p95 limit is below the service time itself. */
  readonly reachable: boolean;
  /** Points of p95 against rate from near 0 to past capacity, for charts and the plan's reasoning. */
  readonly curve: readonly QueuePoint[];
}

/** Utilisations of the curve's points: dense near the knee, and past capacity where the gate sheds. */
export const CURVE_UTILISATIONS = [
  0.02, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1, 1.1, 1.25, 1.5,
] as const;

/**
 * The largest Poisson rate one replica sustains within a p95 limit, by bisection on the rate in (0, capacity]
 * (to 0.1% of capacity), each step a `simulateQueue` with the same seed. `maxShedFraction` defaults to 0.001.
 * The bisection assumes p95 and shedding grow with the rate, which the common random numbers make true of the
 * simulated points as well.
 * @throws RangeError as `simulateQueue`, or when `p95Ms` is not > 0.
 */
export function sustainableRate(
  profile: ServiceProfile,
  limits: { p95Ms: number; maxShedFraction?: number },
  options: SimulationOptions = {},
): SustainableRate {
  const scale = serviceScale(profile);
  if (!(limits.p95Ms > 0)) throw new RangeError(`sustainableRate: p95 limit ${limits.p95Ms} ms; use ms > 0.`);
  const maxShed = limits.maxShedFraction ?? DEFAULT_MAX_SHED_FRACTION;
  const capacity = profile.capacityRps;
  const meets = (point: QueuePoint): boolean => point.p95Ms <= limits.p95Ms && point.shedFraction <= maxShed;
  const curve = CURVE_UTILISATIONS.map((u) => simulateQueue(profile, u * capacity, options));
  const trickle = curve[0] as QueuePoint;
  const full = simulateQueue(profile, capacity, options);
  if (!meets(trickle)) {
    return { ratePerSecond: 0, at: trickle, serviceScale: scale, reachable: false, curve };
  }
  if (meets(full)) return { ratePerSecond: capacity, at: full, serviceScale: scale, reachable: true, curve };
  let low = trickle;
  let high = capacity;
  while (high - low.ratePerSecond > capacity * 0.001) {
    const middle = simulateQueue(profile, (low.ratePerSecond + high) / 2, options);
    if (meets(middle)) low = middle;
    else high = middle.ratePerSecond;
  }
  return { ratePerSecond: low.ratePerSecond, at: low, serviceScale: scale, reachable: true, curve };
}

/** The M/M/c answer for one load: what the simulation must agree with when the service times are exponential. */
export interface ErlangC {
  /** Probability that an arrival waits (Erlang's C formula). */
  readonly waitProbability: number;
  /** Mean queue wait, ms. */
  readonly meanWaitMs: number;
  /** The 95th percentile of response time (wait + service), ms. */
  readonly p95Ms: number;
}

/**
 * Erlang C for an M/M/c queue with `servers` servers, Poisson arrivals at `ratePerSecond` and exponential service
 * of mean `meanServiceMs`, without shedding. P(wait) from the Erlang B recurrence (stable for any c); the wait is
 * 0 with probability 1 - C, else exponential with rate c·mu - lambda; the response time's tail is that mixture
 * convolved with the exponential service, solved for 5% by bisection.
 * @throws RangeError when the load is not below capacity (rate >= servers / mean service) or an input is not > 0.
 */
export function erlangC(servers: number, ratePerSecond: number, meanServiceMs: number): ErlangC {
  if (!(servers >= 1) || !(ratePerSecond > 0) || !(meanServiceMs > 0))
    throw new RangeError('erlangC: servers >= 1, a rate > 0 and a mean service time > 0 are needed.');
  const lambda = ratePerSecond / 1000;
  const mu = 1 / meanServiceMs;
  const offered = lambda / mu;
  if (offered >= servers)
    throw new RangeError(
      `erlangC: load ${offered.toFixed(3)} erlangs is not below ${servers} servers; no steady state.`,
    );
  let blocking = 1;
  for (let k = 1; k <= servers; k++) blocking = (offered * blocking) / (k + offered * blocking);
  const waitProbability = (servers * blocking) / (servers - offered * (1 - blocking));
  const theta = servers * mu - lambda;
  // P(T > t): no wait (service alone) or an Exp(theta) wait plus an Exp(mu) service (hypoexponential).
  const tail = (t: number): number => {
    const serviceOnly = Math.exp(-mu * t);
    const sum =
      Math.abs(theta - mu) < 1e-12 * mu
        ? (1 + mu * t) * Math.exp(-mu * t)
        : (theta * Math.exp(-mu * t) - mu * Math.exp(-theta * t)) / (theta - mu);
    return (1 - waitProbability) * serviceOnly + waitProbability * sum;
  };
  // T > t with probability 0.05 lies below the 5% points of wait and service added.
  const upper = Math.log(20) / mu + Math.log(20) / theta;
  const p95Ms = bisect((t: number) => tail(t) - 0.05, 0, upper, 200, 1e-9 * upper);
  return { waitProbability, meanWaitMs: waitProbability / theta, p95Ms };
}

/** A profile read from a report, with where it came from. */
export type ReportProfile = ServiceProfile & {
  /** Which scenarios gave the samples, the capacity and the servers, in words. */
  readonly source: string;
  /** The bundle's name (its folder's basename) the HTTP scenarios served. */
  readonly bundle: string;
  readonly textsPerRequest: number;
};

const isUsable = (s: Scenario): boolean => s.status === 'ok' || s.status === 'unstable';

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

function bundleName(report: Report, scenario: Scenario): string {
  const fromParams = scenario.params.bundle;
  if (typeof fromParams === 'string' && fromParams !== '') return basename(fromParams);
  const bundles = (report.config as { bundles?: unknown } | null)?.bundles;
  const first = Array.isArray(bundles) ? (bundles[0] as unknown) : undefined;
  return typeof first === 'string' ? basename(first) : 'unknown';
}

function textsPerRequest(scenario: Scenario): number {
  return positive(scenario.params.textsPerRequest) ?? 1;
}

/** The report's usable self-checks (`http-capacity` scenarios with their section), in report order. */
export function capacityScenarios(report: Report): ScenarioOf<'http-capacity'>[] {
  return report.scenarios.filter(
    (s): s is ScenarioOf<'http-capacity'> =>
      s.kind === 'http-capacity' && isUsable(s) && s.capacity !== undefined,
  );
}

function fromCapacityScenario(report: Report, bundle: string | undefined): ReportProfile | undefined {
  const scenario = capacityScenarios(report).find(
    (s) => bundle === undefined || s.capacity?.bundle === bundle,
  );
  const section = scenario?.capacity;
  if (scenario === undefined || section === undefined) return undefined;
  const { serviceMs, servers, capacityRps, maxQueueWaitMs } = section.profile;
  return {
    serviceMs,
    servers,
    capacityRps,
    maxQueueWaitMs,
    source:
      `${scenario.id} (its measured profile: ${serviceMs.length} service samples, ${servers} servers from ` +
      `${section.profile.source}, ${capacityRps.toFixed(1)} requests/s closed loop at concurrency ` +
      `${section.profile.capacityConcurrency})`,
    bundle: section.bundle,
    textsPerRequest: section.textsPerRequest,
  };
}

function fromClosedLoop(report: Report, bundle: string | undefined): ReportProfile | undefined {
  const closed = report.scenarios.filter(
    (s): s is ScenarioOf<'http-closed'> =>
      s.kind === 'http-closed' &&
      isUsable(s) &&
      s.latency !== undefined &&
      s.throughput !== undefined &&
      (bundle === undefined || bundleName(report, s) === bundle),
  );
  const single = closed.find((s) => s.params.concurrency === 1 && (s.latency?.samples.length ?? 0) > 0);
  if (single?.latency === undefined) return undefined;
  let saturated = single;
  for (const s of closed) {
    if ((s.throughput?.requestsPerSecond ?? 0) > (saturated.throughput?.requestsPerSecond ?? 0))
      saturated = s;
  }
  const capacityRps = saturated.throughput?.requestsPerSecond ?? 0;
  if (!(capacityRps > 0)) return undefined;
  const recorded = positive(single.params.workers) ?? positive(saturated.params.workers);
  const servers = Math.round(recorded ?? report.machine.cores);
  const serversWhy =
    recorded === undefined
      ? `${servers} servers (the report machine's cores: serve's default --workers)`
      : `${servers} servers (the service's --workers)`;
  return {
    serviceMs: single.latency.samples,
    servers,
    capacityRps,
    source:
      `${single.id} (${single.latency.samples.length} retained latency samples of ${single.latency.count}), ` +
      `${saturated.id} (${capacityRps.toFixed(1)} requests/s, the highest closed-loop throughput), ${serversWhy}`,
    bundle: bundleName(report, single),
    textsPerRequest: textsPerRequest(single),
  };
}

/** Where the profile comes from in a report: the `http-capacity/...` scenario's inputs when present, else the
 *  http-closed scenarios (c1 samples, highest closed-loop requests/s). Undefined when the report has neither.
 *  With `options.bundle` (a bundle's name), only scenarios that served that bundle count; without it, the first
 *  `http-capacity` scenario in the report. */
export function profileFromReport(
  report: Report,
  options: { bundle?: string } = {},
): ReportProfile | undefined {
  return fromCapacityScenario(report, options.bundle) ?? fromClosedLoop(report, options.bundle);
}
