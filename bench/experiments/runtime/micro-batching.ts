// Micro-batching: 32 concurrent single-text callers (each awaiting its own predict in a loop) against one caller
// making sequential single-text calls; news-transformer (the target), then news-bag for contrast, or only the bundle
// given with --bundle (e.g. a dynamic-length export).
// Run: npx tsx bench/experiments/runtime/micro-batching.ts [native|wasm] [--bundle DIR]
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { createPredictor, loadBundle } from '../../../runtime/node.ts';
import { makeBatches, readBenchTexts } from '../../texts.ts';
import { ms, sideBySide } from './side-by-side.ts';

const CALLERS = 32;
const PER_CALLER = 8;
const SEQUENTIAL = 64;
const { values, positionals } = parseArgs({
  options: { bundle: { type: 'string' } },
  allowPositionals: true,
});
const backend = (positionals[0] ?? 'native') as 'native' | 'wasm';
const dirs =
  values.bundle === undefined ? ['artifacts/news-transformer', 'artifacts/news-bag'] : [values.bundle];

for (const dir of dirs) {
  const name = basename(dir);
  const bundle = await loadBundle(dir);
  const texts = await readBenchTexts(dir);
  // The baseline gets no batching at all, so a lone call never waits maxDelayMs for company.
  const unbatched = await createPredictor(bundle, { backend, batching: false });
  const batched = await createPredictor(bundle, { backend, batching: { maxBatchSize: 32, maxDelayMs: 2 } });
  const runSizes: number[] = [];
  batched.observe((o) => runSizes.push(o.batchSize));

  let next = 0;
  const text = () => texts[next++ % texts.length]!;
  const [one, thirtyTwo] = makeBatches(texts, 1, 1).concat(makeBatches(texts, 32, 1));

  const [sequential, concurrent, batch1, batch32] = await sideBySide(
    {
      sequential: async () => {
        for (let i = 0; i < SEQUENTIAL; i++) await unbatched.predict(text());
      },
      concurrent: () =>
        Promise.all(
          Array.from({ length: CALLERS }, async () => {
            for (let i = 0; i < PER_CALLER; i++) await batched.predict(text());
          }),
        ),
      // The model's own scaling, for reading the ratio: one predictBatch call of 1 and of 32 texts.
      batch1: () => unbatched.predictBatch(one!),
      batch32: () => unbatched.predictBatch(thirtyTwo!),
    },
    { warmup: 2, timeMs: name === 'news-bag' ? 5_000 : 20_000, minSamples: 10 },
  );
  const seqRate = (SEQUENTIAL / sequential!.median) * 1000;
  const conRate = ((CALLERS * PER_CALLER) / concurrent!.median) * 1000;
  const meanRun = runSizes.reduce((a, b) => a + b, 0) / runSizes.length;
  console.log(`micro-batching, ${name} on ${backend} (medians of ${concurrent!.samples} interleaved rounds)`);
  console.log(`  sequential single-text calls, batching off: ${seqRate.toFixed(0)} texts/s`);
  console.log(
    `  ${CALLERS} concurrent callers, maxBatchSize 32, maxDelayMs 2: ${conRate.toFixed(0)} texts/s ` +
      `(mean ${meanRun.toFixed(1)} texts per session run)`,
  );
  console.log(`  throughput ratio: ${(conRate / seqRate).toFixed(2)}x`);
  console.log(
    `  model scaling: predictBatch of 1 ${ms(batch1!.median)}, of 32 ${ms(batch32!.median)} ` +
      `(${ms(batch32!.median / 32)} per text, ${(batch1!.median / (batch32!.median / 32)).toFixed(2)}x less than alone)`,
  );
  await unbatched.dispose();
  await batched.dispose();
}
