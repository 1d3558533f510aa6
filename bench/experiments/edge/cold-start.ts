// Cold start of the Worker: a fresh workerd per run, then the first prediction timed from the client (WASM
// instantiation, bundle verification, session creation and warm-up included; workerd's own clock stands still
// during CPU work, so nothing is timed inside). Median over runs, per model source; the embedded bundle with and
// without its load-time parity proof (SHIPSHAPE_SKIP_PARITY=1) shows what the proof costs.
// Run: npx tsx bench/experiments/edge/cold-start.ts [--runs 9] [--bundle PATH-OR-NAME] [--reuse-build] [--json FILE]
import { writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { median, quantile } from 'simple-statistics';
import { resolveBundleDir } from '../../../runtime/platform/bundle-path.ts';
import { readBenchTexts } from '../../texts.ts';
import { ROOT, buildShippedWorker, cpuMs, createClient, startShippedWorker, table } from './workerd.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '9' },
    /** The bundle the Worker embeds (built with `SHIPSHAPE_BUNDLE=... npm run build:worker`). Default news-bag. */
    bundle: { type: 'string', default: 'news-bag' },
    'reuse-build': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs ${values.runs}: give a positive integer.`);

const bundleDir = resolve(resolveBundleDir(values.bundle));
const { name: bundleName } = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8')) as {
  name: string;
};

/** Where the Worker takes the bundle from (inside the upload, or its static assets), and whether it proves it. */
const SOURCES = [
  { name: 'embedded', vars: { SHIPSHAPE_MODEL_SOURCE: 'embedded' } },
  {
    name: 'embedded, SHIPSHAPE_SKIP_PARITY=1',
    vars: { SHIPSHAPE_MODEL_SOURCE: 'embedded', SHIPSHAPE_SKIP_PARITY: '1' },
  },
  {
    name: 'assets',
    vars: { SHIPSHAPE_MODEL_SOURCE: 'assets', SHIPSHAPE_MODEL_PATH: `/models/${basename(bundleDir)}/` },
  },
] as const;

// A bundle other than the default is embedded by its own build; reusing dist/worker would measure another one.
buildShippedWorker(values['reuse-build'] && values.bundle === 'news-bag', { SHIPSHAPE_BUNDLE: bundleDir });
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
console.log(
  `Worker cold start, ${bundleName}, ${runs} fresh workerd processes per source (Miniflare, loopback)`,
);
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
    'instantiation, session creation, the parity proof unless skipped, warm-up, the prediction). "workerd start": process start to listening, ' +
    'which includes compiling the 14 MB WASM module (Cloudflare does that at deploy time). "workerd CPU": CPU ' +
    'time of the workerd processes during the first request, all threads (on a busy machine the wall time ' +
    `grows, this does not). Load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}.`,
);
if (values.json !== undefined) {
  await writeFile(
    values.json,
    `${JSON.stringify({ bench: 'edge-cold-start', bundle: bundleName, runs, results }, null, 2)}\n`,
  );
}
