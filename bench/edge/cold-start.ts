// Cold start of the Worker: a fresh workerd per run, then the first prediction timed from the client (WASM
// instantiation, bundle verification, session creation and warm-up included; workerd's own clock stands still
// during CPU work, so nothing is timed inside). Median over runs, per model source.
// Run: npx tsx bench/edge/cold-start.ts [--runs 9] [--reuse-build] [--json FILE]
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { readBenchTexts } from '../texts.ts';
import {
  ROOT,
  buildShippedWorker,
  cpuMs,
  createClient,
  median,
  quantile,
  startShippedWorker,
  table,
} from './workerd.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '9' },
    'reuse-build': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs ${values.runs}: give a positive integer.`);

/** Where the Worker takes news-bag from: inside the upload, or its static assets. */
const SOURCES = [
  { name: 'embedded', vars: { SHIPSHAPE_MODEL_SOURCE: 'embedded' } },
  { name: 'assets', vars: { SHIPSHAPE_MODEL_SOURCE: 'assets', SHIPSHAPE_MODEL_PATH: '/models/news-bag/' } },
] as const;

buildShippedWorker(values['reuse-build']);
const [text = 'Stocks rally as the central bank holds rates'] = await readBenchTexts(
  `${ROOT}/artifacts/news-bag`,
);
const body = JSON.stringify({ text });

interface Run {
  readonly startupMs: number;
  readonly firstMs: number;
  /** CPU time workerd used while answering the first request. */
  readonly firstCpuMs: number;
  readonly secondMs: number;
}

const results: Record<string, Run[]> = {};
for (let run = 0; run < runs; run++) {
  // Alternate the sources so drift on a shared machine hits both alike.
  for (const source of SOURCES) {
    const worker = await startShippedWorker(source.vars);
    const client = createClient();
    try {
      const cpuBefore = cpuMs(worker.pids);
      const first = await client.post(`${worker.url}/v1/predict`, body);
      const firstCpuMs = cpuMs(worker.pids) - cpuBefore;
      const second = await client.post(`${worker.url}/v1/predict`, body);
      if (first.status !== 200 || second.status !== 200) {
        throw new Error(`${source.name}: /v1/predict answered ${first.status} ${first.body}`);
      }
      (results[source.name] ??= []).push({
        startupMs: worker.startupMs,
        firstMs: first.ms,
        firstCpuMs,
        secondMs: second.ms,
      });
    } finally {
      client.close();
      await worker.close();
    }
  }
}

const ms = (value: number) => value.toFixed(1);
console.log(`Worker cold start, news-bag, ${runs} fresh workerd processes per source (Miniflare, loopback)`);
console.log(
  table(
    [
      'model source',
      'workerd start p50',
      'first prediction p50',
      'p90',
      'min',
      'max',
      'workerd CPU in it p50',
      'next prediction p50',
    ],
    SOURCES.map(({ name }) => {
      const samples = results[name] ?? [];
      const first = samples.map((s) => s.firstMs);
      return [
        name,
        ms(median(samples.map((s) => s.startupMs))),
        ms(median(first)),
        ms(quantile(first, 0.9)),
        ms(Math.min(...first)),
        ms(Math.max(...first)),
        ms(median(samples.map((s) => s.firstCpuMs))),
        ms(median(samples.map((s) => s.secondMs))),
      ];
    }),
  ),
);
console.log(
  'ms. "first prediction": from the client, the first POST /v1/predict on a fresh isolate (model load, WASM ' +
    'instantiation, session creation, warm-up, the prediction). "workerd start": process start to listening, ' +
    'which includes compiling the 14 MB WASM module (Cloudflare does that at deploy time). "workerd CPU": CPU ' +
    'time of the workerd processes during the first request, all threads (on a busy machine the wall time ' +
    `grows, this does not). Load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}.`,
);
if (values.json !== undefined) {
  await writeFile(values.json, `${JSON.stringify({ bench: 'edge-cold-start', runs, results }, null, 2)}\n`);
}
