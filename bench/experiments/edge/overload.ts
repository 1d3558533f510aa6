// Overload side by side on Node and workerd: capacity closed-loop, then Poisson arrivals at 2x it; admission control
// must keep admitted latency bounded and shed the excess with 503 OVERLOADED (the harness runs the Node one as
// `http-overload/x2` and the gate checks it; this script adds the shipped Worker in real workerd).
//   Node:    `shipshape serve` (native onnxruntime) on news-transformer and on news-bag.
//   workerd: the shipped Worker (dist/worker, news-bag embedded, WASM) through Miniflare, wrangler.toml's vars.
// Both with the default admission settings. Run:
//   npx tsx bench/experiments/edge/overload.ts [--duration 10000] [--capacity-ms 5000] [--texts 32] [--factor 2]
//     [--only node|workerd] [--reuse-build] [--json FILE]
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Scenario } from '../../report.ts';
import { runOverloadScenario } from '../../scenarios/overload.ts';
import { startService } from '../../scenarios/service.ts';
import { readBenchTexts } from '../../texts.ts';
import { ROOT, buildShippedWorker, startShippedWorker, table } from './workerd.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10000' },
    'capacity-ms': { type: 'string', default: '5000' },
    texts: { type: 'string', default: '32' },
    factor: { type: 'string', default: '2' },
    only: { type: 'string' },
    'reuse-build': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});

function positive(name: string, value: string | undefined, integer = true): number {
  const n = Number(value);
  if (!(n > 0) || (integer && !Number.isInteger(n))) {
    throw new Error(`--${name} ${value}: give a positive ${integer ? 'integer' : 'number'}.`);
  }
  return n;
}
const DURATION_MS = positive('duration', values.duration);
const CAPACITY_MS = positive('capacity-ms', values['capacity-ms']);
const TEXTS = positive('texts', values.texts);
const FACTOR = positive('factor', values.factor, false);
if (values.only !== undefined && values.only !== 'node' && values.only !== 'workerd') {
  throw new Error(`--only ${values.only}: give node or workerd.`);
}

interface Target {
  readonly platform: string;
  readonly bundle: string;
  readonly start: () => Promise<{ url: string; stop: () => Promise<void> }>;
}

const bundleDir = (name: string) => `${ROOT}/artifacts/${name}`;
const nodeTarget = (bundle: string): Target => ({
  platform: 'node (native)',
  bundle,
  start: async () => {
    const service = await startService(bundleDir(bundle));
    return { url: service.url, stop: () => service.stop() };
  },
});
const targets: Target[] = [];
if (values.only !== 'workerd') targets.push(nodeTarget('news-transformer'), nodeTarget('news-bag'));
if (values.only !== 'node') {
  buildShippedWorker(values['reuse-build']);
  targets.push({
    platform: 'workerd (wasm)',
    bundle: 'news-bag',
    start: async () => {
      const worker = await startShippedWorker();
      return { url: worker.url, stop: () => worker.close() };
    },
  });
}

const results: { target: Target; scenario: Scenario }[] = [];
for (const target of targets) {
  const running = await target.start();
  try {
    process.stderr.write(`${target.platform} ${target.bundle}: measuring...\n`);
    const scenario = await runOverloadScenario({
      id: `overload/${target.platform.split(' ')[0]}/${target.bundle}/x${FACTOR}`,
      url: running.url,
      texts: await readBenchTexts(bundleDir(target.bundle)),
      textsPerRequest: TEXTS,
      capacityConcurrency: 4,
      capacityMs: CAPACITY_MS,
      factor: FACTOR,
      durationMs: DURATION_MS,
      seed: 1,
      requestTimeoutMs: 30_000,
      minTailSamples: 1,
      retainSamples: 2000,
      onProgress: (detail) => process.stderr.write(`  ${detail}\n`),
    });
    results.push({ target, scenario });
  } finally {
    await running.stop();
  }
}

const ms = (s: Scenario, p: 'p50' | 'p95' | 'p99') => {
  const value = s.latency?.percentiles[p];
  return value === undefined ? 'n/a' : `${value.ms.toFixed(0)}${value.status === 'ok' ? '' : '*'}`;
};
const rows = results.map(({ target, scenario: s }) => {
  const h = s.http;
  if (s.status === 'errored' || h === undefined) {
    return [target.platform, target.bundle, `errored: ${s.reason ?? ''}`, '', '', '', '', '', '', ''];
  }
  return [
    target.platform,
    target.bundle,
    (h.capacityRatePerSecond ?? 0).toFixed(1),
    (h.offeredRatePerSecond ?? 0).toFixed(1),
    ms(s, 'p50'),
    ms(s, 'p95'),
    ms(s, 'p99'),
    (s.throughput?.requestsPerSecond ?? 0).toFixed(1),
    `${((100 * (h.shed ?? 0)) / Math.max(1, h.requests)).toFixed(1)}%`,
    String(h.errors),
  ];
});
console.log(
  `Overload at ${FACTOR}x capacity, ${TEXTS} texts per request, ${CAPACITY_MS} ms capacity + ${DURATION_MS} ms ` +
    'open loop; admitted latency in ms from the scheduled send (* fewer samples than the percentile needs)',
);
console.log(
  table(
    [
      'platform',
      'bundle',
      'capacity req/s',
      'offered req/s',
      'p50',
      'p95',
      'p99',
      'goodput req/s',
      'shed',
      'other errors',
    ],
    rows,
  ),
);
if (values.json !== undefined) {
  await writeFile(
    values.json,
    `${JSON.stringify(
      results.map((r) => r.scenario),
      null,
      2,
    )}\n`,
  );
}
