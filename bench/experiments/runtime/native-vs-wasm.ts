// Native (onnxruntime-node) vs WASM (onnxruntime-web) on Node through predictBatch, and what closes the gap: WASM
// session options, native threads, the int8 variant of a bundle on both backends. All columns of one bundle run side
// by side (alternating calls, medians); each ratio is native float's median over the column's (1 = native speed).
// Run: npx tsx bench/experiments/runtime/native-vs-wasm.ts [--bundle DIR]... [--int8 DIR]... [--tuning JSON]...
//        [--native-threads N] [--sizes 1,32,64] [--time-ms MS]
//   --bundle: float bundles (default artifacts/news-bag and artifacts/news-transformer); each one's int8 variant is
//   DIR-int8 when that folder exists, or the --int8 folder in the same position. --tuning: WASM session options as
//   JSON (e.g. '{"enableCpuMemArena":false}'), one extra column each. --native-threads: an extra native column with
//   that many intra-op threads.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createPredictor, loadBundle } from '../../../runtime/node.ts';
import { definePlatform } from '../../../runtime/platform/define.ts';
import type { WasmSessionTuning } from '../../../runtime/platform/ort-engine.ts';
import { createWasmEngine } from '../../../runtime/platform/ort-wasm-node.ts';
import { createPredictor as createPredictorOn } from '../../../runtime/predictor.ts';
import type { Bundle, Predictor } from '../../../runtime/types.ts';
import { makeBatches, readBenchTexts } from '../../texts.ts';
import { ms, sideBySide } from './side-by-side.ts';

const TUNING_KEYS: readonly string[] = [
  'graphOptimizationLevel',
  'enableCpuMemArena',
  'enableMemPattern',
  'executionMode',
];

const { values } = parseArgs({
  options: {
    bundle: { type: 'string', multiple: true },
    int8: { type: 'string', multiple: true },
    tuning: { type: 'string', multiple: true },
    'native-threads': { type: 'string' },
    sizes: { type: 'string', default: '1,32,64' },
    'time-ms': { type: 'string' },
  },
});
const bundleDirs = values.bundle ?? ['artifacts/news-bag', 'artifacts/news-transformer'];
const sizes = values.sizes.split(',').map(positiveInteger);
const tunings = (values.tuning ?? []).map(parseTuning);
const nativeThreads =
  values['native-threads'] === undefined ? undefined : positiveInteger(values['native-threads']);

interface Column {
  readonly name: string;
  readonly predictor: Predictor;
}

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`Expected a positive integer, got "${text}".`);
  return value;
}

function parseTuning(text: string): WasmSessionTuning {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`--tuning must be a JSON object of session options, got ${text}`);
  }
  const unknown = Object.keys(parsed).filter((key) => !TUNING_KEYS.includes(key));
  if (unknown.length > 0) {
    throw new Error(
      `--tuning: unknown session options ${unknown.join(', ')}; use ${TUNING_KEYS.join(', ')}.`,
    );
  }
  return parsed;
}

/** A Node platform whose only backend is WASM with these session options. */
function tunedWasm(bundle: Bundle, tuning: WasmSessionTuning): Promise<Predictor> {
  const platform = definePlatform(
    'node',
    { wasm: (model, options) => createWasmEngine(model, options, tuning) },
    () => 'This bench platform has only "wasm".',
  );
  return createPredictorOn(bundle, { platform, backend: 'wasm', batching: false });
}

async function columnsFor(dir: string, int8Dir: string | undefined): Promise<Column[]> {
  const bundle = await loadBundle(dir);
  const plain = { batching: false } as const;
  const columns: Column[] = [
    { name: 'native', predictor: await createPredictor(bundle, { ...plain, backend: 'native' }) },
    { name: 'wasm', predictor: await createPredictor(bundle, { ...plain, backend: 'wasm' }) },
  ];
  if (nativeThreads !== undefined) {
    columns.push({
      name: `native ${nativeThreads}t`,
      predictor: await createPredictor(bundle, { ...plain, backend: 'native', numThreads: nativeThreads }),
    });
  }
  for (const tuning of tunings) {
    columns.push({ name: `wasm ${JSON.stringify(tuning)}`, predictor: await tunedWasm(bundle, tuning) });
  }
  if (int8Dir !== undefined) {
    const int8 = await loadBundle(int8Dir);
    columns.push(
      { name: 'wasm int8', predictor: await createPredictor(int8, { ...plain, backend: 'wasm' }) },
      { name: 'native int8', predictor: await createPredictor(int8, { ...plain, backend: 'native' }) },
    );
  }
  return columns;
}

console.log(
  'native vs wasm on Node, one thread each unless named: median ms per predictBatch call (speed = native median / ' +
    'column median)',
);
for (const [index, dir] of bundleDirs.entries()) {
  const int8Dir =
    values.int8?.[index] ?? (existsSync(`${dir}-int8/manifest.json`) ? `${dir}-int8` : undefined);
  const columns = await columnsFor(dir, int8Dir);
  const texts = await readBenchTexts(dir);
  const heavy = (await loadBundle(dir)).manifest.name.includes('transformer');
  console.log(`\n${dir}${int8Dir === undefined ? '' : ` (int8: ${int8Dir})`}`);
  console.log(`  ${'column'.padEnd(44)}${sizes.map((s) => `batch ${s}`.padEnd(24)).join('')}`);
  const rows = columns.map(() => [] as string[]);
  for (const size of sizes) {
    const batches = makeBatches(texts, size, 16);
    const tasks: Record<string, () => Promise<unknown>> = {};
    for (const column of columns) {
      let next = 0;
      tasks[column.name] = () =>
        column.predictor.predictBatch(batches[next++ % batches.length]!, { batchSize: size });
    }
    const timeMs =
      values['time-ms'] === undefined ? (heavy ? 4000 : 1000) * columns.length : Number(values['time-ms']);
    const timings = await sideBySide(tasks, { timeMs, minSamples: 15 });
    const native = timings[0]!.median;
    timings.forEach((timing, i) => {
      rows[i]!.push(`${ms(timing.median).padEnd(11)} ${(native / timing.median).toFixed(2)}x`.padEnd(24));
    });
  }
  columns.forEach((column, i) => console.log(`  ${column.name.padEnd(44)}${rows[i]!.join('')}`));
  for (const column of columns) await column.predictor.dispose();
}
