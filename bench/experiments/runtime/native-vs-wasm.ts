// Native (onnxruntime-node) vs WASM (onnxruntime-web) on Node through predictBatch, batch 1..64, both bundles.
// Run: npx tsx bench/experiments/runtime/native-vs-wasm.ts
import { createPredictor, loadBundle } from '../../../runtime/node.ts';
import { makeBatches, readBenchTexts } from '../../texts.ts';
import { ms, sideBySide } from './side-by-side.ts';

const SIZES = [1, 2, 4, 8, 16, 32, 64];
const BUNDLES = ['news-bag', 'news-transformer'] as const;

console.log('native vs wasm on Node, one thread each: median ms per predictBatch call');
console.log('bundle            batch  native       wasm         wasm/native');
for (const name of BUNDLES) {
  const dir = `artifacts/${name}`;
  const bundle = await loadBundle(dir);
  const texts = await readBenchTexts(dir);
  const native = await createPredictor(bundle, { backend: 'native', batching: false });
  const wasm = await createPredictor(bundle, { backend: 'wasm', batching: false });
  for (const size of SIZES) {
    const batches = makeBatches(texts, size, 16);
    let n = 0;
    let w = 0;
    const [a, b] = await sideBySide(
      {
        native: () => native.predictBatch(batches[n++ % batches.length]!, { batchSize: size }),
        wasm: () => wasm.predictBatch(batches[w++ % batches.length]!, { batchSize: size }),
      },
      { timeMs: name === 'news-bag' ? 1000 : 4000, minSamples: 15 },
    );
    console.log(
      `${name.padEnd(18)}${String(size).padEnd(7)}${ms(a!.median).padEnd(13)}${ms(b!.median).padEnd(13)}` +
        `${(b!.median / a!.median).toFixed(2)}x`,
    );
  }
  await native.dispose();
  await wasm.dispose();
}
