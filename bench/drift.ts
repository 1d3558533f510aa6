// Drift over a long run: requests recorded into fixed time windows, and the trends of p99 latency and RSS across them.
import { linearRegression, linearRegressionLine, rSquared } from 'simple-statistics';
import type { Outcome } from './scenarios/http.ts';
import {
  bootstrapQuantileRatio,
  minSamplesFor,
  type BootstrapInterval,
  type PercentileStatus,
} from './stats.ts';
import { percentileSorted, sortAscending } from '../runtime/statistics.ts';

const MIB = 1024 * 1024;

/** What the server process looked like at an instant: RSS and CPU used so far, where they can be read. */
export interface ProcessReading {
  readonly rssBytes?: number;
  readonly cpuMs?: number;
}

/** One window of a soak: the requests that completed in it, and the server's state at its end. */
export interface SoakWindow {
  readonly index: number;
  /** Seconds since the soak started. */
  readonly startS: number;
  readonly endS: number;
  /** Requests that completed in the window, failed ones included. */
  readonly requests: number;
  readonly errors: number;
  /** Failures by kind: `HTTP 503 OVERLOADED`, `HTTP 500`, or the transport error (`socket hang up`...). */
  readonly errorsByKind: Readonly<Record<string, number>>;
  readonly requestsPerSecond: number;
  /** Latency of the window's successful requests, ms; null when none succeeded. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  /** Whether the window had the 100 samples p99 needs (bench/stats.ts's sample-count rule). */
  readonly p99Status: PercentileStatus;
  /** The server's RSS at the window's end, MiB; null when not measured. */
  readonly rssMiB: number | null;
  /** Server CPU time in the window over its wall time: 1.0 is one core busy throughout. Null when not measured. */
  readonly serverCpuCores: number | null;
}

/**
 * The key a failure is counted under: the status with the error code of the JSON body when it has one
 * (`HTTP 503 OVERLOADED`), else the transport error's message (`socket hang up`, `connect ECONNREFUSED ...`).
 */
export function failureKind(outcome: Outcome): string {
  if (outcome.status > 0)
    return `HTTP ${outcome.status}${outcome.code === undefined ? '' : ` ${outcome.code}`}`;
  return (outcome.error ?? 'failed').slice(0, 120);
}

interface WindowData {
  readonly samples: number[];
  requests: number;
  readonly errorsByKind: Map<string, number>;
  end?: ProcessReading;
}

export interface WindowLog {
  /** How many windows the run has: the last one is shorter when the duration is not a multiple of the window. */
  readonly windowCount: number;
  /** The window an instant (ms since the start) falls in; later instants (a drain) count in the last window. */
  indexAt(elapsedMs: number): number;
  /** Records a request that completed `elapsedMs` after the start. */
  record(elapsedMs: number, outcome: Outcome): void;
  /** Stores the server's state at the end of window `index`. */
  close(index: number, reading: ProcessReading): void;
  /** The window as recorded so far. */
  summary(index: number): SoakWindow;
  /** Latencies of the successful requests of the given windows. */
  samples(indices: readonly number[]): number[];
}

/**
 * Creates the windows of a run of `durationMs`, `windowMs` each, with the server's state at the start (`start`),
 * against which the first window's CPU time is counted.
 * @throws RangeError when `durationMs` or `windowMs` is not above zero.
 */
export function createWindowLog(durationMs: number, windowMs: number, start: ProcessReading = {}): WindowLog {
  if (!(durationMs > 0) || !(windowMs > 0)) {
    throw new RangeError(
      `createWindowLog: duration ${durationMs} ms and window ${windowMs} ms must be above zero.`,
    );
  }
  const windowCount = Math.ceil(durationMs / windowMs - 1e-9);
  const windows: WindowData[] = Array.from({ length: windowCount }, () => ({
    samples: [],
    requests: 0,
    errorsByKind: new Map(),
  }));
  const at = (index: number): WindowData => {
    const window = windows[index];
    if (window === undefined) throw new RangeError(`window ${index} is outside 0..${windowCount - 1}.`);
    return window;
  };
  const indexAt = (elapsedMs: number): number =>
    Math.min(windowCount - 1, Math.max(0, Math.floor(elapsedMs / windowMs)));
  return {
    windowCount,
    indexAt,
    record(elapsedMs, outcome) {
      const window = at(indexAt(elapsedMs));
      window.requests++;
      if (outcome.ok) {
        window.samples.push(outcome.ms);
      } else {
        const kind = failureKind(outcome);
        window.errorsByKind.set(kind, (window.errorsByKind.get(kind) ?? 0) + 1);
      }
    },
    close(index, reading) {
      at(index).end = reading;
    },
    summary(index) {
      const window = at(index);
      const startMs = index * windowMs;
      const endMs = Math.min(durationMs, (index + 1) * windowMs);
      const sorted = sortAscending(window.samples);
      const quantile = (p: number): number | null => (sorted.length > 0 ? percentileSorted(sorted, p) : null);
      const before = index === 0 ? start : windows[index - 1]?.end;
      const cpuMs =
        window.end?.cpuMs !== undefined && before?.cpuMs !== undefined
          ? window.end.cpuMs - before.cpuMs
          : undefined;
      return {
        index,
        startS: startMs / 1000,
        endS: endMs / 1000,
        requests: window.requests,
        errors: window.requests - window.samples.length,
        errorsByKind: Object.fromEntries(window.errorsByKind),
        requestsPerSecond: window.requests / ((endMs - startMs) / 1000),
        p50Ms: quantile(0.5),
        p99Ms: quantile(0.99),
        maxMs: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : null,
        p99Status: sorted.length >= minSamplesFor(0.99) ? 'ok' : 'insufficient-samples',
        rssMiB: window.end?.rssBytes === undefined ? null : window.end.rssBytes / MIB,
        serverCpuCores: cpuMs === undefined ? null : cpuMs / (endMs - startMs),
      };
    },
    samples(indices) {
      return indices.flatMap((index) => at(index).samples);
    },
  };
}

/** A least-squares line of a quantity against time. */
export interface Trend {
  /** Change per minute, in the quantity's unit (ms, MiB). */
  readonly slopePerMinute: number;
  /** The line's value at minute 0 (the soak's start). */
  readonly intercept: number;
  /** Share of the variance the line explains; 1 when every point lies on it (a flat series included). */
  readonly rSquared: number;
  /** Standard error of the slope (n - 2 degrees of freedom): a slope within about 2 of them is noise. */
  readonly slopeStdError: number;
  readonly points: number;
}

/**
 * Fits `y = slope * minutes + intercept` by least squares (simple-statistics' `linearRegression`).
 * Returns null with fewer than 3 points or when every point has the same time: no slope or no error for it.
 */
export function fitTrend(points: readonly (readonly [minutes: number, y: number])[]): Trend | null {
  if (points.length < 3) return null;
  const data = points.map(([x, y]) => [x, y]);
  const xs = points.map(([x]) => x);
  const meanX = xs.reduce((sum, x) => sum + x, 0) / xs.length;
  const sxx = xs.reduce((sum, x) => sum + (x - meanX) ** 2, 0);
  if (!(sxx > 0)) return null;
  const fit = linearRegression(data);
  const line = linearRegressionLine(fit);
  const sse = points.reduce((sum, [x, y]) => sum + (y - line(x)) ** 2, 0);
  const r2 = rSquared(data, line);
  return {
    slopePerMinute: fit.m,
    intercept: fit.b,
    // rSquared divides by the total sum of squares, 0 for a flat series, which the flat line fits exactly.
    rSquared: Number.isFinite(r2) ? r2 : 1,
    slopeStdError: Math.sqrt(sse / (points.length - 2) / sxx),
    points: points.length,
  };
}

/** p99 of the first and last thirds of the measured windows, pooled, and their ratio. */
export interface ThirdsComparison {
  readonly windowsPerThird: number;
  readonly firstP99Ms: number;
  readonly lastP99Ms: number;
  readonly firstRequests: number;
  readonly lastRequests: number;
  /** last / first p99 with a seeded bootstrap interval (bench/stats.ts); above 1 means the tail grew. */
  readonly ratio: BootstrapInterval;
}

export interface DriftSummary {
  /** Windows left out of the fits and thirds: the first ones, while the server settles. */
  readonly warmupWindows: number;
  readonly measuredWindows: number;
  /** Windowed p99 (ms) against time; null with fewer than 3 measured windows that have successes. */
  readonly p99: Trend | null;
  /** Null with fewer than 3 measured windows. */
  readonly thirds: ThirdsComparison | null;
  /** RSS (MiB) against time; null when RSS was not measured or fewer than 3 windows have it. */
  readonly rss: Trend | null;
}

/**
 * The drift of a soak: linear trends of windowed p99 (at each window's middle) and RSS (at its end) against time in
 * minutes, and the pooled p99 of
 * the first third of windows against the last third, all over the windows after the first `warmupWindows`.
 * `windows` limits it to the first ones (a run that stopped early). Defaults: `warmupWindows` 1 (never all of
 * them), `bootstrapIterations` 1000, `windows` all.
 */
export function summarizeDrift(
  log: WindowLog,
  options: { warmupWindows?: number; bootstrapIterations?: number; windows?: number } = {},
): DriftSummary {
  const count = Math.min(options.windows ?? log.windowCount, log.windowCount);
  const warmupWindows = Math.min(options.warmupWindows ?? 1, Math.max(0, count - 1));
  const measured = Array.from({ length: count - warmupWindows }, (_, i) => i + warmupWindows);
  const windows = measured.map((index) => log.summary(index));
  // A window's p99 describes its whole span (plotted at its middle); its RSS is a reading at its end.
  const series = (
    at: (window: SoakWindow) => number,
    value: (window: SoakWindow) => number | null,
  ): [number, number][] =>
    windows.flatMap((window) => {
      const y = value(window);
      return y === null ? [] : [[at(window) / 60, y] as [number, number]];
    });
  const middle = (window: SoakWindow): number => (window.startS + window.endS) / 2;
  const third = Math.floor(measured.length / 3);
  let thirds: ThirdsComparison | null = null;
  if (third >= 1) {
    const first = log.samples(measured.slice(0, third));
    const last = log.samples(measured.slice(-third));
    if (first.length > 0 && last.length > 0) {
      thirds = {
        windowsPerThird: third,
        firstP99Ms: percentileSorted(sortAscending(first), 0.99),
        lastP99Ms: percentileSorted(sortAscending(last), 0.99),
        firstRequests: first.length,
        lastRequests: last.length,
        ratio: bootstrapQuantileRatio(first, last, 0.99, { iterations: options.bootstrapIterations ?? 1000 }),
      };
    }
  }
  return {
    warmupWindows,
    measuredWindows: measured.length,
    p99: fitTrend(series(middle, (w) => w.p99Ms)),
    thirds,
    rss: fitTrend(
      series(
        (w) => w.endS,
        (w) => w.rssMiB,
      ),
    ),
  };
}

/**
 * The window length for a run: the duration split into equal windows of at most 10 s, at least 12 of them so that
 * a short run still has points to fit a trend through, and none under 1 s (unless the run is shorter).
 */
export function defaultWindowMs(durationMs: number): number {
  const count = Math.max(
    1,
    Math.min(Math.max(12, Math.ceil(durationMs / 10_000)), Math.floor(durationMs / 1000)),
  );
  return durationMs / count;
}

/** `requestedMs` adjusted so that whole windows fill the duration (the nearest count of them, at least one). */
export function fittedWindowMs(durationMs: number, requestedMs: number): number {
  return durationMs / Math.max(1, Math.round(durationMs / requestedMs));
}
