// The worker pool: news-transformer throughput at batch 32 with 2 workers vs 1 (vs the in-process predictor), then
// /healthz latency over real HTTP while heavy batches saturate the model, `shipshape serve --workers 2` vs
// `--workers 0` (in-process).
// Run: npx tsx bench/experiments/runtime/worker-pool.ts [--duration 10] [--rounds 3] [--clients 4] [--quick]
import http from 'node:http';
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createPredictor, createPredictorPool, loadBundle, type Predictor } from '../../../runtime/node.ts';
import { startService, type RunningService } from '../../scenarios/service.ts';
import { percentileSorted, sortAscending } from '../../../runtime/statistics.ts';
import { makeBatches, readBenchTexts } from '../../texts.ts';
import { ms, sideBySide } from './side-by-side.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    clients: { type: 'string', default: '4' },
    quick: { type: 'boolean', default: false },
  },
});
const DURATION_S = values.quick ? 3 : Number(values.duration);
const ROUNDS = values.quick ? 1 : Number(values.rounds);
const CLIENTS = Number(values.clients);
for (const [flag, value] of [
  ['--duration', DURATION_S],
  ['--rounds', ROUNDS],
  ['--clients', CLIENTS],
] as const) {
  if (!(Number.isInteger(value) && value >= 1)) throw new Error(`${flag} ${value}: give an integer >= 1.`);
}

const DIR = 'artifacts/news-transformer';
const BATCH = 32;
/** Texts per throughput sample: 8 runs of 32, so 2 workers have work to share. */
const PER_SAMPLE = 256;
/** Heavy requests: 256 texts of at least this many characters each (about 0.6 MB of JSON, under the 1 MiB limit). */
const LONG_TEXT_CHARS = 2_000;
const HEAVY_TEXTS = 256;
/** Gap between two /healthz probes, so the probe itself is no load. */
const PROBE_GAP_MS = 5;

const texts = await readBenchTexts(DIR);

// 1. Throughput in process: the same predictBatch of 256 texts (runs of 32) on each predictor, interleaved. The
// pools' workers keep this thread's priority here (niceIncrement 0): the in-process predictor runs at it too, and on
// a shared machine niced workers would lose the CPU to other processes, which is not what this compares.
const bundle = await loadBundle(DIR);
const pool = (workers: number) => createPredictorPool(DIR, { workers, backend: 'native', niceIncrement: 0 });
const predictors: Record<string, Predictor> = {
  'in-process': await createPredictor(bundle, { backend: 'native' }),
  'pool, 1 worker': await pool(1),
  'pool, 2 workers': await pool(2),
};
const batches = makeBatches(texts, PER_SAMPLE, 8);
let next = 0;
const timings = await sideBySide(
  Object.fromEntries(
    Object.entries(predictors).map(([name, predictor]) => [
      name,
      () => predictor.predictBatch(batches[next++ % batches.length]!, { batchSize: BATCH }),
    ]),
  ),
  { warmup: 3, timeMs: DURATION_S * 1000 * ROUNDS, minSamples: 10 },
);
for (const predictor of Object.values(predictors)) await predictor.dispose();
const rate = (median: number) => (PER_SAMPLE / median) * 1000;
const byName = Object.fromEntries(timings.map((t) => [t.name, t]));
console.log(
  `news-transformer on native, predictBatch of ${PER_SAMPLE} texts in runs of ${BATCH} ` +
    `(medians of ${timings[0]!.samples} interleaved samples; ${availableParallelism()} cores)`,
);
console.log(
  table(
    ['predictor', 'median per call', 'texts/s', 'vs in-process'],
    timings.map((t) => [
      t.name,
      ms(t.median),
      rate(t.median).toFixed(0),
      `${(byName['in-process']!.median / t.median).toFixed(2)}x`,
    ]),
  ),
);
console.log(
  `2 workers vs 1: ${(byName['pool, 1 worker']!.median / byName['pool, 2 workers']!.median).toFixed(2)}x\n`,
);

// 2. /healthz under saturation, over HTTP: `shipshape serve` child processes as documented (workers at nice +10),
// heavy load from CLIENTS clients.
const longTexts = makeLongTexts(texts, LONG_TEXT_CHARS, 64);
/**
 * Limits that let the heavy requests in and queue them all: this part measures the event loop under a saturated
 * model, not admission control (which would shed most of them; bench/experiments/edge/overload.ts measures that).
 */
const SATURATE = {
  SHIPSHAPE_MAX_TEXTS: String(HEAVY_TEXTS),
  SHIPSHAPE_MAX_QUEUED_TEXTS: '100000',
  SHIPSHAPE_MAX_QUEUE_WAIT_MS: '600000',
};
const heavyBody = JSON.stringify({ texts: makeBatches(longTexts, HEAVY_TEXTS, 1)[0] });
const services: Record<string, RunningService> = {
  'in-process (--workers 0)': await startService(DIR, { backend: 'native', workers: 0, env: SATURATE }),
  'pool (--workers 2)': await startService(DIR, { backend: 'native', workers: 2, env: SATURATE }),
};

interface HealthRound {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly probes: number;
  readonly textsPerS: number;
  /** This process's own event-loop delay p99 (ms): how much of a probe's latency the client adds. */
  readonly clientLoopP99: number;
}
const idle: Record<string, HealthRound> = {};
const rounds: Record<string, HealthRound[]> = {};
try {
  for (const [name, service] of Object.entries(services)) {
    idle[name] = await healthRound(service.url, 0);
    rounds[name] = [];
  }
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which service goes first, so a burst of outside load hits both alike.
    const order = round % 2 === 0 ? Object.keys(services) : Object.keys(services).reverse();
    for (const name of order) rounds[name]!.push(await healthRound(services[name]!.url, CLIENTS));
  }
  console.log(
    `GET /healthz every ${PROBE_GAP_MS} ms for ${DURATION_S} s while ${CLIENTS} clients POST ${HEAVY_TEXTS} texts of ` +
      `>= ${LONG_TEXT_CHARS} characters (${(heavyBody.length / 1024).toFixed(0)} KiB) back to back; ` +
      `medians of ${ROUNDS} round(s)`,
  );
  const rows: string[][] = [];
  for (const name of Object.keys(services)) {
    const idleRound = idle[name]!;
    rows.push([`${name}, idle`, ms(idleRound.p50), ms(idleRound.p99), ms(idleRound.max), '-', '-']);
    const loaded = rounds[name]!;
    const med = (pick: (r: HealthRound) => number) => percentileSorted(sortAscending(loaded.map(pick)), 0.5);
    rows.push([
      `${name}, saturated`,
      ms(med((r) => r.p50)),
      ms(med((r) => r.p99)),
      ms(med((r) => r.max)),
      med((r) => r.textsPerS).toFixed(0),
      ms(med((r) => r.clientLoopP99)),
    ]);
  }
  console.log(
    table(['service', 'healthz p50', 'healthz p99', 'healthz max', 'load texts/s', 'client loop p99'], rows),
  );
} finally {
  for (const service of Object.values(services)) await service.stop();
}

/**
 * One round: `clients` keep-alive clients post the heavy body back to back while a prober times GET /healthz, for
 * DURATION_S seconds. With 0 clients it measures the idle floor.
 */
async function healthRound(url: string, clients: number): Promise<HealthRound> {
  const deadline = performance.now() + DURATION_S * 1000;
  const loadAgent = new http.Agent({ keepAlive: true, maxSockets: Math.max(1, clients) });
  const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  let textsDone = 0;
  const load = Array.from({ length: clients }, async () => {
    while (performance.now() < deadline) {
      const { status } = await send(loadAgent, `${url}/v1/predict`, heavyBody);
      if (status !== 200) throw new Error(`POST /v1/predict answered ${status}`);
      textsDone += HEAVY_TEXTS;
    }
  });
  // A failed client is reported by `Promise.all(load)` below; until then it must not end the process as an unhandled
  // rejection, which would leave the services running.
  let loadFailed = false;
  for (const client of load) client.catch(() => (loadFailed = true));
  // Let the load reach the model before probing.
  if (clients > 0) await new Promise((resolve) => setTimeout(resolve, 500));
  const started = performance.now();
  loop.enable();
  const latencies: number[] = [];
  while (performance.now() < deadline && !loadFailed) {
    const t0 = performance.now();
    const { status } = await send(probeAgent, `${url}/healthz`);
    latencies.push(performance.now() - t0);
    if (status !== 200) throw new Error(`GET /healthz answered ${status}`);
    await new Promise((resolve) => setTimeout(resolve, PROBE_GAP_MS));
  }
  loop.disable();
  const elapsed = (performance.now() - started) / 1000;
  await Promise.all(load);
  loadAgent.destroy();
  probeAgent.destroy();
  const sorted = sortAscending(latencies);
  return {
    p50: percentileSorted(sorted, 0.5),
    p99: percentileSorted(sorted, 0.99),
    max: sorted[sorted.length - 1]!,
    probes: sorted.length,
    textsPerS: textsDone / elapsed,
    clientLoopP99: loop.percentile(99) / 1e6,
  };
}

/** GET (no body) or POST JSON; the response is drained, not parsed, so the client stays light. */
function send(agent: http.Agent, url: string, body?: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: body === undefined ? 'GET' : 'POST',
        agent,
        headers:
          body === undefined
            ? {}
            : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode ?? 0 }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** `count` texts of at least `chars` characters, each joining consecutive bench texts. */
function makeLongTexts(source: readonly string[], chars: number, count: number): string[] {
  const out: string[] = [];
  let index = 0;
  for (let i = 0; i < count; i++) {
    let text = '';
    while (text.length < chars) text += `${source[index++ % source.length]!} `;
    out.push(text);
  }
  return out;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (row: readonly string[]) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
