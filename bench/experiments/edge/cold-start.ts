// Cold start of the Worker: a fresh workerd per run, then the first prediction timed from the client (workerd's own
// clock stands still during CPU work, so nothing is timed inside). Median over runs, per model source; the embedded
// bundle with and without its load-time parity proof (SHIPSHAPE_SKIP_PARITY=1) shows what the proof costs. The
// embedded bundle is loaded and proven in the Worker's global scope, while workerd starts: "workerd CPU to listening"
// holds that work (and workerd's compilation of the WASM module, as in every source). Then, where the time goes:
// each step the Worker takes before its first prediction run as its own request on a fresh stage Worker
// (cold-start-stages-worker.ts), and the start-up CPU that `npm run check:startup` gates (`wrangler check startup`).
// Run: npx tsx bench/experiments/edge/cold-start.ts [--runs 9] [--bundle PATH-OR-NAME] [--reuse-build] [--json FILE]
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { median, quantile } from 'simple-statistics';
import { resolveBundleDir } from '../../../runtime/platform/bundle-path.ts';
import { readBenchTexts } from '../../texts.ts';
import {
  ROOT,
  buildShippedWorker,
  cpuMs,
  createClient,
  startBareWorker,
  startShippedWorker,
  table,
} from './workerd.ts';

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
  /** CPU time of the workerd processes from their start until they listened. */
  readonly startupCpuMs: number;
  readonly firstMs: number;
  /** CPU time workerd used while answering the first request. */
  readonly firstCpuMs: number;
  readonly secondMs: number;
}

const results: Record<string, Run[]> = {};

/** The steps of a cold start, in order, as the stage Worker runs them (one request each). */
const STAGES = [
  ['bundle', 'bundle load (hashes, vocabulary, tokenizer)'],
  ['engine', 'engine start + first session (WASM instance, onnxruntime init, session)'],
  ['session', 'a second session (session creation alone)'],
  ['proof', 'parity proof (every case at batch 32, 16 at batch 1)'],
  ['first', 'first prediction'],
  ['next', 'next prediction'],
] as const;
const stages: Record<string, { ms: number; cpuMs: number }[]> = {};

async function runStages(): Promise<void> {
  const worker = await startBareWorker(bundleDir, join(import.meta.dirname, 'cold-start-stages-worker.ts'));
  const client = createClient();
  try {
    for (const [step] of STAGES) {
      const before = cpuMs(worker.pids);
      const answer = await client.post(`${worker.url}/?step=${step}`, '{}');
      if (answer.status !== 200) throw new Error(`stage ${step}: ${answer.status} ${answer.body}`);
      (stages[step] ??= []).push({ ms: answer.ms, cpuMs: cpuMs(worker.pids) - before });
    }
  } catch (error) {
    // The stage table then has fewer runs (or none); the sources' figures stand.
    console.error(`stage Worker: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    client.close();
    await worker.close();
  }
}

/** `npm run check:startup`'s measurement of the built Worker: its start-up CPU from `wrangler check startup`. */
function startupProfileCpuMs(): number {
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-cold-start-'));
  try {
    const json = join(dir, 'startup.json');
    try {
      execFileSync('npx', ['tsx', 'edge/startup-check.ts', '--json', json], {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
    } catch {
      // Over budget exits 1: the figure is still reported.
    }
    return (JSON.parse(readFileSync(json, 'utf8')) as { cpuMs: number }).cpuMs;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
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
        startupCpuMs: cpuBefore,
        firstMs: first.ms,
        firstCpuMs,
        secondMs: second.ms,
      });
    } finally {
      client.close();
      await worker.close();
    }
  }
  await runStages();
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
      'workerd CPU to listening p50',
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
        ms(median(samples.map((s) => s.startupCpuMs))),
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
  'ms. "first prediction": from the client, the first POST /v1/predict on a fresh isolate (for "assets": model ' +
    'load, WASM instantiation, session creation, the parity proof, warm-up, the prediction; for "embedded" the ' +
    'bundle load, WASM instance and session ran at start-up, the proof and warm-up in this request). "workerd start": process start to listening, ' +
    'which includes compiling the 14 MB WASM module (Cloudflare does that at deploy time). "workerd CPU": CPU ' +
    'time of the workerd processes during the first request, all threads (on a busy machine the wall time ' +
    `grows, this does not). Load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}.`,
);

console.log(
  `\nWhere a cold start's time goes, ${bundleName}: each step one request on a fresh stage Worker (${runs} runs)`,
);
console.log(
  table(
    ['step', 'wall p50', 'workerd CPU p50'],
    STAGES.map(([step, label]) => {
      const samples = stages[step] ?? [];
      if (samples.length === 0) return [label, 'failed', 'failed'];
      return [label, ms(median(samples.map((s) => s.ms))), ms(median(samples.map((s) => s.cpuMs)))];
    }),
  ),
);
const startupCpuMs = startupProfileCpuMs();
console.log(
  `Start-up CPU of the built Worker (npm run check:startup, wrangler check startup's profile): ` +
    `${ms(startupCpuMs)} ms, budget 1000 ms.`,
);
if (values.json !== undefined) {
  await writeFile(
    values.json,
    `${JSON.stringify({ bench: 'edge-cold-start', bundle: bundleName, runs, results, stages, startupCpuMs }, null, 2)}\n`,
  );
}
