// The harness's statistics: sample-count rules, window stability, Mann-Whitney U, a seeded bootstrap.
import { errorFunction, mean, wilcoxonRankSum } from 'simple-statistics';
import { percentileSorted, sortAscending } from '../runtime/statistics.ts';

/** The percentiles every latency measurement reports. */
export const PERCENTILES = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 } as const;
export type PercentileName = keyof typeof PERCENTILES;

/**
 * The sample-count rule: a percentile `p` is reported as measured only when at least `minTail` samples lie at or
 * above it, i.e. `n >= ceil(minTail / (1 - p))`. With the default `minTail = 1`: p50 needs 2 samples, p90 10,
 * p95 20, p99 100. Below that the value is still shown but marked `insufficient-samples`.
 */
export function minSamplesFor(p: number, minTail = 1): number {
  if (p >= 1) return Number.POSITIVE_INFINITY;
  // The epsilon keeps 1 / (1 - 0.99) = 100.00000000000009 from rounding up to 101.
  return Math.max(1, Math.ceil(minTail / (1 - p) - 1e-9));
}

export type PercentileStatus = 'ok' | 'insufficient-samples';

export interface PercentileValue {
  readonly ms: number;
  readonly status: PercentileStatus;
  /** Samples this percentile needs under the sample-count rule. */
  readonly minSamples: number;
}

export interface LatencySummary {
  readonly unit: 'ms';
  /** Samples measured (all of them, not only the retained ones). */
  readonly count: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly percentiles: Readonly<Record<PercentileName, PercentileValue>>;
  /** At most `retain` samples (ms, rounded to 0.1 µs), ascending: evenly spaced order statistics when more were measured. */
  readonly samples: number[];
}

/**
 * Summarises latency samples (ms): mean, extremes, p50/p90/p95/p99 with their sample-count status, and a retained
 * subset for later tests. Evenly spaced order statistics keep the distribution's shape, so a rank test on them
 * is valid (if slightly less powerful than on all samples).
 * @throws RangeError when `samples` is empty.
 */
export function summarizeLatency(
  samples: readonly number[],
  options: { minTail?: number; retain?: number } = {},
): LatencySummary {
  const sorted = sortAscending(samples);
  if (sorted.length === 0) throw new RangeError('summarizeLatency: no samples; measure at least one.');
  const minTail = options.minTail ?? 1;
  const percentiles = Object.fromEntries(
    (Object.entries(PERCENTILES) as [PercentileName, number][]).map(([name, p]) => {
      const needed = minSamplesFor(p, minTail);
      const value: PercentileValue = {
        ms: percentileSorted(sorted, p),
        status: sorted.length >= needed ? 'ok' : 'insufficient-samples',
        minSamples: needed,
      };
      return [name, value];
    }),
  ) as Record<PercentileName, PercentileValue>;
  return {
    unit: 'ms',
    count: sorted.length,
    mean: mean(sorted),
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    percentiles,
    // 0.1 µs is finer than the timers' resolution; the rounding keeps reports (and the baseline) small.
    samples: thinSorted(sorted, options.retain ?? 2000).map((v) => Math.round(v * 1e4) / 1e4),
  };
}

/** At most `limit` evenly spaced order statistics of ascending `sorted` (all of them when there are fewer). */
export function thinSorted(sorted: readonly number[], limit: number): number[] {
  if (sorted.length <= limit) return [...sorted];
  if (limit <= 1) return limit === 1 ? [percentileSorted(sorted, 0.5)] : [];
  const out: number[] = [];
  for (let i = 0; i < limit; i++)
    out.push(sorted[Math.round((i * (sorted.length - 1)) / (limit - 1))] as number);
  return out;
}

/** One measurement window: its samples and how long it took. */
export interface MeasurementWindow {
  readonly samples: readonly number[];
  /** Items processed (texts); requests are `samples.length`. */
  readonly items: number;
  /** Wall-clock ms of the window, for throughput. */
  readonly durationMs: number;
  /** CPU ms the measured process spent in the window (user + system), where it can be read. */
  readonly cpuMs?: number;
}

export interface WindowSummary {
  readonly samples: number;
  readonly durationMs: number;
  readonly p95Ms: number;
  readonly requestsPerSecond: number;
  readonly itemsPerSecond: number;
}

export interface StabilityOptions {
  /** Consecutive windows that must agree. Default 3 (perf_analyzer's). */
  readonly windows: number;
  /** Each window's p95 and throughput must lie within this percentage of the windows' mean. Default 10. */
  readonly tolerancePct: number;
  /** Most windows measured before giving up as `unstable`. Default 10. */
  readonly maxTrials: number;
}

export interface StabilityResult {
  readonly stable: boolean;
  readonly trials: number;
  readonly windowsRequired: number;
  readonly tolerancePct: number;
  readonly maxTrials: number;
  readonly windows: WindowSummary[];
  /** The samples of the last `windowsRequired` windows: what the measurement reports. */
  readonly accepted: { samples: number[]; items: number; durationMs: number; cpuMs?: number };
}

/**
 * Why a measurement cannot be reported as it stands: its windows never agreed (`unstable`), or it has too few
 * samples for p95 (`insufficient-samples`). Empty when it can.
 */
export function measurementDoubts(latency: LatencySummary, stability?: StabilityResult): string[] {
  const doubts: string[] = [];
  if (stability !== undefined && !stability.stable) {
    doubts.push(
      `the last ${stability.windowsRequired} of ${stability.trials} windows differ by more than ±${stability.tolerancePct}% in p95 or throughput`,
    );
  }
  const p95 = latency.percentiles.p95;
  if (p95.status !== 'ok') doubts.push(`p95 needs ${p95.minSamples} samples, got ${latency.count}`);
  return doubts;
}

/** Requests and items per second. */
export interface Throughput {
  readonly itemsPerSecond: number;
  readonly requestsPerSecond: number;
}

/** Throughput of `requests` requests carrying `items` items over `durationMs` wall-clock ms. */
export function throughputOf(requests: number, items: number, durationMs: number): Throughput {
  const seconds = durationMs / 1000;
  return { itemsPerSecond: items / seconds, requestsPerSecond: requests / seconds };
}

/** What a measurement that ran window after window (`measureUntilStable`) reports. */
export interface StableRunSummary {
  readonly status: 'ok' | 'unstable' | 'insufficient-samples';
  /** Why the status is not `ok` (see `measurementDoubts`); callers may add their own. */
  readonly reasons: string[];
  /** Latency of the accepted windows. */
  readonly latency: LatencySummary;
  readonly throughput: Throughput;
  /** The stability result without its accepted samples, as reports carry it. */
  readonly stability: Omit<StabilityResult, 'accepted'>;
}

/**
 * Summarizes a stability run's accepted windows: latency (`minTailSamples` and `retainSamples` as `summarizeLatency`'s
 * `minTail` and `retain`), throughput, and the status: `unstable` when the windows never agreed, else `ok` when p95
 * has enough samples, else `insufficient-samples`.
 */
export function summarizeStableRun(
  run: StabilityResult,
  statistics: { readonly minTailSamples: number; readonly retainSamples: number },
): StableRunSummary {
  const { accepted, ...stability } = run;
  const latency = summarizeLatency(accepted.samples, {
    minTail: statistics.minTailSamples,
    retain: statistics.retainSamples,
  });
  return {
    status: !run.stable
      ? 'unstable'
      : latency.percentiles.p95.status === 'ok'
        ? 'ok'
        : 'insufficient-samples',
    reasons: measurementDoubts(latency, run),
    latency,
    throughput: throughputOf(accepted.samples.length, accepted.items, accepted.durationMs),
    stability,
  };
}

/** CPU use of the process doing the work, as reports carry it. */
export interface CpuUse {
  readonly perRequestMs: number;
  readonly utilization: number;
  readonly source: string;
}

/**
 * CPU per request and utilisation from `cpuMs` CPU ms over `wallMs` wall-clock ms, as `{ cpu }` to spread into a
 * scenario; `{}` when the CPU time is unknown or nothing was measured.
 */
export function cpuUse(
  cpuMs: number | undefined,
  requests: number,
  wallMs: number,
  source: string,
): { cpu?: CpuUse } {
  if (cpuMs === undefined || requests === 0 || wallMs <= 0) return {};
  return { cpu: { perRequestMs: cpuMs / requests, utilization: cpuMs / wallMs, source } };
}

export function summarizeWindow(window: MeasurementWindow): WindowSummary {
  const seconds = window.durationMs / 1000;
  return {
    samples: window.samples.length,
    durationMs: window.durationMs,
    p95Ms: window.samples.length > 0 ? percentileSorted(sortAscending(window.samples), 0.95) : Number.NaN,
    requestsPerSecond: seconds > 0 ? window.samples.length / seconds : 0,
    itemsPerSecond: seconds > 0 ? window.items / seconds : 0,
  };
}

/** True when every value lies within ±`tolerancePct`% of their mean (and all are finite). */
export function isWithinTolerance(values: readonly number[], tolerancePct: number): boolean {
  if (values.length === 0 || values.some((v) => !Number.isFinite(v))) return false;
  const centre = mean([...values]);
  const allowed = Math.abs(centre) * (tolerancePct / 100);
  return values.every((v) => Math.abs(v - centre) <= allowed);
}

/**
 * Measures windows until the last `windows` of them agree (perf_analyzer's rule: p95 latency and throughput each
 * within ±`tolerancePct`% of their mean) or `maxTrials` windows were measured. Either way the last `windows`
 * windows are the ones reported; `stable: false` marks the measurement `unstable`.
 */
export async function measureUntilStable(
  measureWindow: (trial: number) => Promise<MeasurementWindow>,
  options: StabilityOptions,
  onWindow?: (summary: WindowSummary, trial: number) => void,
): Promise<StabilityResult> {
  const raw: MeasurementWindow[] = [];
  const summaries: WindowSummary[] = [];
  let stable = false;
  const maxTrials = Math.max(options.maxTrials, options.windows);
  while (raw.length < maxTrials) {
    const window = await measureWindow(raw.length + 1);
    raw.push(window);
    const summary = summarizeWindow(window);
    summaries.push(summary);
    onWindow?.(summary, raw.length);
    if (raw.length >= options.windows) {
      const last = summaries.slice(-options.windows);
      stable =
        isWithinTolerance(
          last.map((w) => w.p95Ms),
          options.tolerancePct,
        ) &&
        isWithinTolerance(
          last.map((w) => w.requestsPerSecond),
          options.tolerancePct,
        );
      if (stable) break;
    }
  }
  const accepted = raw.slice(-options.windows);
  return {
    stable,
    trials: raw.length,
    windowsRequired: options.windows,
    tolerancePct: options.tolerancePct,
    maxTrials,
    windows: summaries,
    accepted: {
      samples: accepted.flatMap((w) => [...w.samples]),
      items: accepted.reduce((sum, w) => sum + w.items, 0),
      durationMs: accepted.reduce((sum, w) => sum + w.durationMs, 0),
      ...(accepted.every((w) => w.cpuMs !== undefined)
        ? { cpuMs: accepted.reduce((sum, w) => sum + (w.cpuMs ?? 0), 0) }
        : {}),
    },
  };
}

export interface WarmupResult {
  /** Wall-clock ms spent warming up. */
  readonly durationMs: number;
  readonly windows: number;
  /** False when `maxMs` ran out while throughput was still rising. */
  readonly plateaued: boolean;
}

/**
 * Warms up until throughput stops rising: short windows until `flatWindows` in a row fail to beat the best rate so
 * far by more than `tolerancePct`, after at least `minMs` and at most `maxMs`. WASM needs this: V8 first runs it
 * from a baseline compiler and tiers hot functions up in the background, which took about 2 s on 2 loaded cores.
 */
export async function warmUntilPlateau(
  measureWindow: () => Promise<MeasurementWindow>,
  options: { minMs: number; maxMs: number; tolerancePct?: number; flatWindows?: number },
): Promise<WarmupResult> {
  const tolerance = (options.tolerancePct ?? 10) / 100;
  const flatNeeded = options.flatWindows ?? 3;
  const start = performance.now();
  let best = 0;
  let flat = 0;
  let windows = 0;
  for (;;) {
    const elapsed = performance.now() - start;
    if (flat >= flatNeeded && elapsed >= options.minMs)
      return { durationMs: elapsed, windows, plateaued: true };
    if (elapsed >= options.maxMs) return { durationMs: elapsed, windows, plateaued: false };
    const window = await measureWindow();
    windows++;
    const rate = window.durationMs > 0 ? window.samples.length / window.durationMs : 0;
    if (rate > best * (1 + tolerance)) {
      best = rate;
      flat = 0;
    } else {
      flat++;
    }
  }
}

/** Standard normal upper tail P(Z > z), through simple-statistics' `errorFunction` (error < 1.2e-7). */
export function normalUpperTail(z: number): number {
  return Math.min(1, Math.max(0, 0.5 * (1 - errorFunction(z / Math.SQRT2))));
}

export type Alternative = 'greater' | 'less' | 'two-sided';

export interface MannWhitneyResult {
  /** U of the first sample: pairs (x, y) with x > y, plus half the ties. */
  readonly u: number;
  /** Standardised statistic after tie and continuity corrections; 0 when every value is tied. */
  readonly z: number;
  readonly pValue: number;
  readonly alternative: Alternative;
}

/**
 * Mann-Whitney U test of `x` against `y` with the normal approximation, the tie correction of the variance and a
 * continuity correction of 0.5 (what SciPy's `mannwhitneyu(method='asymptotic')` computes).
 * `alternative: 'greater'` asks whether `x` tends to be larger than `y`.
 *
 * U = W - n1(n1+1)/2 with W the rank sum of `x` (simple-statistics' `wilcoxonRankSum`, mid-ranks for ties);
 * mean n1 n2 / 2; variance n1 n2 / 12 * ((n+1) - sum(t^3 - t) / (n(n-1))) over tie groups of size t.
 * @throws RangeError when either sample is empty.
 */
export function mannWhitneyU(
  x: readonly number[],
  y: readonly number[],
  alternative: Alternative = 'two-sided',
): MannWhitneyResult {
  if (x.length === 0 || y.length === 0) {
    throw new RangeError(
      `mannWhitneyU: samples of sizes ${x.length} and ${y.length}; both need at least one.`,
    );
  }
  const n1 = x.length;
  const n2 = y.length;
  const n = n1 + n2;
  const u = wilcoxonRankSum([...x], [...y]) - (n1 * (n1 + 1)) / 2;
  const pooled = sortAscending([...x, ...y]);
  let tieTerm = 0;
  for (let i = 0; i < pooled.length;) {
    let j = i + 1;
    while (j < pooled.length && pooled[j] === pooled[i]) j++;
    const t = j - i;
    tieTerm += t * t * t - t;
    i = j;
  }
  const mu = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (!(variance > 0)) return { u, z: 0, pValue: 1, alternative };
  const sigma = Math.sqrt(variance);
  let z: number;
  let pValue: number;
  if (alternative === 'greater') {
    z = (u - mu - 0.5) / sigma;
    pValue = normalUpperTail(z);
  } else if (alternative === 'less') {
    z = (u - mu + 0.5) / sigma;
    pValue = 1 - normalUpperTail(z);
  } else {
    z = (Math.abs(u - mu) - 0.5) / sigma;
    pValue = Math.min(1, 2 * normalUpperTail(z));
  }
  return { u, z, pValue, alternative };
}

/** A seeded PRNG (mulberry32) returning floats in [0, 1): the same seed gives the same sequence everywhere. */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The `p`-quantile of one bootstrap resample of ascending `sorted`, in O(n) by counting draws: the same type 7
 * definition as `percentileSorted`, read off the draw counts instead of a sorted copy of the resample.
 */
function resampleQuantile(
  sorted: readonly number[],
  p: number,
  rng: () => number,
  counts: Uint32Array,
): number {
  const n = sorted.length;
  counts.fill(0);
  for (let i = 0; i < n; i++) {
    const index = Math.floor(rng() * n);
    counts[index] = (counts[index] as number) + 1;
  }
  const h = (n - 1) * p;
  const lowerRank = Math.floor(h);
  const upperRank = Math.min(lowerRank + 1, n - 1);
  let cumulative = 0;
  let lower = Number.NaN;
  let upper = Number.NaN;
  // The k-th order statistic (0-based) is the first sorted value whose cumulative draw count exceeds k.
  for (let i = 0; i < n; i++) {
    cumulative += counts[i] as number;
    if (Number.isNaN(lower) && cumulative > lowerRank) lower = sorted[i] as number;
    if (cumulative > upperRank) {
      upper = sorted[i] as number;
      break;
    }
  }
  return lower + (h - lowerRank) * (upper - lower);
}

export interface BootstrapInterval {
  /** The ratio of the candidate's quantile to the baseline's. */
  readonly estimate: number;
  readonly low: number;
  readonly high: number;
  readonly confidence: number;
  readonly iterations: number;
  readonly seed: number;
}

/**
 * A seeded percentile-bootstrap interval for `quantile(candidate, p) / quantile(baseline, p)`: both samples are
 * resampled with replacement `iterations` times. An interval entirely above 1 means the candidate's quantile is
 * larger with the given confidence.
 * @throws RangeError when either sample is empty.
 */
export function bootstrapQuantileRatio(
  baseline: readonly number[],
  candidate: readonly number[],
  p: number,
  options: { iterations?: number; confidence?: number; seed?: number } = {},
): BootstrapInterval {
  if (baseline.length === 0 || candidate.length === 0) {
    throw new RangeError('bootstrapQuantileRatio: both samples need at least one value.');
  }
  const iterations = options.iterations ?? 2000;
  const confidence = options.confidence ?? 0.95;
  const seed = options.seed ?? 1;
  const rng = createRng(seed);
  const a = sortAscending(baseline);
  const b = sortAscending(candidate);
  const countsA = new Uint32Array(a.length);
  const countsB = new Uint32Array(b.length);
  const ratios: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const qa = resampleQuantile(a, p, rng, countsA);
    const qb = resampleQuantile(b, p, rng, countsB);
    ratios.push(qa > 0 ? qb / qa : qb > 0 ? Number.POSITIVE_INFINITY : 1);
  }
  const sortedRatios = sortAscending(ratios);
  const alpha = 1 - confidence;
  const qa = percentileSorted(a, p);
  const qb = percentileSorted(b, p);
  return {
    estimate: qa > 0 ? qb / qa : qb > 0 ? Number.POSITIVE_INFINITY : 1,
    low: percentileSorted(sortedRatios, alpha / 2),
    high: percentileSorted(sortedRatios, 1 - alpha / 2),
    confidence,
    iterations,
    seed,
  };
}

/** Draws from an exponential distribution with the given rate (events per unit), for Poisson arrivals. */
export function exponentialDraw(rate: number, rng: () => number): number {
  return -Math.log(1 - rng()) / rate;
}
