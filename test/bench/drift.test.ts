// Soak windows and drift: windowing by completion time, failures by kind, least-squares trends, first vs last third.
import { describe, expect, it } from 'vitest';
import {
  createWindowLog,
  defaultWindowMs,
  failureKind,
  fitTrend,
  fittedWindowMs,
  summarizeDrift,
} from '../../bench/drift.ts';
import type { Outcome } from '../../bench/scenarios/http.ts';

const MIB = 1024 * 1024;
const ok = (ms: number): Outcome => ({ ok: true, ms, status: 200 });

describe('createWindowLog', () => {
  it('puts a request in the window its completion falls in', () => {
    const log = createWindowLog(30_000, 10_000);
    log.record(9_999, ok(1));
    log.record(10_000, ok(2));
    log.record(25_000, ok(3));
    expect([0, 1, 2].map((i) => log.summary(i).requests)).toEqual([1, 1, 1]);
    expect(log.summary(1).p50Ms).toBe(2);
  });

  it('counts completions after the end (the drain) in the last window', () => {
    const log = createWindowLog(30_000, 10_000);
    log.record(31_500, ok(4));
    expect(log.summary(2).requests).toBe(1);
  });

  it('counts failures by status and error code, and transport errors by message, outside the latencies', () => {
    const log = createWindowLog(10_000, 10_000);
    log.record(1, ok(5));
    log.record(2, { ok: false, ms: 1, status: 503, code: 'OVERLOADED', error: 'HTTP 503' });
    log.record(3, { ok: false, ms: 1, status: 503, code: 'OVERLOADED', error: 'HTTP 503' });
    log.record(4, { ok: false, ms: 1, status: 500, error: 'HTTP 500' });
    log.record(5, { ok: false, ms: 9, status: 0, error: 'socket hang up' });
    const window = log.summary(0);
    expect(window.requests).toBe(5);
    expect(window.errors).toBe(4);
    expect(window.errorsByKind).toEqual({ 'HTTP 503 OVERLOADED': 2, 'HTTP 500': 1, 'socket hang up': 1 });
    expect(window.maxMs).toBe(5);
  });

  it("gives each window the server's RSS at its end and the CPU it used, in cores", () => {
    const log = createWindowLog(20_000, 10_000, { rssBytes: 90 * MIB, cpuMs: 1_000 });
    log.close(0, { rssBytes: 100 * MIB, cpuMs: 6_000 });
    log.close(1, { rssBytes: 101 * MIB, cpuMs: 21_000 });
    expect([log.summary(0).rssMiB, log.summary(1).rssMiB]).toEqual([100, 101]);
    expect([log.summary(0).serverCpuCores, log.summary(1).serverCpuCores]).toEqual([0.5, 1.5]);
  });

  it('leaves RSS and CPU null where they were not read', () => {
    const log = createWindowLog(10_000, 10_000);
    log.close(0, {});
    expect([log.summary(0).rssMiB, log.summary(0).serverCpuCores]).toEqual([null, null]);
  });

  it('marks p99 insufficient in a window with fewer than 100 successes', () => {
    const log = createWindowLog(10_000, 10_000);
    for (let i = 0; i < 99; i++) log.record(i, ok(1));
    expect(log.summary(0).p99Status).toBe('insufficient-samples');
    log.record(100, ok(1));
    expect(log.summary(0).p99Status).toBe('ok');
  });

  it('ends with a shorter window when the duration is not a multiple of the window', () => {
    const log = createWindowLog(25_000, 10_000);
    expect(log.windowCount).toBe(3);
    log.record(21_000, ok(1));
    expect(log.summary(2)).toMatchObject({ startS: 20, endS: 25, requestsPerSecond: 0.2 });
  });

  it('throws a RangeError for a duration of zero', () => {
    expect(() => createWindowLog(0, 10_000)).toThrow(RangeError);
  });
});

describe('failureKind', () => {
  it('names a status without an error code by the status alone', () => {
    expect(failureKind({ ok: false, ms: 1, status: 502, error: 'HTTP 502' })).toBe('HTTP 502');
  });
});

describe('fitTrend (least squares against minutes)', () => {
  it('recovers slope 2 and intercept 1 from points on y = 2x + 1, with r² 1 and no error', () => {
    const fit = fitTrend([
      [0, 1],
      [1, 3],
      [2, 5],
      [3, 7],
    ]);
    expect(fit).toMatchObject({ slopePerMinute: 2, intercept: 1, rSquared: 1, slopeStdError: 0, points: 4 });
  });

  it('matches the hand-computed slope, r² and standard error of four noisy points', () => {
    // Sxx = 5, Sxy = 4.5: slope 0.9, intercept 0.9; SSE 0.7, SST 4.75: r² = 1 - 0.7/4.75; se = sqrt(0.7/2/5).
    const fit = fitTrend([
      [0, 1],
      [1, 2],
      [2, 2],
      [3, 4],
    ]);
    expect(fit?.slopePerMinute).toBeCloseTo(0.9, 12);
    expect(fit?.intercept).toBeCloseTo(0.9, 12);
    expect(fit?.rSquared).toBeCloseTo(1 - 0.7 / 4.75, 12);
    expect(fit?.slopeStdError).toBeCloseTo(Math.sqrt(0.07), 12);
  });

  it('fits a flat series with slope 0 and r² 1', () => {
    expect(
      fitTrend([
        [0, 5],
        [1, 5],
        [2, 5],
      ]),
    ).toMatchObject({ slopePerMinute: 0, rSquared: 1 });
  });

  it('gives no fit for two points or for points at a single instant', () => {
    expect(
      fitTrend([
        [0, 1],
        [1, 2],
      ]),
    ).toBeNull();
    expect(
      fitTrend([
        [1, 1],
        [1, 2],
        [1, 3],
      ]),
    ).toBeNull();
  });
});

describe('summarizeDrift', () => {
  /** Ten windows of 6 s; window 0 is the warm-up. */
  function tenWindows() {
    return createWindowLog(60_000, 6_000, { rssBytes: 40 * MIB });
  }

  it('fits the RSS slope in MiB per minute over the windows after the warm-up', () => {
    const log = tenWindows();
    log.close(0, { rssBytes: 50 * MIB });
    // One MiB per 6 s window: 10 MiB per minute.
    for (let i = 1; i < 10; i++) log.close(i, { rssBytes: (100 + i) * MIB });
    const drift = summarizeDrift(log);
    expect(drift.warmupWindows).toBe(1);
    expect(drift.measuredWindows).toBe(9);
    expect(drift.rss?.slopePerMinute).toBeCloseTo(10, 9);
    expect(drift.rss?.rSquared).toBeCloseTo(1, 12);
  });

  it('compares the pooled p99 of the first and last thirds of the measured windows', () => {
    const log = tenWindows();
    for (let i = 1; i < 10; i++) {
      // Windows 1-3 take 1..100 ms, windows 7-9 twice that, the middle ones 5 ms.
      for (let ms = 1; ms <= 100; ms++) log.record(i * 6_000 + ms, ok(i <= 3 ? ms : i >= 7 ? 2 * ms : 5));
    }
    const thirds = summarizeDrift(log, { bootstrapIterations: 200 }).thirds;
    expect(thirds?.windowsPerThird).toBe(3);
    // numpy.percentile(list(range(1, 101)) * 3, 99) = 99.01
    expect(thirds?.firstP99Ms).toBeCloseTo(99.01, 9);
    expect(thirds?.lastP99Ms).toBeCloseTo(198.02, 9);
    expect(thirds?.ratio.estimate).toBeCloseTo(2, 9);
  });

  it('fits a rising p99 at the middle of each window', () => {
    const log = tenWindows();
    // p99 of 100 equal samples is that value: 3 ms more per window, 30 ms per minute.
    for (let i = 0; i < 10; i++) for (let n = 0; n < 100; n++) log.record(i * 6_000 + n, ok(10 + 3 * i));
    expect(summarizeDrift(log).p99?.slopePerMinute).toBeCloseTo(30, 9);
  });

  it('looks only at the windows that ran when a soak stopped early', () => {
    const log = tenWindows();
    for (let i = 0; i < 4; i++) log.close(i, { rssBytes: (100 + i) * MIB });
    expect(summarizeDrift(log, { windows: 4 })).toMatchObject({ measuredWindows: 3, rss: { points: 3 } });
  });

  it('has no RSS trend when RSS was not read', () => {
    expect(summarizeDrift(tenWindows()).rss).toBeNull();
  });
});

describe('window lengths', () => {
  it('uses 10 s windows for 10 minutes, and at least 12 windows for shorter runs', () => {
    expect(defaultWindowMs(600_000)).toBe(10_000);
    expect(defaultWindowMs(60_000)).toBe(5_000);
    expect(defaultWindowMs(30_000)).toBe(2_500);
  });

  it('never goes under 1 s', () => {
    expect(defaultWindowMs(5_000)).toBe(1_000);
  });

  it('rounds a requested window to one that fills the duration', () => {
    expect(fittedWindowMs(60_000, 7_000)).toBeCloseTo(60_000 / 9, 9);
    expect(fittedWindowMs(60_000, 10_000)).toBe(10_000);
  });
});
