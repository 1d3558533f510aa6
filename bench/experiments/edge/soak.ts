// Soak: the Node service under open-loop Poisson load at a share of its measured capacity for a long time.
// Phase 1 finds the capacity (closed loop, a few concurrencies, the best successful requests/s); phase 2 offers
// `--load` of it for `--duration` and records every window: requests, errors by kind, p50/p99, the server's RSS
// and CPU. Errors must be 0 (exit 1 otherwise); p99 drift and RSS slope are least-squares lines over the windows.
// Run: npx tsx bench/experiments/edge/soak.ts [--duration 10m] [--load 0.7] [--bundle DIR] [--serve-args "--workers 2"]
//      [--url http://127.0.0.1:8787 [--pid PID]] [--texts-per-request 1] [--window 10s] [--out soak.json]
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { renderSvg, soakSpec } from '../../charts.ts';
import {
  createWindowLog,
  defaultWindowMs,
  fittedWindowMs,
  summarizeDrift,
  type DriftSummary,
  type ProcessReading,
  type SoakWindow,
  type Trend,
} from '../../drift.ts';
import { formatDuration, parseDuration } from '../../duration.ts';
import {
  createPredictClient,
  poissonSchedule,
  predictEndpoint,
  runClosedLoopScenario,
} from '../../scenarios/http.ts';
import { processCpuMs, processMemory, startService, type RunningService } from '../../scenarios/service.ts';
import { table } from '../../table.ts';
import { makeBatches, readBenchTexts } from '../../texts.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const MIB = 1024 * 1024;

// parseArgs refuses a value that starts with a dash (`--serve-args "--workers 2"`) unless written with `=`.
const argv = process.argv.slice(2);
const serveArgsAt = argv.indexOf('--serve-args');
if (serveArgsAt >= 0 && serveArgsAt + 1 < argv.length) {
  argv.splice(serveArgsAt, 2, `--serve-args=${argv[serveArgsAt + 1]}`);
}
const { values } = parseArgs({
  args: argv,
  options: {
    duration: { type: 'string', default: '10m' },
    load: { type: 'string', default: '0.7' },
    bundle: { type: 'string', default: `${ROOT}/artifacts/news-bag` },
    'serve-args': { type: 'string', default: '' },
    url: { type: 'string' },
    pid: { type: 'string' },
    'texts-per-request': { type: 'string', default: '1' },
    window: { type: 'string' },
    'warmup-windows': { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '1,2,4,8,16' },
    'capacity-window': { type: 'string', default: '1s' },
    capacity: { type: 'string' },
    timeout: { type: 'string', default: '10s' },
    'max-sockets': { type: 'string', default: '64' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
    chart: { type: 'string' },
  },
});

/** A whole number within bounds, or an error naming the flag, the value and what to give. */
function integerFlag(name: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new Error(`--${name} ${value}: give an integer from ${min} to ${max}.`);
  }
  return n;
}

const durationMs = parseDuration(values.duration);
const load = Number(values.load);
if (!(load > 0 && load <= 1))
  throw new Error(`--load ${values.load}: give a share of capacity in (0, 1], e.g. 0.7.`);
const requestedWindowMs = values.window === undefined ? undefined : parseDuration(values.window);
if (requestedWindowMs !== undefined && requestedWindowMs > durationMs) {
  throw new Error(
    `--window ${values.window} is longer than --duration ${values.duration}; give a shorter one.`,
  );
}
const windowMs =
  requestedWindowMs === undefined
    ? defaultWindowMs(durationMs)
    : fittedWindowMs(durationMs, requestedWindowMs);
const textsPerRequest = integerFlag('texts-per-request', values['texts-per-request'], 1, 256);
const warmupWindows = integerFlag('warmup-windows', values['warmup-windows'], 0);
const concurrencies = values.concurrency.split(',').map((c) => integerFlag('concurrency', c.trim(), 1, 1024));
const capacityWindowMs = parseDuration(values['capacity-window']);
const requestTimeoutMs = parseDuration(values.timeout);
const seed = integerFlag('seed', values.seed, 0, 2 ** 32 - 1);
const maxSockets = integerFlag('max-sockets', values['max-sockets'], 1, 4096);
const givenCapacity = values.capacity === undefined ? undefined : Number(values.capacity);
if (givenCapacity !== undefined && !(givenCapacity > 0)) {
  throw new Error(`--capacity ${values.capacity}: give the service's capacity in requests/s, above 0.`);
}
if (values.pid !== undefined && values.url === undefined) {
  throw new Error('--pid names the process behind --url; without --url the soak starts its own service.');
}
const serveArgs = values['serve-args'].split(/\s+/).filter((arg) => arg !== '');
if (values.url !== undefined && serveArgs.length > 0) {
  throw new Error('--serve-args is for the service the soak starts; with --url it does not start one.');
}

const log = (line: string): void => {
  process.stderr.write(`soak: ${line}\n`);
};
/** Seconds as `5`, or `1.7` when the windows do not fall on whole seconds. */
const seconds = (s: number): string =>
  Math.abs(s - Math.round(s)) < 1e-6 ? String(Math.round(s)) : s.toFixed(1);

const bundleDir = resolve(values.bundle);
const texts = await readBenchTexts(bundleDir);
// One text as {"text"} (the single-text route the micro-batcher serves), more as {"texts"}.
const payloads = makeBatches(texts, textsPerRequest, 64).map((batch) =>
  JSON.stringify(batch.length === 1 ? { text: batch[0] } : { texts: batch }),
);

// The target: a service started here, or a running one on loopback.
let service: RunningService | undefined;
let url: string;
let pid: number | undefined;
if (values.url === undefined) {
  log(`starting shipshape serve --bundle ${values.bundle} ${serveArgs.join(' ')}`.trimEnd());
  service = await startService(bundleDir, { args: serveArgs });
  url = service.url;
  pid = service.pid;
  log(service.banner);
} else {
  predictEndpoint(values.url);
  url = values.url.replace(/\/+$/, '');
  if (values.pid !== undefined) {
    pid = integerFlag('pid', values.pid, 1);
    if (processMemory(pid) === undefined) {
      throw new Error(`--pid ${pid}: no such process readable in /proc; give the service's process id.`);
    }
  }
}

/** The server's RSS and CPU so far, where they can be read. */
function reading(): ProcessReading {
  const memory = processMemory(pid);
  const cpuMs = processCpuMs(pid);
  return {
    ...(memory === undefined ? {} : { rssBytes: memory.rssBytes }),
    ...(cpuMs === undefined ? {} : { cpuMs }),
  };
}

/** True while process `pid` exists (signal 0 checks without sending; EPERM means it exists as another user's). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, Math.max(0, ms)));

interface CapacityLevel {
  readonly concurrency: number;
  readonly status: string;
  readonly requestsPerSecond: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  readonly serverCpuCores: number | null;
}

interface Capacity {
  /** `measured`: the best level whose windows agreed within ±15%; the best of all when none did. */
  readonly source: 'measured' | 'measured (no level stable)' | 'given';
  readonly requestsPerSecond: number;
  readonly levels: readonly CapacityLevel[];
}

/**
 * Phase 1: the best successful requests/s of a closed loop over the given concurrencies, among the levels whose
 * windows agreed (bench/stats.ts's stability rule), else among all.
 */
async function measureCapacity(): Promise<Capacity> {
  const levels: CapacityLevel[] = [];
  for (const concurrency of concurrencies) {
    const scenario = await runClosedLoopScenario({
      id: `soak-capacity/c${concurrency}`,
      url,
      texts,
      payloads,
      concurrency,
      textsPerRequest,
      windowMs: capacityWindowMs,
      minSamplesPerWindow: 20,
      requestTimeoutMs,
      // Short: capacity needs a figure within a few percent, not a release-grade measurement.
      stability: { windows: 2, tolerancePct: 15, maxTrials: 4 },
      minTailSamples: 1,
      retainSamples: 0,
      serviceCpuMs: () => processCpuMs(pid),
    });
    if (scenario.status === 'errored' || scenario.throughput === undefined) {
      throw new Error(`capacity at concurrency ${concurrency}: ${scenario.reason ?? 'no result'}`);
    }
    const level: CapacityLevel = {
      concurrency,
      status: scenario.status,
      requestsPerSecond: scenario.throughput.requestsPerSecond,
      p50Ms: scenario.latency?.percentiles.p50.ms ?? null,
      p99Ms: scenario.latency?.percentiles.p99.ms ?? null,
      errors: scenario.http?.errors ?? 0,
      errorSamples: scenario.http?.errorSamples ?? [],
      serverCpuCores: scenario.cpu?.utilization ?? null,
    };
    levels.push(level);
    log(
      `capacity at concurrency ${concurrency}: ${level.requestsPerSecond.toFixed(0)} req/s, ` +
        `p99 ${level.p99Ms?.toFixed(2) ?? '-'} ms, ${level.errors} errors (${level.status})`,
    );
  }
  // Sustainable means the windows agreed: a burst one window long on a shared machine is not capacity.
  const agreed = levels.filter((level) => level.status === 'ok');
  const best = (candidates: readonly CapacityLevel[]) =>
    Math.max(...candidates.map((level) => level.requestsPerSecond));
  if (agreed.length > 0) return { source: 'measured', requestsPerSecond: best(agreed), levels };
  log('capacity: no concurrency gave agreeing windows; taking the best of the unstable ones');
  return { source: 'measured (no level stable)', requestsPerSecond: best(levels), levels };
}

interface SoakRun {
  readonly offeredRatePerSecond: number;
  readonly scheduled: number;
  readonly sent: number;
  /** Why the run ended before its duration; absent when it ran to the end. */
  readonly stoppedEarly?: string;
  readonly windows: readonly SoakWindow[];
  readonly drift: DriftSummary;
  readonly start: { readonly rssMiB: number | null };
  readonly peakRssMiB: number | null;
  /** How late the client sent requests against the schedule, ms: a late client offers less than asked. */
  readonly sendLag: { readonly p99Ms: number; readonly maxMs: number };
  /** CPU of this process (the load generator) over the run, in cores. */
  readonly clientCpuCores: number;
  readonly wallMs: number;
}

/** Phase 2: open-loop Poisson arrivals at `rate` for the duration, recorded per window. */
async function soak(rate: number): Promise<SoakRun> {
  // Bounded in count as well as time: Poisson counts beyond 1.5x the mean plus 1,000 do not happen in practice.
  const maxRequests = Math.ceil((rate * durationMs) / 1000) * 1.5 + 1000;
  const schedule = poissonSchedule(rate, maxRequests, durationMs, seed);
  // Capped sockets: past the cap, requests wait in the client (their latency still runs from their due time), where
  // an uncapped open loop under a stall opens connections until the process runs out of file descriptors.
  const client = createPredictClient(predictEndpoint(url), { maxSockets, timeoutMs: requestTimeoutMs });
  // More requests in flight than the timeout's worth of arrivals: the service is not keeping up, and carrying on
  // would measure the client's backlog rather than the service.
  const maxInFlight = Math.max(100, Math.ceil((rate * requestTimeoutMs) / 1000));
  const startReading = reading();
  const windows = createWindowLog(durationMs, windowMs, startReading);
  const inFlight = new Set<Promise<void>>();
  const lags: number[] = [];
  let stoppedEarly: string | undefined;
  let closedWindows = 0;
  let finished = false;
  const clientCpuBefore = process.cpuUsage();
  const t0 = performance.now();

  const line = (window: SoakWindow): string => {
    const kinds = Object.entries(window.errorsByKind).map(([kind, n]) => `${n} ${kind}`);
    return (
      `[${window.index + 1}/${windows.windowCount}] ${seconds(window.endS)}s: ${window.requests} requests, ` +
      `${window.errors} errors${kinds.length > 0 ? ` (${kinds.join(', ')})` : ''}, ` +
      `p50 ${window.p50Ms?.toFixed(2) ?? '-'} ms, p99 ${window.p99Ms?.toFixed(2) ?? '-'} ms` +
      (window.rssMiB === null ? '' : `, RSS ${window.rssMiB.toFixed(1)} MiB`) +
      (window.serverCpuCores === null ? '' : `, server CPU ${window.serverCpuCores.toFixed(2)}`)
    );
  };

  // Window boundaries: read the server, print the window that just closed (the last one, or the one a stop ended,
  // after the drain).
  const boundaries = (async () => {
    for (let index = 0; index < windows.windowCount; index++) {
      const end = t0 + Math.min(durationMs, (index + 1) * windowMs);
      // Node's timers may fire up to a millisecond early; a completion before the boundary must land in this window.
      while (performance.now() < end) await sleep(end - performance.now());
      const now = reading();
      windows.close(index, now);
      closedWindows = index + 1;
      if (pid !== undefined && !isAlive(pid)) {
        stoppedEarly = `the service (pid ${pid}) exited during window ${index + 1}`;
      }
      if (stoppedEarly !== undefined) return;
      if (index < windows.windowCount - 1) log(line(windows.summary(index)));
    }
  })();

  /** When a run stops early, later completions count in the last window it closed. */
  const recordedAt = (): number =>
    stoppedEarly === undefined ? performance.now() - t0 : Math.max(0, closedWindows * windowMs - 1);

  let sent = 0;
  for (const offset of schedule) {
    if (stoppedEarly !== undefined) break;
    if (inFlight.size > maxInFlight) {
      stoppedEarly =
        `${inFlight.size} requests in flight at ${((performance.now() - t0) / 1000).toFixed(0)} s, more than ` +
        `${formatDuration(requestTimeoutMs)} of arrivals: the service is not keeping up with ${rate.toFixed(0)} req/s`;
      break;
    }
    const due = t0 + offset;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    lags.push(Math.max(0, performance.now() - due));
    const request = client.post(payloads[sent % payloads.length] as string, due).then((outcome) => {
      if (!finished) windows.record(recordedAt(), outcome);
      inFlight.delete(request);
    });
    inFlight.add(request);
    sent++;
  }
  // A stop ends the windows at the next boundary.
  await boundaries;
  // Requests waiting for a capped socket have no timeout of their own yet: the drain gets one.
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((done) => {
    timer = setTimeout(() => done('deadline'), requestTimeoutMs);
  });
  const drained = Promise.all(inFlight).then(() => 'drained' as const);
  if ((await Promise.race([drained, deadline])) === 'deadline') {
    const unanswered = { ok: false, ms: 0, status: 0, error: 'no answer by the end of the drain' } as const;
    for (let i = 0; i < inFlight.size; i++)
      windows.record(Math.max(0, closedWindows * windowMs - 1), unanswered);
  }
  clearTimeout(timer);
  finished = true;
  const wallMs = performance.now() - t0;
  const clientCpu = process.cpuUsage(clientCpuBefore);
  client.close();
  const last = windows.summary(closedWindows - 1);
  log(line(last));

  const summaries = Array.from({ length: closedWindows }, (_, index) => windows.summary(index));
  const sortedLags = Float64Array.from(lags).sort();
  const lagAt = (p: number): number =>
    sortedLags.length === 0
      ? 0
      : (sortedLags[Math.min(sortedLags.length - 1, Math.floor(p * sortedLags.length))] ?? 0);
  const peak = processMemory(pid)?.peakRssBytes;
  return {
    offeredRatePerSecond: rate,
    scheduled: schedule.length,
    sent,
    ...(stoppedEarly === undefined ? {} : { stoppedEarly }),
    windows: summaries,
    drift: summarizeDrift(windows, { warmupWindows, windows: closedWindows }),
    start: { rssMiB: startReading.rssBytes === undefined ? null : startReading.rssBytes / MIB },
    peakRssMiB: peak === undefined ? null : peak / MIB,
    sendLag: {
      p99Ms: lagAt(0.99),
      maxMs: sortedLags.length === 0 ? 0 : (sortedLags[sortedLags.length - 1] ?? 0),
    },
    clientCpuCores: (clientCpu.user + clientCpu.system) / 1000 / wallMs,
    wallMs,
  };
}

let capacity: Capacity;
let run: SoakRun;
try {
  if (givenCapacity === undefined) {
    log(`phase 1: capacity, closed loop at concurrency ${concurrencies.join(', ')}`);
    capacity = await measureCapacity();
  } else {
    capacity = { source: 'given', requestsPerSecond: givenCapacity, levels: [] };
  }
  const rate = capacity.requestsPerSecond * load;
  log(
    `phase 2: soak at ${(load * 100).toFixed(0)}% of ${capacity.requestsPerSecond.toFixed(0)} req/s = ` +
      `${rate.toFixed(0)} req/s for ${formatDuration(durationMs)}, windows of ${formatDuration(windowMs)}`,
  );
  run = await soak(rate);
} finally {
  await service?.stop();
}

const errors = run.windows.reduce((sum, window) => sum + window.errors, 0);
const requests = run.windows.reduce((sum, window) => sum + window.requests, 0);
const errorsByKind: Record<string, number> = {};
for (const window of run.windows) {
  for (const [kind, n] of Object.entries(window.errorsByKind))
    errorsByKind[kind] = (errorsByKind[kind] ?? 0) + n;
}
const reasons = [
  ...(errors > 0 ? [`${errors} of ${requests} requests failed`] : []),
  ...(requests === 0 ? ['no request completed'] : []),
  ...(run.stoppedEarly === undefined ? [] : [run.stoppedEarly]),
];
const verdict = reasons.length === 0 ? 'pass' : 'fail';

const fixed = (value: number | null, digits = 2): string => (value === null ? '-' : value.toFixed(digits));
const signed = (value: number, digits: number): string => `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;
const trend = (fit: Trend | null, unit: string): string =>
  fit === null
    ? 'not enough windows for a fit'
    : `${signed(fit.slopePerMinute, 3)} ${unit}/min (standard error ${fit.slopeStdError.toFixed(3)}, ` +
      `r² ${fit.rSquared.toFixed(2)}, ${fit.points} windows)`;
const target =
  service === undefined
    ? `${url}${pid === undefined ? ' (RSS not measured: no --pid)' : ` (pid ${pid})`}`
    : `${service.banner.replace(/^shipshape serving /, '')}, pid ${pid ?? '?'}` +
      (serveArgs.length > 0 ? `, serve args "${serveArgs.join(' ')}"` : '');

console.log(
  `Soak: ${target}\n${(load * 100).toFixed(0)}% of ${capacity.requestsPerSecond.toFixed(0)} req/s ` +
    `(${capacity.source}) = ${run.offeredRatePerSecond.toFixed(0)} req/s offered, Poisson (seed ${seed}), ` +
    `${formatDuration(durationMs)} in windows of ${formatDuration(windowMs)}, ${textsPerRequest} text(s) per request`,
);
if (capacity.levels.length > 0) {
  console.log(
    table(
      ['capacity: concurrency', 'windows', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'server CPU'],
      capacity.levels.map((level) => [
        String(level.concurrency),
        level.status === 'ok' ? 'agreed' : level.status,
        level.requestsPerSecond.toFixed(0),
        fixed(level.p50Ms),
        fixed(level.p99Ms),
        String(level.errors),
        fixed(level.serverCpuCores),
      ]),
    ),
  );
}
console.log(
  table(
    ['window', 'requests', 'req/s', 'errors', 'p50 ms', 'p99 ms', 'max ms', 'RSS MiB', 'server CPU'],
    run.windows.map((window) => [
      `${seconds(window.startS)}-${seconds(window.endS)}s${window.index < run.drift.warmupWindows ? ' (warm-up)' : ''}`,
      String(window.requests),
      window.requestsPerSecond.toFixed(0),
      String(window.errors),
      fixed(window.p50Ms),
      `${fixed(window.p99Ms)}${window.p99Status === 'ok' ? '' : '*'}`,
      fixed(window.maxMs),
      fixed(window.rssMiB, 1),
      fixed(window.serverCpuCores),
    ]),
  ),
);
const thirds = run.drift.thirds;
console.log(
  [
    `requests: ${requests} (${((requests / run.wallMs) * 1000).toFixed(0)} req/s), errors: ${errors}` +
      (errors > 0
        ? ` (${Object.entries(errorsByKind)
            .map(([kind, n]) => `${n} ${kind}`)
            .join(', ')})`
        : ''),
    `p99 drift: ${trend(run.drift.p99, 'ms')}`,
    thirds === null
      ? 'p99 first vs last third: not enough windows'
      : `p99 first third ${thirds.firstP99Ms.toFixed(2)} ms, last third ${thirds.lastP99Ms.toFixed(2)} ms: ` +
        `x${thirds.ratio.estimate.toFixed(3)} (95% bootstrap CI ${thirds.ratio.low.toFixed(3)}-${thirds.ratio.high.toFixed(3)}, ` +
        `${thirds.windowsPerThird} windows each)`,
    pid === undefined
      ? 'RSS: not measured (give --pid with --url)'
      : `RSS: ${fixed(run.start.rssMiB, 1)} MiB at the start, ${fixed(run.windows.at(-1)?.rssMiB ?? null, 1)} MiB ` +
        `at the end, peak ${fixed(run.peakRssMiB, 1)} MiB; slope ${trend(run.drift.rss, 'MiB')}`,
    `fits and thirds leave out the first ${run.drift.warmupWindows} window(s); * marks a window with under 100 ` +
      `successes, too few for p99`,
    `client: send lag p99 ${run.sendLag.p99Ms.toFixed(2)} ms, max ${run.sendLag.maxMs.toFixed(2)} ms; ` +
      `load generator CPU ${run.clientCpuCores.toFixed(2)} cores; load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    `verdict: ${verdict.toUpperCase()}${reasons.length > 0 ? ` (${reasons.join('; ')})` : ' (0 errors)'}`,
  ].join('\n'),
);

if (values.out !== undefined) {
  const out = resolve(values.out);
  await mkdir(dirname(out), { recursive: true });
  const report = {
    bench: 'edge-soak',
    createdAt: new Date().toISOString(),
    verdict,
    reasons,
    target: {
      url,
      started: service !== undefined,
      banner: service?.banner ?? null,
      pid: pid ?? null,
      serveArgs,
    },
    params: {
      bundle: bundleDir,
      durationMs,
      windowMs,
      warmupWindows: run.drift.warmupWindows,
      load,
      seed,
      textsPerRequest,
      requestTimeoutMs,
      maxSockets,
      concurrencies,
      capacityWindowMs,
    },
    capacity,
    soak: { ...run, requests, errors, errorsByKind },
    machine: { loadAverage: loadavg() },
  };
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${out}`);
}
if (values.out !== undefined || values.chart !== undefined) {
  const chart = resolve(values.chart ?? `${(values.out ?? 'soak.json').replace(/\.json$/, '')}.svg`);
  await mkdir(dirname(chart), { recursive: true });
  await writeFile(
    chart,
    await renderSvg(
      soakSpec(run.windows, {
        title: `Soak: p99 and RSS over ${formatDuration(durationMs)} at ${run.offeredRatePerSecond.toFixed(0)} req/s`,
        subtitle: target,
        warmupWindows: run.drift.warmupWindows,
      }),
    ),
  );
  log(`wrote ${chart}`);
}
process.exitCode = verdict === 'pass' ? 0 : 1;
