// Service overhead: what the HTTP layer adds to a prediction, at batch 1 and 32, on workerd and on Node.
// overhead = median latency of POST /v1/predict seen by a keep-alive client - median in-process prediction.
//   Node:    in-process = the same runtime call (`predict` / `predictBatch`) in this process, same backend as the
//            server (`shipshape serve`, a child process).
//   workerd: in-process cannot be timed inside the isolate (its clock stands still during CPU work), so a bare
//            Worker runs the call K times in one request: in-process = (T(K) - T(1)) / (K - 1), from the client.
// Run: npx tsx bench/experiments/edge/service-overhead.ts [--samples 200] [--reuse-build] [--json FILE]
import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { median, quantile } from 'simple-statistics';
import { createPredictor, loadBundle } from '../../../runtime/node.ts';
import { startService } from '../../scenarios/service.ts';
import { makeBatches, readBenchTexts } from '../../texts.ts';
import {
  ROOT,
  buildShippedWorker,
  createClient,
  startBareWorker,
  startShippedWorker,
  table,
} from './workerd.ts';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '200' },
    'reuse-build': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const SAMPLES = Number(values.samples);
if (!Number.isInteger(SAMPLES) || SAMPLES < 10)
  throw new Error(`--samples ${values.samples}: give an integer >= 10.`);
const WARMUP = 20;
const BATCHES = [1, 32] as const;
/** Repetitions per request for the workerd in-process estimate, per batch size. */
const REPEAT: Readonly<Record<number, number>> = { 1: 41, 32: 11 };
const BUNDLE_DIR = `${ROOT}/artifacts/news-bag`;

const texts = await readBenchTexts(BUNDLE_DIR);
const bodyFor = (batch: string[]) =>
  JSON.stringify(batch.length === 1 ? { text: batch[0] } : { texts: batch });

interface Row {
  readonly platform: string;
  readonly backend: string;
  readonly batch: number;
  readonly httpP50: number;
  readonly httpP90: number;
  readonly inProcessP50: number;
  readonly overheadP50: number;
}

/** Times `samples` sequential calls after a warm-up, cycling through distinct batches. */
async function timeCalls(
  batchSize: number,
  samples: number,
  call: (batch: string[]) => Promise<number>,
): Promise<number[]> {
  const batches = makeBatches(texts, batchSize, 16);
  for (let i = 0; i < WARMUP; i++) await call(batches[i % batches.length]!);
  const out: number[] = [];
  for (let i = 0; i < samples; i++) out.push(await call(batches[i % batches.length]!));
  return out;
}

async function httpSamples(url: string, batchSize: number, samples: number): Promise<number[]> {
  const client = createClient();
  try {
    return await timeCalls(batchSize, samples, async (batch) => {
      const response = await client.post(url, bodyFor(batch));
      if (response.status !== 200) throw new Error(`${url} answered ${response.status}: ${response.body}`);
      return response.ms;
    });
  } finally {
    client.close();
  }
}

const rows: Row[] = [];

// workerd: the shipped Worker over HTTP, and the bare Worker for the in-isolate prediction time.
buildShippedWorker(values['reuse-build']);
const shipped = await startShippedWorker();
const bare = await startBareWorker(BUNDLE_DIR);
try {
  for (const batchSize of BATCHES) {
    const http = await httpSamples(`${shipped.url}/v1/predict`, batchSize, SAMPLES);
    const k = REPEAT[batchSize]!;
    const once = await httpSamples(`${bare.url}/?repeat=1`, batchSize, SAMPLES / 2);
    const many = await httpSamples(`${bare.url}/?repeat=${k}`, batchSize, SAMPLES / 2);
    const inProcess = (median(many) - median(once)) / (k - 1);
    rows.push({
      platform: 'workerd',
      backend: 'wasm',
      batch: batchSize,
      httpP50: median(http),
      httpP90: quantile(http, 0.9),
      inProcessP50: inProcess,
      overheadP50: median(http) - inProcess,
    });
  }
} finally {
  await shipped.close();
  await bare.close();
}

// Node: `shipshape serve` in a child process, the same runtime call in this one. `--workers 0`: the model runs on the
// server's own thread, as here, so the difference is the HTTP layer alone (bench/experiments/runtime/worker-pool.ts measures
// the pool).
const service = await startService(BUNDLE_DIR, { workers: 0 });
const backend = /on (\w+) at/.exec(service.banner)?.[1] ?? 'auto';
const predictor = await createPredictor(await loadBundle(BUNDLE_DIR, { verify: 'serving' }), {
  backend: backend === 'native' || backend === 'wasm' ? backend : 'auto',
});
try {
  for (const batchSize of BATCHES) {
    const http = await httpSamples(`${service.url}/v1/predict`, batchSize, SAMPLES);
    const inProcess = await timeCalls(batchSize, SAMPLES, async (batch) => {
      const started = performance.now();
      if (batch.length === 1) await predictor.predict(batch[0]!);
      else await predictor.predictBatch(batch, { batchSize: 32 });
      return performance.now() - started;
    });
    rows.push({
      platform: 'node',
      backend: predictor.backend.backend,
      batch: batchSize,
      httpP50: median(http),
      httpP90: quantile(http, 0.9),
      inProcessP50: median(inProcess),
      overheadP50: median(http) - median(inProcess),
    });
  }
} finally {
  await predictor.dispose();
  await service.stop();
}

const ms = (value: number) => value.toFixed(2);
console.log(
  `Service overhead, news-bag, ${SAMPLES} sequential requests per row (keep-alive client, loopback)`,
);
console.log(
  table(
    [
      'platform',
      'backend',
      'batch',
      'HTTP p50',
      'HTTP p90',
      'in-process p50',
      'overhead p50',
      'overhead/text',
    ],
    rows.map((row) => [
      row.platform,
      row.backend,
      String(row.batch),
      ms(row.httpP50),
      ms(row.httpP90),
      ms(row.inProcessP50),
      ms(row.overheadP50),
      ms(row.overheadP50 / row.batch),
    ]),
  ),
);
console.log(
  'ms. Batch 1 sends {"text"} (Node micro-batches it: up to 2 ms wait for company, in-process too); batch 32 ' +
    'sends {"texts"}. workerd in-process = (T(K) - T(1)) / (K - 1) from a bare Worker, K = ' +
    `${REPEAT[1]} (batch 1) / ${REPEAT[32]} (batch 32).`,
);
if (values.json !== undefined) {
  await writeFile(
    values.json,
    `${JSON.stringify({ bench: 'edge-service-overhead', samples: SAMPLES, rows }, null, 2)}\n`,
  );
}
